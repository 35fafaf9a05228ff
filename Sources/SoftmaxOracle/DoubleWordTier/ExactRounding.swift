import DoubleWordArithmetic
// The exact fallback of the double-word tier's certification: `Format.roundExactly` rounds the
// exact real (h + l)·2^k into a format with integer arithmetic, and `certifyExactly` applies it
// to both ends of an enclosure. `DoubleWordCertifier.certify` falls back to it (through
// `certifiedValue`) when its inline test does not apply or cannot decide; near-ties settled by
// `roundNearTie` use it with a nudge. When this does not certify either, the whole request goes
// to the MPFR path.

extension Format {
    /// The correctly rounded value of the exact real (h + l)·2^k in this format (any h, l
    /// finite; not necessarily normalized). Exact: integer arithmetic.
    ///
    /// If the smaller of h, l lies below 2^(e − 60), e the exponent of the larger, it is replaced
    /// by a number of the same sign at 2^(e − 62): no rounding boundary lies strictly between
    /// the two sums (boundaries are multiples of a half-quantum >= 2^(e − 54) of the value's
    /// binade, and the larger term is a multiple of 2^(e − 52), so the boundary nearest to it
    /// other than itself is >= 2^(e − 54) away), so the rounding is the same. Then the sum is an
    /// integer n < 2^116 times 2^E, rounded by shifting.
    ///
    /// `nudge` ±1 rounds (h + l)·2^k ± 0⁺ instead: the value plus or minus a positive number
    /// smaller than the distance from h + l to any rounding boundary other than itself (the
    /// integer n becomes 16n ± 1 on a grid 16 times finer, below every half-quantum and below
    /// the unit of h + l).
    func roundExactly(_ h: Double, _ l: Double, scale k: Int, nudge: Int = 0) -> Double {
        var (a, b) = h.magnitude >= l.magnitude ? (h, l) : (l, h)
        if a == 0 { return 0 }
        let ea = Int(a.exponent)
        if b != 0 && Int(b.exponent) < ea - 60 {
            b = Double(sign: b.sign, exponent: ea - 62, significand: 1)
        }
        let (ma, xa) = Self.integerParts(a)
        let (mb, xb) = Self.integerParts(b)
        let base = b == 0 ? xa : Swift.min(xa, xb)
        var n = Int128(ma) << (xa - base)
        if a < 0 { n = -n }
        if b != 0 {
            let nb = Int128(mb) << (xb - base)
            n += b < 0 ? -nb : nb
        }
        var unit = base
        if nudge != 0 && n != 0 {
            n = n * 16 + Int128(nudge.signum())
            unit -= 4
        }
        if n == 0 { return 0 }
        let negative = n < 0
        let m = UInt128(n.magnitude)
        let exponentOfUnit = unit + k
        let bits = 128 - m.leadingZeroBitCount
        let valueExponent = exponentOfUnit + bits - 1
        let quantum = Swift.max(valueExponent, minNormalExponent) - precision + 1
        let shift = quantum - exponentOfUnit
        var q: UInt128
        if shift <= 0 {
            q = m << (-shift)  // exact: at most `precision` bits
        } else if shift > bits {
            q = 0  // below half the quantum
        } else {
            q = m >> shift
            let rest = m & ((UInt128(1) << shift) - 1)
            let half = UInt128(1) << (shift - 1)
            if rest > half || (rest == half && q & 1 == 1) { q += 1 }
        }
        // q <= 2^precision <= 2^53: through UInt64, exactly (Double(UInt128) is a generic
        // conversion that took half of the time of outputs certified here).
        let r = q == 0 ? 0.0 : Double(sign: .plus, exponent: quantum, significand: Double(UInt64(truncatingIfNeeded: q)))
        // Overflow: ±inf, or in e4m3fn the NaN of `Format.round` (positive whatever the sign, as
        // the MPFR path gives it; negating it would give a NaN with the sign bit set).
        if r > maxFinite { return overflowIsNaN ? .nan : (negative ? -.infinity : .infinity) }
        return negative ? -r : r
    }

    /// x = ±m·2^e with m < 2^53 an integer (subnormals: e = −1074).
    @inline(__always) static func integerParts(_ x: Double) -> (UInt64, Int) {
        let bits = x.bitPattern
        let biased = Int((bits >> 52) & 0x7FF)
        let fraction = bits & 0x000F_FFFF_FFFF_FFFF
        if biased == 0 { return (fraction, -1074) }
        return (fraction | 0x0010_0000_0000_0000, biased - 1075)
    }


    /// The rounding of every value in [(h + l − err)·2^k, (h + l + err)·2^k], v = (h, l, k), when
    /// both ends round alike, else nil: both ends rounded exactly (`roundExactly`). The ends used
    /// are (h, RN(l ∓ err) moved one step outward): for any real y, nextDown(RN(y)) <= y <=
    /// nextUp(RN(y)), so these double-doubles bracket the true ends, and rounding is monotone,
    /// so equal roundings of the bracket pin down every value between. Both NaN (e4m3fn
    /// overflow): NaN.
    func certifyExactly(_ v: ScaledDoubleWord, error err: Double) -> Double? {
        let a = roundExactly(v.hi, (v.lo - err).nextDown, scale: v.exponent)
        let b = roundExactly(v.hi, (v.lo + err).nextUp, scale: v.exponent)
        if a.isNaN && b.isNaN { return a }
        return a.bitPattern == b.bitPattern ? a : nil
    }

    /// The largest exponent t with 2·err·2^k <= 2^-40·ulp(v) guaranteed when err <= 2^t
    /// (the exact value's narrowness rule, `Certifier.isNarrow`): ulp(v) >= 2^(max(k − 1,
    /// minNormal) − p + 1) for |v| >= 2^(k−1).
    @inline(__always) func narrowErrorExponent(scale k: Int) -> Int {
        Swift.max(k - 1, minNormalExponent) - precision + 1 - 41 - k
    }

    /// Certifies v (error err, in the units of v.hi) with `certifyExactly` and returns the rounded
    /// value and the exact value, or nil when the enclosure does not round uniquely, is too wide
    /// to stand for the exact value, or holds a non-finite part.
    @inline(__always)
    func certifiedValue(_ v: ScaledDoubleWord, error err: Double) -> OracleValue? {
        guard v.hi.isFinite, v.lo.isFinite, err.isFinite, v.hi != 0, abs(v.exponent) < 1 << 40 else { return nil }
        let t = narrowErrorExponent(scale: v.exponent)
        if t < 60 && err > powerOfTwo(Swift.max(t, -1000)) { return nil }
        guard let r = certifyExactly(v, error: err) else { return nil }
        return OracleValue(rounded: r, exact: ExactValue(scaledHi: v.hi, lo: v.lo, scale: v.exponent))
    }
}
