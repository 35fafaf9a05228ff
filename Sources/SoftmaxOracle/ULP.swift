import DoubleWordArithmetic

/// How an output compares with the exact value (docs/formats.md, "The ULP measure").
public struct ULPScore: Sendable, Hashable {
    /// The kind of agreement between an output and the correctly rounded result.
    public enum Outcome: Sendable, Hashable {
        /// Equal to the correctly rounded result (also when that is ±inf or NaN).
        case correctlyRounded
        /// Finite, and not the correctly rounded result.
        case finiteError
        /// NaN or ±inf where the exact value is finite, or the reverse, or the wrong special.
        case specialMismatch
    }

    /// Correctly rounded, a finite error, or a special-value mismatch.
    public var outcome: Outcome
    /// |y − v| / ulp(v). Zero for a matching special value; `.infinity` for a special mismatch;
    /// errors beyond binary64's range read as `greatestFiniteMagnitude`.
    public var ulps: Double
    /// The output is a zero of the other sign than the correctly rounded zero (counted as correct).
    public var signedZeroMismatch: Bool

    /// True when the output equals the correctly rounded result (a zero of either sign counts).
    public var isCorrectlyRounded: Bool { outcome == .correctlyRounded }
}

/// The ULP error measure of docs/formats.md.
///
/// err(y, v) = |y − v| / ulp(v), ulp(v) = 2^(max(⌊log₂|v|⌋, e_min) − p + 1), with p and e_min
/// the output format's precision and least normal exponent; v = 0 uses the subnormal ulp. A
/// correctly rounded output scores at most 0.5.
public enum ULP {
    /// Scores output `y` against the exact value `exact`, whose correct rounding into `format` is
    /// `correctlyRounded`.
    ///
    /// - An output equal to the correctly rounded result is `.correctlyRounded`, also where that
    ///   is ±inf (overflow) or NaN (e4m3fn overflow, or a NaN-valued special case). A zero of the
    ///   other sign counts as equal, with `signedZeroMismatch` set.
    /// - Otherwise NaN or ±inf on either side is a `.specialMismatch` (ulps = inf).
    /// - Otherwise `.finiteError` with the ULP distance.
    public static func score(_ y: Double, exact: ExactValue, correctlyRounded: Double, format: Format) -> ULPScore {
        let finite = exact.kind == .finite || exact.kind == .zero
        if y.isNaN && correctlyRounded.isNaN {
            return ULPScore(outcome: .correctlyRounded, ulps: 0, signedZeroMismatch: false)
        }
        if y == correctlyRounded {  // also ±0 against ∓0, and equal infinities
            let zeroSign = y == 0 && y.sign != correctlyRounded.sign
            let ulps = (finite && y.isFinite) ? error(y, exact: exact, format: format) : 0
            return ULPScore(outcome: .correctlyRounded, ulps: ulps, signedZeroMismatch: zeroSign)
        }
        if !y.isFinite || !finite {
            return ULPScore(outcome: .specialMismatch, ulps: .infinity, signedZeroMismatch: false)
        }
        return ULPScore(outcome: .finiteError, ulps: error(y, exact: exact, format: format), signedZeroMismatch: false)
    }

    /// |y − v| / ulp(v) for finite `y` and a finite (or zero) exact value `v`.
    ///
    /// Accuracy: when y and v are within 2^60 of each other, y is rescaled exactly into v's binade
    /// and subtracted with an error-free TwoSum, so the difference carries ~2^-100 relative error;
    /// farther apart, the larger magnitude stands for the difference (relative error ≤ 2^-59).
    /// Either way the score is good to far more digits than a report prints.
    public static func error(_ y: Double, exact v: ExactValue, format: Format) -> Double {
        precondition(y.isFinite && (v.kind == .finite || v.kind == .zero), "ULP.error needs finite values")
        let p = format.precision
        let emin = format.minNormalExponent
        if v.kind == .zero {
            return clampedScaled(y.magnitude, by: -(emin - p + 1))
        }
        let u = Swift.max(v.exponent, emin) - p + 1  // ulp(v) = 2^u
        let signedHead = v.isNegative ? -v.head : v.head
        let signedTail = v.isNegative ? -v.tail : v.tail
        if y == 0 {
            return clampedScaled(v.head + v.tail, by: v.exponent - u)
        }
        let ey = Int(y.exponent)
        if ey - v.exponent > 60 {
            return clampedScaled(y.magnitude, by: -u)
        }
        if v.exponent - ey > 60 {
            return clampedScaled(v.head + v.tail, by: v.exponent - u)
        }
        // y · 2^-e is exact: its exponent lies within 61 of 0.
        let ys = Double(sign: .plus, exponent: -v.exponent, significand: y)
        let t = twoSum(ys, -signedHead)
        let d = t.hi + (t.lo - signedTail)
        return clampedScaled(d.magnitude, by: v.exponent - u)
    }

    /// x · 2^k for a score, clamped to the largest finite double (an error that large is off
    /// the chart anyway); unlike DoubleWordArithmetic's `scaled(_:by:)` it never returns inf.
    static func clampedScaled(_ x: Double, by k: Int) -> Double {
        let r = Double(sign: .plus, exponent: Swift.max(Swift.min(k, 5000), -5000), significand: x)
        return r.isFinite ? r : .greatestFiniteMagnitude
    }
}
