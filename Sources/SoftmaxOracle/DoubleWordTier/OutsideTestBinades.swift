import DoubleWordArithmetic
// f64 outputs in the binades above the inline test's (e >= 901): decided here without
// `Format.certifyExactly`'s exact rounding of both ends, wherever they can be, with the output
// `certifyOther` gives. The elementwise functions meet these binades all the time: softplus of
// x ≈ 1e300 (exp_overflow, dominant_target, near_ties rows). Below the inline test's binades
// (e <= −901: binary64's subnormals and below) the lanes decide (`band`, `belowSubnormals`).

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
    /// ln finite) with 901 <= e <= 1023 and an error err' in units of 2^e (`certifyOther`'s own
    /// v and error), without the exact rounding:
    /// - narrow: `certifiedValue`'s rule itself, err' <= 2^t, t = (e − 1) − 93 − e = −94
    ///   (its clamp at −1000 and its exit at t >= 60 never apply);
    /// - rounding in units of 2^e: a = |hn|, b = ±ln (the sign of hn taken out; exact),
    ///   es = err'·(1 + 2^-50) + 2^-1074, raised to a·2^-100 (wider than `certifyExactly`'s
    ///   bracket, whose ends move by <= 2 ulps of ln ± err', <= 2^-101·a when ln is a double
    ///   word's low part). Binary64's quantum at v is 2^(e−52): a has 53 bits, so r = a lies on
    ///   the grid, and room = 2^-53 (half a quantum), halved when |hn| = 1 (the spacing below a
    ///   power of two halves);
    /// - δ = (a − r) + b = b and every value of [a + b − es, a + b + es] rounds to r when
    ///   (|δ|(1 + 2^-50) + es)(1 + 2^-50) < room (r = a >= 1 is never 0);
    /// - the rounded value ±r·2^e is exact (r has 53 bits, e <= 1023), the exact value
    ///   `certifyOther`'s.
    /// So where this certifies, every value of the enclosure, and of `certifyExactly`'s bracket
    /// inside it, rounds to its output: `certifyOther`'s output. (Tests: OutsideTestBinadesTests.)
    func testOutsideBinades(_ v: ScaledDoubleWord, error: Double) -> OutsideBinadesTest {
        let e = v.exponent
        guard error <= 0x1p-94 else { return .notNarrow }
        let negative = v.hi < 0
        let a = v.hi.magnitude, b = negative ? -v.lo : v.lo
        let es = Swift.max(error * (1 + 0x1p-50) + 0x1p-1074, a * 0x1p-100)
        let room = a == 1 ? 0x1p-54 : 0x1p-53
        guard (b.magnitude * (1 + 0x1p-50) + es) * (1 + 0x1p-50) < room else { return .undecided }
        let rounded = scaled(a, by: e)
        return .certified(OracleValue(rounded: negative ? -rounded : rounded, exact: ExactValue(scaledHi: v.hi, lo: v.lo, scale: e)))
    }
}
