import MPFR

/// Enclosures of logsumexp, softmax and log_softmax, from a `ShiftedRow`.
///
/// Error-free by formulation; the enclosures only carry MPFR's directed roundings:
/// - logsumexp = m + L. m is exact; cancellation can occur only when m < 0 and L ≈ -m, and then
///   precision escalation resolves it (the exact value is never 0 unless L = m = 0, which is a
///   point enclosure).
/// - softmax_i = e_i / S (1/S at the maximum): a quotient of positive enclosures, no cancellation.
/// - log_softmax_i = d_i - L (-L at the maximum): both terms are <= 0, so no cancellation; at the
///   maximum -L keeps full relative accuracy however small it is (e.g. -e^-999 for [1000, 1]).
enum SoftmaxFamily {
    static func logsumexp(_ x: [Double], _ w: IntervalArithmetic) -> [Enclosure] {
        let facts = RowFacts(x)
        if x.isEmpty { return [.exact(-.infinity)] }
        if let v = facts.special(forLogsumexp: true) { return [.exact(v)] }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        return [.interval(w.add(w.point(row.m), row.L))]
    }

    static func softmax(_ x: [Double], _ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        let facts = RowFacts(x)
        if let v = facts.special(forLogsumexp: false) { return pending.map { _ in .exact(v) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        return pending.map { i in
            guard let ei = row.e[i] else { return .exact(0) }  // a -inf logit: exactly 0
            return .interval(i == row.maxIndex ? w.div(w.one, row.S) : w.div(ei, row.S))
        }
    }

    static func logSoftmax(_ x: [Double], _ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        let facts = RowFacts(x)
        if let v = facts.special(forLogsumexp: false) { return pending.map { _ in .exact(v) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        return pending.map { i in
            guard let di = row.d[i] else { return .exact(-.infinity) }
            return .interval(i == row.maxIndex ? w.neg(row.L) : w.sub(di, row.L))
        }
    }
}
