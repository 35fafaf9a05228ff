import DoubleWordArithmetic
import MPFR

// The certified tier's primitives are tested in Tests/DoubleWordArithmeticTests (tables,
// double-word operations, exponentials, log1p, sums, each against MPFR). What stays here is
// the helper the rounding tests of this target use.

/// Exact BigFloats of double words and relative errors, at 320 bits.
enum FastTierMath {
    static let bits = 320

    /// (hi + lo)·2^k exactly.
    static func value(_ v: DoubleWord, scale k: Int = 0) -> BigFloat {
        let r = BigFloat(precision: bits)
        ExponentRange.widest {
            r.add(BigFloat(v.hi, precision: 53), BigFloat(v.lo, precision: 53), .nearest)  // exact
            r.scale(r, byPowerOfTwo: k, .nearest)
        }
        return r
    }

    /// |approx − exact| / |exact|, as a double rounded up.
    static func relativeError(_ approx: BigFloat, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: bits)
            d.sub(approx, exact, .nearest)
            d.div(d, exact, .nearest)
            return abs(d.double(.up))
        }
    }
}
