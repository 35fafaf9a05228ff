/// Equal inputs share one MPFR term: a table from an input's key (a logit's bit pattern, a
/// (target, weight) pair, an output's inputs) to what the MPFR path made of it, so that a row
/// with few distinct values (bf16 or fp8 logits have at most 65 536 or 256 distinct values,
/// while LLM vocabularies hold 128k–256k classes; a row of equal logits; repeated targets)
/// computes each distinct term once and keeps one copy.
///
/// Sharing changes no value: every MPFR operation is deterministic (the same operands, precision
/// and rounding give the same result), so an entry is the very interval or number that computing
/// it again would give, and sums over shared terms (`mpfr_sum` of the same values) are the same
/// sums. Shared numbers are never mutated (an `Interval`'s ends and the exact target weights are
/// written once, when made).
///
/// Memory: at most `limit` entries (65 536 by default, a bf16 row's distinct values): past it a
/// key not yet in the table is computed and not stored, so a row of all-distinct values pays the
/// table's bounded size and a hash lookup per input, never a second copy of the row.
struct SharedTerms<Key: Hashable, Value> {
    private var table: [Key: Value] = [:]
    /// The most entries the table keeps.
    let limit: Int

    init(limit: Int = 1 << 16) {
        self.limit = limit
    }

    /// The value stored for `key`, or `make()`, stored when the table has room.
    @inline(__always)
    mutating func value(_ key: Key, _ make: () -> Value) -> Value {
        if let v = table[key] { return v }
        let v = make()
        if table.count < limit { table[key] = v }
        return v
    }
}
