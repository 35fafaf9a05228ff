@testable import SoftmaxOracle
import Testing

/// bce_with_logits outputs the double-word tier once left to the MPFR path and now decides
/// itself (BinaryCrossEntropy.swift): x = ±inf (every output of the harness's full_mask family,
/// and the masked or infinite logits of partial_mask and positive_infinity), and exact near-ties
/// P + 0⁺ whose exact term P = coefficient·|x| lies in binades 900…1023 (near_ties at 1e300).
/// Expected values from math and from the MPFR path (`Oracle(doubleWordTier: false)`), bit for
/// bit, in every format; the tier must answer every output itself.
@Suite("Double-word tier: bce_with_logits outputs decided exactly")
struct ElementwiseTierDecisionTests {
    static let seed: UInt64 = 0xE1E3_0013
    static let tier = Oracle()
    static let mpfr = Oracle(doubleWordTier: false)

    /// The tier's answer to q, which must cover every output, checked against the MPFR path.
    @discardableResult
    static func tierAnswer(_ q: OracleRequest, _ note: String) throws -> [Double] {
        let b = try mpfr.evaluate(q)
        guard let a = try tier.evaluateDoubleWordTier(q) else {
            let left = try declined(q)
            Issue.record("the tier left outputs to the MPFR path: \(left); \(note)")
            return b.rounded
        }
        expectBits(a.rounded, b.rounded, "\(note)")
        return a.rounded
    }

    /// The tier's answer to q (any function), which must cover every output, against the MPFR path.
    static func tierAnswerAny(_ q: OracleRequest, _ note: String) throws {
        let b = try mpfr.evaluate(q)
        let a = try #require(try tier.evaluateDoubleWordTier(q), "the tier left outputs to the MPFR path: \(note)")
        expectBits(a.rounded, b.rounded, "\(note)")
    }

    /// The inputs of the outputs the tier leaves to the MPFR path (each output asked alone).
    static func declined(_ q: OracleRequest) throws -> String {
        var left: [String] = []
        for i in q.logits.indices {
            let z = q.labels![i], pw = q.posWeight.map { $0.count == 1 ? $0[0] : $0[i] } ?? 1, w = q.weight?[i] ?? 1
            if try tier.evaluateDoubleWordTier(bceRequest(q.format, [q.logits[i]], labels: [z], posWeight: [pw], weight: [w])) == nil {
                left.append("x = \(hex(q.logits[i])), z = \(hex(z)), pw = \(hex(pw)), w = \(hex(w))")
            }
        }
        return left.joined(separator: "; ")
    }

    static func bceRequest(_ format: Format, _ x: [Double], labels: [Double], posWeight: [Double]?, weight: [Double]?) -> OracleRequest {
        var q = OracleRequest(function: .bceWithLogits, format: format, logits: x)
        q.labels = labels
        q.posWeight = posWeight
        q.weight = weight
        return q
    }

    @Test("x = ±inf: 0 when the growing term's coefficient is 0, else ±inf by its sign (any label, pos_weight, weight)")
    func infiniteLogits() throws {
        let labels: [Double] = [0, -0.0, 1, 0.5, 1.5, -0.5]
        let posWeights: [Double] = [1, 0, -2, 3]
        let weights: [Double] = [1, 0, -0.5, 2]
        var x: [Double] = [], z: [Double] = [], pw: [Double] = [], w: [Double] = [], want: [Double] = []
        for xi in [Double.infinity, -.infinity] {
            for zi in labels {
                for pwi in posWeights {
                    for wi in weights {
                        x.append(xi); z.append(zi); pw.append(pwi); w.append(wi)
                        // The coefficient of |x| (exact here: small dyadic factors).
                        let c = xi < 0 ? wi * pwi * zi : wi * (1 - zi)
                        want.append(c == 0 ? 0 : (c < 0 ? -.infinity : .infinity))
                    }
                }
            }
        }
        for format in Format.allCases {
            let got = try Self.tierAnswer(Self.bceRequest(format, x, labels: z, posWeight: pw, weight: w), "\(format)")
            expectBits(got, want.map { format.round($0) }, "\(format)")
        }
    }

    @Test("P + 0⁺ with P = coefficient·|x| an exact midpoint in binades 900…1023 rounds as P + 0⁺")
    func nearTiesInTopBinades() throws {
        // (3/4)·(2^52 + 1)·2^948 = (3·2^52 + 3)·2^946: 54 bits, odd, so a midpoint of binary64;
        // the loss exceeds it by T = log1p(e^(−x)) > 0, so it rounds up to (3·2^52 + 4)·2^946.
        let x = Double((1 << 52) + 1) * 0x1p948
        let up = Double(3 * (1 << 52) + 4) * 0x1p946
        // Label 1/4 (B = 3/4, x > 0); label 1 with pos_weight 3/4 (A = 3/4, x < 0); the same
        // in binade 1023 with A = 3/2: (3·2^52 + 3)·2^970 rounds up to (3·2^52 + 4)·2^970; the
        // largest finite logit (P = maxFinite, no tie: rounds to itself); and P = (2^54 − 1)·2^970
        // = maxFinite + 2^970, the overflow boundary itself, as (3/2)·((2^54 − 1)/3)·2^971
        // ((2^54 − 1)/3 = 6004799503160661 is odd, below 2^53): P + 0⁺ rounds to +inf in
        // every format.
        let y = Double((1 << 52) + 1) * 0x1p971
        let boundary = 6_004_799_503_160_661 * 0x1p971
        let cases: [(x: Double, z: Double, pw: Double, want: Double)] = [
            (x, 0.25, 1, up),
            (-x, 1, 0.75, up),
            (-y, 1, 1.5, Double(3 * (1 << 52) + 4) * 0x1p970),
            (.greatestFiniteMagnitude, 0, 1, .greatestFiniteMagnitude),
        ]
        for format in Format.allCases {
            let q = Self.bceRequest(format, cases.map(\.x), labels: cases.map(\.z), posWeight: cases.map(\.pw), weight: nil)
            let got = try Self.tierAnswer(q, "\(format)")
            if format == .f64 { expectBits(got, cases.map(\.want), "f64") }
            // The overflow boundary: P's double-double form overflows, so the tier leaves it to
            // the MPFR path (a value really on a rounding boundary); the oracle gives +inf.
            let edge = Self.bceRequest(format, [-boundary], labels: [1], posWeight: [1.5], weight: nil)
            expectBits(try Self.tier.evaluate(edge).rounded, [format.round(.infinity)], "boundary, \(format)")
            expectBits(try Self.mpfr.evaluate(edge).rounded, [format.round(.infinity)], "boundary, \(format)")
        }
    }

    @Test("random huge and infinite logits with dyadic labels and weights: the tier answers every output")
    func randomHugeLogits() throws {
        var rng = SplitMix64(seed: Self.seed)
        for n in 0..<40 {
            let k = rng.int(1...24)
            let x = (0..<k).map { _ -> Double in
                if rng.oneIn(4) { return rng.pick([Double.infinity, -.infinity]) }
                let odd = Double(rng.int(0...(1 << 20)) * 2 + 1) * pow2(32) + Double(rng.int(0...(1 << 30)) * 2 + 1)
                let v = odd * pow2(rng.int(848...970))  // |x| in [2^900, 2^1024)
                return rng.oneIn(2) ? -v : v
            }
            let z = (0..<k).map { _ in Double(rng.int(0...16)) / 16 }
            let pw: [Double]? = rng.oneIn(2) ? nil : (0..<k).map { _ in Double(rng.int(1...16)) / 8 }
            // w > 0: an exactly zero loss (w = 0) is left to the MPFR path by design.
            let w: [Double]? = rng.oneIn(2) ? nil : (0..<k).map { _ in Double(rng.int(1...8)) / 4 }
            for format in Format.allCases {
                try Self.tierAnswer(Self.bceRequest(format, x, labels: z, posWeight: pw, weight: w),
                                    "seed \(Self.seed), case \(n), \(format), x = \(hex(x))")
            }
        }
    }
}

/// `certifyTiny` (ElementwiseOutputs.swift) gives what `certify` gives on outputs far below the
/// least subnormal, and outputs of that size agree with the MPFR path.
@Suite("Double-word tier: outputs far below the least subnormal")
struct TinyOutputTests {
    static let seed: UInt64 = 0xE1E3_0014

    @Test("certifyTiny = certify, bit for bit and in the exact value, on random tiny enclosures")
    func sameAsCertify() {
        var rng = SplitMix64(seed: Self.seed)
        for format in Format.allCases {
            let certifier = DoubleWordCertifier(format)
            for n in 0..<2000 {
                let h = (rng.oneIn(2) ? -1 : 1) * (1 + rng.unit()) * pow2(rng.int(-2...1))
                let l = h * rng.uniform(-1, 1) * 0x1p-53
                let k = rng.pick([rng.int(-1_600_000...(-900)), certifier.subnormalQuantum - rng.int(30...60), -905 - rng.int(-3...3)])
                let err = h.magnitude * pow2(-rng.int(1...110))
                let a = certifier.certifyTiny(h, l, scale: k, error: err)
                let b = certifier.certify(h, l, scale: k, error: err)
                let note = "h = \(hex(h)), l = \(hex(l)), k = \(k), err = \(hex(err)), \(format); seed \(Self.seed), case \(n)"
                #expect((a == nil) == (b == nil), "\(note)")
                if let a, let b {
                    expectBits([a.rounded], [b.rounded], "\(note)")
                    #expect(a.exact == b.exact, "\(note)")
                }
            }
        }
    }

    @Test("sigmoid, log_sigmoid, softplus and bce at |x| in [700, 2^20]: the tier answers, as the MPFR path")
    func tinyElementwise() throws {
        var rng = SplitMix64(seed: Self.seed &+ 1)
        let x = (0..<64).map { _ in (rng.oneIn(2) ? -1.0 : 1) * rng.pick([rng.uniform(700, 800), rng.uniform(800, 0x1p20)]) }
        for format in Format.allCases {
            for function in [OracleFunction.sigmoid, .logSigmoid, .softplus, .bceWithLogits] {
                var q = OracleRequest(function: function, format: format, logits: x)
                if function == .bceWithLogits { q.labels = x.map { _ in rng.pick([0, 1, 0.25]) } }
                try ElementwiseTierDecisionTests.tierAnswerAny(q, "\(function), \(format); seed \(Self.seed + 1)")
            }
        }
    }
}
