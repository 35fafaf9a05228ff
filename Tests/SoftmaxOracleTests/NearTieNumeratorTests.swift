import MPFR
@testable import SoftmaxOracle
import Testing

/// NearTieNumerator.swift: cross_entropy_grad's numerator in its second form, (R̃ − n·r̃_c) +
/// (f_c·R̃ − r̃_c·F), for rows whose terms lie near the maximum's 1 (logits saturated under
/// softcap, logits a few units of 2^-1074 apart) with uniform targets. Expected values: the
/// textbook formulas naive in MPFR (`BruteForce`, 4000 bits; 2^17 bits for the review's row),
/// never the oracle.
@Suite("Cross-entropy gradient near ties: the numerator's second form")
struct NearTieNumeratorTests {
    /// The first working precision of f64 outputs: 53 + 40 guard bits.
    static let firstPrecision = 93
    static let mpfrOnly = Oracle(doubleWordTier: false)

    /// x_j = 3·a_j with a_j in [140, 151] (three at the maximum): 1 − tanh(a_j) ≈ 2e^(−2a_j), so
    /// d_j ≈ −6e^(−280) and the outputs, ≈ 4e^(−2a_c)·(d_c − mean d)/K, are normal binary64
    /// numbers around 2^-830 that the plain form resolves only at 744 bits.
    static let saturatedRow: [Double] = (0..<12).map { 3 * (140 + Double($0 * 37 % 23) / 2) } + [453, 453, 453]

    /// Multiples of 2^-1074 (some equal): d_j = x_j − m exact, as small as 2^-1074.
    static let tinyRow: [Double] = (0..<40).map { Double($0 * 7919 % 61) * 0x1p-1074 }

    /// Checks `q` on the MPFR path (and through the tier, which declines these rows): certified at
    /// the first precision, no escalation, values `want` (references rounded once).
    static func expectFirstPrecision(_ q: OracleRequest, _ want: [Double], _ name: String) throws {
        for oracle in [mpfrOnly, Oracle()] {
            let r = try oracle.evaluate(q)
            #expect(r.precision == firstPrecision && r.escalations == 0,
                    "\(name): certified at \(r.precision) bits after \(r.escalations) escalations")
            expectBits(r.rounded, want, "\(name)")
        }
    }

    /// The textbook gradient of a row with options, naive at 4000 bits (`OptionsBruteForce`),
    /// rounded once into binary64.
    static func reference(_ x: [Double], _ t: RowTarget, labelSmoothing eps: Double, softcap: Double? = nil,
                          temperature: Double? = nil) -> [Double] {
        ExponentRange.widest {
            let r = BruteForce.targetWeights(classes: x.count, target: t, weight: nil, labelSmoothing: eps)
            return OptionsBruteForce.scaledGradient(x, r, ceScale: BruteForce.one, zScale: BruteForce.one, softcap: softcap,
                                                    zLoss: 0, temperature: temperature).map { Format.f64.round($0) }
        }
    }

    @Test("saturated logits under softcap, uniform targets (label_smoothing 1, equal probabilities): the first precision, not 744 bits")
    func saturatedUniformTargets() throws {
        let x = Self.saturatedRow, k = x.count
        let smoothed = OracleRequest(function: .crossEntropyGrad, logits: x, target: .index(2), labelSmoothing: 1, softcap: 3)
        try Self.expectFirstPrecision(smoothed, Self.reference(x, .index(2), labelSmoothing: 1, softcap: 3), "label_smoothing 1")
        let p = [Double](repeating: 1 / Double(k), count: k)
        let equal = OracleRequest(function: .crossEntropyGrad, logits: x, target: .probabilities(p), softcap: 3)
        try Self.expectFirstPrecision(equal, Self.reference(x, .probabilities(p), labelSmoothing: 0, softcap: 3), "equal p")
    }

    @Test("logits 2^-1074 apart, label_smoothing 1, without options (was 1488 bits) and with temperature 1e300 (2976 bits)")
    func tinyDifferences() throws {
        let x = Self.tinyRow
        let plain = OracleRequest(function: .crossEntropyGrad, logits: x, target: .index(3), labelSmoothing: 1)
        try Self.expectFirstPrecision(plain, Self.reference(x, .index(3), labelSmoothing: 1), "no options")
        let cooled = OracleRequest(function: .crossEntropyGrad, logits: x, target: .index(3), labelSmoothing: 1, temperature: 1e300)
        try Self.expectFirstPrecision(cooled, Self.reference(x, .index(3), labelSmoothing: 1, temperature: 1e300), "temperature")
    }

    @Test("cross_entropy_loss_backward (sum) of saturated rows, label_smoothing 1: the first precision, each row's gradient")
    func saturatedBackward() throws {
        let a = Self.saturatedRow, b = Self.saturatedRow.map { $0 + 1.5 }
        let q = OracleRequest(function: .crossEntropyLossBackward, labelSmoothing: 1, batch: [a, b], batchTargets: .indices([0, 4]),
                              reduction: .sum, softcap: 3)
        let want = Self.reference(a, .index(0), labelSmoothing: 1, softcap: 3) + Self.reference(b, .index(4), labelSmoothing: 1, softcap: 3)
        let r = try Self.mpfrOnly.evaluate(q)
        #expect(r.precision == Self.firstPrecision && r.escalations == 0, "certified at \(r.precision) bits")
        expectBits(r.rounded, want)
    }

    @Test("linear_cross_entropy_grad_bias of one saturated row (h = 1, W = the logits), label_smoothing 1: the row's gradient, first precision")
    func saturatedLinear() throws {
        let x = Self.saturatedRow
        var q = OracleRequest(function: .linearCrossEntropyGradBias, labelSmoothing: 1, reduction: .sum, softcap: 3)
        q.linear = LinearCrossEntropyInputs(hidden: [[1]], weight: x.map { [$0] }, targets: [2])
        let r = try Self.mpfrOnly.evaluate(q)
        #expect(r.precision == Self.firstPrecision && r.escalations == 0, "certified at \(r.precision) bits")
        expectBits(r.rounded, Self.reference(x, .index(2), labelSmoothing: 1, softcap: 3))
    }

    /// The review's row cut to 16 logits (softcap 3, label_smoothing 1, its probabilities): every
    /// a_j = x_j/3 > 21 000, so d_j ≈ −6e^(−42 000) and the plain form needed 65 536 bits (the cap).
    static let reviewLogits: [Double] = [
        0x1.f5af846e5c605p+15, 0x1.f5b256c0bb11ep+15, 0x1.f5b8654fc1f01p+15, 0x1.f5b8654fc1f02p+15, 0x1.f5b8654fc1f02p+15,
        0x1.f5b8654fc1f02p+15, 0x1.f5b008b1910b9p+15, 0x1.f5b8654fc1f02p+15, 0x1.f5b8654fc1f02p+15, 0x1.f5b8654fc1f02p+15,
        0x1.f5b573d01d03fp+15, 0x1.f5b8654fbfc88p+15, 0x1.f5af4bb9f6ff1p+15, 0x1.f5b8654fc1f02p+15, 0x1.f5b8654fc1f02p+15,
        0x1.f5b8654fc1f02p+15,
    ]
    static let reviewTargets: [Double] = [
        0x1.1a9b716f6486ep-10, 0x1.d4104b1419827p-12, 0x1.26995d2455fc3p-11, 0x1.77a56775dd312p-14, 0x1.32ce1abcc0128p-10,
        0x1.0ab7c7fa03d33p-12, 0x1.3287a0d367bfcp-10, 0x1.36f8b1e74aa18p-12, 0x1.0de6d1f8a62aep-10, 0x1.3980b2fddd62ep-11,
        0x1.fd54eae24d3f8p-11, 0x1.b04ecabd13a7fp-13, 0x1.9a0d3f51d0b82p-14, 0x1.2ed901f8e0fe6p-14, 0x1.078f5d81cd710p-10,
        0x1.5e8853d36f98cp-14,
    ]

    @Test("the review's saturated row (16 of its 1438 logits): the first precision, not 65536 bits; signs from MPFR at 2^17 bits")
    func reviewRow() throws {
        let x = Self.reviewLogits, k = x.count
        let q = OracleRequest(function: .crossEntropyGrad, logits: x, target: .probabilities(Self.reviewTargets), labelSmoothing: 1,
                              softcap: 3)
        // With label_smoothing 1 every target weight is 1/K: grad_c = (1 − tanh²(a_c))·(e_c/S − 1/K),
        // whose size is below 1 − tanh²(a_c) < 4e^(−2·21 000) < 2^-60 000: a zero of the sign of
        // K·e_c − S. That difference is about 6e^(−42 000) ≈ 2^-60 600 times a factor of order 1;
        // naive at 2^17 bits it is computed within K·2^-131 000 or so, far below its size (checked).
        let bits = 1 << 17
        let want: [Double] = ExponentRange.widest {
            let c = BigFloat(3, precision: 53)
            let e = x.map { v -> BigFloat in
                let z = BigFloat(precision: bits)
                z.div(BigFloat(v, precision: 53), c, .nearest)
                z.tanh(z, .nearest)
                z.mul(z, c, .nearest)
                z.exp(z, .nearest)  // e^(z_j) <= e^3: no shift needed
                return z
            }
            let s = BigFloat(precision: bits)
            s.sum(e, .nearest)
            return e.map { ej in
                let n = BigFloat(precision: bits)
                n.mul(ej, k, .nearest)
                n.sub(n, s, .nearest)
                #expect(n.isZero || n.exponent > -100_000, "K·e_c − S = 2^\(n.exponent): too close to the reference's error")
                return n.signum < 0 ? -0.0 : 0.0
            }
        }
        let r = try Self.mpfrOnly.evaluate(q)
        #expect(r.precision == Self.firstPrecision && r.escalations == 0, "certified at \(r.precision) bits")
        expectBits(r.rounded, want)
        #expect(want.contains { $0.sign == .minus } && want.contains { $0.sign == .plus })
    }

    // MARK: The enclosure and its width bound

    /// f_j = expm1(d_j), N_c = e_c·R̃ − r̃_c·S (the plain identity's left side, not the second
    /// form) and T_c = |f_c|·R̃ + r̃_c·|F| for a row with options, naive at 4000 bits: d_j =
    /// z_j − z_M from z_j = c·tanh(x_j/c) or x_j/T directly. The rows below keep every d_j above
    /// 2^-3000 (a_j <= 900), so each value has more than 900 correct bits.
    static func exactParts(_ x: [Double], _ r: [BigFloat], softcap: Double?, temperature: Double?)
        -> (f: [BigFloat], n: [BigFloat], t: [BigFloat]) {
        let z = OptionsBruteForce.transform(x, softcap: softcap, temperature: temperature).z
        let zMax = z[x.indices.max { x[$0] < x[$1] }!]
        let d = z.map { BruteForce.sub($0, zMax) }
        let f = d.map { dj -> BigFloat in
            let v = BigFloat(precision: BruteForce.bits)
            v.expm1(dj, .nearest)
            return v
        }
        let e = d.map(BruteForce.exp), s = BruteForce.sum(e), total = BruteForce.sum(r), fSum = BruteForce.sum(f)
        let n = x.indices.map { BruteForce.sub(BruteForce.mul(e[$0], total), BruteForce.mul(r[$0], s)) }
        // f_c·R̃ and r̃_c·F are both <= 0: T_c = |f_c·R̃ + r̃_c·F|.
        let t = x.indices.map { BruteForce.neg(BruteForce.add(BruteForce.mul(f[$0], total), BruteForce.mul(r[$0], fSum))) }
        return (f, n, t)
    }

    @Test("second form: holds N_c (4000-bit reference), width <= (ρ + 2^(4−w))·T_c + 2^(2−w)·|N_c| at w = 93, 128, 384")
    func enclosureAndWidth() throws {
        let seed: UInt64 = 0x7E47_2026_1205
        var rng = SplitMix64(seed: seed)
        for trial in 0..<60 {
            let k = rng.int(2...20)
            let softcap: Double? = trial % 3 == 2 ? nil : rng.pick([3, 0.5, 50])
            let temperature: Double? = trial % 6 == 5 ? 1e300 : nil
            let x: [Double] = (0..<k).map { _ in
                guard let c = softcap else { return Double(rng.int(0...60)) * 0x1p-1074 }
                let a = rng.oneIn(4) ? 900 : rng.uniform(50, 900)  // ties at a = 900
                return (a * c).rounded(.down)
            }
            // Weights: uniform, exactly uniform up to a few units of 2^-40, or arbitrary.
            let kind = rng.int(0...2)
            let weights: [Double] = (0..<k).map { _ in kind == 0 ? 1 : kind == 1 ? 1 + Double(rng.int(0...3)) * 0x1p-40 : rng.unit() }
            let r = weights.map(BruteForce.exact)
            let total = ExactArithmetic.sum(r)
            let (fRef, nRef, tRef) = ExponentRange.widest { Self.exactParts(x, r, softcap: softcap, temperature: temperature) }
            for w in [93, 128, 384] {
                try ExponentRange.widest {
                    let a = IntervalArithmetic(precision: w)
                    let o = LossOptions(softcap: softcap, zLoss: 0, temperature: temperature)
                    let row = TransformedRow(x.map(BruteForce.exact), o, a)
                    let near = try #require(NearTieNumerator(count: row.termCount, outputs: row.count, d: { row.d($0) }, e: { row.e($0) }, sum: row.S, a),
                                            "seed \(seed) trial \(trial): S > n/2 on a near-tied row")
                    // ρ: the f_j enclosures' largest width relative to |f_j|.
                    let rho = BigFloat(0, precision: 64)
                    for j in x.indices where !fRef[j].isZero {
                        let width = BigFloat(precision: 8000), ratio = BigFloat(precision: 64)
                        width.sub(near.parts.f[j]!.hi, near.parts.f[j]!.lo, .up)
                        ratio.div(width, fRef[j], .up)
                        ratio.abs(ratio, .up)
                        if ratio.compare(rho) > 0 { rho.set(ratio, .up) }
                    }
                    #expect(rho.compare(BigFloat(0x1p-10, precision: 53)) <= 0, "seed \(seed) trial \(trial): ρ = \(rho.double())")
                    let line = Interval(lo: BigFloat(-Double.infinity, precision: 53), hi: BigFloat(Double.infinity, precision: 53))
                    for c in x.indices {
                        let g = near.numerator(c, plain: line, weight: r[c], total: total)
                        let context = "seed \(seed) trial \(trial) w \(w) c \(c), x \(x), weights \(weights), softcap \(String(describing: softcap))"
                        #expect(g.lo.compare(nRef[c]) <= 0 && g.hi.compare(nRef[c]) >= 0, "\(context): N_c outside")
                        let width = BigFloat(precision: 8000), bound = BigFloat(precision: BruteForce.bits)
                        width.sub(g.hi, g.lo, .up)
                        let size = BigFloat(precision: BruteForce.bits)
                        size.abs(nRef[c], .nearest)
                        size.scale(size, byPowerOfTwo: 2 - w, .nearest)
                        bound.set(1, .nearest)
                        bound.scale(bound, byPowerOfTwo: 4 - w, .nearest)
                        bound.add(bound, rho, .nearest)
                        bound.mul(bound, tRef[c], .nearest)
                        bound.add(bound, size, .nearest)
                        #expect(width.compare(bound) <= 0, "\(context): width \(width.double()) > \(bound.double())")
                    }
                }
            }
        }
    }

    @Test("the second form is formed only when S > n/2, and for an output only when its plain enclosure is wide")
    func gate() {
        ExponentRange.widest {
            let a = IntervalArithmetic(precision: 93)
            func near(_ x: [Double]) -> NearTieNumerator? {
                let row = ShiftedRow(x, facts: RowFacts(x), arithmetic: a)
                return NearTieNumerator(row, a)
            }
            #expect(near([0, -10, -10]) == nil)  // S = 1 + 2e^-10 < 3/2
            #expect(near([0, 0, -10, -.infinity]) != nil)  // n = 3, S = 2 + e^-10 > 3/2
            #expect(near([0, -0.5, -0.5, -0.5]) != nil)  // S = 1 + 3e^-0.5 > 2
            #expect(near([0, -2, -2, -2]) == nil)  // S = 1 + 3e^-2 < 2
            // Per output: only a plain enclosure that holds 0 or lost bits (wider than 2^-(w−8)).
            let one = BigFloat(1, precision: 53)
            func interval(_ lo: Double, _ hi: Double) -> Interval { Interval(lo: BigFloat(lo, precision: 53), hi: BigFloat(hi, precision: 53)) }
            #expect(!NearTieNumerator.isWide(Interval(point: one), a))
            #expect(NearTieNumerator.isWide(interval(-0x1p-900, 0x1p-900), a))
            #expect(NearTieNumerator.isWide(interval(0, 0x1p-900), a))
            #expect(NearTieNumerator.isWide(interval(-1 - 0x1p-50, -1), a))  // 2^-50 > 2^-85
            #expect(!NearTieNumerator.isWide(interval(1, 1 + 0x1p-52), IntervalArithmetic(precision: 53)))  // 2^-52 < 2^-45
        }
    }
}
