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
        let sums = ShiftedRow.sums(x, facts: facts, arithmetic: w)  // (L alone: no term kept)
        return [.interval(w.add(w.point(facts.max), sums.L))]
    }

    /// softmax's enclosures, one pending output at a time (`Certifier.run(outputs:streaming:)`).
    /// On a row whose terms lie near the maximum (`NearTieNumerator`), each output comes with the
    /// midpoint form 1/n + (n·f_i − F)/(n·S) (MidpointForms.swift) as its second enclosure
    /// (`Enclosure.intervalOrIntersection`): the Certifier, which rounds the plain enclosure
    /// anyway, intersects the two only where the plain one does not certify.
    static func softmax(_ x: [Double], _ w: IntervalArithmetic, pending: [Int]) -> (Int) -> Enclosure {
        let facts = RowFacts(x)
        if let v = facts.special(forLogsumexp: false) { return { _ in .exact(v) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let near = NearTieNumerator(row, w)
        return { k in
            let i = pending[k]
            guard row.hasTerm(i) else { return .exact(0) }  // a -inf logit: exactly 0
            let plain = i == row.maxIndex ? w.div(w.one, row.S) : w.div(row.e(i)!, row.S)
            guard let near else { return .interval(plain) }
            return .intervalOrIntersection(plain) { MidpointForms.softmax(i, near: near, sum: row.S, w) }
        }
    }

    /// log_softmax's enclosures, one pending output at a time.
    static func logSoftmax(_ x: [Double], _ w: IntervalArithmetic, pending: [Int]) -> (Int) -> Enclosure {
        let facts = RowFacts(x)
        if let v = facts.special(forLogsumexp: false) { return { _ in .exact(v) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        return { k in
            let i = pending[k]
            guard row.hasTerm(i) else { return .exact(-.infinity) }
            return .interval(i == row.maxIndex ? w.neg(row.L) : w.sub(row.d(i)!, row.L))
        }
    }

    /// The outputs of a row function (softmax, log_softmax, cross_entropy_grad) that repeat an
    /// earlier output's inputs (`RepeatedOutputs`), or nil. An output's enclosure depends on the
    /// row and on its logit's bits, whether it is the maximum's own output (the first largest
    /// logit, computed in its own form), and for cross_entropy_grad its target weight r̃_c, a
    /// function of the row's options and of p_c's and w_c's bits, or of whether c is the
    /// hard target (`TargetWeights`).
    static func repeats(_ x: [Double], target: RowTarget? = nil, weight: [Double]? = nil) -> RepeatedOutputs? {
        let m = RowFacts(x).maxIndex ?? -1
        let p: [Double]? = if case .probabilities(let p)? = target { p } else { nil }
        let t: Int = if case .index(let t)? = target { t } else { -1 }
        return RepeatedOutputs.grouping(count: x.count) { i in
            // Words: the logit's, the target's and the weight's bits, and the role (bit 0: the
            // maximum's own output, bit 1: the hard target).
            SIMD4(x[i].bitPattern, p?[i].bitPattern ?? 0, weight?[i].bitPattern ?? 0, (i == m ? 1 : 0) | (i == t ? 2 : 0))
        }
    }
}
