/// Equal inputs share one MPFR term: a table from an input's key (a logit's bit pattern, a
/// (target, weight) pair, an output's inputs: up to four 64-bit words) to what the MPFR path made
/// of it, so that a row with few distinct values (bf16 or fp8 logits have at most 65 536 or 256
/// distinct values, while LLM vocabularies hold 128k–256k classes; a row of equal logits;
/// repeated targets) computes each distinct term once and keeps one copy.
///
/// Sharing changes no value: every MPFR operation is deterministic (the same operands, precision
/// and rounding give the same result), so an entry is the very interval or number that computing
/// it again would give, and sums over shared terms (`mpfr_sum` of the same values) are the same
/// sums. Shared numbers are never mutated (an `Interval`'s ends and the exact target weights are
/// written once, when made).
///
/// Memory: at most `limit` entries (65 536 by default, a bf16 row's distinct values): past it a
/// key not yet in the table is computed and not stored, so a row of all-distinct values pays the
/// table's bounded size and a lookup per input, never a second copy of the row. The table is open
/// addressing with linear probing on a multiplicative hash of the key's words (a few ns a lookup,
/// against the microseconds of an MPFR exponential), at most half full.
struct SharedTerms<Value> {
    private var keys: [SIMD4<UInt64>] = []
    private var values: [Value] = []
    /// Index into `keys`/`values`, or −1 for an empty slot; a power of two in size.
    private var slots: [Int32] = []
    /// The most entries the table keeps.
    let limit: Int

    init(limit: Int = 1 << 16) {
        self.limit = limit
    }

    /// The number of entries kept.
    var count: Int { keys.count }

    /// The value stored for `key`, or `make()`, stored when the table has room.
    @inline(__always)
    mutating func value(_ key: SIMD4<UInt64>, _ make: () -> Value) -> Value {
        if let i = find(key).entry { return values[i] }
        let v = make()
        if keys.count < limit { insert(key, v) }
        return v
    }

    /// The value stored for `key`, if any.
    func stored(_ key: SIMD4<UInt64>) -> Value? { find(key).entry.map { values[$0] } }

    /// Stores v for a key not in the table, when it has room.
    mutating func store(_ key: SIMD4<UInt64>, _ v: Value) {
        if keys.count < limit && find(key).entry == nil { insert(key, v) }
    }

    private static func hash(_ key: SIMD4<UInt64>, bits: Int) -> Int {
        let h = (key[0] &* 0x9E37_79B9_7F4A_7C15) ^ (key[1] &* 0xC2B2_AE3D_27D4_EB4F)
            ^ (key[2] &* 0x1656_67B1_9E37_79F9) ^ (key[3] &* 0xD6E8_FEB8_6659_FD93)
        return Int(truncatingIfNeeded: ((h ^ (h >> 29)) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
    }

    /// The entry holding `key`, or nil and the empty slot where it would go.
    private func find(_ key: SIMD4<UInt64>) -> (entry: Int?, slot: Int) {
        if slots.isEmpty { return (nil, 0) }
        let mask = slots.count - 1
        var s = Self.hash(key, bits: slots.count.trailingZeroBitCount)
        while true {
            let e = slots[s]
            if e < 0 { return (nil, s) }
            if keys[Int(e)] == key { return (Int(e), s) }
            s = (s + 1) & mask
        }
    }

    private mutating func insert(_ key: SIMD4<UInt64>, _ v: Value) {
        if 2 * (keys.count + 1) > slots.count {
            let size = Swift.max(64, 2 * slots.count)
            slots = [Int32](repeating: -1, count: size)
            for (i, k) in keys.enumerated() { slots[find(k).slot] = Int32(i) }
        }
        slots[find(key).slot] = Int32(keys.count)
        keys.append(key)
        values.append(v)
    }
}
