import MPFR

/// Enclosures of the vector–Jacobian products of softmax and log_softmax (PyTorch's
/// `_softmax_backward_data` and `_log_softmax_backward_data`), for a row x and an upstream
/// gradient dy (finite, one per logit). With the shifted row of `ShiftedRow`
/// (e_j = e^(x_j − m), S = Σ_j e_j, y_j = e_j / S):
///
///     softmax_backward_i     = y_i·(dy_i − ⟨dy, y⟩) = e_i·N_i / S²,  N_i = dy_i·S − T,  T = Σ_j e_j·dy_j
///     log_softmax_backward_i = dy_i − y_i·G,                         G = Σ_j dy_j (exact)
///
/// Both are differences that can cancel to any depth (dy_i ≈ ⟨dy, y⟩, or dy_i ≈ y_i·G); the
/// Certifier's precision escalation narrows the enclosure until it rounds uniquely. That only
/// terminates when the exact value is not 0, so the outputs that are exactly 0 are decided
/// first, with a proof, and returned as exact zeros (+0):
///
/// **Which outputs are exactly 0.** Group the finite logits by value: group g has n_g logits
/// equal to x_g, D_g = Σ_{j∈g} dy_j, and E_g = e^(x_g − m). Then
///
///     N_i·1 = Σ_g E_g·(n_g·dy_i − D_g),   (dy_i·S − e_i·G) = Σ_g E_g·(n_g·dy_i − [g = g(i)]·G).
///
/// The exponents x_g − m are distinct rationals, so by the Lindemann–Weierstrass theorem the
/// numbers E_g are linearly independent over the rationals (indeed the algebraic numbers): a
/// rational combination of them is 0 only when every coefficient is 0. The coefficients are
/// exact rationals (sums and products of binary64 inputs, computed exactly by
/// `ExactArithmetic`), so the test is exact:
/// - softmax_backward_i = 0 iff x_i = −inf (y_i = 0), or every group has the same mean dy and
///   dy_i equals it (D_g·n_0 = D_0·n_g for all g, and dy_i·n_0 = D_0); e.g. a constant dy.
/// - log_softmax_backward_i = dy_i exactly when x_i = −inf or G = 0; otherwise it is 0 iff
///   there is one group (all finite logits equal) and n·dy_i = G, or dy_i = 0 and G = 0.
/// Every other output is a nonzero real, so escalation ends at the first precision that
/// separates it from the rounding boundaries (or at `maxPrecision`: `notCertified`, never a
/// guess, and never an endless loop).
///
/// Special values: a NaN or +inf logit, or a row of only −inf, makes every output NaN (as
/// softmax, whose outputs they multiply); K = 0 gives no outputs.
enum Backward {
    /// Certified values of `softmax_backward` or `log_softmax_backward` for a validated request.
    static func evaluate(_ q: OracleRequest, _ certifier: Certifier) throws(OracleError) -> OracleResult {
        let x = q.logits
        let dy = q.gradOutput!
        let facts = RowFacts(x)
        if x.isEmpty { return try certifier.run(outputs: 0) { _, _ in [] } }
        if let v = facts.special(forLogsumexp: false) {
            return try certifier.run(outputs: x.count) { _, pending in pending.map { _ in .exact(v) } }
        }
        let groups = Groups(x, dy)
        if q.function == .softmaxBackward {
            let zero = softmaxZeros(x, dy, groups)
            return try certifier.run(outputs: x.count) { w, pending in softmax(x, dy, zero: zero, facts: facts, w, pending: pending) }
        }
        let g = ExactArithmetic.sum(dy.map(ExactArithmetic.value))
        let exact = logSoftmaxExact(x, dy, groups, gradSum: g)
        return try certifier.run(outputs: x.count) { w, pending in
            logSoftmax(x, dy, gradSum: g, exact: exact, facts: facts, w, pending: pending)
        }
    }

    /// The finite logits grouped by value (−0 and +0 together): each group's count and the exact
    /// sum of its dy.
    struct Groups {
        var count: [Int] = []
        var gradSum: [BigFloat] = []

        init(_ x: [Double], _ dy: [Double]) {
            var members: [Double: [Double]] = [:]
            var order: [Double] = []
            for (j, v) in x.enumerated() where v.isFinite {
                let key = v + 0.0  // −0 + 0 = +0: one group for both zeros
                if members[key] == nil { order.append(key) }
                members[key, default: []].append(dy[j])
            }
            for key in order {
                let m = members[key]!
                count.append(m.count)
                gradSum.append(ExactArithmetic.sum(m.map(ExactArithmetic.value)))
            }
        }
    }

    static func product(_ a: BigFloat, _ n: Int) -> BigFloat {
        ExactArithmetic.product(a, ExactArithmetic.value(Double(n)))
    }

    /// softmax_backward_i = 0 exactly (see the type's notes): x_i = −inf, or all group means of
    /// dy equal and dy_i is that mean.
    static func softmaxZeros(_ x: [Double], _ dy: [Double], _ groups: Groups) -> [Bool] {
        let n0 = groups.count[0], d0 = groups.gradSum[0]
        var sameMeans = true
        for g in 1..<groups.count.count where product(groups.gradSum[g], n0).compare(product(d0, groups.count[g])) != 0 {
            sameMeans = false
            break
        }
        return x.indices.map { i in
            if x[i] == -.infinity { return true }
            return sameMeans && product(ExactArithmetic.value(dy[i]), n0).compare(d0) == 0
        }
    }

    /// The outputs of log_softmax_backward known exactly (see the type's notes): dy_i for a
    /// −inf logit or when G = 0 (then 0 when dy_i = 0), 0 when the single group has n·dy_i = G.
    static func logSoftmaxExact(_ x: [Double], _ dy: [Double], _ groups: Groups, gradSum g: BigFloat) -> [Double?] {
        let oneGroup = groups.count.count == 1
        return x.indices.map { i in
            if x[i] == -.infinity || g.isZero { return dy[i] + 0.0 }  // +0 for an exact zero
            if oneGroup && product(ExactArithmetic.value(dy[i]), groups.count[0]).compare(g) == 0 { return 0 }
            return nil
        }
    }

    /// Enclosures of e_i·(dy_i·S − T)/S² for the pending outputs.
    static func softmax(_ x: [Double], _ dy: [Double], zero: [Bool], facts: RowFacts,
                        _ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if pending.allSatisfy({ zero[$0] }) { return pending.map { _ in .exact(0) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        var terms: [Interval] = []
        for (j, e) in row.e.enumerated() {
            guard let e, dy[j] != 0 else { continue }
            terms.append(w.mul(e, w.point(dy[j])))
        }
        let t = w.sum(terms)
        let s2 = w.mul(row.S, row.S)
        return pending.map { i in
            if zero[i] { return .exact(0) }
            let n = w.sub(w.mul(w.point(dy[i]), row.S), t)
            return .interval(w.div(w.mul(row.e[i]!, n), s2))
        }
    }

    /// Enclosures of dy_i − (e_i/S)·G for the pending outputs.
    static func logSoftmax(_ x: [Double], _ dy: [Double], gradSum g: BigFloat, exact: [Double?], facts: RowFacts,
                           _ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if pending.allSatisfy({ exact[$0] != nil }) { return pending.map { .exact(exact[$0]!) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let gPoint = Interval(point: g)
        return pending.map { i in
            if let v = exact[i] { return .exact(v) }
            let y = i == row.maxIndex ? w.div(w.one, row.S) : w.div(row.e[i]!, row.S)
            return .interval(w.sub(w.point(dy[i]), w.mul(y, gPoint)))
        }
    }
}
