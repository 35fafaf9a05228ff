// Sums of many terms (notation: ErrorFreeTransforms.swift): an exact fixed-point accumulator
// and Ogita–Rump–Oishi's compensated sum by blocks.

/// An exact sum of scaled doubles in a 192-bit two's complement fixed-point integer.
///
/// Each added double x·2^scale (relative to a caller's reference scale 2^σ, e.g. the largest
/// exponential of a row) is truncated toward zero to a multiple of the unit 2^-126 and added
/// exactly: the only error is that truncation, strictly less than one unit per double. Sums of
/// disjoint parts (one per thread) combine exactly by integer addition (`+`), so the result
/// does not depend on how the terms were split. Needs every |x|·2^scale < 4 and fewer than
/// 2^60 terms (no overflow of the 192 bits).
@frozen
public struct FixedPointSum: Sendable {
    /// W = high·2^128 + low, two's complement over 192 bits.
    @usableFromInline var low: UInt128 = 0
    @usableFromInline var high: Int64 = 0

    /// The empty sum, 0.
    @inlinable public init() {}

    /// The unit is 2^(σ − unitExponent) (relative to the reference scale 2^σ).
    public static let unitExponent = 126

    /// Adds x·2^scale truncated toward zero to a multiple of the unit 2^-126, i.e. with an error
    /// of magnitude below 2^-126 (relative to the row's scale).
    ///
    /// Needs: x finite, |x|·2^scale < 4 (then x·2^(scale+126) < 2^128 and the shift below is
    /// at most 75, so the 53-bit significand fits in 128 bits).
    @inlinable @inline(__always)
    public mutating func add(_ x: Double, scale: Int) {
        let bits = x.bitPattern
        let magnitude = Self.truncatedMagnitude(bits, scale: scale)
        let negative = bits >> 63
        let mask = 0 &- UInt128(negative)
        let addend = (magnitude ^ mask) &+ UInt128(negative)  // −magnitude in two's complement when negative
        let (sum, carry) = low.addingReportingOverflow(addend)
        low = sum
        let extend: Int64 = (negative != 0 && magnitude != 0) ? -1 : 0
        high = high &+ extend &+ (carry ? 1 : 0)
    }

    /// `add` for x >= +0 (no sign to apply): the same truncation and the same accumulator, with
    /// the negation and sign extension left out (for x >= +0 they add nothing). In the FMA build
    /// it is `add` itself: there the exact row sum measured 9% slower with the shorter form.
    @inlinable @inline(__always)
    public mutating func addNonNegative(_ x: Double, scale: Int) {
        #if DOUBLEWORD_FMA
        add(x, scale: scale)
        #else
        let (sum, carry) = low.addingReportingOverflow(Self.truncatedMagnitude(x.bitPattern, scale: scale))
        low = sum
        high = high &+ (carry ? 1 : 0)
        #endif
    }

    /// |x|·2^(scale + 126) truncated toward zero, for x's bits (`add`'s precondition).
    @inlinable @inline(__always)
    static func truncatedMagnitude(_ bits: UInt64, scale: Int) -> UInt128 {
        let biased = Int(truncatingIfNeeded: (bits &>> 52) & 0x7FF)
        let fraction = bits & 0x000F_FFFF_FFFF_FFFF
        let significand = biased == 0 ? fraction : fraction | 0x0010_0000_0000_0000
        // x = ±significand·2^(e − 1075), e = max(biased, 1); position of its last bit in units
        // (<= 75 by the precondition; wrapping arithmetic, no overflow for any realistic scale):
        let shift = (biased == 0 ? 1 : biased) &- 1075 &+ scale &+ 126  // Self.unitExponent
        // significand·2^shift truncated toward zero, without a branch: shifted left by
        // max(shift, 0) <= 75, then right by min(max(−shift, 0), 63) (a right shift by 53 or more
        // of a 53-bit number leaves 0, so the clamp at 63 changes nothing).
        let left = UInt128(significand) &<< UInt128(truncatingIfNeeded: Swift.max(shift, 0))
        return left &>> UInt128(truncatingIfNeeded: Swift.min(Swift.max(0 &- shift, 0), 63))
    }

    /// The accumulator W = high·2^128 + mid·2^64 + low (two's complement over 192 bits).
    @inlinable
    init(limbs low: UInt64, _ mid: UInt64, _ high: UInt64) {
        self.low = UInt128(mid) << 64 | UInt128(low)
        self.high = Int64(bitPattern: high)
    }

    /// The exact difference of two accumulators (modulo 2^192, as `+`).
    @inlinable
    public static func - (a: FixedPointSum, b: FixedPointSum) -> FixedPointSum {
        var r = FixedPointSum()
        let (difference, borrow) = a.low.subtractingReportingOverflow(b.low)
        r.low = difference
        r.high = a.high &- b.high &- (borrow ? 1 : 0)
        return r
    }

    /// The exact sum of two accumulators.
    @inlinable
    public static func + (a: FixedPointSum, b: FixedPointSum) -> FixedPointSum {
        var r = FixedPointSum()
        let (sum, carry) = a.low.addingReportingOverflow(b.low)
        r.low = sum
        r.high = a.high &+ b.high &+ (carry ? 1 : 0)
        return r
    }

    /// W·2^(−126) as (hi + lo)·2^exponent with hi ∈ [1, 2), a normalized double-double, and a
    /// relative error <= 2.02u² + 2^-124 <= 2^-104.9 (`conversionError`): truncating W to 125
    /// bits errs by < 2^-124 relative; hi = RN(w) (or within one ulp of w), and lo = RN(w − hi)
    /// errs by <= u|w − hi| <= 2u²|w| (w − hi is an integer of up to 73 bits). Nil when W <= 0.
    public static let conversionError: Double = 2.02 * 0x1p-106 + 0x1p-124

    /// See `conversionError`.
    public func value() -> (hi: Double, lo: Double, exponent: Int)? {
        if high < 0 || (high == 0 && low == 0) { return nil }
        let bits = high > 0 ? 128 + (64 - high.leadingZeroBitCount) : 128 - low.leadingZeroBitCount
        var w = low
        var dropped = 0
        if bits > 125 {
            dropped = bits - 125
            w = (low >> dropped) | (UInt128(UInt64(bitPattern: high)) << (128 - dropped))
        }
        let hi = Double(w)                               // w < 2^125: Int128(hi) below is exact
        let rest = Int128(w) - Int128(hi)
        let n = fastTwoSum(hi, Double(rest))
        let e = Int(n.hi.exponent)
        return (Double(sign: .plus, exponent: -e, significand: n.hi),
                Double(sign: .plus, exponent: -e, significand: n.lo),
                e + dropped - Self.unitExponent)
    }
}

/// Sum2 of Ogita, Rump and Oishi ("Accurate sum and dot product", SIAM J. Sci. Comput. 26(6),
/// 2005) over one block of at most `blockSize` positive double-double terms p_i + l_i
/// (|l_i| <= u·p_i): σ_i = RN(σ_{i−1} + p_i) with its exact TwoSum error q_i, and c = the
/// rounded sum of all q_i and l_i. Then Σ(p_i + l_i) = σ_n + Σ(q_i + l_i) exactly, and c, a
/// sum of 2n numbers, errs by at most γ_{2n}·Σ(|q_i| + |l_i|) (any order of summation), with
/// |q_i| <= u·σ_i <= u(1 + 2nu)·Σp: relative to the block's sum S,
///
///     |σ_n + c − S| <= γ_{2n}·(n·u·(1 + 2nu) + u)·(1 + 4u)·S = `relativeError(terms: n)`,
///
/// about 2^-81 for n = 4096. (σ_n, c) is returned as a normalized double-double (Fast2Sum,
/// exact: |c| <= 2nu·σ_n.)
@frozen
public struct CompensatedBlockSum {
    /// The largest block for which `relativeError(terms:)` is stated (2^-81 at 4096 terms).
    public static let blockSize = 4096

    @usableFromInline var sigma = 0.0
    @usableFromInline var c = 0.0

    /// The empty sum, 0.
    @inlinable public init() {}

    /// Adds the term p + l (p >= 0, |l| <= u·p).
    @inlinable @inline(__always)
    public mutating func add(_ p: Double, _ l: Double) {
        let s = twoSum(sigma, p)
        sigma = s.hi
        c += s.lo + l
    }

    /// The sum σ_n + c as a normalized double word.
    @inlinable
    public var value: DoubleWord { fastTwoSum(sigma, c) }

    /// The bound on the relative error of `value` after n terms (see the type's comment).
    public static func relativeError(terms n: Int) -> Double {
        let u = unitRoundoff
        let m = Double(2 * n)
        let gamma = m * u / (1 - m * u)
        return roundedUp(gamma * (Double(n) * u * (1 + m * u) + u) * (1 + 4 * u))
    }
}
