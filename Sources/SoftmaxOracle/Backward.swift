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
/// Underflow: an e_i below MPFR's exponent range (x_i − m < −2^62·ln 2) is enclosed as
/// [0, tiny]; the output is then a nonzero real below 2^(-2^62) in magnitude, which rounds to a
/// signed zero in every format, and only its sign is certified (the sign of N_i, resp. of −G
/// when dy_i = 0); its exact value is reported as that signed zero. (For log_softmax_backward
/// with dy_i ≠ 0 the output is dy_i minus an infinitesimal: its enclosure has dy_i as an open
/// end, which certifies even when dy_i is a rounding midpoint, see `Format.certify`.) Outputs at
/// the maximum are split into an exact rational part and a perturbation (`topMember`), and
/// outputs whose dy_i is the mean of the top group are computed from the first group whose
/// mean differs (`SoftmaxPlan`), so that a rational part that is itself a rounding midpoint, or
/// a leading coefficient that vanishes, still gives an enclosure that certifies.
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
            let plan = SoftmaxPlan(x, dy, groups)
            return try certifier.run(outputs: x.count) { w, pending in softmax(x, dy, plan: plan, facts: facts, w, pending: pending) }
        }
        let g = ExactArithmetic.sum(dy.map(ExactArithmetic.value))
        let exact = logSoftmaxExact(x, dy, groups, gradSum: g)
        return try certifier.run(outputs: x.count) { w, pending in
            logSoftmax(x, dy, gradSum: g, exact: exact, groups: groups, facts: facts, w, pending: pending)
        }
    }

    /// The finite logits grouped by value (−0 and +0 together), largest value first: each
    /// group's value, count and the exact sum of its dy.
    struct Groups {
        var value: [Double] = []
        var count: [Int] = []
        var gradSum: [BigFloat] = []

        init(_ x: [Double], _ dy: [Double]) {
            var members: [Double: [Double]] = [:]
            for (j, v) in x.enumerated() where v.isFinite {
                members[v + 0.0, default: []].append(dy[j])  // −0 + 0 = +0: one group for both zeros
            }
            for key in members.keys.sorted(by: >) {
                let m = members[key]!
                value.append(key)
                count.append(m.count)
                gradSum.append(ExactArithmetic.sum(m.map(ExactArithmetic.value)))
            }
        }
    }

    static func product(_ a: BigFloat, _ n: Int) -> BigFloat {
        ExactArithmetic.product(a, ExactArithmetic.value(Double(n)))
    }

    /// What softmax_backward knows before any arithmetic (see the type's notes).
    ///
    /// `zero[i]`: the output is exactly 0 (x_i = −inf, or every group has the same mean dy and
    /// dy_i is that mean). `peeled[i]`: dy_i is the mean of the top group (the largest logits)
    /// but not of every group; then C_g = 0 for the top groups down to `level`, the first group
    /// whose mean differs, and N_i = E_level·(dy_i·S_level − T_level) with the sums of the groups
    /// at and below `level`, shifted by their own maximum x_level. Computing N_i this way keeps
    /// its enclosure away from 0 when E_level is below MPFR's range (a row such as
    /// [1e30, −1e30, 0] at the arg-max), where dy_i·S − T would only give [−tiny, tiny].
    struct SoftmaxPlan {
        var zero: [Bool]
        var peeled: [Bool]
        var level: Double?
        var groups: Groups

        init(_ x: [Double], _ dy: [Double], _ groups: Groups) {
            self.groups = groups
            let n0 = groups.count[0], d0 = groups.gradSum[0]
            let firstOther = groups.count.indices.dropFirst().first {
                product(groups.gradSum[$0], n0).compare(product(d0, groups.count[$0])) != 0
            }
            level = firstOther.map { groups.value[$0] }
            let onMean = dy.map { product(ExactArithmetic.value($0), n0).compare(d0) == 0 }
            let zero = x.indices.map { x[$0] == -.infinity || (firstOther == nil && onMean[$0]) }
            self.zero = zero
            peeled = x.indices.map { !zero[$0] && onMean[$0] }
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

    /// Enclosures of e_i·(dy_i·S − T)/S² for the pending outputs (the peeled ones as
    /// e_i·E_level·(dy_i·S_level − T_level)/S², see `SoftmaxPlan`).
    static func softmax(_ x: [Double], _ dy: [Double], plan: SoftmaxPlan, facts: RowFacts,
                        _ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if pending.allSatisfy({ plan.zero[$0] }) { return pending.map { _ in .exact(0) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let rowE = x.indices.map { row.e($0) }
        let (s, t) = weightedSums(dy, rowE, w)
        var peeledSums: (s: Interval, t: Interval)?
        if let level = plan.level, pending.contains(where: { plan.peeled[$0] }) {
            let levelPoint = w.point(level)
            let e = x.map { v in v.isFinite && v <= level ? w.exp(w.sub(w.point(v), levelPoint)) : nil }
            peeledSums = weightedSums(dy, e, w)
        }
        let s2 = w.mul(row.S, row.S)
        let mPoint = w.point(row.m)
        let lower = weightedSums(dy, x.indices.map { x[$0] < row.m ? rowE[$0] : nil }, w)
        return pending.map { i in
            if plan.zero[i] { return .exact(0) }
            if x[i] == row.m, !plan.peeled[i] {
                return .interval(topMember(dy[i], groups: plan.groups, lower: lower, s2: s2, w))
            }
            let n: Interval, factor: Interval
            if plan.peeled[i], let (sl, tl) = peeledSums {
                n = w.sub(w.mul(w.point(dy[i]), sl), tl)
                factor = w.exp(w.add(w.sub(w.point(x[i]), mPoint), w.sub(w.point(plan.level!), mPoint)))
            } else {
                n = w.sub(w.mul(w.point(dy[i]), s), t)
                factor = rowE[i]!
            }
            if factor.lo.isZero {
                // The factor below MPFR's range (exponent < −2^62·ln 2): |dx_i| < 2^(-2^62)
                // rounds to a zero in every format, whose sign is N_i's once its enclosure
                // excludes 0.
                if n.lo.signum > 0 { return .exact(0) }
                if n.hi.signum < 0 { return .exact(-0.0) }
            }
            return .interval(w.div(w.mul(factor, n), s2))
        }
    }

    /// softmax_backward at a logit equal to the maximum m, split into an exact rational part and
    /// a perturbation: with n_0 logits at m, C_0 = n_0·dy_i − D_0 (exact), s' and T' the sums
    /// Σ e_j and Σ e_j·dy_j over the logits below m, R = dy_i·s' − T' and S = n_0 + s',
    ///
    ///     dx_i = (C_0 + R)/S² = C_0/n_0² + (R·n_0² − C_0·s'·(2n_0 + s'))/(S²·n_0²).
    ///
    /// When the logits below m are so far below that s' is under MPFR's range, dy_i − ⟨dy, y⟩
    /// is C_0/n_0² plus an infinitesimal; if C_0/n_0² is a rounding midpoint, only this split
    /// gives an enclosure with the midpoint as an (open) end, which certifies (`Format.certify`).
    private static func topMember(_ dyi: Double, groups: Groups, lower: (s: Interval, t: Interval), s2: Interval,
                                  _ w: IntervalArithmetic) -> Interval {
        let n0 = w.point(Double(groups.count[0]))
        let c0 = Interval(point: ExactArithmetic.difference(product(ExactArithmetic.value(dyi), groups.count[0]), groups.gradSum[0]))
        let n0sq = w.mul(n0, n0)
        let r = w.sub(w.mul(w.point(dyi), lower.s), lower.t)
        let shift = w.mul(w.mul(c0, lower.s), w.add(w.add(n0, n0), lower.s))
        let perturbation = w.div(w.sub(w.mul(r, n0sq), shift), w.mul(s2, n0sq))
        return w.add(w.div(c0, n0sq), perturbation)
    }

    /// Σ_j e_j and Σ_j e_j·dy_j over the logits that have an e_j.
    private static func weightedSums(_ dy: [Double], _ e: [Interval?], _ w: IntervalArithmetic) -> (Interval, Interval) {
        var weights: [Interval] = [], terms: [Interval] = []
        for (j, ej) in e.enumerated() {
            guard let ej else { continue }
            weights.append(ej)
            if dy[j] != 0 { terms.append(w.mul(ej, w.point(dy[j]))) }
        }
        return (w.sum(weights), w.sum(terms))
    }

    /// Enclosures of dy_i − (e_i/S)·G for the pending outputs.
    static func logSoftmax(_ x: [Double], _ dy: [Double], gradSum g: BigFloat, exact: [Double?], groups: Groups, facts: RowFacts,
                           _ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if pending.allSatisfy({ exact[$0] != nil }) { return pending.map { .exact(exact[$0]!) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let rowE = x.indices.map { row.e($0) }
        let gPoint = Interval(point: g)
        let lowerSum = w.sum(x.indices.compactMap { x[$0] < row.m ? rowE[$0] : nil })
        return pending.map { i in
            if let v = exact[i] { return .exact(v) }
            if dy[i] == 0, rowE[i]!.lo.isZero {
                // y_i below MPFR's range: dx_i = −y_i·G is a zero of the sign of −G (G ≠ 0 here).
                return .exact(g.signum > 0 ? -0.0 : 0.0)
            }
            if x[i] == row.m {
                // dy_i − G/S = (n_0·dy_i − G)/n_0 + G·s'/(n_0·S): an exact rational part and a
                // perturbation of the sign of G (see `topMember` for why).
                let n0 = w.point(Double(groups.count[0]))
                let c = Interval(point: ExactArithmetic.difference(product(ExactArithmetic.value(dy[i]), groups.count[0]), g))
                return .interval(w.add(w.div(c, n0), w.div(w.mul(gPoint, lowerSum), w.mul(n0, row.S))))
            }
            let y = w.div(rowE[i]!, row.S)
            return .interval(w.sub(w.point(dy[i]), w.mul(y, gPoint)))
        }
    }
}
