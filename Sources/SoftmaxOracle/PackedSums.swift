import MPFR

// Sums of per-logit intervals without the intervals (issue 13: about 100 bytes a logit beyond
// input and output). `IntervalArithmetic.sum(terms)` rounds each end with one `mpfr_sum` of the
// terms' ends; these make the same terms (the caller's `term(j)`, the same MPFR operations, so
// the same bits: MPFR's results depend on operands, precision and rounding alone), copy their
// ends into `PackedFloats` (48 bytes a number at up to 128 bits: exact copies, the same
// precision) and sum those, in the same order: the same sums, bit for bit.

extension IntervalArithmetic {
    /// `sum` of the intervals `term(j)` that are not nil, j = 0 ..< count, made once each, their
    /// two ends kept packed while they are summed (96 bytes a term at up to 128 bits). The terms'
    /// ends must have this precision.
    func packedSum(count: Int, _ term: (Int) -> Interval?) -> Interval {
        var sum = PackedIntervalSum(capacity: count, self)
        for j in 0..<count {
            if let t = term(j) { sum.add(t) }
        }
        return sum.total()
    }

    /// `sum` of the intervals `term(j)` that are not nil, j = 0 ..< count, made twice each (once
    /// per end: half the memory of `packedSum`, 48 bytes a term, for terms that are cheap to
    /// make), their ends summed from `store` (room for `count` numbers at this precision).
    func packedSum(count: Int, store: PackedFloats, _ term: (Int) -> Interval?) -> Interval {
        var ends: [BigFloat] = []
        for r in [Rounding.down, .up] {
            var n = 0
            for j in 0..<count {
                guard let t = term(j) else { continue }
                store.set(n, r == .down ? t.lo : t.hi, .nearest)  // exact: the same precision
                n += 1
            }
            if n == 0 { return zero }
            let end = BigFloat(precision: precision)
            end.sum((0..<n).lazy.map { store.reference($0) }, count: n, r)
            ends.append(end)
        }
        return Interval(lo: ends[0], hi: ends[1])
    }
}

/// `IntervalArithmetic.sum` of intervals added one at a time, for terms made where the caller
/// has them (inside another pass): their two ends kept packed (96 bytes a term at up to 128
/// bits) and summed at `total()`, each end one `mpfr_sum` of the same numbers as `sum`'s.
struct PackedIntervalSum {
    private let lower: PackedFloats, upper: PackedFloats
    private let w: IntervalArithmetic
    private var n = 0

    /// Room for `capacity` terms whose ends have `w`'s precision.
    init(capacity: Int, _ w: IntervalArithmetic) {
        lower = PackedFloats(count: capacity, precision: w.precision)
        upper = PackedFloats(count: capacity, precision: w.precision)
        self.w = w
    }

    /// Adds `t` (at most `capacity` terms in all).
    mutating func add(_ t: Interval) {
        lower.set(n, t.lo, .nearest)  // exact: the same precision
        upper.set(n, t.hi, .nearest)
        n += 1
    }

    /// The enclosure of the terms' sum (the exact 0 with no term).
    func total() -> Interval {
        if n == 0 { return w.zero }
        let lo = BigFloat(precision: w.precision), hi = BigFloat(precision: w.precision)
        lo.sum((0..<n).lazy.map { lower.reference($0) }, count: n, .down)
        hi.sum((0..<n).lazy.map { upper.reference($0) }, count: n, .up)
        return Interval(lo: lo, hi: hi)
    }
}
