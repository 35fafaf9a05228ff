import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// The elementwise regimes decided without e^(−|x|) and log1p (ElementwiseShortcuts.swift):
/// tiny logits (|x| <= 2^-60) of sigmoid, log_sigmoid and softplus, bce's T there, and the
/// outputs beyond 2^20 built once. Against MPFR at 320 bits computed here, and against the MPFR
/// path (`Oracle(doubleWordTier: false)`) on requests at each regime's edges, every format.
/// Failure messages carry the seed.
@Suite("Double-word tier: elementwise shortcuts")
struct ElementwiseShortcutTests {
    static let seed: UInt64 = 0xE1E3_5407
    static let kinds: [(ElementwiseOutputs.Kind, OracleFunction)] = [(.sigmoid, .sigmoid), (.softplus, .softplus), (.logSigmoid, .logSigmoid)]

    /// The tiny-logit edges: ±0, the least subnormal, the largest subnormal, the least normal,
    /// 2^-60 itself and the doubles either side of it (the next one up takes e^(−|x|) and log1p).
    static let edges: [Double] = [0, -0.0, 0x1p-1074, (0x1p-1022).nextDown, 0x1p-1022, 0x1.0000000000001p-1022,
                                  0x1p-61, 0x1p-60.nextDown, 0x1p-60, 0x1p-60.nextUp, 0x1p-59, 0x1p-40]

    /// ln 2 at 320 bits.
    static var ln2: BigFloat { Exact.apply { $0.log(big(2), .nearest) } }

    @Test("ln 2's distance to the nearest midpoint of every format's grid is above 2^-60, and each format takes the regime")
    func ln2Room() throws {
        for format in Format.allCases {
            // The grid of (1/2, 1) has spacing 2^-p; the midpoints around r = RN(ln 2) are r ± 2^-(p+1).
            let r = format.round(Self.ln2.double(.nearest))
            let h = powerOfTwo(-(format.precision + 1))
            let below = Exact.apply { $0.sub(Self.ln2, Exact.apply { $0.sub(big(r), big(h), .nearest) }, .nearest) }
            let above = Exact.apply { $0.sub(Exact.apply { $0.add(big(r), big(h), .nearest) }, Self.ln2, .nearest) }
            #expect(below.double(.nearest) > 0x1p-60 && above.double(.nearest) > 0x1p-60,
                    "\(format): ln 2 lies \(below.double()), \(above.double()) from the midpoints around \(r)")
            let rounded = try #require(ElementwiseOutputs.tinyLogitRounding(.softplus, format), "\(format): the regime was not taken")
            #expect(rounded == r, "\(format): softplus rounds to \(rounded)")
            #expect(ElementwiseOutputs.tinyLogitRounding(.logSigmoid, format) == -r)
            #expect(ElementwiseOutputs.tinyLogitRounding(.sigmoid, format) == 0.5)
            #expect(ElementwiseOutputs.tinyLogitRounding(.bce, format) == nil)
        }
    }

    /// The exact function value at 320 bits.
    static func exact(_ kind: ElementwiseOutputs.Kind, _ x: Double) -> BigFloat {
        Exact.apply { r in
            switch kind {
            case .sigmoid:  // 1/(1 + e^−x)
                r.neg(big(x), .nearest); r.exp(r, .nearest); r.add(r, big(1), .nearest); r.div(big(1), r, .nearest)
            case .softplus:  // log1p(e^x)
                r.exp(big(x), .nearest); r.log1p(r, .nearest)
            default:  // −log1p(e^−x)
                r.neg(big(x), .nearest); r.exp(r, .nearest); r.log1p(r, .nearest); r.neg(r, .nearest)
            }
        }
    }

    static func value(_ e: ExactValue) -> BigFloat {
        Exact.apply { r in
            r.add(big(e.head), big(e.tail), .nearest)
            r.scale(r, byPowerOfTwo: e.exponent, .nearest)
            if e.isNegative { r.neg(r, .nearest) }
        }
    }

    @Test("Tiny logits: the rounding is the correct one and the exact value within its stated bound (sigmoid 2^-180, the others 2^-107)",
          arguments: Format.allCases)
    func tinyOutputs(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ UInt64(format.precision))
        var xs = Self.edges.filter { $0.magnitude <= 0x1p-60 }.flatMap { [$0, -$0] }
        while xs.count < 400 { xs.append((rng.oneIn(2) ? 1 : -1) * rng.unit() * pow2(-rng.int(60...1074))) }
        for (kind, _) in Self.kinds {
            let outputs = ElementwiseOutputs(kind: kind, format: format, labels: nil, posWeight: nil, weight: nil)
            let bound = kind == .sigmoid ? 0x1p-180 : 0x1p-107
            for x in xs {
                let v = outputs.output(0, x)!
                let exact = Self.exact(kind, x)
                #expect(v.rounded.bitPattern == format.round(exact.double(.nearest)).bitPattern,
                        "\(kind), \(format), x = \(hex(x)): \(v.rounded); seed \(Self.seed)")
                // (exact.double(.nearest) is binary64's rounding of the value; no format's midpoint
                // lies within 2^-54.78 of 1/2 or ln 2, so double rounding cannot differ here.)
                #expect(Exact.relativeError(Self.value(v.exact), exact) <= bound, "\(kind), \(format), x = \(hex(x)); seed \(Self.seed)")
                #expect(v.exact.exponent == (kind == .sigmoid && x < 0 ? -2 : -1) && v.exact.head >= 1 && v.exact.head <= 2,
                        "\(kind), x = \(hex(x)): \(v.exact) is not in ExactValue's form")
            }
        }
    }

    @Test("bce at |x| <= 2^-60 with label +0, or label 1 and pos_weight 1, weight 1: softplus(x) or softplus(−x), against MPFR",
          arguments: Format.allCases)
    func bceAsSoftplus(format: Format) throws {
        var rng = SplitMix64(seed: Self.seed ^ 17)
        var xs = Self.edges.filter { $0.magnitude <= 0x1p-60 }
        while xs.count < 200 { xs.append(rng.unit() * pow2(-rng.int(60...1074))) }
        let x = xs.flatMap { [$0, -$0] }
        for (z, pw) in [(0.0, 1.0), (0.0, 3.5), (1.0, 1.0)] {
            let outputs = ElementwiseOutputs(kind: .bce, format: format, labels: x.map { _ in z }, posWeight: [pw], weight: nil)
            for (i, xi) in x.enumerated() {
                let v = try #require(outputs.bceTinyOutput(i, xi), "z = \(z), pw = \(pw), x = \(hex(xi)): not taken")
                // loss = max(±x, 0) + log1p(e^(−|x|)) = softplus(±x) exactly (A or B is 0, C = 1).
                let exact = Self.exact(.softplus, z == 0 ? xi : -xi)
                #expect(v.rounded.bitPattern == format.round(exact.double(.nearest)).bitPattern, "z = \(z), x = \(hex(xi)), \(format)")
                #expect(Exact.relativeError(Self.value(v.exact), exact) <= 0x1p-107, "z = \(z), x = \(hex(xi)), \(format)")
            }
        }
        // Not taken: a soft label, pos_weight ≠ 1 with label 1, a weight ≠ 1, label −0.
        let o = ElementwiseOutputs(kind: .bce, format: format, labels: [0.5, 1, 0, -0.0], posWeight: [2], weight: [1, 1, 0.5, 1])
        for i in 0..<4 { #expect(o.bceTinyOutput(i, 0x1p-70) == nil, "output \(i) took the softplus shortcut") }
    }

    @Test("bce's T at |x| <= 2^-60 is within its stated relative bound 2^-106")
    func tinyLogTerm() {
        var rng = SplitMix64(seed: Self.seed ^ 7)
        var xs = Self.edges.filter { $0.magnitude <= 0x1p-60 }
        while xs.count < 2000 { xs.append(rng.unit() * pow2(-rng.int(60...1074))) }
        for x in xs.flatMap({ [$0, -$0] }) {
            let t = ElementwiseOutputs.tinyLogTerm(x)
            let exact = Exact.log1p(Exact.exp(big(-x.magnitude)))
            let err = Exact.relativeError(Exact.value(t.value), exact)
            #expect(err <= ElementwiseOutputs.tinyLogError, "x = \(hex(x)): relative error \(err); seed \(Self.seed ^ 7)")
            #expect(t.value.hi >= 1 && t.value.hi < 2 && t.value.lo.magnitude <= t.value.hi.ulp / 2, "x = \(hex(x)): not normalized")
        }
    }

    /// Both tiers on one request: the rounded values bit for bit, and where both report a finite
    /// exact value, within 2^-39 output ulps of each other (each within 2^-40 of the truth).
    static func compare(_ q: OracleRequest, _ note: String) throws {
        let a = try DoubleWordTierAgreementTests.doubleWord.evaluate(q), b = try DoubleWordTierAgreementTests.mpfr.evaluate(q)
        expectBits(a.values.map(\.rounded), b.values.map(\.rounded), "\(note)")
        for (i, (x, y)) in zip(a.values, b.values).enumerated() where x.exact.kind == .finite && y.exact.kind == .finite {
            let d = ExactValueAccuracyTests.distanceInULPs(x.exact, DoubleWordTierAgreementTests.bigValue(y.exact), q.format)
            #expect(d <= 0x1p-39, "output \(i), x = \(hex(q.logits[i])): exact values \(d) ulps apart; \(note)")
        }
    }

    @Test("Requests at the regimes' edges (±0, subnormals, 2^-60 either side, ±2^20 either side) give the MPFR path's outputs",
          arguments: Format.allCases)
    func edgesAgainstMPFR(format: Format) throws {
        let huge: [Double] = [0x1p20, 0x1p20.nextUp, 0x1p21, 0x1p40 + 1, 1e300, 0x1.fffffffffffffp1023]
        let x = (Self.edges + huge).flatMap { [$0, -$0] }.map { format.round($0).isFinite ? $0 : 0 }
        for (_, function) in Self.kinds {
            try Self.compare(OracleRequest(function: function, format: format, logits: x), "\(function), \(format)")
        }
        // bce: hard and soft labels, one pos_weight or one per output, with and without weights.
        var rng = SplitMix64(seed: Self.seed ^ 11)
        for n in 0..<6 {
            let labels = x.map { _ in n % 2 == 0 ? Double(rng.int(0...1)) : Double(rng.int(0...8)) / 8 }
            let posWeight: [Double]? = n < 2 ? nil : (n < 4 ? [rng.uniform(0.1, 5)] : x.map { _ in rng.uniform(0, 3) })
            let weight: [Double]? = n % 3 == 0 ? nil : x.map { _ in rng.uniform(0.01, 2) }
            try Self.compare(OracleRequest(function: .bceWithLogits, format: format, logits: x, weight: weight, labels: labels, posWeight: posWeight),
                             "bce row \(n), \(format); seed \(Self.seed ^ 11)")
        }
    }

    @Test("fill equals the scalar path on rows mixing tiny, ordinary and huge logits, every function and format",
          arguments: Format.allCases)
    func mixedRows(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 13)
        for n in 0..<30 {
            // Runs of one kind (so that whole groups of four take each path) and mixed stretches.
            var x: [Double] = []
            while x.count < 97 {
                let kind = rng.int(0...3), run = rng.oneIn(2) ? 4 : 1
                for _ in 0..<run {
                    let sign: Double = rng.oneIn(2) ? 1 : -1
                    switch kind {
                    case 0: x.append(sign * rng.unit() * pow2(-rng.int(60...1074)))
                    case 1: x.append(sign * rng.pick(Self.edges))
                    case 2: x.append(sign * rng.uniform(0, 40))
                    default: x.append(sign * rng.uniform(0x1p20, 0x1p60))
                    }
                }
            }
            for kind in [ElementwiseOutputs.Kind.sigmoid, .logSigmoid, .softplus, .bce] {
                let labels: [Double]? = kind == .bce ? x.map { _ in rng.oneIn(2) ? Double(rng.int(0...1)) : rng.unit() } : nil
                // (bce with hard labels, no pos_weight and no weight: every tiny logit's loss is softplus(±x).)
                let posWeight: [Double]? = kind == .bce && n % 2 == 0 ? [1.5] : nil
                let outputs = ElementwiseOutputs(kind: kind, format: format, labels: labels, posWeight: posWeight, weight: nil)
                ElementwiseLaneTests.checkFill(outputs, x, "seed \(Self.seed ^ 13), row \(n), \(kind), \(format)")
            }
        }
    }

    /// Rows of ±inf and NaN (four at a time, as the rounded path's lanes take them, and mixed
    /// with finite logits in a group): in f64 the limits σ(+inf) = 1, σ(−inf) = 0,
    /// softplus(+inf) = +inf, softplus(−inf) = 0, log_sigmoid(+inf) = −0, log_sigmoid(−inf) =
    /// −inf and NaN at NaN; in every format the MPFR path's outputs, bit for bit.
    @Test("Infinite and NaN logits through evaluateRounded: the limits in f64, the MPFR path's outputs in every format")
    func infiniteLogitsRounded() throws {
        let x: [Double] = [.infinity, .infinity, .infinity, .infinity, -.infinity, -.infinity, -.infinity, -.infinity,
                           .nan, -.nan, .nan, .nan, .infinity, 1.5, -.infinity, .nan, -.infinity, 0x1p30, .infinity, -.nan, .infinity]
        let limits: [OracleFunction: (plus: Double, minus: Double)] = [.sigmoid: (1, 0), .softplus: (.infinity, 0), .logSigmoid: (-0.0, -.infinity)]
        try Self.roundedAgainstMPFR(x) { f, x, got in
            guard let (plus, minus) = limits[f] else { return }
            if x.isNaN { #expect(got.isNaN, "\(f) at NaN") }
            if x == .infinity { #expect(got.bitPattern == plus.bitPattern, "\(f) at +inf") }
            if x == -.infinity { #expect(got.bitPattern == minus.bitPattern, "\(f) at −inf") }
        }
    }

    /// sigmoid, softplus and log_sigmoid on logits x through `evaluateRounded`, every format,
    /// against the MPFR path bit for bit (NaNs of either sign alike); `f64` sees each f64 output
    /// (function, logit, output).
    static func roundedAgainstMPFR(_ x: [Double], f64: (OracleFunction, Double, Double) -> Void) throws {
        let mpfr = Oracle(doubleWordTier: false)
        for (_, f) in kinds {
            for format in Format.allCases {
                let q = OracleRequest(function: f, format: format, logits: x)
                let got = try Oracle().evaluateRounded(q).rounded, want = try mpfr.evaluate(q).rounded
                for i in x.indices {
                    #expect(got[i].bitPattern == want[i].bitPattern || (got[i].isNaN && want[i].isNaN), "\(f) \(format) x = \(x[i])")
                    if format == .f64 { f64(f, x[i], got[i]) }
                }
            }
        }
    }

    /// The rounded path's regime beyond ±2^9 (ElementwiseRounded.swift: sigmoid and softplus
    /// above, log_sigmoid below, where the output is 1 or x): its bound e^-512 < 2^-738, and at
    /// 2^9, the doubles either side of it and up to 2^20 (rows long enough for the lanes, in both
    /// orders), the MPFR path's outputs bit for bit in every format; in f64 also the values the
    /// notes derive: σ(x) → 1, softplus(x) → x, log_sigmoid(x) → x.
    @Test("Sides beyond ±2^9 (sigmoid, softplus above; log_sigmoid below): e^-512 < 2^-738, the MPFR path's outputs, 1 or x in f64")
    func middleSides() throws {
        let e = Exact.apply { $0.exp(big(-512), .nearest) }
        #expect(e.double(.nearest) < 0x1p-738 * (1 - 0x1p-20), "e^-512 = \(e.double())")
        let m: [Double] = [0x1p9, 0x1p9.nextUp, 0x1p9.nextDown, 0x1p9 + 0.5, 513, 600.125, 0x1p10, 0x1p11.nextDown, 0x1p11,
                           12345.678, 0x1p15 + 0x1p-37, 0x1p20.nextDown, 0x1p20, 0x1p20.nextUp, 0x1p9 * 3, 1000]
        let x = m.flatMap { [$0, -$0] } + m.reversed().flatMap { [-$0, $0] }
        try Self.roundedAgainstMPFR(x) { f, x, got in
            guard x.magnitude > 0x1p9 else { return }
            if f == .sigmoid && x > 0 { #expect(got == 1, "σ(\(x))") }
            if f == .softplus && x > 0 { #expect(got == x, "softplus(\(x))") }
            if f == .logSigmoid && x < 0 { #expect(got == x, "log_sigmoid(\(x))") }
        }
    }
}
