// Powers of two and exact scaling (notation: ErrorFreeTransforms.swift).

/// 2^e from its bits, for −1022 <= e <= 1023 (a normal binary64 number).
///
/// Outside that range the result is meaningless (e = −1023 gives +0, for example): callers
/// keep e inside it.
@inlinable @inline(__always)
public func powerOfTwo(_ e: Int) -> Double {
    Double(bitPattern: UInt64(truncatingIfNeeded: e + 1023) << 52)
}

/// x·2^e rounded once: RN(x·2^e), including gradual underflow (a subnormal result is rounded
/// once, never flushed) and overflow to ±inf.
///
/// Exact when x·2^e is normal or zero. For −1022 <= e <= 1023 one multiplication; otherwise two,
/// by 2^h and 2^(e − h) with h = e/2 (each factor clamped to the normal range), where the first
/// is exact whenever x·2^h is normal, which holds for normal x with |x| in [2^-60, 2^60] and
/// every e for which the result is neither 0 nor ±inf after rounding.
@inlinable @inline(__always)
public func scaled(_ x: Double, by e: Int) -> Double {
    if e >= -1022 && e <= 1023 { return x * powerOfTwo(e) }
    let half = e / 2
    return (x * powerOfTwo(Swift.min(Swift.max(half, -1022), 1023)))
        * powerOfTwo(Swift.min(Swift.max(e - half, -1022), 1023))
}

/// ⌊log₂|x|⌋ for a normal x, from its exponent bits (meaningless for zero, subnormals, inf, NaN).
@inlinable @inline(__always)
public func binade(_ x: Double) -> Int {
    Int((x.bitPattern >> 52) & 0x7FF) - 1023
}
