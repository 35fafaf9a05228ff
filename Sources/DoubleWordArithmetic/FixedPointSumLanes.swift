// `FixedPointSum` on SIMD lanes: the same truncated terms, accumulated per lane in 64-bit limbs,
// for the row sums' groups of exponentials (one vector of terms per step instead of one scalar
// 128-bit shift and add per term).

/// An exact sum of scaled doubles, one accumulator per lane of `DoubleWordLaneBits`, equal to
/// `FixedPointSum`'s: each term x·2^scale is truncated toward zero to a multiple of the unit
/// 2^-126 exactly as `FixedPointSum.add` truncates it (the same integer,
/// `FixedPointSum.truncatedMagnitude`), and the magnitudes of positive and of negative terms are
/// added exactly into two unsigned 192-bit integers per lane (three 64-bit limbs each, carries
/// propagated at every addition). `sum` is Σ_lanes (positive − negative), the exact integer
/// `FixedPointSum` accumulates from the same terms in any order: integer addition is exact and
/// associative. Needs what `FixedPointSum` needs (|x|·2^scale < 4, fewer than 2^60 terms: each
/// magnitude is below 2^128, so each lane's 192 bits never wrap).
///
/// Written for the build's concrete lane type, every comparison between two vectors: generic
/// SIMD code, and comparisons of a vector with a scalar, went lane by lane (measured: f64
/// softmax at K = 10^5 took 1.7x to 2.6x the time of the per-term scalar adds instead of 0.68x).
@frozen
public struct FixedPointSumLanes {
    public typealias U = DoubleWordLaneBits
    @usableFromInline var positive: (U, U, U) = (U(), U(), U())  // limbs 2^0, 2^64, 2^128
    @usableFromInline var negative: (U, U, U) = (U(), U(), U())

    /// Whether the row sums should take these lanes: in the FMA builds (AVX2 and AVX-512 have
    /// 64-bit lane shifts by per-lane counts, and compare 64-bit lanes), where the f64 row sum
    /// took 0.68x the time of `FixedPointSum`'s per-term adds (AVX-512, K = 10^5); not in the
    /// portable build (SSE2 has neither, so each lane would be shifted and compared alone).
    @inlinable public static var preferred: Bool {
        #if DOUBLEWORD_FMA
        true
        #else
        false
        #endif
    }

    /// The empty sum, 0 on every lane.
    @inlinable public init() {}

    /// |x|·2^(scale + 126) truncated toward zero on every lane, as two 64-bit limbs (lo, mid),
    /// from x's bits: `FixedPointSum.truncatedMagnitude` lane by lane. With the significand m
    /// (< 2^53) and s = max(biased, 1) − 1075 + scale + 126 <= 75 (the precondition), the value
    /// is m·2^s truncated:
    /// - s <= 0: lo = m >> −s (0 for −s >= 53), mid = 0;
    /// - 1 <= s <= 63: lo = (m << s) mod 2^64, mid = m >> (64 − s);
    /// - 64 <= s <= 75: lo = 0, mid = m << (s − 64) < 2^64.
    /// The lane shifts below mask their count to 6 bits (`&<<`), so each case's shift is taken
    /// only where its count lies in 0...63, and the other lanes are replaced.
    @inlinable @inline(__always)
    static func magnitude(_ bits: U, scale: U) -> (lo: U, mid: U) {
        let biased = (bits &>> 52) & 0x7FF
        let fraction = bits & 0x000F_FFFF_FFFF_FFFF
        let normal = biased .!= U(repeating: 0)
        let significand = fraction.replacing(with: fraction | 0x0010_0000_0000_0000, where: normal)
        // s as a two's complement 64-bit pattern (wrapping; |s| is far below 2^62), compared as
        // signed numbers through the biased pattern s + 2^63 compared unsigned.
        let s = biased.replacing(with: 1, where: .!normal) &+ scale &- 949  // − 1075 + 126
        let biasedS = s &+ (1 << 63)
        let nonPositive = biasedS .<= U(repeating: 1 << 63)           // s <= 0
        let below64 = biasedS .< U(repeating: (1 << 63) + 64)         // s < 64
        let up = significand &<< s                    // m << (s mod 64)
        let cross = significand &>> (64 &- s)         // m >> (64 − s), for 1 <= s <= 63
        let rightCount = (0 &- s).replacing(with: 63, where: biasedS .< U(repeating: (1 << 63) - 63))  // s < −63
        let down = significand &>> rightCount          // m >> min(−s, 63) (0 for −s >= 53)
        let lo = down.replacing(with: up.replacing(with: 0, where: .!below64), where: .!nonPositive)
        let mid = U().replacing(with: cross.replacing(with: up, where: .!below64), where: .!nonPositive)
        return (lo, mid)
    }

    /// Adds the two-limb magnitude (lo, mid) to the 192-bit accumulator a on every lane, exactly
    /// (mid < 2^64 − 1, so mid + carry does not wrap).
    @inlinable @inline(__always)
    static func accumulate(_ a: inout (U, U, U), _ lo: U, _ mid: U) {
        let l = a.0 &+ lo
        let carry = U().replacing(with: U(repeating: 1), where: l .< lo)
        let addend = mid &+ carry
        let m = a.1 &+ addend
        a.2 = a.2 &+ U().replacing(with: U(repeating: 1), where: m .< addend)
        a.0 = l
        a.1 = m
    }

    /// Adds x·2^scale on every lane, as `FixedPointSum.add` (the same truncation; the same
    /// precondition: x finite, |x|·2^scale < 4). `bits`: x's bit patterns; `scale`: Int64 lanes as
    /// UInt64 patterns.
    @inlinable @inline(__always)
    public mutating func add(bits: U, scale: U) {
        let (lo, mid) = Self.magnitude(bits, scale: scale)
        let isNegative = (bits &>> 63) .!= U(repeating: 0)
        Self.accumulate(&positive, lo.replacing(with: 0, where: isNegative), mid.replacing(with: 0, where: isNegative))
        Self.accumulate(&negative, U().replacing(with: lo, where: isNegative), U().replacing(with: mid, where: isNegative))
    }

    /// `add` for terms x >= +0 on every lane (nothing to subtract; a −0 would add 0 either way).
    @inlinable @inline(__always)
    public mutating func addNonNegative(bits: U, scale: U) {
        let (lo, mid) = Self.magnitude(bits, scale: scale)
        Self.accumulate(&positive, lo, mid)
    }

    /// Σ over the lanes of (positive − negative): the `FixedPointSum` of every term added.
    @inlinable
    public var sum: FixedPointSum {
        var total = FixedPointSum()
        for j in 0..<U.scalarCount {
            total = total + FixedPointSum(limbs: positive.0[j], positive.1[j], positive.2[j])
            total = total - FixedPointSum(limbs: negative.0[j], negative.1[j], negative.2[j])
        }
        return total
    }
}
