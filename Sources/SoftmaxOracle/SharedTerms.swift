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
/// addressing with linear probing on a multiplicative hash of the key's words, at most half full.
/// A row whose first `window` (4096) keys are all distinct is taken for a row of distinct values
/// and the table is dropped (every later key computed, as without sharing): its lookups would only
/// cost (a random access into a table of megabytes each).
struct SharedTerms<Value> {
    private var keys: [SIMD4<UInt64>] = []
    private var values: [Value] = []
    /// Index into `keys`/`values`, or −1 for an empty slot; a power of two in size.
    private var slots: [Int32] = []
    /// The most entries the table keeps.
    let limit: Int
    /// Keys looked up and found so far, and whether the table is off (no hit in the first
    /// `window` lookups).
    private var lookups = 0, hits = 0
    private(set) var isOff = false
    /// Lookups without a hit after which the table is dropped.
    static var window: Int { 4096 }

    init(limit: Int = 1 << 16) {
        self.limit = limit
    }

    /// The number of entries kept.
    var count: Int { keys.count }

    /// The value stored for `key`, or `make()`, stored when the table has room.
    @inline(__always)
    mutating func value(_ key: SIMD4<UInt64>, _ make: () -> Value) -> Value {
        if let v = stored(key) { return v }
        let v = make()
        store(key, v)
        return v
    }

    /// The value stored for `key`, if any.
    mutating func stored(_ key: SIMD4<UInt64>) -> Value? {
        if isOff { return nil }
        lookups += 1
        if let i = find(key).entry {
            hits += 1
            return values[i]
        }
        if hits == 0 && lookups >= Self.window {
            (isOff, keys, values, slots) = (true, [], [], [])
        }
        return nil
    }

    /// Stores v for a key not in the table (after `stored` found none), when it has room.
    mutating func store(_ key: SIMD4<UInt64>, _ v: Value) {
        if !isOff && keys.count < limit { insert(key, v) }
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
