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
