import MPFR
import SoftmaxOracle
import TestSupport
import Testing

/// The fused linear cross-entropy against an independent brute-force evaluation (the textbook
/// formulas at 4000 bits, `BruteForce`'s argument: every value here is transcendental or an exact
/// zero stated by the test) and against closed forms.
@Suite("Linear cross-entropy")
struct LinearCrossEntropyTests {
    /// The loss and the three gradients, naive at 4000 bits, then rounded once.
    struct Brute {
        let m: LinearCrossEntropyInputs
        var ignoreIndex = -100, eps = 0.0, reduction = Reduction.mean, zLoss = 0.0, softcap: Double? = nil
        var gradOutput: [Double]? = nil
        typealias B = BruteForce

        func logits(_ i: Int) -> [BigFloat] {
            let d = m.dimension
            return (0..<m.classes).map { j in
                var terms = (0..<d).map { k in B.mul(B.exact(m.hidden[i * d + k]), B.exact(m.weight[j * d + k])) }
                terms.append(B.exact(m.bias?[j] ?? 0))
                let z = B.sum(terms)
                guard let c = softcap else { return z }
                let t = BigFloat(precision: B.bits)
                t.tanh(B.div(z, B.exact(c)), .nearest)
                return B.mul(B.exact(c), t)
            }
        }

        var kept: [Int] { (0..<m.rows).filter { m.targets[$0] != ignoreIndex } }
        func omega(_ c: Int) -> Double { m.classWeight?[c] ?? 1 }

        /// Per kept row: CE, z-loss, and G (the gradient with respect to the raw logits, unscaled).
        func row(_ i: Int) -> (ce: BigFloat, zl: BigFloat, dce: [BigFloat], dzl: [BigFloat]) {
            let z = logits(i), v = m.classes, t = m.targets[i]
            let s = B.sum(z.map(B.exp))
            let lse = B.log(s)
            let p = z.map { B.div(B.exp($0), s) }
            let r = (0..<v).map { c in
                B.add(c == t ? B.mul(B.sub(B.one, B.exact(eps)), B.exact(omega(t))) : B.exact(0), B.div(B.mul(B.exact(eps), B.exact(omega(c))), B.exact(Double(v))))
            }
            let total = B.sum(r)
            let ce = B.sum((0..<v).map { B.mul(r[$0], B.sub(lse, z[$0])) })
            let zl = B.mul(B.exact(zLoss), B.mul(lse, lse))
            var dce = (0..<v).map { B.sub(B.mul(p[$0], total), r[$0]) }
            var dzl = p.map { B.mul(B.mul(B.exact(2 * zLoss), lse), $0) }
            if let c = softcap {  // chain: 1 − (z/c)²
                let f = z.map { B.sub(B.one, B.mul(B.div($0, B.exact(c)), B.div($0, B.exact(c)))) }
                dce = (0..<v).map { B.mul(dce[$0], f[$0]) }
                dzl = (0..<v).map { B.mul(dzl[$0], f[$0]) }
            }
            return (ce, zl, dce, dzl)
        }

        func loss() -> [BigFloat] {
            let rows = kept.map { ($0, row($0)) }
            if reduction == .none {
                return (0..<m.rows).map { i in rows.first { $0.0 == i }.map { B.add($0.1.ce, $0.1.zl) } ?? B.exact(0) }
            }
            var ce = B.sum(rows.map(\.1.ce)), zl = B.sum(rows.map(\.1.zl))
            if reduction == .mean {
                ce = B.div(ce, B.sum(kept.map { B.exact(omega(m.targets[$0])) }))
                zl = B.div(zl, B.exact(Double(kept.count)))
            }
            return [B.add(ce, zl)]
        }

        /// G (N × V) with the reduction's scales and grad_output.
        func gradient() -> [[BigFloat]] {
            let ceDivisor = B.sum(kept.map { B.exact(omega(m.targets[$0])) })
            return (0..<m.rows).map { i in
                guard m.targets[i] != ignoreIndex else { return Array(repeating: B.exact(0), count: m.classes) }
                let go = gradOutput.map { $0.count == 1 ? $0[0] : $0[i] } ?? 1
                var sigma = B.exact(go), tau = B.exact(go)
                if reduction == .mean { sigma = B.div(sigma, ceDivisor); tau = B.div(tau, B.exact(Double(kept.count))) }
                let r = row(i)
                return (0..<m.classes).map { B.add(B.mul(sigma, r.dce[$0]), B.mul(tau, r.dzl[$0])) }
            }
        }

        func outputs(_ f: OracleFunction) -> [BigFloat] {
            let (n, d, v) = (m.rows, m.dimension, m.classes)
            switch f {
            case .linearCrossEntropy: return loss()
            case .linearCrossEntropyGradBias:
                let g = gradient()
                return (0..<v).map { j in B.sum((0..<n).map { g[$0][j] }) }
            case .linearCrossEntropyGradWeight:
                let g = gradient()
                return (0..<(v * d)).map { o in B.sum((0..<n).map { B.mul(g[$0][o / d], B.exact(m.hidden[$0 * d + o % d])) }) }
            default:
                let g = gradient()
                return (0..<(n * d)).map { o in B.sum((0..<v).map { B.mul(g[o / d][$0], B.exact(m.weight[$0 * d + o % d])) }) }
            }
        }
    }

    static let functions: [OracleFunction] = [.linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias]

    static func request(_ f: OracleFunction, _ format: Format, _ b: Brute) -> OracleRequest {
        var q = OracleRequest(function: f, format: format, labelSmoothing: b.eps, ignoreIndex: b.ignoreIndex,
                              reduction: b.reduction, softcap: b.softcap, zLoss: b.zLoss, gradOutput: b.gradOutput)
        q.linear = b.m
        return q
    }

    static func randomCase(_ rng: inout SplitMix64) -> Brute {
        let (n, d, v) = (rng.int(1...3), rng.int(1...4), rng.int(1...6))
        let scale = rng.pick([0.5, 4.0, 40.0])
        var m = LinearCrossEntropyInputs(
            rows: n, dimension: d, classes: v,
            hidden: (0..<(n * d)).map { _ in rng.uniform(-scale, scale) }, weight: (0..<(v * d)).map { _ in rng.uniform(-1, 1) },
            targets: (0..<n).map { _ in rng.oneIn(4) ? -100 : rng.index(v) })
        if rng.oneIn(2) { m.bias = (0..<v).map { _ in rng.uniform(-2, 2) } }
        if rng.oneIn(3) { m.classWeight = (0..<v).map { _ in rng.uniform(0.25, 2) } }
        var b = Brute(m: m)
        b.reduction = rng.pick([.none, .sum, .mean])
        b = Brute(m: m, reduction: b.reduction)
        if rng.oneIn(2) { b.gradOutput = b.reduction == .none ? (0..<n).map { _ in rng.uniform(-2, 2) } : [rng.uniform(-2, 2)] }
        if rng.oneIn(3) { b.zLoss = rng.pick([1e-4, 0.5]) }
        if rng.oneIn(4) { b.eps = 0.1 }
        if rng.oneIn(5) { b.softcap = rng.pick([3.0, 30.0]) }
        return b
    }

    @Test("random small problems: every function, both tiers, equal to the brute force", arguments: [Format.f64, .f32, .bf16])
    func randomAgainstBruteForce(format: Format) throws {
        let seed = UInt64(0x11CE) &+ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        for c in 0..<12 {
            let b = Self.randomCase(&rng)
            if b.kept.isEmpty { continue }
            for f in Self.functions {
                let expected = b.outputs(f).map { format.round($0) }
                for tier in [true, false] {
                    let got = try Oracle(doubleWordTier: tier).evaluate(Self.request(f, format, b)).rounded
                    // Exact zeros are +0 in the oracle (the brute force's 0·(−x) is −0).
                    #expect(got.map { $0 == 0 ? 0 : $0.bitPattern } == expected.map { $0 == 0 ? 0 : $0.bitPattern },
                            "seed \(seed) case \(c) \(f.rawValue) tier \(tier): \(got) vs \(expected)")
                }
            }
        }
    }

    @Test("equal weight rows: a uniform softmax, the loss is log V exactly rounded", arguments: [Format.f32, .bf16, .f64])
    func uniform(format: Format) throws {
        let v = 1000, d = 3
        let row: [Double] = [0.75, -1.5, 2]
        let m = LinearCrossEntropyInputs(hidden: [[1, 2, 3], [-4, 0.5, 7]], weight: Array(repeating: row, count: v), targets: [3, 999])
        let got = try Oracle().evaluate(Self.request(.linearCrossEntropy, format, Brute(m: m)))
        let logV = BigFloat(precision: 300)
        logV.log(BigFloat(Double(v), precision: 53), .nearest)
        #expect(got.rounded == [format.round(logV)])
        // grad_bias = Σ_i (1/V − [j = t_i]) / N: 1/V·... exactly, rounded.
        let gb = try Oracle().evaluate(Self.request(.linearCrossEntropyGradBias, format, Brute(m: m))).rounded
        let expected = BigFloat(precision: 300)
        expected.div(BigFloat(1, precision: 53), BigFloat(Double(v), precision: 53), .nearest)
        #expect(gb[0] == format.round(expected))
    }

    @Test("d = 1, V = 2: the loss is softplus of the logit gap (closed form)")
    func closedForm() throws {
        // z = (h·w0, h·w1) = (3, -1): loss(t = 1) = log(1 + e^4).
        let m = LinearCrossEntropyInputs(hidden: [[0.5]], weight: [[6], [-2]], targets: [1])
        let got = try Oracle().evaluate(Self.request(.linearCrossEntropy, .f64, Brute(m: m))).rounded
        #expect(got == [4.0181499279178094])  // log(1 + e^4), mpmath
        let gh = try Oracle().evaluate(Self.request(.linearCrossEntropyGradHidden, .f64, Brute(m: m))).rounded
        // ∂/∂h = p0·6 + (p1 − 1)·(−2) = 8·p0, p0 = 1/(1 + e^-4).
        #expect(gh == [7.856110320303268])  // 8/(1 + e^-4), mpmath
    }

    @Test("all rows ignored: mean NaN, sum 0, gradients exact zeros")
    func allIgnored() throws {
        var b = Brute(m: LinearCrossEntropyInputs(hidden: [[1, 2]], weight: [[1, 0], [0, 1]], targets: [-100]))
        #expect(try Oracle().evaluate(Self.request(.linearCrossEntropy, .f32, b)).rounded[0].isNaN)
        b.reduction = .sum
        #expect(try Oracle().evaluate(Self.request(.linearCrossEntropy, .f32, b)).rounded == [0])
        for f in Self.functions.dropFirst() {
            #expect(try Oracle().evaluate(Self.request(f, .f32, b)).rounded.allSatisfy { $0 == 0 })
        }
    }

    @Test("the fast tier answers a plain request (no MPFR recomputation)")
    func fastTierAnswers() throws {
        var rng = SplitMix64(seed: 7)
        let (n, d, v) = (4, 64, 300)
        let m = LinearCrossEntropyInputs(rows: n, dimension: d, classes: v,
                                         hidden: (0..<(n * d)).map { _ in rng.uniform(-1, 1) },
                                         weight: (0..<(v * d)).map { _ in rng.uniform(-0.2, 0.2) },
                                         targets: (0..<n).map { _ in rng.index(v) })
        for f in Self.functions {
            for format in [Format.f32, .bf16] {
                let r = try Oracle().evaluate(Self.request(f, format, Brute(m: m)))
                #expect(r.tier == .doubleWord, "\(f.rawValue) \(format)")
                let slow = try Oracle(doubleWordTier: false).evaluate(Self.request(f, format, Brute(m: m)))
                #expect(r.rounded.map(\.bitPattern) == slow.rounded.map(\.bitPattern))
            }
        }
    }

    @Test("bad input names the field")
    func validation() {
        let good = LinearCrossEntropyInputs(hidden: [[1, 2], [3, 4]], weight: [[1, 0], [0, 1], [1, 1]], targets: [0, 2])
        func check(_ edit: (inout LinearCrossEntropyInputs) -> Void, _ field: String, reduction: Reduction = .mean,
                   gradOutput: [Double]? = nil) {
            var m = good
            edit(&m)
            var q = OracleRequest(function: .linearCrossEntropyGradBias, reduction: reduction, gradOutput: gradOutput)
            q.linear = m
            expectInvalid(q, field: field)
        }
        check({ $0.weight = [1, 0, 0, 1, 1] }, "weight")
        check({ $0.hidden = [1, 2, 3] }, "hidden")
        check({ $0.targets = [0] }, "targets")
        check({ $0.targets = [0, 3] }, "targets[1]")
        // Matrix entries are named by row and column (review: "hidden[3]" for a 2 × 2 matrix).
        check({ $0.hidden[1] = .nan }, "hidden[0][1]")
        check({ $0.hidden[3] = .infinity }, "hidden[1][1]")
        check({ $0.weight[2] = .infinity }, "weight[1][0]")
        check({ $0.bias = [0, 0] }, "bias")
        check({ $0.classWeight = [1, -1, 1] }, "ce_weight[1]")
        check({ _ in }, "grad_output", gradOutput: [1, 2])
        check({ _ in }, "grad_output", reduction: .none, gradOutput: [1, 2, 3])
        check({ _ in }, "grad_output[0]", gradOutput: [.nan])
        var q = OracleRequest(function: .linearCrossEntropy)
        expectInvalid(q, field: "hidden")
        q.linear = good
        q.softcap = 0
        expectInvalid(q, field: "softcap")
    }
}


/// The hard cases of the fused loss, produced through the product: both tiers must agree bit for
/// bit (the fast tier certifies or defers, never differs), every format of the targets.
@Suite("Linear cross-entropy: hard cases through the product")
struct LinearCrossEntropyHardCaseTests {
    enum Kind: String, CaseIterable {
        case largeNormHidden, nearlyParallelRows, hugeLogits, softcapSaturated, zLossDominant, wideBias
    }

    static func make(_ kind: Kind, seed: UInt64) -> (LinearCrossEntropyInputs, OracleRequest) {
        var rng = SplitMix64(seed: seed)
        let (n, d, v) = (3, 6, 9)
        var h = (0..<(n * d)).map { _ in rng.uniform(-1, 1) }
        var w = (0..<(v * d)).map { _ in rng.uniform(-1, 1) }
        var bias: [Double]? = nil
        var q = OracleRequest(function: .linearCrossEntropy, reduction: rng.pick([.none, .sum, .mean]))
        switch kind {
        case .largeNormHidden: h = h.map { $0 * 0x1p13 }
        case .nearlyParallelRows:  // rows of W equal up to 2^-40: near-tie logits
            for j in 1..<v { for k in 0..<d { w[j * d + k] = w[k] + (rng.oneIn(2) ? 0x1p-40 : -0x1p-40) * Double(j) } }
        // Logit gaps up to ~10^6: e^(−gap) stays inside MPFR's exponent range (2^-(2^30)), so
        // mixed-sign sums of such terms keep a decidable sign (docs/certification.md).
        case .hugeLogits: h = h.map { $0 * 0x1p9 }; w = w.map { $0 * 0x1p9 }
        case .softcapSaturated: h = h.map { $0 * 64 }; q.softcap = 1
        case .zLossDominant: q.zLoss = 1000; h = h.map { $0 * 8 }
        case .wideBias: bias = (0..<v).map { _ in rng.uniform(-1, 1) * 0x1p24 }
        }
        let targets = (0..<n).map { i in i == 1 && rng.oneIn(3) ? -100 : rng.index(v) }
        let m = LinearCrossEntropyInputs(rows: n, dimension: d, classes: v, hidden: h, weight: w, bias: bias, targets: targets)
        q.linear = m
        return (m, q)
    }

    @Test("fast tier and MPFR path agree (seeded; the seed is printed on failure)",
          arguments: Kind.allCases.map(\.rawValue))
    func agree(kind: String) throws {
        for s in 0..<3 {
            let seed = UInt64(s) &* 0x9E37 &+ UInt64(kind.count)
            var (_, q) = Self.make(Kind(rawValue: kind)!, seed: seed)
            for f in LinearCrossEntropyTests.functions {
                for format in [Format.f32, .bf16, .f16] {
                    q.function = f
                    q.format = format
                    let fast = try Oracle().evaluate(q).rounded
                    let slow = try Oracle(doubleWordTier: false).evaluate(q).rounded
                    #expect(fast.map(\.bitPattern) == slow.map(\.bitPattern), "\(kind) seed \(seed) \(f.rawValue) \(format)")
                }
            }
        }
    }
}


