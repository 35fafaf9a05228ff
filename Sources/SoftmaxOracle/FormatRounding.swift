import MPFR

extension Format {
    /// `x` rounded once, to nearest-even, into this format, returned as the binary64 number of the
    /// same value (±inf on overflow; NaN in `e4m3fn` on overflow; a rounded-to-zero value keeps
    /// the sign of `x`).
    ///
    /// The MPFR recipe for emulating a format: (1) round to the format's precision p in MPFR's
    /// widest exponent range, keeping the ternary value t (which says on which side of x the
    /// result lies); (2) narrow the exponent range to the format's and call `mpfr_check_range`,
    /// which turns an out-of-range result into ±inf / 0 / the least number, using t to avoid a
    /// double rounding at the underflow midpoint; (3) `mpfr_subnormalize`, which re-rounds a result
    /// in the subnormal binades to the bits the format has there, again using t so that the two
    /// roundings equal one rounding of x. The range is restored before returning (it is
    /// thread-local, and no `await` can intervene).
    public func round(_ x: BigFloat) -> Double {
        if x.isNaN { return .nan }
        if x.isInfinite { return overflowIsNaN ? .nan : (x.signBit ? -.infinity : .infinity) }
        if x.isZero { return x.signBit ? -0.0 : 0.0 }
        let r = BigFloat(precision: precision)
        let t = ExponentRange.widest { r.set(x, .nearest) }
        let range = mpfrExponentRange
        ExponentRange.with(emin: range.emin, emax: range.emax) {
            r.fitExponentRange(ternary: t, .nearest)
        }
        let d = r.double(.nearest)  // exact: every format value is a binary64 value
        if overflowIsNaN && (d.isInfinite || d.magnitude > maxFinite) { return .nan }
        if d == 0 { return x.signBit ? -0.0 : 0.0 }
        return d
    }

    /// The value certified by an enclosure, or nil when it does not round uniquely (the exact value
    /// lies too close to a rounding boundary for this enclosure).
    ///
    /// The oracle's enclosures satisfy: a non-point enclosure holds its exact value strictly
    /// inside, lo < v < hi. (Inputs and exactly computed weights are points; every operation that
    /// rounds is inexact, which puts the exact result strictly inside; an operation on a strict
    /// operand keeps strictness because every function used is strictly monotone where applied,
    /// and a product with an exact zero is the exact point 0. An exponential below MPFR's least
    /// number, e^(-10^300), is enclosed as (0, least number), also strictly.) So the ends count as
    /// open: the rounding of v is that of lo⁺ (just above lo) and of hi⁻ (just below hi), computed
    /// by moving each end one step at a precision 8 bits finer than both the end and the format,
    /// which crosses no rounding boundary other than possibly the end itself. Rounding is monotone,
    /// so equal results (with equal signs) pin down round(v). This is what lets an exact value
    /// that is an infinitesimal away from a tie (a tie minus e^(-10^300)) certify at all.
    ///
    /// Zeros: an enclosure whose ends are both zero is the exact 0, returned as +0 (as IEEE 754's
    /// x - x). A nonzero value that rounds to zero keeps its sign (lo = 0 gives +0 for lo⁺).
    func certify(_ e: Interval) -> Double? {
        if e.isExactZero { return 0.0 }
        if e.isPoint { return round(e.lo) }
        let a = roundJustAbove(e.lo)
        let b = roundJustBelow(e.hi)
        if a.isNaN && b.isNaN { return a }
        guard a == b && a.sign == b.sign else { return nil }
        return a
    }

    private func roundJustAbove(_ x: BigFloat) -> Double {
        if x.isZero { return 0.0 }
        return round(nudged(x, up: true))
    }

    private func roundJustBelow(_ x: BigFloat) -> Double {
        if x.isZero { return -0.0 }
        return round(nudged(x, up: false))
    }

    private func nudged(_ x: BigFloat, up: Bool) -> BigFloat {
        let y = BigFloat(precision: Swift.max(x.precision, precision) + 8)
        ExponentRange.widest {
            y.set(x, .nearest)  // exact: more bits
            if up { y.nextUp() } else { y.nextDown() }
        }
        return y
    }
}
