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

    /// The value certified by an enclosure: the common rounding of both ends, or nil when the ends
    /// round differently (the exact value lies too close to a rounding boundary for this
    /// enclosure). Rounding is monotone, so round(lo) <= round(exact) <= round(hi), and equal ends
    /// (with equal signs) pin down round(exact).
    ///
    /// Zeros: an enclosure whose ends are both zero is the exact 0, returned as +0 (as IEEE 754's
    /// x - x). Otherwise a zero end only means the value lies beyond MPFR's least number on that
    /// side (an underflow in directed rounding, e.g. e^(-10^300)), because the oracle's
    /// formulations produce an exact zero only through exact operations (a zero weight, an empty
    /// sum), which give a zero-width enclosure. So a lower end of ±0 reads as +0 and an upper end
    /// of ±0 as -0: a nonzero value that rounds to zero keeps its sign, and an enclosure that
    /// reaches from a negative to a positive number never certifies either zero.
    func certify(_ e: Interval) -> Double? {
        if e.isExactZero { return 0.0 }
        if e.isPoint { return round(e.lo) }
        let a = e.lo.isZero ? 0.0 : round(e.lo)
        let b = e.hi.isZero ? -0.0 : round(e.hi)
        if a.isNaN && b.isNaN { return a }
        guard a == b && a.sign == b.sign else { return nil }
        return a
    }
}
