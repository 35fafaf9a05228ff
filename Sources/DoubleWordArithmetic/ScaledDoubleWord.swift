// Double words with an extended exponent (notation: ErrorFreeTransforms.swift).

/// A double word scaled by a power of two: (hi + lo)·2^exponent, with |hi| ∈ [1, 2) once
/// normalized (or hi = 0, or hi = ±inf/NaN carrying a special value).
///
/// For intermediates that may leave binary64's exponent range (an exponential of −1500, a loss
/// of 1e-320 that must not flush to zero, a sum of terms near 1e308): products and quotients
/// add exponents exactly, so only the final `doubleValue` rounds against the range, once.
@frozen
public struct ScaledDoubleWord: Sendable {
    /// The leading part, in [1, 2) in magnitude once normalized.
    public var hi: Double
    /// The trailing part.
    public var lo: Double
    /// The power of two that scales hi + lo.
    public var exponent: Int

    /// (hi + lo)·2^exponent as given (call `normalized()` to bring hi into [1, 2)).
    @inlinable @inline(__always)
    public init(hi: Double, lo: Double, exponent: Int) {
        self.hi = hi
        self.lo = lo
        self.exponent = exponent
    }

    /// The exact value x·2^exponent, normalized (see `normalized()`).
    @inlinable @inline(__always)
    public init(_ x: DoubleWord, exponent: Int = 0) {
        self = ScaledDoubleWord(hi: x.hi, lo: x.lo, exponent: exponent).normalized()
    }

    /// The value x, normalized.
    @inlinable
    public init(_ x: Double) { self.init(DoubleWord(x, 0)) }

    /// 0.
    @inlinable public static var zero: ScaledDoubleWord { ScaledDoubleWord(hi: 0, lo: 0, exponent: 0) }
    /// 1.
    @inlinable public static var one: ScaledDoubleWord { ScaledDoubleWord(hi: 1, lo: 0, exponent: 0) }

    /// True when the value is zero.
    @inlinable public var isZero: Bool { hi == 0 }
    /// True unless the value is ±inf or NaN.
    @inlinable public var isFinite: Bool { hi.isFinite }
    /// hi + lo without the scale.
    @inlinable public var mantissa: DoubleWord { DoubleWord(hi, lo) }

    /// The same value with |hi| ∈ [1, 2), by exact scalings (zero and non-finite values are
    /// returned unchanged).
    ///
    /// A subnormal lo loses bits only when hi is scaled down: lo·2^-e then errs by at most
    /// 2^-1075 absolute, far below any bound it is used with. (An earlier version scaled lo by
    /// `powerOfTwo(-1023)`, which is 0, when |hi| >= 2^1023, dropping lo; 2^-1023 is now applied
    /// as the subnormal constant it is.)
    @inlinable @inline(__always)
    public func normalized() -> ScaledDoubleWord {
        if hi == 0 || !hi.isNormal { return hi == 0 || !hi.isFinite ? self : slowNormalized() }
        let bits = hi.bitPattern
        let e = Int((bits >> 52) & 0x7FF) - 1023
        if e == 0 { return self }
        // hi·2^-e: the same significand with exponent field 1023; lo·2^-e: exact, or (when e > 0
        // and lo is tiny) off by <= 2^-1075, far below any error bound it is used with.
        return ScaledDoubleWord(hi: Double(bitPattern: (bits & 0x800F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000),
                                lo: e == 1023 ? lo * 0x1p-1023 : lo * powerOfTwo(-e), exponent: exponent + e)
    }

    @usableFromInline
    func slowNormalized() -> ScaledDoubleWord {
        let e = Int(hi.exponent)
        return ScaledDoubleWord(hi: Double(sign: .plus, exponent: -e, significand: hi),
                                lo: Double(sign: .plus, exponent: -e, significand: lo),
                                exponent: exponent + e)
    }

    /// RN of the value hi + lo (times 2^exponent) as binary64, correctly rounded in every range:
    /// one rounding, subnormals kept, overflow to ±inf. Needs a normalized value.
    ///
    /// Normal range (exponent >= −1022): hi = RN(hi + lo) already (a normalized pair), and the
    /// scaling is exact (or overflows exactly when the value does). Subnormal range: with
    /// h = hi·2^(exponent+1074) and l = lo·2^(exponent+1074) (exact, in units of the least
    /// subnormal), n = RN-even(h) is RN(h + l) unless h is a tie (|h − n| = 1/2), where the sign
    /// of l decides: |l| <= ulp(h)/2 and h − n is a multiple of ulp(h), so below a tie h + l
    /// cannot cross a midpoint. n·2^-1074 is exact.
    @inlinable
    public var doubleValue: Double {
        if hi == 0 || !hi.isFinite { return hi }
        if exponent >= -1022 { return scaled(hi, by: exponent) }
        if exponent < -1200 { return hi * 0 }
        let h = scaled(hi, by: exponent + 1074)
        let l = scaled(lo, by: exponent + 1074)
        var n = h.rounded(.toNearestOrEven)
        let diff = h - n
        if diff == 0.5 && l > 0 {
            n += 1
        } else if diff == -0.5 && l < 0 {
            n -= 1
        }
        return scaled(n, by: -1074)
    }

    /// The value as an unscaled double word (each part rounded once: it may underflow, or
    /// overflow to ±inf): for sums whose other terms are >= 1.
    @inlinable
    public var unscaled: DoubleWord {
        if hi == 0 { return .zero }
        if exponent < -1960 { return .zero }
        if exponent > 2000 { return DoubleWord(hi * .infinity, 0) }
        return DoubleWord(scaled(hi, by: exponent), scaled(lo, by: exponent))
    }

    /// −x, exactly.
    @inlinable @inline(__always)
    public static prefix func - (x: ScaledDoubleWord) -> ScaledDoubleWord {
        ScaledDoubleWord(hi: -x.hi, lo: -x.lo, exponent: x.exponent)
    }

    /// x·y, relative error <= 8.1u² (`DoubleWord.product`; the exponents add exactly). Special
    /// values follow binary64 (computed on `doubleValue`).
    @inlinable
    public static func * (x: ScaledDoubleWord, y: ScaledDoubleWord) -> ScaledDoubleWord {
        if !x.hi.isFinite || !y.hi.isFinite { return ScaledDoubleWord(hi: x.doubleValue * y.doubleValue, lo: 0, exponent: 0) }
        if x.hi == 0 || y.hi == 0 { return .zero }
        return ScaledDoubleWord(DoubleWord.product(x.mantissa, y.mantissa), exponent: x.exponent + y.exponent)
    }

    /// x/y, relative error <= 14u² (`DoubleWord.quotient`). 0/0 is NaN, 0/y is 0; special
    /// values follow binary64.
    @inlinable
    public static func / (x: ScaledDoubleWord, y: ScaledDoubleWord) -> ScaledDoubleWord {
        if !x.hi.isFinite || !y.hi.isFinite { return ScaledDoubleWord(hi: x.doubleValue / y.doubleValue, lo: 0, exponent: 0) }
        if x.hi == 0 { return y.hi == 0 ? ScaledDoubleWord(hi: .nan, lo: 0, exponent: 0) : .zero }
        return ScaledDoubleWord(DoubleWord.quotient(x.mantissa, y.mantissa), exponent: x.exponent - y.exponent)
    }

    /// x + y: absolute error <= 3.1u²(|x| + |y|) (`DoubleWord.anySignSum`), a relative error
    /// <= 3.1u² when x and y have the same sign. When the exponents differ by more than 1000,
    /// the smaller operand (below 2^-998 of the larger) is dropped: a relative error below
    /// 2^-997, which cannot be amplified by cancellation.
    @inlinable
    public static func + (x: ScaledDoubleWord, y: ScaledDoubleWord) -> ScaledDoubleWord {
        if !x.hi.isFinite || !y.hi.isFinite { return ScaledDoubleWord(hi: x.doubleValue + y.doubleValue, lo: 0, exponent: 0) }
        if y.hi == 0 { return x }
        if x.hi == 0 { return y }
        let (big, small) = x.exponent >= y.exponent ? (x, y) : (y, x)
        let shift = small.exponent - big.exponent
        if shift < -1000 { return big }
        let f = powerOfTwo(shift)
        let sm = DoubleWord(small.hi * f, small.lo * f)
        return ScaledDoubleWord(DoubleWord.anySignSum(big.mantissa, sm), exponent: big.exponent)
    }

    /// x − y, as x + (−y).
    @inlinable
    public static func - (x: ScaledDoubleWord, y: ScaledDoubleWord) -> ScaledDoubleWord { x + (-y) }
}
