import SoftmaxOracle
import Testing

/// Exact values that are exact ties of a format's grid, reached through the oracle. An exact
/// enclosure (every step exact) must be rounded directly, ties to even, without escalating
/// forever (no interval can ever separate a tie from itself).
@Suite("Exact ties through the oracle")
struct ExactTieTests {
    /// logsumexp([x]) = log(e^x) = x exactly: with K = 1 the oracle's output is the rounding of x.
    @Test("logsumexp of one logit is that logit, rounded ties-to-even, without escalation", arguments: Format.allCases)
    func singleLogitTies(format: Format) throws {
        let p = format.precision
        let u = pow2(1 - p)  // ulp of 1
        var cases: [(x: Double, want: Double)] = [
            (1, 1), (-1, -1), (0, 0), (-0.0, 0),  // log(e^-0) = log 1 = +0
            (designMaxFinite(format), designMaxFinite(format)),
            (format.leastPositive, format.leastPositive),
            (-format.leastPositive, -format.leastPositive),
        ]
        if p < 53 {
            cases += [
                (1 + u / 2, 1),  // between 1 (even) and 1 + u (odd)
                (1 + 3 * u / 2, 1 + 2 * u),  // between 1 + u (odd) and 1 + 2u (even)
                (-(1 + u / 2), -1),
                (-(1 + 3 * u / 2), -(1 + 2 * u)),
                (pow2(format.minSubnormalExponent - 1), 0),  // half the least subnormal → +0
                (-pow2(format.minSubnormalExponent - 1), -0.0),  // … and −0 on the negative side
                (3 * pow2(format.minSubnormalExponent - 1), 2 * format.leastPositive),
            ]
        }
        for (x, want) in cases {
            let r = try Oracle().evaluate(OracleRequest(function: .logsumexp, format: format, logits: [x]))
            expectBits(r.rounded, [want], "\(format) logsumexp([\(hex(x))])")
            #expect(r.escalations == 0, "\(format) logsumexp([\(hex(x))]) escalated \(r.escalations) times")
        }
    }

    @Test("f16: 1 + 2^-11 → 1, 1 + 3·2^-11 → 1 + 2^-9 (the brief's example)")
    func f16Example() throws {
        let a = try Oracle().evaluate(OracleRequest(function: .logsumexp, format: .f16, logits: [1 + 0x1p-11]))
        let b = try Oracle().evaluate(OracleRequest(function: .logsumexp, format: .f16, logits: [1 + 3 * 0x1p-11]))
        expectBits(a.rounded + b.rounded, [1, 1 + 0x1p-9])
        #expect(a.escalations == 0 && b.escalations == 0)
        // Same through log_softmax and softmax of one logit: exactly 0 and 1.
        expectBits(try rounded(OracleRequest(function: .logSoftmax, format: .f16, logits: [1 + 0x1p-11])), [0])
        expectBits(try rounded(OracleRequest(function: .softmax, format: .f16, logits: [1 + 0x1p-11])), [1])
    }

    @Test("overflow ties: f16 65520 → inf, e5m2 61440 → inf, e4m3fn 464 → 448")
    func overflowTies() throws {
        let cases: [(Format, Double, Double)] = [
            (.f16, 65520, .infinity), (.f16, -65520, -.infinity), (.f16, 65519.99, 65504),
            (.e5m2, 61440, .infinity), (.e5m2, 61439, 57344),
            (.e4m3fn, 464, 448), (.e4m3fn, -464, -448), (.e4m3fn, 465, .nan),
            (.bf16, 0x1.ffp+127, .infinity), (.f32, 0x1.ffffffp+127, .infinity),
        ]
        for (format, x, want) in cases {
            let r = try Oracle().evaluate(OracleRequest(function: .logsumexp, format: format, logits: [x]))
            expectBits(r.rounded, [want], "\(format) logsumexp([\(hex(x))])")
            #expect(r.escalations == 0)
        }
    }

    // MARK: Equal logits: softmax = 1/K exactly

    /// 1/K in the format, from IEEE division where that is the format's own arithmetic (f64, f32,
    /// f16: correctly rounded), from exact powers of two, or — for bf16 and the FP8 formats — by
    /// rounding the binary64 quotient with the integer reference, which is one correct rounding of
    /// 1/K unless the binary64 quotient is itself a midpoint of the format (checked; then nil).
    static func reciprocal(_ k: Int, _ format: Format) -> Double? {
        switch format {
        case .f64: return 1.0 / Double(k)
        case .f32: return Double(Float(1) / Float(k))
        case .f16: return Float16(exactly: k).map { Double(Float16(1) / $0) }
        default:
            let q = 1.0 / Double(k)
            let exact = q * Double(k) == 1 && k & (k - 1) == 0  // K a power of two: q is 1/K exactly
            return isMidpoint(q, format) && !exact ? nil : referenceRound(q, format)
        }
    }

    static let counts = [1, 2, 3, 4, 5, 7, 8, 10, 12, 100, 127, 128, 255, 256, 1000, 1024]

    @Test("K equal logits give 1/K in every format, subnormal results included", arguments: Format.allCases)
    func equalLogits(format: Format) throws {
        for k in Self.counts {
            guard let want = Self.reciprocal(k, format) else {
                Issue.record("1/\(k) in binary64 is a midpoint of \(format): pick another K")
                continue
            }
            for logit in [[0.0, -3.5, 700][k % 3]] {
                let got = try rounded(OracleRequest(function: .softmax, format: format, logits: Array(repeating: logit, count: k)))
                #expect(got.count == k)
                #expect(Set(got.map { hex($0) }) == [hex(want)], "\(format) K=\(k) logit \(logit): \(hex(Array(Set(got))))")
            }
        }
    }

    /// Powers of two: 1/K = 2^-n exactly, subnormal in the small formats, a tie or below for the
    /// least ones: f16 2^-15 and 2^-24 are subnormal; e4m3fn 2^-7 .. 2^-9 subnormal, 2^-10 the tie
    /// (→ 0), 2^-11 below it; e5m2 2^-15, 2^-16 subnormal, 2^-17 the tie.
    @Test("powers of two reaching the subnormals and the underflow tie")
    func subnormalReciprocals() throws {
        let cases: [(Format, Int, Double)] = [
            (.f16, 1 << 15, 0x1p-15),
            (.e4m3fn, 128, 0x1p-7), (.e4m3fn, 512, 0x1p-9), (.e4m3fn, 1024, 0), (.e4m3fn, 2048, 0),
        ]
        for (format, k, want) in cases {
            let got = try rounded(OracleRequest(function: .softmax, format: format, logits: Array(repeating: 1, count: k)))
            #expect(Set(got.map { hex($0) }) == [hex(want)], "\(format) K=\(k)")
        }
    }

    @Test("equal logits: log_softmax = −log K, logsumexp = x + log K; K = 2^n gives n·log 2 exactly related")
    func equalLogitsLogs() throws {
        // log_softmax of K equal logits is −logsumexp of K zeros: the same real.
        for format in Format.allCases {
            for k in [2, 3, 10] {
                let ls = try rounded(OracleRequest(function: .logSoftmax, format: format, logits: Array(repeating: 5, count: k)))
                let lse = try rounded(OracleRequest(function: .logsumexp, format: format, logits: Array(repeating: 0, count: k)))
                #expect(Set(ls.map { hex($0) }) == [hex(-lse[0])], "\(format) K=\(k)")
            }
        }
    }

    @Test("equal logits: the cross-entropy gradient with a hard target is 1/K − 1 and 1/K exactly (powers of two)")
    func equalLogitsGradient() throws {
        for format in Format.allCases {
            for k in [2, 4, 8] {
                let got = try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: Array(repeating: -2, count: k), target: .index(1)))
                var want = Array(repeating: 1 / Double(k), count: k)
                want[1] = 1 / Double(k) - 1  // exact: −(K−1)/K with K ≤ 8 fits every format's precision
                expectBits(got, want, "\(format) K=\(k)")
            }
        }
    }
}
