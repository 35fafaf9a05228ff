import DoubleWordArithmetic
import MPFR

/// The exact binary64 value x as a BigFloat.
public func big(_ x: Double) -> BigFloat { BigFloat(x, precision: 53) }

/// Exact values and errors at 320 bits (enough for every bound checked here, near 2^-110).
public enum Exact {
    public static let bits = 320

    /// (hi + lo)·2^k exactly.
    public static func value(_ v: DoubleWord, scale k: Int = 0) -> BigFloat {
        let r = BigFloat(precision: 2300)
        ExponentRange.widest {
            r.add(big(v.hi), big(v.lo), .nearest)  // exact at 2300 bits
            r.scale(r, byPowerOfTwo: k, .nearest)
        }
        return r
    }

    /// (hi + lo)·2^exponent exactly.
    public static func value(_ v: ScaledDoubleWord) -> BigFloat { value(DoubleWord(v.hi, v.lo), scale: v.exponent) }

    /// |approx − exact| / |exact|, rounded up.
    public static func relativeError(_ approx: BigFloat, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: bits)
            d.sub(approx, exact, .nearest)
            d.div(d, exact, .nearest)
            return abs(d.double(.up))
        }
    }

    /// |approx − exact|, rounded up.
    public static func absoluteError(_ approx: BigFloat, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: bits)
            d.sub(approx, exact, .nearest)
            return abs(d.double(.up))
        }
    }

    public static func apply(_ body: (BigFloat) -> Void) -> BigFloat {
        let r = BigFloat(precision: bits)
        ExponentRange.widest { body(r) }
        return r
    }

    public static func exp(_ x: BigFloat) -> BigFloat { apply { $0.exp(x, .nearest) } }
    public static func log1p(_ x: BigFloat) -> BigFloat { apply { $0.log1p(x, .nearest) } }
    public static func expm1(_ x: BigFloat) -> BigFloat { apply { $0.exp(x, .nearest); $0.sub($0, big(1), .nearest) } }
}
