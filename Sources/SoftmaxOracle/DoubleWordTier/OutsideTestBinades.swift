import DoubleWordArithmetic
// f64 outputs in the binades the inline certification test does not take (e <= −901 or
// e >= 901): decided here without `Format.certifyExactly`'s exact rounding of both ends,
// wherever they can be, with the output `certifyOther` gives. The elementwise functions meet
// these binades all the time: E/S, T and C·T for |x| from about 620 to 775, softplus of
// x ≈ 1e300 (exp_overflow, exp_underflow, dominant_target, near_ties rows).

extension DoubleWordCertifier {
    /// What `testOutsideBinades` found.
    enum OutsideBinadesTest {
        /// Certified: `certifyOther`'s output.
        case certified(OracleValue)
        /// Too wide to stand for the exact value: `certifyOther` declines too.
        case notNarrow
        /// Near a rounding boundary: left to the exact rounding.
        case undecided
    }

    /// `certifyOther`'s decision for an f64 output v = (hn + ln)·2^e, normalized (|hn| ∈ [1, 2),
    /// ln finite) with −1118 < e <= 1023 and an error err' in units of 2^e (`certifyOther`'s own
    /// v and error), without the exact rounding:
    /// - narrow: `certifiedValue`'s rule itself, err' <= 2^t, t = max(e − 1, −1022) − 93 − e
    ///   (t ∈ [−94, 3] here: its clamp at −1000 and its exit at t >= 60 never apply);
    /// - rounding in units of 2^e for e >= −1022, σ = 1, and of 2^-1074 below, σ = 2^(e+1074)
    ///   (∈ [2^-43, 2^51]: exact scalings, normal results): a = |hn|·σ, b = ±ln·σ (the sign
    ///   of hn taken out; b off by <= 2^-1074 if it underflows), es = err'·σ·(1 + 2^-50) +
    ///   2^-1074, raised to a·2^-100 (wider than `certifyExactly`'s bracket, whose ends move by
    ///   <= 2 ulps of ln ± err', <= 2^-101·a when ln is a double word's low part).
    ///   For e >= −1022 binary64's quantum at v is 2^(e−52): a has 53 bits, so r = a lies on
    ///   the grid, and room = 2^-53 (half a quantum), halved when |hn| = 1 and e > −1022 (the
    ///   spacing below a power of two halves). For e < −1022 the quantum is 1 unit and
    ///   a < 2^(e+1075) <= 2^52: r = (a + 2^52) − 2^52 is a rounded to an integer, ties to even
    ///   (a + 2^52 lies in [2^52, 2^53], where the spacing is 1 and 2^52 is even), room = 1/2;
    /// - δ = (a − r) + b (a − r exact: a multiple of a's ulp, at most half a quantum, one
    ///   rounding <= u|δ|) and every value of [a + b − es, a + b + es] rounds to r when
    ///   (|δ|(1 + 2^-50) + es)(1 + 2^-50) < room; for r = 0 the zero takes hn's sign when also
    ///   (|b| + es)(1 + 2^-50) < a (no value of the enclosure reaches 0);
    /// - the rounded value ±r·2^e or ±r·2^-1074 is exact (r has at most 53 bits, the product is
    ///   in binary64's range: e <= 1023), the exact value `certifyOther`'s.
    /// So where this certifies, every value of the enclosure, and of `certifyExactly`'s bracket
    /// inside it, rounds to its output: `certifyOther`'s output. (Tests: OutsideTestBinadesTests.)
    func testOutsideBinades(_ v: ScaledDoubleWord, error: Double) -> OutsideBinadesTest {
        let e = v.exponent
        guard error <= powerOfTwo(Swift.max(e - 1, -1022) - 93 - e) else { return .notNarrow }
        let normal = e >= -1022
        let sigma = normal ? 1 : powerOfTwo(e + 1074)
        let negative = v.hi < 0
        let a = v.hi.magnitude * sigma, b = (negative ? -v.lo : v.lo) * sigma
        let es = Swift.max(error * sigma * (1 + 0x1p-50) + 0x1p-1074, a * 0x1p-100)
        let r = normal ? a : (a + 0x1p52) - 0x1p52
        let room = normal ? (a == 1 && e > -1022 ? 0x1p-54 : 0x1p-53) : 0.5
        let delta = (a - r) + b
        guard (delta.magnitude * (1 + 0x1p-50) + es) * (1 + 0x1p-50) < room,
              r != 0 || (b.magnitude + es) * (1 + 0x1p-50) < a else { return .undecided }
        let rounded = normal ? scaled(r, by: e) : scaled(r, by: -1074)
        return .certified(OracleValue(rounded: negative ? -rounded : rounded, exact: ExactValue(scaledHi: v.hi, lo: v.lo, scale: e)))
    }
}
