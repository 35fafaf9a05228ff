// The fast tier, part 4: certifying a double-double enclosure in an output format, without MPFR.
//
// A fast-tier output is v = (h + l)·2^k with an absolute error bound err (in the same units as
// h and l): the exact value lies in [(h + l − err)·2^k, (h + l + err)·2^k]. As in the MPFR path
// (`Format.certify`), the value is certified when both ends round to the same value: rounding
// is monotone, so everything between them rounds alike. Two ways to check, both exact:
//
// - `FastFormat.value` (and `value2`, two lanes), inline, for h·2^k normal in binary64 and
//   below the format's top binade (almost all outputs; `Format.certify` has the same test for
//   the format's normal range): r = round(h·2^k) in binary64 arithmetic (exact), δ = (h·2^k −
//   r) + l·2^k is v's offset from r, and the rounding cell of r extends at least `room` to
//   either side (half the format's quantum at r, a quarter when |r| is a power of two: the
//   spacing halves below it). If |δ| + err < room (with the roundings of this test bounded),
//   every value of the enclosure rounds to r.
// - `roundExactly`, the reference: rounds the exact real (h + l)·2^k into the format with
//   integer arithmetic, applied to both ends of the enclosure.
//
// When neither certifies, the caller falls back to the MPFR path for the whole request.

/// A double-double scaled by a power of two: (hi + lo)·2^exponent, hi ∈ [1, 2) in magnitude
/// (after `normalized()`); the fast tier's outputs, which can lie far outside binary64's range.
struct ScaledDD: Sendable {
    var hi: Double
    var lo: Double
    var exponent: Int

    /// The same value with |hi| ∈ [1, 2) (exact: scaling by powers of two; a subnormal lo loses
    /// bits only when hi is scaled down, which `normalized` never does by more than 2^-1100).
    @inline(__always) func normalized() -> ScaledDD {
        if hi == 0 || !hi.isNormal { return hi == 0 || !hi.isFinite ? self : slowNormalized() }
        let bits = hi.bitPattern
        let e = Int((bits >> 52) & 0x7FF) - 1023
        if e == 0 { return self }
        // hi·2^-e: the same significand with exponent field 1023; lo·2^-e: exact, or (when e > 0
        // and lo is tiny) off by <= 2^-1075, far below any error bound it is used with.
        return ScaledDD(hi: Double(bitPattern: (bits & 0x800F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000),
                        lo: lo * powerOfTwo(-e), exponent: exponent + e)
    }

    private func slowNormalized() -> ScaledDD {
        let e = Int(hi.exponent)
        return ScaledDD(hi: Double(sign: .plus, exponent: -e, significand: hi),
                        lo: Double(sign: .plus, exponent: -e, significand: lo),
                        exponent: exponent + e)
    }
}

extension ExactValue {
    /// The exact value (h + l)·2^k, for h ≠ 0 finite (to the ~106 bits of the double-double).
    init(fastHi h: Double, lo l: Double, scale k: Int) {
        let n = ScaledDD(hi: h.magnitude, lo: h < 0 ? -l : l, exponent: k).normalized()
        var head = n.hi
        var tail = n.lo
        var exponent = n.exponent
        if head == 1 && tail < 0 {  // |v| < 2^exponent: ⌊log₂|v|⌋ is one less
            head = 2
            tail *= 2
            exponent -= 1
        }
        self.init(kind: .finite, isNegative: h < 0, exponent: exponent, head: head, tail: tail)
    }
}

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
        var r = q == 0 ? 0.0 : Double(sign: .plus, exponent: quantum, significand: Double(q))
        if r > maxFinite { r = overflowIsNaN ? .nan : .infinity }
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

    /// The certified rounding of every value in [(h + l − err)·2^k, (h + l + err)·2^k], or nil.
    ///
    /// Needs a normalized `ScaledDD` (|h| ∈ [1, 2), |l| <= 2^-52) and 0 <= err <= 2^-60.
    @inline(__always)
    func certify(_ v: ScaledDD, error err: Double) -> Double? {
        let k = v.exponent
        if k >= -900 && k <= 900 && k > minNormalExponent && k < maxExponent {
            // Normal range of binary64 and of the format: scale into place. h·2^k and err·2^k are
            // exact (normal; err >= 2^-110 is enforced below); l·2^k may underflow by <= 2^-1075,
            // which the factor (1 + 2^-50) on es covers (es >= 2^-1010).
            let errFloor = Swift.max(err, 0x1p-110)
            let scale = powerOfTwo(k)
            let hs = v.hi * scale
            let ls = v.lo * scale
            let es = (errFloor * scale) * (1 + 0x1p-50)
            let r = roundNormal(hs)
            let er = binade(r)
            // hs − r is exact (r is hs rounded to p <= 53 bits, |hs − r| <= half a quantum);
            // δ = RN((hs − r) + ls) errs by <= u|δ|.
            let delta = (hs - r) + ls
            let quantum = Swift.max(er, minNormalExponent) - precision + 1
            let isPowerOfTwo = r.significandBitPattern == 0 && er > minNormalExponent
            let room = powerOfTwo(quantum - (isPowerOfTwo ? 2 : 1))
            let reach = (delta.magnitude * (1 + 0x1p-50) + es) * (1 + 0x1p-50)
            if reach < room { return r }
        }
        return certifySlow(v, error: err)
    }

    /// Both ends rounded exactly. The ends are (h, RN(l ∓ err) moved one step outward): for any
    /// real y, nextDown(RN(y)) <= y <= nextUp(RN(y)), so these double-doubles bracket the ends.
    func certifySlow(_ v: ScaledDD, error err: Double) -> Double? {
        let a = roundExactly(v.hi, (v.lo - err).nextDown, scale: v.exponent)
        let b = roundExactly(v.hi, (v.lo + err).nextUp, scale: v.exponent)
        if a.isNaN && b.isNaN { return a }
        return a.bitPattern == b.bitPattern ? a : nil
    }

    /// `x` rounded to nearest-even to this format's precision, for x normal in the format's
    /// normal range (no overflow or subnormal handling; `certify` checks the range).
    /// For p < 53: adding C = 1.5·2^(e + 53 − p) (e = ⌊log₂|x|⌋) puts x + C in [2^(e+53−p),
    /// 2^(e+54−p)), where binary64's spacing is the format's quantum 2^(e−p+1), so RN(x + C) − C
    /// is x rounded to the quantum, ties to even (C is an even multiple of the quantum), and
    /// the subtraction is exact. |x| < 2^(e+1) <= 2^(e+52−p)/2 needs p <= 51.
    @inline(__always) func roundNormal(_ x: Double) -> Double {
        if precision >= 53 { return x }
        let e = binade(x)
        let c = Double(bitPattern: (x.bitPattern & 0x8000_0000_0000_0000)
                       | (UInt64(truncatingIfNeeded: e + 53 - precision + 1023) << 52) | 0x0008_0000_0000_0000)
        return (x + c) - c
    }

    /// The largest exponent t with 2·err·2^k <= 2^-40·ulp(v) guaranteed when err <= 2^t
    /// (the exact value's narrowness rule, `Certifier.isNarrow`): ulp(v) >= 2^(max(k − 1,
    /// minNormal) − p + 1) for |v| >= 2^(k−1).
    @inline(__always) func narrowErrorExponent(scale k: Int) -> Int {
        Swift.max(k - 1, minNormalExponent) - precision + 1 - 41 - k
    }

    /// Certifies v (error err) and returns the rounded value and the exact value, or nil when
    /// the enclosure does not round uniquely or is too wide to stand for the exact value.
    @inline(__always)
    func certifiedValue(_ v: ScaledDD, error err: Double) -> OracleValue? {
        guard v.hi.isFinite, v.lo.isFinite, err.isFinite, v.hi != 0, abs(v.exponent) < 1 << 40 else { return nil }
        let t = narrowErrorExponent(scale: v.exponent)
        if t < 60 && err > powerOfTwo(Swift.max(t, -1000)) { return nil }
        guard let r = certify(v, error: err) else { return nil }
        return OracleValue(rounded: r, exact: ExactValue(fastHi: v.hi, lo: v.lo, scale: v.exponent))
    }
}

/// A format's constants for the fast tier's per-output path (`value`), looked up once per request.
struct FastFormat {
    let format: Format
    let precision: Int
    let minNormalExponent: Int
    /// Binades e < highBinade = min(maxExponent, 901) take the inline path (and e > −901).
    let highBinade: Int
    /// The exponent of the format's least subnormal (its quantum below 2^minNormal).
    let subnormalQuantum: Int

    init(_ format: Format) {
        self.format = format
        precision = format.precision
        minNormalExponent = format.minNormalExponent
        highBinade = Swift.min(format.maxExponent, 901)
        subnormalQuantum = format.minSubnormalExponent
    }

    /// 2^e from its bits, for −1022 <= e <= 1023 (wrapping arithmetic: the callers' ranges are
    /// checked before).
    @inline(__always) static func pow2(_ e: Int) -> Double {
        Double(bitPattern: UInt64(truncatingIfNeeded: e &+ 1023) << 52)
    }

    /// The certified output for v = (h + l)·2^k with |v − exact| <= err·2^k (h ≠ 0 finite, |l| <=
    /// 2^-50|h|, err >= 0 in the units of h), or nil when it does not certify or is not narrow.
    ///
    /// Common case inline: h normal, |k| <= 1000, and hs = h·2^k in binade e with −901 < e <
    /// min(maxExponent, 901), i.e. normal in binary64 and below the format's top binade (the
    /// format's subnormals and underflow included). Then:
    /// - hs = h·2^k is exact; ls = l·2^k is exact or, when it underflows, off by <= 2^-1075,
    ///   which the factor (1 + 2^-50) on es = max(err·2^k, 2^(e−110)) covers;
    /// - the format's quantum at hs is 2^Q, Q = max(e, minNormal) − p + 1, and r = (hs + C) − C
    ///   with C = ±1.5·2^(Q+52) is hs rounded to it, ties to even (hs + C lies in [2^(Q+52),
    ///   2^(Q+53)), where binary64's spacing is 2^Q; |hs| < 2^(Q+p) <= 2^(Q+51) for p <= 51;
    ///   C is an even multiple of 2^Q; the subtraction is exact). For p = 53, r = hs;
    /// - δ = (hs − r) + ls (hs − r exact: |hs − r| <= 2^(Q−1) is a multiple of hs's ulp; one
    ///   rounding, <= u|δ|) is v's offset from r, and r's rounding cell reaches `room` =
    ///   2^(max(er, minNormal) − p) on both sides (half a quantum), or half that when |r| is a
    ///   power of two above 2^minNormal (the spacing below it halves);
    /// - certified when |δ|(1 + 2^-50) + es < room (every value of the enclosure rounds to r),
    ///   and, when r = 0, |ls| + es < |hs| (the zero takes v's sign, that of hs);
    /// - narrow (`Certifier.isNarrow`) when 2·es <= 2^-40·ulp(v), ulp(v) >= 2^(max(e − p, Q')),
    ///   Q' = minNormal − p + 1 (|v| >= 2^e(1 − 2^-50) > 2^(e−1)).
    /// Otherwise the general `Format.certifiedValue`.
    @inline(__always)
    func value(_ h: Double, _ l: Double, scale k: Int, error err: Double) -> OracleValue? {
        let hb = h.bitPattern
        let eh = Int(truncatingIfNeeded: (hb >> 52) & 0x7FF) &- 1023
        let e = eh &+ k
        if UInt(bitPattern: eh &+ 999) < 1999 && UInt(bitPattern: k &+ 1000) <= 2000
            && e > -901 && e < highBinade {
            let scale = Self.pow2(k)
            let hs = h * scale
            let ls = l * scale
            let es = Swift.max(err * scale, Self.pow2(e &- 110)) * (1 + 0x1p-50)
            let eq = Swift.max(e, minNormalExponent)
            if es > Self.pow2(Swift.max(e &- precision, subnormalQuantum) &- 41) { return nil }
            var r = hs
            if precision < 53 {
                let c = Double(bitPattern: (hs.bitPattern & 0x8000_0000_0000_0000)
                               | (UInt64(truncatingIfNeeded: eq &+ 1076 &- precision) << 52) | 0x0008_0000_0000_0000)
                r = (hs + c) - c
            }
            let rb = r.bitPattern
            let er = Int(truncatingIfNeeded: (rb >> 52) & 0x7FF) &- 1023
            let delta = (hs - r) + ls
            let halving = (rb & 0x000F_FFFF_FFFF_FFFF) == 0 && er > minNormalExponent ? 1 : 0
            let room = Self.pow2(Swift.max(er, minNormalExponent) &- precision &- halving)
            if (delta.magnitude * (1 + 0x1p-50) + es) * (1 + 0x1p-50) < room
                && (r != 0 || (ls.magnitude + es) * (1 + 0x1p-50) < hs.magnitude) {
                if r == 0 { r = hs < 0 ? -0.0 : 0.0 }
                return OracleValue(rounded: r, exact: ExactValue(normalHi: hs, lo: ls))
            }
        }
        return otherValue(h, l, scale: k, error: err)
    }

    /// `value` outside the inline case: the general `Format.certifiedValue`.
    @inline(never)
    func otherValue(_ h: Double, _ l: Double, scale k: Int, error err: Double) -> OracleValue? {
        // Never certify from non-finite intermediates (an overflowed product, say): the MPFR path.
        guard h.isFinite, l.isFinite, err.isFinite, h != 0, abs(k) < 1 << 40 else { return nil }
        let v = ScaledDD(hi: h, lo: l, exponent: k).normalized()
        return format.certifiedValue(v, error: scaled(err, k - v.exponent) * (1 + 0x1p-50))
    }
}

extension ExactValue {
    /// The exact value h + l for a normal h (|h| < 2^1000) and |l| <= 2^-50|h|.
    @inline(__always) init(normalHi h: Double, lo l: Double) {
        let bits = h.bitPattern
        var e = Int(truncatingIfNeeded: (bits >> 52) & 0x7FF) &- 1023
        var head = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
        var tail = (h < 0 ? -l : l) * FastFormat.pow2(0 &- e)
        if head == 1 && tail < 0 {  // |v| < 2^e: ⌊log₂|v|⌋ is one less
            head = 2
            tail *= 2
            e -= 1
        }
        self.init(kind: .finite, isNegative: h < 0, exponent: e, head: head, tail: tail)
    }
}

extension FastFormat {
    /// `value` for two outputs at once, v_j = (h_j + l_j)·2^(k_j) with absolute error bounds
    /// err_j (in the units of h_j), on SIMD lanes: the inline case of `value`, the same operations
    /// lane by lane (so the same outputs), written to dst[0] and dst[1]. False, with nothing
    /// written, when either lane is outside that case or does not certify there: the caller then
    /// calls `value` on each.
    @inline(__always)
    func value2(_ h: SIMD2<Double>, _ l: SIMD2<Double>, scale k: SIMD2<Int64>, error err: SIMD2<Double>,
                into dst: UnsafeMutablePointer<OracleValue>) -> Bool {
        let hb = unsafeBitCast(h, to: SIMD2<UInt64>.self)
        let eh = SIMD2<Int64>(truncatingIfNeeded: (hb &>> 52) & 0x7FF) &- 1023
        let e = eh &+ k
        let lowOK = (eh &+ 999) .>= 0 .& (eh &+ 999) .< 1999 .& (k &+ 1000) .>= 0 .& (k &+ 1000) .<= 2000
        guard all(lowOK .& (e .> -901) .& (e .< Int64(highBinade))) else { return false }
        let one = SIMD2<Int64>(repeating: 1023)
        let scale = unsafeBitCast((k &+ one) &<< 52, to: SIMD2<Double>.self)
        let hs = h * scale
        let ls = l * scale
        let floorE = unsafeBitCast((e &- 110 &+ one) &<< 52, to: SIMD2<Double>.self)
        let es = pointwiseMax(err * scale, floorE) * (1 + 0x1p-50)
        let q = SIMD2<Int64>(repeating: Int64(subnormalQuantum))
        let narrow = unsafeBitCast((pointwiseMax(e &- Int64(precision), q) &- 41 &+ one) &<< 52, to: SIMD2<Double>.self)
        guard all(es .<= narrow) else { return false }
        let eq = pointwiseMax(e, SIMD2<Int64>(repeating: Int64(minNormalExponent)))
        var r = hs
        if precision < 53 {
            let bits = (unsafeBitCast(hs, to: SIMD2<UInt64>.self) & 0x8000_0000_0000_0000)
                | (SIMD2<UInt64>(truncatingIfNeeded: eq &+ (1076 &- Int64(precision))) &<< 52) | 0x0008_0000_0000_0000
            let c = unsafeBitCast(bits, to: SIMD2<Double>.self)
            r = (hs + c) - c
        }
        let rb = unsafeBitCast(r, to: SIMD2<UInt64>.self)
        let er = SIMD2<Int64>(truncatingIfNeeded: (rb &>> 52) & 0x7FF) &- 1023
        let delta = (hs - r) + ls
        let emin = SIMD2<Int64>(repeating: Int64(minNormalExponent))
        let halving = SIMD2<Int64>(repeating: 0).replacing(with: 1, where: (rb & 0x000F_FFFF_FFFF_FFFF) .== 0 .& (er .> emin))
        let room = unsafeBitCast((pointwiseMax(er, emin) &- Int64(precision) &- halving &+ one) &<< 52, to: SIMD2<Double>.self)
        let magnitude = unsafeBitCast(unsafeBitCast(delta, to: SIMD2<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD2<Double>.self)
        let reach = (magnitude * (1 + 0x1p-50) + es) * (1 + 0x1p-50)
        // r = 0 needs |ls| + es < |hs|: the zero then takes the sign of hs.
        let lsMagnitude = unsafeBitCast(unsafeBitCast(ls, to: SIMD2<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD2<Double>.self)
        let hsMagnitude = unsafeBitCast(unsafeBitCast(hs, to: SIMD2<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: SIMD2<Double>.self)
        let zeroOK = (r .!= 0) .| ((lsMagnitude + es) * (1 + 0x1p-50) .< hsMagnitude)
        guard all((reach .< room) .& zeroOK) else { return false }
        for j in 0..<2 {
            let rj = r[j] == 0 ? (hs[j] < 0 ? -0.0 : 0.0) : r[j]
            (dst + j).initialize(to: OracleValue(rounded: rj, exact: ExactValue(normalHi: hs[j], lo: ls[j])))
        }
        return true
    }
}
