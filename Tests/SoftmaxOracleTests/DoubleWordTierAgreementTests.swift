import Foundation
import MPFR
import SoftmaxOracle
import Testing

/// The double-word tier against the MPFR path (`Oracle(doubleWordTier: false)`): the same rounded values,
/// bit for bit, on seeded random rows of every format and on constructed near-ties; exact values
/// within 2^-39 output ulps of each other (each is within 2^-40 of the truth); fallbacks where
/// the double-word tier cannot decide, and only there.
@Suite("Double-word tier = MPFR path")
struct DoubleWordTierAgreementTests {
    static let seed: UInt64 = 0xFA57_7E57_0000_0001
    /// Rows per family and format; SOFTMAX_ORACLE_FAST_CASES for a deeper run.
    static let rowsPerFamily = ProcessInfo.processInfo.environment["SOFTMAX_ORACLE_FAST_CASES"].flatMap { Int($0) } ?? 6
    static let functions: [OracleFunction] = [.softmax, .logSoftmax, .logsumexp, .crossEntropy]

    static let doubleWord = Oracle()
    static let mpfr = Oracle(doubleWordTier: false)

    enum Family: CaseIterable {
        case normal10, wide300, wide1e4, float32Values, maskedInf, integerTies, clustered, tiny, huge
    }

    static func row(_ rng: inout SplitMix64, _ family: Family, count k: Int) -> [Double] {
        func normal() -> Double {
            (-2 * Foundation.log(rng.unit() + 0x1p-60)).squareRoot() * Foundation.cos(2 * Double.pi * rng.unit())
        }
        switch family {
        case .normal10: return (0..<k).map { _ in normal() * 10 }
        case .wide300: return (0..<k).map { _ in normal() * 300 }
        case .wide1e4: return (0..<k).map { _ in normal() * 1e4 }
        case .float32Values: return (0..<k).map { _ in Double(Float(normal() * 4)) }
        case .maskedInf: return (0..<k).map { i in i > 0 && rng.oneIn(4) ? -.infinity : normal() * 5 }
        case .integerTies: return (0..<k).map { _ in Double(rng.int(-3...3)) }
        case .clustered:
            let base = rng.uniform(-50, 50)
            return (0..<k).map { _ in base + (rng.unit() - 0.5) * pow2(-rng.int(10...45)) }
        case .tiny: return (0..<k).map { _ in (rng.unit() - 0.5) * pow2(-rng.int(100...1000)) }
        case .huge: return (0..<k).map { _ in (rng.unit() - 0.5) * pow2(rng.int(100...1000)) }
        }
    }

    /// Compares both paths on `q`; returns true when the double-word tier answered.
    @discardableResult
    static func compare(_ q: OracleRequest, _ note: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        let a = try doubleWord.evaluate(q)
        let b = try mpfr.evaluate(q)
        expectBits(a.rounded, b.rounded, "\(note())", sourceLocation: sourceLocation)
        #expect(b.tier == .mpfr)
        if a.tier == .doubleWord {
            #expect(a.escalations == 0 && a.precision == (q.format == .f64 ? 106 : 68))
            for (i, (x, y)) in zip(a.values, b.values).enumerated() {
                #expect(x.exact.kind == y.exact.kind && x.exact.isNegative == y.exact.isNegative,
                        "output \(i): \(x.exact) vs \(y.exact); \(note())", sourceLocation: sourceLocation)
                if x.exact.kind == .finite && y.exact.kind == .finite {
                    let d = ExactValueAccuracyTests.distanceInULPs(x.exact, bigValue(y.exact), q.format)
                    #expect(d <= 0x1p-39, "output \(i): exact values \(d) ulps apart; \(note())", sourceLocation: sourceLocation)
                }
            }
        }
        return a.tier == .doubleWord
    }

    /// An ExactValue as a BigFloat.
    static func bigValue(_ x: ExactValue) -> BigFloat {
        let r = BigFloat(precision: 256)
        ExponentRange.widest {
            r.add(big(x.head), big(x.tail), .nearest)
            r.scale(r, byPowerOfTwo: x.exponent, .nearest)
            if x.isNegative { r.neg(r, .nearest) }
        }
        return r
    }

    @Test("random rows: same rounded values in every format; fallbacks counted", arguments: Family.allCases)
    func randomRows(family: Family) throws {
        var rng = SplitMix64(seed: Self.seed &+ UInt64(Family.allCases.firstIndex(of: family)!) << 40)
        var answered = 0, total = 0
        for n in 0..<Self.rowsPerFamily {
            let k = [2, 3, 7, 16, 61, 200][n % 6]
            let x = Self.row(&rng, family, count: k)
            for f in Self.functions {
                for format in Format.allCases {
                    var q = OracleRequest(function: f, format: format, logits: x)
                    if f == .crossEntropy { q.target = .index(rng.int(0...(k - 1))) }
                    total += 1
                    if try Self.compare(q, "\(f.rawValue) \(format.rawValue) \(hex(x))\(f == .crossEntropy ? " target \(q.target!)" : "")") {
                        answered += 1
                    }
                }
            }
        }
        print("double-word tier, family \(family): \(total - answered) of \(total) requests fell back to MPFR")
        // Rows with one finite logit fall back by design (maskedInf), and so do rows whose two
        // largest logits lie more than 2^19 apart (huge); cancellation in logsumexp and near-ties
        // of the format's grid are rare; otherwise the double-word tier answers.
        if family != .huge {
            #expect(Double(answered) >= 0.85 * Double(total), "\(family): only \(answered) of \(total) answered")
        }
    }

    @Test("cross_entropy with probability targets = MPFR path", arguments: [Family.normal10, .wide300, .maskedInf, .integerTies, .clustered])
    func probabilityTargets(family: Family) throws {
        var rng = SplitMix64(seed: Self.seed ^ 0x9B0B &+ UInt64(Family.allCases.firstIndex(of: family)!))
        var answered = 0, total = 0
        for n in 0..<Self.rowsPerFamily * 2 {
            let k = [2, 5, 16, 61][n % 4]
            let x = Self.row(&rng, family, count: k)
            // Targets: a distribution, with zeros, tiny entries, one dominant class, or one-hot.
            var p = (0..<k).map { _ -> Double in
                switch rng.int(0...3) {
                case 0: return 0
                case 1: return rng.unit() * pow2(-rng.int(20...200))
                default: return rng.unit()
                }
            }
            if n % 5 == 0 { p = (0..<k).map { $0 == n % k ? 1 : 0 } }
            if n % 7 == 0 { p = p.map { $0 * 3 } }  // need not sum to 1
            if p.allSatisfy({ $0 == 0 }) { p[0] = 0.5 }
            for format in Format.allCases {
                let q = OracleRequest(function: .crossEntropy, format: format, logits: x, target: .probabilities(p))
                total += 1
                if try Self.compare(q, "\(format.rawValue) cross_entropy \(hex(x)) targets \(hex(p))") { answered += 1 }
            }
        }
        print("double-word tier, probability targets, family \(family): \(total - answered) of \(total) fell back")
        #expect(Double(answered) >= 0.85 * Double(total))
    }

    @Test("extreme logits and targets (overflowing products, subnormals, huge weights) never trap, and agree")
    func extremes() throws {
        let big = 0x1.fffffffffffffp+1023, tiny = 0x1p-1074
        let rows: [[Double]] = [[big, -big], [big, big * 0.5, -1], [tiny, -tiny, 0], [1e300, -1e300, 3], [-big, -big * 0.75],
                                [0x1p19, -0x1p19], [1, 1 - 0x1p-52, 1 + 0x1p-52], [1e-300, 2e-300, -1e-310]]
        let targets: [[Double]] = [[1e300, 1e300, 1e300], [tiny, 1, tiny], [0x1p-1000, 0x1p-1000, 0], [big, 0, big], [1, 2, 3]]
        for x in rows {
            for f in Self.functions {
                for format in [Format.f64, .f32, .f16, .e4m3fn] {
                    var q = OracleRequest(function: f, format: format, logits: x)
                    if f == .crossEntropy { q.target = .index(x.count - 1) }
                    try Self.compare(q, "\(f.rawValue) \(format.rawValue) \(hex(x))")
                }
            }
            for p in targets {
                let q = OracleRequest(function: .crossEntropy, format: .f64, logits: x, target: .probabilities(Array(p.prefix(x.count))))
                try Self.compare(q, "cross_entropy \(hex(x)) targets \(hex(p))")
            }
        }
    }

    @Test("operands beyond twoProduct's domain (|x_c − m| or p_c >= 2^995) and the top binade give the exact loss, not a wrong one")
    func operandsBeyondTwoProductDomain() throws {
        // Found by DoubleWordArithmeticTests' bound tests: with a logit 2^998.7 below the maximum,
        // Dekker's split of x_c − m overflowed and the tier certified 0x1.566022c05ef41p+1. The
        // exact loss, Σ p_c·(m − x_c + L) with L = log Σ e^(x_j − m), computed with mpmath at
        // 4000 bits (independent of this package), rounds to 0x1.748fa31d9245cp+996.
        let logits: [Double] = ["1.7960022630242944e-179", "-4.938221434553405e-162", "5.020544728114311e-246",
                                "-7.827616530941215e+203", "-0.2117787421684467", "-5.1979480053457124e+300",
                                "-3.2449460625855913e+127"].map { Double($0)! }
        let p: [Double] = [0, 0.3125, 0.6875, 0, 0.8125, 0.1875, 0]
        let q = OracleRequest(function: .crossEntropy, format: .f64, logits: logits, target: .probabilities(p))
        let r = try Self.doubleWord.evaluate(q)
        #expect(r.rounded == [0x1.748fa31d9245cp+996], "\(hex(r.rounded))")
        try Self.compare(q, "cross_entropy \(hex(logits)) targets \(hex(p))")
        // At the top binade the scaled double word's normalization dropped the low part: 49270ca
        // certified cross_entropy([2^1023, −2^970, 2^1023], target 1) as 0x1p+1023; the exact
        // loss 2^1023 + 2^970 + log 2 (mpmath, 3000 bits) rounds to 0x1.0000000000001p+1023.
        let top = OracleRequest(function: .crossEntropy, format: .f64, logits: [0x1p1023, -0x1p970, 0x1p1023], target: .index(1))
        #expect(try Self.doubleWord.evaluate(top).rounded == [0x1.0000000000001p+1023])
        try Self.compare(top, "cross_entropy [2^1023, -2^970, 2^1023] target 1")
        // The same with a target of 2^996 (also beyond the split's domain).
        let q2 = OracleRequest(function: .crossEntropy, format: .f64, logits: [0, -1, -2], target: .probabilities([0x1p996, 0, 0x1p-10]))
        try Self.compare(q2, "cross_entropy [0, -1, -2] targets [2^996, 0, 2^-10]")
    }

    @Test("-inf masks: softmax 0 and log_softmax -inf exactly, a -inf target gives +inf, on the double-word tier")
    func negativeInfinityMasks() throws {
        let x: [Double] = [1, -.infinity, 3, -.infinity, -2]
        for format in Format.allCases {
            for f in Self.functions {
                var q = OracleRequest(function: f, format: format, logits: x)
                if f == .crossEntropy { q.target = .index(1) }
                #expect(try Self.compare(q, "\(f.rawValue) \(format.rawValue)"))
            }
            let s = try Self.doubleWord.evaluate(OracleRequest(function: .softmax, format: format, logits: x))
            #expect(s.values[1].rounded == 0 && s.values[1].exact.kind == .zero)
            let l = try Self.doubleWord.evaluate(OracleRequest(function: .logSoftmax, format: format, logits: x))
            #expect(l.values[3].exact.kind == .infinity && l.values[3].exact.isNegative)
        }
    }

    @Test("special rows give the MPFR path's answers (the tier takes those a NaN, +inf or no finite logit decides)")
    func specialRows() throws {
        let rows: [[Double]] = [[1, .nan, 2], [1, .infinity], [-.infinity, -.infinity], [5], [3, -.infinity], []]
        for x in rows {
            for f in Self.functions {
                for format in [Format.f64, .f32, .e4m3fn] {
                    var q = OracleRequest(function: f, format: format, logits: x)
                    if f == .crossEntropy {
                        if x.isEmpty { continue }
                        q.target = .index(0)
                    }
                    // A non-empty row a NaN, +inf or no finite logit decides: the tier answers it
                    // exactly, for every function here (SpecialRows.swift); the MPFR path the rest
                    // ([5]: the maximum alone is finite; the empty row).
                    let decided = !x.isEmpty && (x.contains { $0.isNaN || $0 == .infinity } || !x.contains { $0.isFinite })
                    #expect(try Self.compare(q, "\(f.rawValue) \(format.rawValue) \(hex(x))") == decided)
                }
            }
        }
    }

    @Test("exact ties fall back: equal logits whose 1/K is a midpoint of e4m3fn and e5m2")
    func exactTiesFallBack() throws {
        // 2^-10 is the tie between 0 and e4m3fn's least subnormal 2^-9; 2^-17 the same for e5m2.
        for (format, k) in [(Format.e4m3fn, 1024), (.e5m2, 131_072)] {
            let q = OracleRequest(function: .softmax, format: format, logits: Array(repeating: 0.25, count: k))
            #expect(try Self.doubleWord.evaluateDoubleWordTier(q) == nil)
            let r = try Self.doubleWord.evaluate(q)
            #expect(r.tier == .mpfr && r.rounded.allSatisfy { $0 == 0 })
        }
        // Cancellation: logsumexp(−ln2, −ln2) ≈ 2.3e-17 is too small for an absolute 2^-106 bound.
        let c = -0x1.62e42fefa39efp-1
        #expect(try !Self.compare(OracleRequest(function: .logsumexp, logits: [c, c]), "cancellation"))
    }

    /// Logits [0, −t] whose softmax_0 = 1/(1 + e^-t) lies as close as a double t allows to the
    /// rounding boundary `boundary` of a format: t = RN(−log(1/B − 1)), computed at 400 bits.
    static func shift(towards boundary: BigFloat) -> Double {
        let x = BigFloat(precision: 400)
        ExponentRange.widest {
            x.div(big(1), boundary, .nearest)
            x.sub(x, big(1), .nearest)
            x.log(x, .nearest)
            x.neg(x, .nearest)
        }
        return x.double(.nearest)
    }

    /// softmax([0, −t])_0 against B: |value − B|/B, from the brute-force reference.
    static func distance(_ x: [Double], from boundary: BigFloat) -> Double {
        let gap = BigFloat(precision: 4000)
        ExponentRange.widest {
            gap.sub(BruteForce.softmax(x)[0], boundary, .nearest)
            gap.div(gap, boundary, .nearest)
        }
        return abs(gap.double())
    }

    /// Two constructions of softmax values within 2^-60 (relative) of a rounding boundary B:
    /// - B = 1/2 + 2^-(p+1) (the midpoint above 1/2): t ≈ 2^-(p−1), and a double t puts the value
    ///   within about 2^-(p+56) of B — inside the double-word tier's error bound for f64 (~2^-99) and
    ///   f32 (~2^-67): it must fall back, and the MPFR path decides;
    /// - B = 1 − 2^-(p+1) (the midpoint below 1): within about 2^-(p+50) of B, but there the
    ///   bound of 1/(1 + s) is ε_s·s ≈ 2^-93 for f32, so the double-word tier separates it (f64: falls back).
    @Test("near-ties within 2^-60 of a rounding boundary: fallback exactly where the bound cannot separate them")
    func constructedNearTies() throws {
        var fellBack: Set<String> = []
        var answered: Set<String> = []
        for format in [Format.f64, .f32, .f16, .bf16] {
            let p = format.precision
            for below1 in [false, true] {
                let boundary = BigFloat(precision: 200)
                ExponentRange.widest {
                    if below1 { boundary.sub(big(1), bigPow2(-(p + 1)), .nearest) } else { boundary.add(big(0.5), bigPow2(-(p + 1)), .nearest) }
                }
                let t = Self.shift(towards: boundary)
                for dt in [0.0, t.ulp, -t.ulp] {
                    let x: [Double] = [0, -(t + dt)]
                    let gap = Self.distance(x, from: boundary)
                    if format == .f64 || format == .f32 {
                        #expect(gap < 0x1p-60, "\(format) \(below1 ? "1 − 2^-(p+1)" : "1/2 + 2^-(p+1)"): \(gap) from the boundary")
                    }
                    let q = OracleRequest(function: .softmax, format: format, logits: x)
                    let key = "\(format.rawValue) \(below1 ? "below 1" : "above 1/2")"
                    if try Self.compare(q, "\(key) softmax \(hex(x))") { answered.insert(key) } else { fellBack.insert(key) }
                    expectBits([try Self.doubleWord.evaluate(q).rounded[0]], [format.round(BruteForce.softmax(x)[0])])
                }
            }
        }
        print("constructed near-ties: fell back \(fellBack.sorted()), answered by the double-word tier \(answered.sorted())")
        #expect(fellBack.isSuperset(of: ["f64 above 1/2", "f64 below 1", "f32 above 1/2"]))
        #expect(answered.contains("f32 below 1"))
    }

    @Test("exact near-ties P ± e^-700 are settled on the double-word tier (as the MPFR path's open ends do)")
    func tieMinusTiny() throws {
        // x_1 − m is exactly a midpoint of binary64's grid; L = log1p(e^-214.9) is far below it.
        let row: [Double] = [-4.817008082659077, -466.43841756979464, 9.986120757689882, -325.75360343079865, 224.84080574491878]
        #expect(try Self.compare(OracleRequest(function: .logSoftmax, logits: row), "log_softmax near-tie"))
        #expect(try Self.compare(OracleRequest(function: .crossEntropy, logits: row, target: .index(1)), "cross_entropy near-tie"))
        // Here x_1 − m = −462.53… − 2^-45 (a tie; its last bit 2^-45 is that of a power of two)
        // and L ≈ 1.3e-29 lies between the error bound and that last bit.
        let row2: [Double] = [-332.15435066706465, -64.95584679789496, 397.57580211126, 331.03000897322426,
                              70.81141563485345, -172.7618843662816, -239.43637516275172, -373.1383224559578]
        #expect(try Self.compare(OracleRequest(function: .logSoftmax, logits: row2), "log_softmax near-tie 2"))
        let cases: [(Format, [Double], Double)] = [
            (.f16, [1 + 0x1p-11, -1000], 1 + 0x1p-10),
            (.f16, [-(1 + 0x1p-11), -1000], -1),
            (.f32, [1 + 0x1p-24, -100], 1 + 0x1p-23),
            (.e4m3fn, [464, -1000], .nan),
            (.e4m3fn, [-464, -1000], -448),
            (.e5m2, [61440, -1000], .infinity),
        ]
        for (format, x, want) in cases {
            let q = OracleRequest(function: .logsumexp, format: format, logits: x)
            #expect(try Self.compare(q, "\(format.rawValue) logsumexp \(hex(x))"))
            expectBits(try Self.doubleWord.evaluate(q).rounded, [want])
        }
    }

    @Test("long rows: 1 and 2 threads give identical values (rounded and exact); MPFR agrees")
    func parallelRows() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0xBEEF)
        let x = Self.row(&rng, .normal10, count: 40_000)
        for f in Self.functions {
            for format in [Format.f64, .f32] {
                var q = OracleRequest(function: f, format: format, logits: x)
                if f == .crossEntropy { q.target = .index(123) }
                let one = try Oracle(threads: 1).evaluate(q)
                let two = try Oracle(threads: 2).evaluate(q)
                #expect(one.tier == .doubleWord && two.tier == .doubleWord)
                #expect(one.values == two.values, "\(f.rawValue) \(format.rawValue)")
            }
        }
        try Self.compare(OracleRequest(function: .softmax, format: .f32, logits: Array(x.prefix(20_000))), "softmax f32 K = 20000")
        try Self.compare(OracleRequest(function: .logSoftmax, format: .f64, logits: Array(x.prefix(20_000))), "log_softmax f64 K = 20000")
    }

    @Test("batch loss with hard targets (none, sum, mean; ignore_index) = MPFR path")
    func batchLoss() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0xBA7C)
        for format in [Format.f64, .f32, .bf16] {
            for reduction in Reduction.allCases {
                let rows = (0..<12).map { i in Self.row(&rng, i % 3 == 0 ? .wide300 : .normal10, count: 9) }
                let targets = (0..<12).map { i in i == 5 ? -100 : rng.int(0...8) }
                let q = OracleRequest(function: .crossEntropyLoss, format: format, batch: rows,
                                      batchTargets: .indices(targets), reduction: reduction)
                #expect(try Self.compare(q, "\(format.rawValue) \(reduction.rawValue)"))
            }
        }
        // A large batch on two threads: the same as on one.
        let rows = (0..<64).map { _ in Self.row(&rng, .normal10, count: 1000) }
        let q = OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices((0..<64).map { $0 % 1000 }), reduction: .none)
        #expect(try Oracle(threads: 1).evaluate(q).values == Oracle(threads: 2).evaluate(q).values)
    }

    @Test("double-word exact values are within 2^-40 ulps of the brute-force reference")
    func exactAgainstBruteForce() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0xE8AC7)
        for n in 0..<40 {
            let x = (0..<(2 + n % 6)).map { _ in rng.uniform(-50, 50) }
            for format in [Format.f64, .f32, .f16] {
                let checks: [(OracleFunction, [BigFloat])] = [
                    (.softmax, BruteForce.softmax(x)), (.logSoftmax, BruteForce.logSoftmax(x)),
                    (.logsumexp, [BruteForce.logsumexp(x)]),
                ]
                for (f, truth) in checks {
                    let r = try Self.doubleWord.evaluate(OracleRequest(function: f, format: format, logits: x))
                    guard r.tier == .doubleWord else { continue }
                    for (v, t) in zip(r.values, truth) {
                        #expect(ExactValueAccuracyTests.distanceInULPs(v.exact, t, format) <= 0x1p-40, "\(f.rawValue) \(format) \(hex(x))")
                        #expect(v.rounded == format.round(t))
                    }
                }
            }
        }
    }
}
