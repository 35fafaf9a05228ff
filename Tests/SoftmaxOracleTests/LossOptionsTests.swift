import MPFR
import SoftmaxOracle
import Testing

/// The loss options (temperature, softcap, z_loss) and `cross_entropy_loss_backward`.
/// Expected values: exact math, and `OptionsBruteForce` below (the textbook formulas at 4000 bits,
/// naive: tanh and exp taken directly, no shifting, no intervals), never the oracle.
@Suite("Loss options and cross_entropy_loss_backward")
struct LossOptionsTests {
    static let rows: [[Double]] = [[1.5, -0.25, 3], [0.5, 0.5, -2], [40, -35, 2], [-0.75, 1, 0.125]]

    static func single(_ f: OracleFunction, _ x: [Double], target: RowTarget = .index(0), format: Format = .f64,
                       softcap: Double? = nil, zLoss: Double = 0, temperature: Double? = nil) -> OracleRequest {
        OracleRequest(function: f, format: format, logits: x, target: target,
                      softcap: softcap, zLoss: zLoss, temperature: temperature)
    }

    @Test("z_loss with K equal logits: log K + coefficient·(log K)², every format", arguments: Format.allCases)
    func zLossEqualLogits(format: Format) throws {
        for k in [1, 2, 5, 8] {
            let q = Self.single(.crossEntropy, [Double](repeating: 0.5, count: k), format: format, zLoss: 0x1p-3)
            // logsumexp = 0.5 + log K; CE = log K.
            let lse = OptionsBruteForce.add(OptionsBruteForce.log(BruteForce.exact(Double(k))), BruteForce.exact(0.5))
            let ce = OptionsBruteForce.log(BruteForce.exact(Double(k)))
            let want = OptionsBruteForce.add(ce, OptionsBruteForce.mul(BruteForce.exact(0x1p-3), OptionsBruteForce.mul(lse, lse)))
            expectBits(try rounded(q), [format.round(want)], "K = \(k)")
        }
    }

    @Test("temperature 1 gives the bytes of no temperature (loss, gradient, batch)")
    func temperatureOneIsIdentity() throws {
        for x in Self.rows {
            for f in [OracleFunction.crossEntropy, .crossEntropyGrad] {
                let plain = try Oracle().evaluate(Self.single(f, x))
                let t1 = try Oracle().evaluate(Self.single(f, x, temperature: 1))
                expectBits(t1.rounded, plain.rounded, "\(f) \(x)")
                #expect(t1.values.map(\.exact) == plain.values.map(\.exact))
            }
        }
        var q = OracleRequest(function: .crossEntropyLoss, batch: Self.rows, batchTargets: .indices([0, 2, -100, 1]))
        let plain = try rounded(q)
        q.temperature = 1
        expectBits(try rounded(q), plain)
    }

    @Test("softcap with |x| ≪ c: c·tanh(x/c) = x(1 − x²/(3c²) + …), so the loss is within 2^-50 of the uncapped one")
    func softcapTinyLogits() throws {
        let x: [Double] = [0x1p-30, -0x1.8p-31, 0x1p-32]
        let capped = try rounded(Self.single(.crossEntropy, x, softcap: 1))[0]
        let plain = try rounded(Self.single(.crossEntropy, x))[0]
        // |Δz| <= |x|³/3 < 2^-89: the loss moves by at most 2·2^-89, far below its ulp (2^-52).
        #expect(abs(capped - plain) <= plain.ulp)
        expectBits([capped], [Format.f64.round(OptionsBruteForce.rowLoss(x, .index(0), softcap: 1))])
    }

    @Test("cross_entropy and its gradient with options match the brute force, every format (seeded)", arguments: Format.allCases)
    func randomRows(format: Format) throws {
        var rng = SplitMix64(seed: 0x5eed_10550)
        for trial in 0..<12 {
            let k = 2 + Int(rng.next() % 5)
            let x = (0..<k).map { _ in (Double(rng.next() % 4001) - 2000) / 64 }
            let t = Int(rng.next() % UInt64(k))
            let c: Double? = trial % 3 == 2 ? nil : [30, 0.75, 5][trial % 3]
            let z = trial % 2 == 0 ? 0x1p-4 : 0
            let temp: Double? = trial % 4 == 1 ? 0.7 : (trial % 4 == 3 ? 3 : nil)
            let note: Comment = "seed 0x5eed_10550 trial \(trial): x \(x) t \(t) c \(String(describing: c)) z \(z) T \(String(describing: temp))"
            let loss = OptionsBruteForce.rowLoss(x, .index(t), softcap: c, zLoss: z, temperature: temp)
            expectBits(try rounded(Self.single(.crossEntropy, x, target: .index(t), format: format, softcap: c, zLoss: z, temperature: temp)),
                       [format.round(loss)], note)
            let grad = OptionsBruteForce.rowGradient(x, .index(t), softcap: c, zLoss: z, temperature: temp)
            expectBits(try rounded(Self.single(.crossEntropyGrad, x, target: .index(t), format: format, softcap: c, zLoss: z, temperature: temp)),
                       grad.map { format.round($0) }, note)
        }
    }

    @Test("hard target, temperature, no z-loss: the gradient sums to 0 (|Σ rounded| <= Σ half-ulps)")
    func gradientSumsToZero() throws {
        for x in Self.rows {
            let g = try rounded(Self.single(.crossEntropyGrad, x, target: .index(1), temperature: 0.3))
            let total = BigFloat(precision: 4000)
            total.sum(g.map(BruteForce.exact), .nearest)
            let bound = g.map { $0.ulp / 2 }.reduce(0, +)
            #expect(abs(total.double()) <= bound, "\(x): \(g)")
        }
    }

    @Test("softcap near saturation (|x| ≫ c) and infinite logits (±inf become ±c)")
    func saturation() throws {
        let x: [Double] = [1000, 900, -1000, 3]
        let want = OptionsBruteForce.rowLoss(x, .index(1), softcap: 30, zLoss: 0x1p-10)
        expectBits(try rounded(Self.single(.crossEntropy, x, target: .index(1), softcap: 30, zLoss: 0x1p-10)), [Format.f64.round(want)])
        // ±inf under soft-capping: the row [c, −c] (from [+inf, −inf]) with target 1 loses log(1 + e^(2c)).
        let inf = try rounded(Self.single(.crossEntropy, [.infinity, -.infinity], target: .index(1), softcap: 2))
        let twoC = OptionsBruteForce.exp(BruteForce.exact(4))
        expectBits(inf, [Format.f64.round(OptionsBruteForce.log(OptionsBruteForce.add(BruteForce.exact(1), twoC)))])
        // The slope at ±inf is 0: those entries of the gradient are exact zeros.
        let g = try rounded(Self.single(.crossEntropyGrad, [.infinity, -.infinity, 1], target: .index(1), softcap: 2))
        expectBits([g[0], g[1]], [0, 0])
        // Without soft-capping a +inf logit still makes the row NaN.
        #expect(try rounded(Self.single(.crossEntropy, [.infinity, 1], temperature: 2))[0].isNaN)
    }

    @Test("batch loss with options: none, sum, mean (z-loss divided by the kept rows), class weights")
    func batchLoss() throws {
        let targets = [0, 2, -100, 1]
        let w: [Double] = [0.5, 2, 3]
        for reduction in [Reduction.none, .sum, .mean] {
            for weight in [nil, w] {
                let q = OracleRequest(function: .crossEntropyLoss, weight: weight, batch: Self.rows, batchTargets: .indices(targets),
                                      reduction: reduction, softcap: 4, zLoss: 0x1p-5, temperature: 1.25)
                let want = OptionsBruteForce.batch(Self.rows, targets, weight: weight, reduction: reduction, softcap: 4, zLoss: 0x1p-5, temperature: 1.25)
                expectBits(try rounded(q), want.map { Format.f64.round($0) }, "\(reduction) \(String(describing: weight))")
            }
        }
    }

    @Test("cross_entropy_loss_backward: every option, grad_output, row-major N×K, every format", arguments: Format.allCases)
    func backward(format: Format) throws {
        let targets = [0, 2, -100, 1]
        for reduction in [Reduction.none, .sum, .mean] {
            let go: [Double] = reduction == .none ? [1, -0.5, 7, 0x1p-3] : [0.75]
            let q = OracleRequest(function: .crossEntropyLossBackward, format: format, labelSmoothing: 0.125, weight: [0.5, 2, 3],
                                  batch: Self.rows, batchTargets: .indices(targets), reduction: reduction,
                                  softcap: 4, zLoss: 0x1p-5, temperature: 1.25, gradOutput: go)
            let want = OptionsBruteForce.backward(Self.rows, targets, weight: [0.5, 2, 3], eps: 0.125, reduction: reduction,
                                                  gradOutput: go, softcap: 4, zLoss: 0x1p-5, temperature: 1.25)
            let got = try rounded(q)
            #expect(got.count == 12)
            expectBits(got, want.map { format.round($0) }, "\(format) \(reduction)")
            expectBits(Array(got[6..<9]), [0, 0, 0], "the ignored row is exactly +0")
        }
    }

    @Test("backward without options equals the textbook gradient; all rows ignored gives exact zeros at once")
    func backwardPlain() throws {
        let q = OracleRequest(function: .crossEntropyLossBackward, batch: Self.rows, batchTargets: .indices([1, 1, 0, 2]))
        let want = OptionsBruteForce.backward(Self.rows, [1, 1, 0, 2], reduction: .mean, gradOutput: [1])
        expectBits(try rounded(q), want.map { Format.f64.round($0) })
        let ignored = OracleRequest(function: .crossEntropyLossBackward, batch: Self.rows, batchTargets: .indices([-100, -100, -100, -100]),
                                    zLoss: 1)
        let r = try Oracle().evaluate(ignored)
        expectBits(r.rounded, [Double](repeating: 0, count: 12))
        #expect(r.escalations == 0)
        var loss = ignored
        loss.function = .crossEntropyLoss
        #expect(try rounded(loss)[0].isNaN, "a mean over no kept rows is NaN")
        // K = 1, x = 0, z-loss: lse = 0 and the gradient is an exact 0.
        expectBits(try rounded(Self.single(.crossEntropyGrad, [0], zLoss: 3)), [0])
    }

    /// Found while generating the fixtures of cross_entropy_loss_backward; also in the plain
    /// cross_entropy_grad (no loss option): r_7 = w_7·p_7 is a product of two f32 values, an
    /// f32 rounding tie, and softmax_7 = e^(x_7 − x_M) ≈ e^(−4.5·10^15) lies below MPFR's
    /// exponent range, so no enclosure decides the tie: the exact −r_7 + softmax_7·Σr lies just
    /// above the tie and rounds to the upper neighbour. The oracle answered "not certified"
    /// until the midpoint form −r_7 + q_7 (MidpointForms.swift) decided it by q_7 > 0.
    @Test("a rounding tie decided only by a term below MPFR's exponent range (was not certified)")
    func tieBelowExponentRange() throws {
        let x: [Double] = [0x1.a54484p+49, 0x1.cd1136p+48, -0x1.c95e34p+48, 0x1.177e8p+49, 0x1.1b50c4p+49,
                           0x1.8be722p+50, 0x1.c187b4p+49, -0x1.ce133ep+47]
        let p: [Double] = [0x1p-4, 0, 0, 0x1.ap-1, 0, 0, 0, 0x1.cp-1]
        let w: [Double] = [0x1.41af4p+2, 0x1.c69972p+0, 0x1.58988ep-1, 0, 0x1.78b8bep+1, 0x1.48b18ap+2, 0x1.c4017cp-2, 0x1.8bc1b8p+1]
        let tie = -(w[7] * p[7])  // exact in binary64 (48 significant bits), a midpoint of f32
        let nearest = Float(tie)
        let want = Double(nearest) > tie ? nearest : nearest.nextUp  // the f32 value just above the tie
        let q = OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .probabilities(p), weight: w)
        let got = try rounded(q)
        #expect(got[7] == Double(want))
    }

    @Test("bad options name the field and the value")
    func validation() {
        for c in [0.0, -1, .infinity, .nan] {
            expectInvalid(Self.single(.crossEntropy, [1, 2], softcap: c), field: "softcap", mentioning: "\(c)")
        }
        for z in [-0.5, .infinity, .nan] {
            expectInvalid(Self.single(.crossEntropyGrad, [1, 2], zLoss: z), field: "z_loss", mentioning: "\(z)")
        }
        for t in [0.0, -2, .infinity] {
            let q = OracleRequest(function: .crossEntropyLoss, batch: [[1, 2]], batchTargets: .indices([0]), temperature: t)
            expectInvalid(q, field: "temperature", mentioning: "\(t)")
        }
        let q = OracleRequest(function: .crossEntropyLossBackward, batch: [[1, 2], [3, 4]], batchTargets: .indices([0, 1]),
                              reduction: .none, gradOutput: [1])
        expectInvalid(q, field: "grad_output", mentioning: "1 values")
        var nan = q
        nan.gradOutput = [1, .nan]
        expectInvalid(nan, field: "grad_output[1]")
    }
}
