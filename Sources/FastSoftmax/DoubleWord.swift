import RealModule

// Double-word ("double-double") arithmetic: a value is the unevaluated sum hi + lo of two
// binary64 numbers with |lo| <= ulp(hi)/2, giving about 106 bits of precision.
//
// The algorithms and their relative error bounds are those of Joldes, Muller and Popescu,
// "Tight and rigorous error bounds for basic building blocks of double-word arithmetic",
// ACM TOMS 44(2), 2017 (u = 2^-53 below, bounds valid without underflow/overflow):
//
// | routine          | paper algorithm        | relative error bound |
// |------------------|------------------------|----------------------|
// | `dwAdd(_:_:)`    | DWPlusFP   (Alg. 4)    | 2u^2                 |
// | `dwAdd(_:_:)`    | AccurateDWPlusDW (6)   | 3u^2 + 13u^3         |
// | `dwMul(_:_:)`    | DWTimesFP3 (Alg. 9)    | 2u^2                 |
// | `dwMul(_:_:)`    | DWTimesDW3 (Alg. 12)   | 4u^2                 |
// | `dwDiv(_:_:)`    | DWDivFP3   (Alg. 15)   | 3u^2                 |
// | `dwDiv(_:_:)`    | DWDivDW2   (Alg. 17)   | 15u^2 + 56u^3        |
//
// Every bound used in this module rounds these up to 2^-101 per operation (16u^2 = 2^-102,
// doubled for the u^3 terms and for safety), so that error budgets read as "n operations".
//
// The two-sum (`Augmented.sum`) is error-free and never underflows; the two-product
// (`Augmented.product`, one FMA) is error-free unless the tail underflows (|a·b| < 2^-969),
// which the callers either avoid by scaling (see `XW`) or account for as an absolute error of
// at most 2^-1075 per product.

/// A double-word number `hi + lo`.
struct DW: Sendable, Equatable {
    var hi: Double
    var lo: Double

    @inline(__always)
    init(_ hi: Double, _ lo: Double = 0) {
        self.hi = hi
        self.lo = lo
    }

    static var zero: DW { DW(0, 0) }
    static var one: DW { DW(1, 0) }

    /// The value rounded to binary64: `hi`, since `hi + lo` is normalized (|lo| <= ulp(hi)/2,
    /// so hi = RN(hi + lo) up to the tie rule).
    var value: Double { hi }

    @inline(__always)
    static prefix func - (x: DW) -> DW { DW(-x.hi, -x.lo) }
}

/// Error-free a + b for arbitrary magnitudes (Knuth's TwoSum).
@inline(__always)
func twoSum(_ a: Double, _ b: Double) -> DW {
    let r = Augmented.sum(a, b)
    return DW(r.head, r.tail)
}

/// Error-free a + b when |a| >= |b| (or a == 0) (Dekker's Fast2Sum).
@inline(__always)
func fastTwoSum(_ a: Double, _ b: Double) -> DW {
    let r = Augmented.sum(large: a, small: b)
    return DW(r.head, r.tail)
}

/// Error-free a · b (one FMA), exact unless the tail underflows.
@inline(__always)
func twoProd(_ a: Double, _ b: Double) -> DW {
    let r = Augmented.product(a, b)
    return DW(r.head, r.tail)
}

/// DWPlusFP: x + y, relative error <= 2u^2.
@inline(__always)
func dwAdd(_ x: DW, _ y: Double) -> DW {
    let s = twoSum(x.hi, y)
    let v = x.lo + s.lo
    return fastTwoSum(s.hi, v)
}

/// AccurateDWPlusDW: x + y, relative error <= 3u^2 + 13u^3 (to the exact sum, whatever the
/// signs: this is the variant that stays accurate under cancellation).
@inline(__always)
func dwAdd(_ x: DW, _ y: DW) -> DW {
    let s = twoSum(x.hi, y.hi)
    let t = twoSum(x.lo, y.lo)
    let c = s.lo + t.hi
    let v = fastTwoSum(s.hi, c)
    let w = t.lo + v.lo
    return fastTwoSum(v.hi, w)
}

/// DWTimesFP3: x · y, relative error <= 2u^2.
@inline(__always)
func dwMul(_ x: DW, _ y: Double) -> DW {
    let c = twoProd(x.hi, y)
    let cl3 = c.lo.addingProduct(x.lo, y)
    return fastTwoSum(c.hi, cl3)
}

/// DWTimesDW3: x · y, relative error <= 4u^2.
@inline(__always)
func dwMul(_ x: DW, _ y: DW) -> DW {
    let c = twoProd(x.hi, y.hi)
    let tl0 = x.lo * y.lo
    let tl1 = tl0.addingProduct(x.hi, y.lo)
    let cl2 = tl1.addingProduct(x.lo, y.hi)
    let cl3 = c.lo + cl2
    return fastTwoSum(c.hi, cl3)
}

/// DWDivFP3: x / y, relative error <= 3u^2.
@inline(__always)
func dwDiv(_ x: DW, _ y: Double) -> DW {
    let th = x.hi / y
    let p = twoProd(th, y)
    let dh = x.hi - p.hi
    let dt = dh - p.lo
    let d = dt + x.lo
    let tl = d / y
    return fastTwoSum(th, tl)
}

/// DWDivDW2: x / y, relative error <= 15u^2 + 56u^3.
@inline(__always)
func dwDiv(_ x: DW, _ y: DW) -> DW {
    let th = x.hi / y.hi
    let r = dwMul(y, th)
    let p = twoSum(x.hi, -r.hi)
    let dh = p.lo - r.lo
    let dl = dh + x.lo
    let d = p.hi + dl
    let tl = d / y.hi
    return fastTwoSum(th, tl)
}

// MARK: - Powers of two

/// 2^e as a Double for e in [-1022, 1023] (a normal number, built from its bits).
@inline(__always)
func pow2(_ e: Int) -> Double {
    Double(bitPattern: UInt64(truncatingIfNeeded: 1023 + e) << 52)
}

/// x · 2^e with a single rounding, for |x| in [2^-60, 2^53] (or x = 0 / not finite).
///
/// Postcondition: the result is RN(x · 2^e), including gradual underflow (subnormal results are
/// rounded once, never flushed) and overflow to ±inf. The first factor is applied exactly (the
/// intermediate stays normal), the second rounds once.
func scaleB(_ x: Double, _ e: Int) -> Double {
    if e >= -1022 && e <= 1023 { return x * pow2(e) }
    if e > 1023 {
        if e > 2000 { return x * .infinity }
        return (x * pow2(1023)) * pow2(e - 1023)
    }
    // e < -1022: x · 2^-960 is >= 2^-1020 (normal, exact); then one rounding.
    if e < -1960 { return x * 0 }
    return (x * pow2(-960)) * pow2(e + 960)
}

// MARK: - Extended-range double-word

/// An extended-range double-word number `(hi + lo) · 2^e` with `1 <= |hi| < 2` (or zero).
///
/// Used wherever an intermediate may leave binary64's exponent range (an exp of -1500, a loss
/// of 1e-320 that must not flush to zero, a sum of terms near 1e308). Multiplication and
/// division add exponents exactly, so only the final `double` conversion rounds against the
/// range, once.
struct XW: Sendable {
    var e: Int
    var hi: Double
    var lo: Double

    static var zero: XW { XW(e: 0, hi: 0, lo: 0) }
    static var one: XW { XW(e: 0, hi: 1, lo: 0) }

    @inline(__always)
    init(e: Int, hi: Double, lo: Double) {
        self.e = e
        self.hi = hi
        self.lo = lo
    }

    /// The exact value `x · 2^e` of a double-word (finite), normalized.
    init(_ x: DW, exponent e: Int = 0) {
        if x.hi == 0 {
            self = .zero
            return
        }
        if !x.hi.isFinite {
            // ±inf or NaN: carried in hi with a neutral exponent, so that it propagates.
            self.init(e: 0, hi: x.hi, lo: 0)
            return
        }
        let k = Int(x.hi.exponent)
        // Scale by 2^-k in at most two exact steps (hi becomes [1,2); lo only loses bits
        // below 2^-1074·2^-k, i.e. relatively below 2^-1000 of hi).
        let (a, b) = k > 1000 ? (1000, k - 1000) : (k < -1000 ? (-1000, k + 1000) : (k, 0))
        var h = x.hi * pow2(-a)
        var l = x.lo * pow2(-a)
        if b != 0 {
            h *= pow2(-b)
            l *= pow2(-b)
        }
        self.init(e: e + k, hi: h, lo: l)
    }

    init(_ x: Double) { self.init(DW(x, 0)) }

    var isZero: Bool { hi == 0 }
    var isFinite: Bool { hi.isFinite }

    /// Renormalizes a mantissa that drifted out of [1, 2) after an operation.
    @inline(__always)
    static func normalized(_ m: DW, _ e: Int) -> XW {
        XW(m, exponent: e)
    }

    var mantissa: DW { DW(hi, lo) }

    /// RN of the value as binary64: one rounding, subnormals kept, overflow to ±inf.
    ///
    /// Normal range (e >= -1022): hi = RN(hi + lo) already (normalized pair), and the scaling
    /// by 2^e is exact (or overflows exactly when the value does).
    /// Subnormal range (e <= -1023): with h = hi·2^(e+1074) and l = lo·2^(e+1074) (exact
    /// scalings, in units of the least subnormal), n = RN-even(h) is RN(h + l) unless h is a
    /// tie (|h - n| = 1/2), where the sign of l decides: |l| <= ulp(h)/2, and h - n is a
    /// multiple of ulp(h), so below a tie h + l cannot cross a midpoint. n·2^-1074 is exact.
    /// So the conversion is correctly rounded (for the value hi + lo) in every range.
    var double: Double {
        if hi == 0 || !hi.isFinite { return hi }
        if e >= -1022 { return scaleB(hi, e) }
        if e < -1200 { return hi * 0 }
        let h = scaleB(hi, e + 1074)
        let l = scaleB(lo, e + 1074)
        var n = h.rounded(.toNearestOrEven)
        let diff = h - n
        if diff == 0.5 && l > 0 {
            n += 1
        } else if diff == -0.5 && l < 0 {
            n -= 1
        }
        return scaleB(n, -1074)
    }

    /// The value as a (possibly underflowing) double-word: for sums whose other terms are >= 1.
    var dw: DW {
        if hi == 0 { return .zero }
        if e < -1960 { return .zero }
        if e > 2000 { return DW(hi * .infinity, 0) }
        return DW(scaleB(hi, e), scaleB(lo, e))
    }

    @inline(__always)
    static prefix func - (x: XW) -> XW { XW(e: x.e, hi: -x.hi, lo: -x.lo) }

    /// x · y, relative error <= 4u^2 (exponents add exactly).
    static func * (x: XW, y: XW) -> XW {
        if !x.hi.isFinite || !y.hi.isFinite { return XW(e: 0, hi: x.double * y.double, lo: 0) }
        if x.hi == 0 || y.hi == 0 { return .zero }
        return XW(dwMul(x.mantissa, y.mantissa), exponent: x.e + y.e)
    }

    /// x / y, relative error <= 15u^2 + 56u^3.
    static func / (x: XW, y: XW) -> XW {
        if !x.hi.isFinite || !y.hi.isFinite { return XW(e: 0, hi: x.double / y.double, lo: 0) }
        if x.hi == 0 { return y.hi == 0 ? XW(e: 0, hi: .nan, lo: 0) : .zero }
        return XW(dwDiv(x.mantissa, y.mantissa), exponent: x.e - y.e)
    }

    /// x + y, relative error <= 3u^2 + 13u^3 of the exact sum when the exponents are within
    /// 1000 of each other; otherwise the smaller operand is below 2^-998 of the larger one and
    /// is dropped (a relative error below 2^-997, never relevant: it cannot cancel).
    static func + (x: XW, y: XW) -> XW {
        if !x.hi.isFinite || !y.hi.isFinite { return XW(e: 0, hi: x.double + y.double, lo: 0) }
        if y.hi == 0 { return x }
        if x.hi == 0 { return y }
        let (big, small) = x.e >= y.e ? (x, y) : (y, x)
        let shift = small.e - big.e
        if shift < -1000 { return big }
        let f = pow2(shift)
        let sm = DW(small.hi * f, small.lo * f)
        return XW(dwAdd(big.mantissa, sm), exponent: big.e)
    }

    static func - (x: XW, y: XW) -> XW { x + (-y) }

    /// |value| compared as exponents (the magnitude's binary exponent, or Int.min for zero).
    var magnitudeExponent: Int { hi == 0 ? Int.min : e }
}
