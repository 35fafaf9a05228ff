import MPFR
import SoftmaxOracle
import Testing

/// Losses far below 1, which a subtraction logsumexp − x_t would destroy: certified to full
/// precision. Expected values come from MPFR's exp at 300 bits with its own directed roundings
/// (a small certification written here): if exp(−a) rounded down, lowered further by a relative
/// 2^-900, and exp(−a) rounded up give the same double, then every real in between — log1p(e^-a),
/// e^-a/(1 + e^-a), which differ from e^-a by a relative e^-a ≈ 1e-300 — rounds to that double.
@Suite("Tiny values: cross-entropies of 1e-300 and below")
struct TinyValueTests {
    /// The double every real within a relative 2^-900 below to 2^-300 above e^(−a) rounds to,
    /// or nil if that band straddles a rounding boundary.
    static func roundedExpOfNegative(_ a: Double) -> Double? {
        let arg = big(-a)
        let lo = BigFloat(precision: 300), hi = BigFloat(precision: 300)
        lo.exp(arg, .down)
        hi.exp(arg, .up)
        let lower = perturbed(lo, by: 900, upward: false)
        let a = Format.f64.round(lower), b = Format.f64.round(hi)
        return a == b ? a : nil
    }

    @Test("cross_entropy([0, −690], target 0) = RN(e^-690) ≈ 1e-300, certified at the first precision")
    func crossEntropyOf1eMinus300() throws {
        let want = try #require(Self.roundedExpOfNegative(690))
        #expect(want > 1e-301 && want < 1e-299)
        let r = try Oracle().evaluate(OracleRequest(function: .crossEntropy, logits: [0, -690], target: .index(0)))
        expectBits(r.rounded, [want])
        #expect(r.escalations == 0, "the log1p formulation needs no escalation")
        // The exact value the oracle reports is within a tiny relative error of e^-690.
        let approx = r.values[0].exact.approximateDouble
        #expect((approx - want).magnitude <= want.ulp)
    }

    @Test("cross_entropy_grad([0, −690], target 0) = [−RN(e^-690), RN(e^-690)]")
    func gradientOf1eMinus300() throws {
        let want = try #require(Self.roundedExpOfNegative(690))
        expectBits(try rounded(OracleRequest(function: .crossEntropyGrad, logits: [0, -690], target: .index(0))), [-want, want])
        // And log_softmax at the arg-max is −log1p(e^-690).
        expectBits(try rounded(OracleRequest(function: .logSoftmax, logits: [0, -690])), [-want, -690])
    }

    @Test("cross_entropy([0, −745], target 0): e^-745 rounds to the least subnormal 0x1p-1074")
    func crossEntropyInTheSubnormals() throws {
        let want = try #require(Self.roundedExpOfNegative(745))
        #expect(want == 0x1p-1074)
        expectBits(try rounded(OracleRequest(function: .crossEntropy, logits: [0, -745], target: .index(0))), [want])
        // e^-746 ≈ 0.21 · 2^-1074 rounds to +0; e^-744 ≈ 1.55 · 2^-1074 to 2 · 2^-1074.
        let below = try #require(Self.roundedExpOfNegative(746))
        let above = try #require(Self.roundedExpOfNegative(744))
        #expect(below == 0 && above == 0x1p-1073)
        expectBits(try rounded(OracleRequest(function: .crossEntropy, logits: [0, -746], target: .index(0))), [below])
        expectBits(try rounded(OracleRequest(function: .crossEntropy, logits: [0, -744], target: .index(0))), [above])
    }

    @Test("subnormal cross-entropies in the small formats: RN(e^-a) rounded again is safe only off midpoints")
    func smallFormats() throws {
        // f32: e^-100 ≈ 3.7e-44 ≈ 26.5 · 2^-149 (subnormal). The f64 value is not an f32 midpoint,
        // so rounding the correctly rounded f64 value again gives the correct f32 value.
        for (format, a) in [(Format.f32, 100.0), (.f16, 16), (.bf16, 90), (.e4m3fn, 6.5), (.e5m2, 11)] {
            let viaF64 = try #require(Self.roundedExpOfNegative(a))
            #expect(!isMidpoint(viaF64, format))
            let want = referenceRound(viaF64, format)
            expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: [0, -a], target: .index(0))), [want], "\(format) a=\(a)")
        }
    }

    @Test("log_softmax at the arg-max of [1000, 1] is −0 (−e^-999 rounds to −0, sign kept) in every format")
    func negativeZero() throws {
        for format in Format.allCases {
            let got = try rounded(OracleRequest(function: .logSoftmax, format: format, logits: [1000, 1]))
            #expect(hex(got[0]) == "-0x0p+0", "\(format)")
        }
        expectBits(try rounded(OracleRequest(function: .logSoftmax, logits: [1000, 1])), [-0.0, -999.0])
        // Beyond MPFR's exponent range the sign is still right: e^(−1e300) underflows everything.
        expectBits(try rounded(OracleRequest(function: .logSoftmax, logits: [1e300, 0])), [-0.0, -1e300])
        expectBits(try rounded(OracleRequest(function: .crossEntropy, logits: [1e300, 0], target: .index(0))), [0.0])
        expectBits(try rounded(OracleRequest(function: .logsumexp, logits: [0, -1e300])), [0.0])
        expectBits(try rounded(OracleRequest(function: .softmax, logits: [0, -1e300])), [1.0, 0.0])
    }
}
