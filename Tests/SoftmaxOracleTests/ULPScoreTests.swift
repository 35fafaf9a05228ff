import MPFR
import SoftmaxOracle
import Testing

/// The ULP measure of docs/formats.md: err = |y − v| / ulp(v), ulp(v) = 2^(max(⌊log₂|v|⌋, e_min) − p + 1).
/// Exact values are built here with MPFR (1/3 to 200 bits, powers of two), never taken from the
/// oracle; correctly rounded values come from IEEE arithmetic or exact math.
@Suite("ULP scores")
struct ULPScoreTests {
    /// 1/3 to 200 bits.
    static func third() -> ExactValue {
        let t = BigFloat(precision: 200)
        t.div(big(1), big(3), .nearest)
        return ExactValue(t)
    }

    @Test("f64: RN(1/3) scores 1/3 ulp and is correct; the next double up scores 2/3 and is not")
    func oneThirdF64() {
        let v = Self.third()
        let cr = 1.0 / 3.0  // IEEE division: correctly rounded, 1/3 ulp below 1/3 (…5555 vs …5555.55)
        let good = ULP.score(cr, exact: v, correctlyRounded: cr, format: .f64)
        #expect(good.outcome == .correctlyRounded && good.isCorrectlyRounded)
        #expect(good.ulps <= 0.5)
        #expect((good.ulps - 1.0 / 3).magnitude < 1e-12)
        #expect(!good.signedZeroMismatch)
        let next = ULP.score(cr.nextUp, exact: v, correctlyRounded: cr, format: .f64)
        #expect(next.outcome == .finiteError)
        #expect(next.ulps > 0.5 && next.ulps < 1.5)
        #expect((next.ulps - 2.0 / 3).magnitude < 1e-12)
        let previous = ULP.score(cr.nextDown, exact: v, correctlyRounded: cr, format: .f64)
        #expect((previous.ulps - 4.0 / 3).magnitude < 1e-12)
    }

    @Test("every format: the correct rounding scores ≤ 0.5, its grid neighbours between 0.5 and 1.5", arguments: Format.allCases)
    func neighbours(format: Format) {
        let v = Self.third()
        // 1/3 rounded into the format: from IEEE division in f64/f32/f16, else by rounding the
        // binary64 quotient (1/3 in binary64 is not a midpoint of any coarser grid: its bits
        // alternate 0101…).
        let cr: Double = switch format {
        case .f64: 1.0 / 3
        case .f32: Double(Float(1) / Float(3))
        case .f16: Double(Float16(1) / Float16(3))
        default: referenceRound(1.0 / 3, format)
        }
        #expect(!isMidpoint(1.0 / 3, format))
        let good = ULP.score(cr, exact: v, correctlyRounded: cr, format: format)
        #expect(good.isCorrectlyRounded && good.ulps <= 0.5, "\(format): \(good.ulps)")
        let ulp = pow2(-2 - format.precision + 1)  // 1/3 lies in [2^-2, 2^-1)
        for y in [cr + ulp, cr - ulp] {
            let s = ULP.score(y, exact: v, correctlyRounded: cr, format: format)
            #expect(s.outcome == .finiteError)
            #expect(s.ulps > 0.5 && s.ulps < 1.5, "\(format) y=\(hex(y)): \(s.ulps)")
        }
    }

    @Test("special values: NaN vs finite, inf vs finite, finite vs NaN are special mismatches")
    func specialMismatches() {
        let one = ExactValue(1.0)
        let nan = ULP.score(.nan, exact: one, correctlyRounded: 1, format: .f64)
        #expect(nan.outcome == .specialMismatch && nan.ulps == .infinity)
        let inf = ULP.score(.infinity, exact: one, correctlyRounded: 1, format: .f64)
        #expect(inf.outcome == .specialMismatch)
        let finiteForNaN = ULP.score(1, exact: .nan, correctlyRounded: .nan, format: .f64)
        #expect(finiteForNaN.outcome == .specialMismatch)
        let wrongInfinity = ULP.score(-.infinity, exact: .infinity(negative: false), correctlyRounded: .infinity, format: .f64)
        #expect(wrongInfinity.outcome == .specialMismatch)
        // Matching specials are correct.
        #expect(ULP.score(.nan, exact: .nan, correctlyRounded: .nan, format: .f64).isCorrectlyRounded)
        #expect(ULP.score(-.infinity, exact: .infinity(negative: true), correctlyRounded: -.infinity, format: .f32).isCorrectlyRounded)
    }

    @Test("overflow: inf equal to an overflowed correct rounding is correct; e4m3fn's NaN too")
    func overflow() {
        // 70000 overflows f16 (max 65504, threshold 65520).
        let s = ULP.score(.infinity, exact: ExactValue(70000.0), correctlyRounded: .infinity, format: .f16)
        #expect(s.isCorrectlyRounded && s.ulps == 0)
        let e4 = ULP.score(.nan, exact: ExactValue(500.0), correctlyRounded: .nan, format: .e4m3fn)
        #expect(e4.isCorrectlyRounded)
        // An f64 value beyond binary64's range (2^1100 as an exact value) and inf.
        let huge = ULP.score(.infinity, exact: ExactValue(bigPow2(1100)), correctlyRounded: .infinity, format: .f64)
        #expect(huge.isCorrectlyRounded)
        // The largest finite value where the correct rounding is inf: a special mismatch? No: a
        // finite output for a finite exact value is a finite error, however large.
        let maxForInf = ULP.score(65504, exact: ExactValue(70000.0), correctlyRounded: .infinity, format: .f16)
        #expect(maxForInf.outcome == .finiteError)
        // ulp(70000) = 2^(16 − 11 + 1) = 64 (its own binade [2^16, 2^17), the formula has no cap).
        #expect(maxForInf.ulps == (70000.0 - 65504.0) / 64)
    }

    @Test("±0 against ∓0 is correct, with the signed-zero note")
    func signedZeros() {
        let s = ULP.score(-0.0, exact: .zero(), correctlyRounded: 0.0, format: .f64)
        #expect(s.isCorrectlyRounded && s.signedZeroMismatch && s.ulps == 0)
        let t = ULP.score(0.0, exact: .zero(negative: true), correctlyRounded: -0.0, format: .f32)
        #expect(t.isCorrectlyRounded && t.signedZeroMismatch)
        let same = ULP.score(0.0, exact: .zero(), correctlyRounded: 0.0, format: .f64)
        #expect(same.isCorrectlyRounded && !same.signedZeroMismatch)
        // A tiny negative exact value −2^-1100 rounds to −0 in f64; +0 is correct with the note, and
        // scores 2^-1100 / 2^-1074 = 2^-26.
        let tiny = BigFloat(precision: 53)
        tiny.neg(bigPow2(-1100), .nearest)
        let u = ULP.score(0.0, exact: ExactValue(tiny), correctlyRounded: -0.0, format: .f64)
        #expect(u.isCorrectlyRounded && u.signedZeroMismatch && u.ulps == 0x1p-26)
    }

    @Test("the subnormal ulp is used for tiny values")
    func subnormalULP() {
        // Exact 2^-1080, output 0 (its correct rounding): 2^-1080 / 2^-1074 = 2^-6.
        let s = ULP.score(0, exact: ExactValue(bigPow2(-1080)), correctlyRounded: 0, format: .f64)
        #expect(s.isCorrectlyRounded && s.ulps == 0x1p-6)
        // Output the least subnormal for an exact 0: one ulp.
        let one = ULP.score(0x1p-1074, exact: .zero(), correctlyRounded: 0, format: .f64)
        #expect(one.outcome == .finiteError && one.ulps == 1)
        // f16: ulp below 2^-14 is 2^-24; exact 2^-26 vs 0 is 1/4, and 3·2^-24 vs exact 2^-24 is 2.
        #expect(ULP.score(0, exact: ExactValue(0x1p-26), correctlyRounded: 0, format: .f16).ulps == 0.25)
        #expect(ULP.score(3 * 0x1p-24, exact: ExactValue(0x1p-24), correctlyRounded: 0x1p-24, format: .f16).ulps == 2)
        // e4m3fn: least subnormal 2^-9; exact 2^-10 (the tie, correct rounding 0) vs 2^-9 is 1/2.
        #expect(ULP.score(0x1p-9, exact: ExactValue(0x1p-10), correctlyRounded: 0, format: .e4m3fn).ulps == 0.5)
        // Far below: an exact e^-3000-like 2^-5000 against the least subnormal is one ulp.
        #expect(ULP.score(0x1p-1074, exact: ExactValue(bigPow2(-5000)), correctlyRounded: 0, format: .f64).ulps == 1)
    }

    @Test("ulp(v) is the ulp of v's binade, not of the output's")
    func binadeOfTheExactValue() {
        // v = 2 − 2^-60 (binade [1, 2), ulp 2^-52), y = 2: error 2^-60 / 2^-52 = 2^-8.
        let v = BigFloat(precision: 128)
        v.sub(big(2), bigPow2(-60), .nearest)
        let s = ULP.score(2, exact: ExactValue(v), correctlyRounded: 2, format: .f64)
        #expect(s.isCorrectlyRounded && s.ulps == 0x1p-8)
        // y = 2 − 2^-52 (the other neighbour): error (2^-52 − 2^-60)/2^-52 = 1 − 2^-8.
        let t = ULP.score(2 - 0x1p-52, exact: ExactValue(v), correctlyRounded: 2, format: .f64)
        #expect(t.outcome == .finiteError && t.ulps == 1 - 0x1p-8)
        // Far-apart values: 1e300 for 1 is about 1e300 · 2^52 ulps, finite.
        let far = ULP.score(1e300, exact: ExactValue(1.0), correctlyRounded: 1, format: .f64)
        #expect(far.outcome == .finiteError && far.ulps > 1e300)
    }

    @Test("ExactValue keeps ⌊log₂|v|⌋ and ~106 bits")
    func exactValue() {
        let v = Self.third()
        #expect(v.kind == .finite && !v.isNegative && v.exponent == -2)
        #expect(v.approximateDouble == 1.0 / 3)
        #expect(ExactValue(-0.0) == .zero(negative: true))
        #expect(ExactValue(Double.nan).kind == .nan)
        #expect(ExactValue(-Double.infinity) == .infinity(negative: true))
        #expect(ExactValue(0x1p-1074).exponent == -1074)
        #expect(ExactValue(bigPow2(-5000)).exponent == -5000)
    }
}
