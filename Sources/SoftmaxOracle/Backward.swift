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
/// Underflow: an e_i below MPFR's exponent range (x_i − m < −2^30·ln 2 ≈ −7.44·10^8: the interval
/// arithmetic runs in MPFR's default range, `ExponentRange`) is enclosed as [0, tiny]; the output
/// is then a nonzero real below 2^(-2^30) in magnitude, which rounds to a
/// signed zero in every format, and only its sign is certified (the sign of N_i, resp. of −G
/// when dy_i = 0); its exact value is reported as that signed zero. (For log_softmax_backward
/// with dy_i ≠ 0 the output is dy_i minus an infinitesimal: its enclosure has dy_i as an open
/// end, which certifies even when dy_i is a rounding midpoint, see `Format.certify`.) Outputs at
/// the maximum are split into an exact rational part and a perturbation (`topMember`; for
/// softmax_backward also `BackwardFarTerms`, which factors the lower sum out of the
/// perturbation), and outputs whose dy_i is the mean of the top group are computed from the
/// first group whose mean differs (`SoftmaxPlan`), so that a rational part that is itself a
/// rounding midpoint, or a leading coefficient that vanishes, still gives an enclosure that
/// certifies.
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
            return try certifier.run(outputs: x.count, streaming: { _, _ in { _ in .exact(v) } })
        }
        let groups = Groups(x, dy)
        if q.function == .softmaxBackward {
            let plan = SoftmaxPlan(x, dy, groups)
            return try certifier.run(outputs: x.count, streaming: { w, pending in
                softmax(x, dy, plan: plan, facts: facts, w, pending: pending)
            })
        }
        var gradSum = StreamedSum(precision: 53, rounding: .nearest)
        for v in dy { gradSum.add(ExactArithmetic.value(v)) }
        let g = gradSum.exactTotal()
        return try certifier.run(outputs: x.count, streaming: { w, pending in
            logSoftmax(x, dy, gradSum: g, groups: groups, facts: facts, w, pending: pending)
        })
    }

    /// The finite logits grouped by value (−0 and +0 together), largest value first: what the
    /// outputs need of the groups, the top group's count n_0 and exact dy sum D_0, the number of
    /// groups, and the first group whose mean dy differs from the top group's (D_g·n_0 ≠ D_0·n_g).
    ///
    /// Memory: the groups are walked in one sorted order of the finite logits' indices (4 bytes a
    /// logit while it runs); only these numbers are kept, not a table of every group's members
    /// and sum (a few hundred bytes a logit on a row of distinct values). Each D_g is an exact
    /// sum (`ExactArithmetic.sum`), so it does not depend on the order of its terms.
    struct Groups {
        /// n_0, the number of logits equal to the maximum.
        var topCount = 0
        /// D_0, the exact sum of their dy.
        var topGradSum = BigFloat(0, precision: 53)
        /// The number of distinct finite values.
        var groupCount = 0
        /// The values x_1 > x_2 (+0 for a group of zeros) of the second and third groups, the
        /// largest finite logits below the maximum; nil where there is no such group
        /// (`BackwardFarTerms`).
        var below: (first: Double?, second: Double?)
        /// The value x_g (+0 for a group of zeros) of the first group, largest first, whose mean
        /// dy differs from the top group's; nil when every group has the same mean.
        var level: Double?

        init(_ x: [Double], _ dy: [Double]) {
            var order = [Int32]()
            order.reserveCapacity(x.count)
            for (j, v) in x.enumerated() where v.isFinite { order.append(Int32(j)) }
            order.sort { x[Int($0)] > x[Int($1)] || (x[Int($0)] == x[Int($1)] && $0 < $1) }  // −0 == +0: one group
            var start = 0
            while start < order.count {
                let v = x[Int(order[start])]
                var end = start + 1
                while end < order.count && x[Int(order[end])] == v { end += 1 }
                let n = end - start
                if groupCount == 1 { below.first = v + 0.0 } else if groupCount == 2 { below.second = v + 0.0 }
                if groupCount == 0 || level == nil {
                    let d = ExactArithmetic.sum(order[start..<end].map { ExactArithmetic.value(dy[Int($0)]) })
                    if groupCount == 0 {
                        (topCount, topGradSum) = (n, d)
                    } else if product(d, topCount).compare(product(topGradSum, n)) != 0 {
                        level = v + 0.0
                    }
                }
                groupCount += 1
                start = end
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
            let n0 = groups.topCount, d0 = groups.topGradSum
            level = groups.level
            let onMean = dy.map { product(ExactArithmetic.value($0), n0).compare(d0) == 0 }
            let zero = x.indices.map { x[$0] == -.infinity || (groups.level == nil && onMean[$0]) }
            self.zero = zero
            peeled = x.indices.map { !zero[$0] && onMean[$0] }
        }
    }

    /// The output i of log_softmax_backward if it is known exactly (see the type's notes): dy_i
    /// for a −inf logit or when G = 0 (then 0 when dy_i = 0), 0 when the single group has
    /// n·dy_i = G. Decided at each read (a comparison, and two exact products on a row of equal
    /// logits), not kept: 16 bytes a logit as an array of `Double?`.
    static func logSoftmaxExact(_ i: Int, _ x: [Double], _ dy: [Double], _ groups: Groups, gradSum g: BigFloat) -> Double? {
        if x[i] == -.infinity || g.isZero { return dy[i] + 0.0 }  // +0 for an exact zero
        if groups.groupCount == 1 && product(ExactArithmetic.value(dy[i]), groups.topCount).compare(g) == 0 { return 0 }
        return nil
    }

    /// Enclosures of e_i·(dy_i·S − T)/S² for the pending outputs (the peeled ones as
    /// e_i·E_level·(dy_i·S_level − T_level)/S², see `SoftmaxPlan`), made one at a time for
    /// `Certifier.run(outputs:streaming:)`: the row-wide sums first, in one pass over the row
    /// that keeps no interval per logit (`rowSums`), then each output's enclosure when it is read.
    ///
    /// An output at the maximum, on a row whose lower sum s' is not known to a relative 2^-(w−8)
    /// (a term below MPFR's range: s' = [0, least], which no precision narrows), comes with the
    /// midpoint form of `BackwardFarTerms` as its second enclosure
    /// (`Enclosure.intervalOrIntersection`): the Certifier, which rounds the plain enclosure
    /// anyway, intersects the two only where the plain one does not certify (`BackwardFarTerms`
    /// made once a round, when first needed). Deciding here rounded the plain enclosure twice:
    /// 8% of the instructions of a row of 99 999 tied logits and one far below (`Format.certify`,
    /// about 4800 instructions a call).
    static func softmax(_ x: [Double], _ dy: [Double], plan: SoftmaxPlan, facts: RowFacts,
                        _ w: IntervalArithmetic, pending: [Int]) -> (Int) -> Enclosure {
        if pending.allSatisfy({ plan.zero[$0] }) { return { _ in .exact(0) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let sums = rowSums(x, dy, row, w)
        let (s, t) = (sums.s, sums.t)
        var peeledSums: (s: Interval, t: Interval)?
        if let level = plan.level, pending.contains(where: { plan.peeled[$0] }) {
            peeledSums = levelSums(x, dy, level: level, w)
        }
        let s2 = w.mul(row.S, row.S)
        let mPoint = w.point(row.m)
        let lower = (s: sums.lowerS, t: sums.lowerT)
        // The midpoint form's gate, the row's part (see above); `far` is made when an output at
        // the maximum first needs it.
        let lowerIsWide = plan.groups.below.first != nil && NearTieNumerator.isWide(lower.s, w)
        var far: BackwardFarTerms?
        return { k in
            let i = pending[k]
            if plan.zero[i] { return .exact(0) }
            if x[i] == row.m, !plan.peeled[i] {
                let plain = topMember(dy[i], groups: plan.groups, lower: lower, s2: s2, w)
                guard lowerIsWide else { return .interval(plain) }
                // The form only where the plain enclosure does not certify: the Certifier decides.
                return .intervalOrIntersection(plain) {
                    if far == nil { far = BackwardFarTerms(x, dy, max: row.m, below: plan.groups.below, w) }
                    return far!.output(dy[i], ties: plan.groups.topCount, gradSum: plan.groups.topGradSum, sum: row.S, w)
                }
            }
            let n: Interval, factor: Interval
            if plan.peeled[i], let (sl, tl) = peeledSums {
                n = w.sub(w.mul(w.point(dy[i]), sl), tl)
                factor = w.exp(w.add(w.sub(w.point(x[i]), mPoint), w.sub(w.point(plan.level!), mPoint)))
            } else {
                n = w.sub(w.mul(w.point(dy[i]), s), t)
                factor = row.e(i)!
            }
            if factor.lo.isZero {
                // The factor below MPFR's range (exponent < −2^30·ln 2): |dx_i| < 2^(-2^30)
                // rounds to a zero in every format, whose sign is N_i's once its enclosure
                // excludes 0.
                if n.lo.signum > 0 { return .exact(0) }
                if n.hi.signum < 0 { return .exact(-0.0) }
            }
            return .interval(w.div(w.mul(factor, n), s2))
        }
    }

    /// Σ_j e^(x_j − level) and Σ_j e^(x_j − level)·dy_j over the finite logits x_j <= level (the
    /// products over dy_j ≠ 0), each summed with one outward rounding per end.
    static func levelSums(_ x: [Double], _ dy: [Double], level: Double, _ w: IntervalArithmetic) -> (s: Interval, t: Interval) {
        let levelPoint = w.point(level)
        var weights = StreamedIntervalSum(w), terms = StreamedIntervalSum(w)
        for (j, v) in x.enumerated() where v.isFinite && v <= level {
            let e = w.exp(w.sub(w.point(v), levelPoint))
            weights.add(e)
            if dy[j] != 0 { terms.add(w.mul(e, w.point(dy[j]))) }
        }
        return (weights.total(), terms.total())
    }

    /// The row's sums for softmax_backward, as `w.sum` of the intervals gives them: S = Σ_j e_j,
    /// T = Σ_j e_j·dy_j (the products over dy_j ≠ 0), and s', T' the same over the logits below
    /// the maximum. One pass: each e_j is read from the row once and each product made once, for
    /// T and (below m) T'; the sums hold a chunk of terms at a time (`StreamedIntervalSum`), not an
    /// interval per logit.
    private static func rowSums(_ x: [Double], _ dy: [Double], _ row: ShiftedRow, _ w: IntervalArithmetic)
        -> (s: Interval, t: Interval, lowerS: Interval, lowerT: Interval) {
        var s = StreamedIntervalSum(w), t = StreamedIntervalSum(w)
        var lowerS = StreamedIntervalSum(w), lowerT = StreamedIntervalSum(w)
        for j in x.indices {
            guard let e = row.e(j) else { continue }
            let below = x[j] < row.m
            s.add(e)
            if below { lowerS.add(e) }
            if dy[j] != 0 {
                let p = w.mul(e, w.point(dy[j]))
                t.add(p)
                if below { lowerT.add(p) }
            }
        }
        return (s.total(), t.total(), lowerS.total(), lowerT.total())
    }

    /// softmax_backward at a logit equal to the maximum m, split into an exact rational part and
    /// a perturbation: with n_0 logits at m, C_0 = n_0·dy_i − D_0 (exact), s' and T' the sums
    /// Σ e_j and Σ e_j·dy_j over the logits below m, R = dy_i·s' − T' and S = n_0 + s',
    ///
    ///     dx_i = (C_0 + R)/S² = C_0/n_0² + (R·n_0² − C_0·s'·(2n_0 + s'))/(S²·n_0²).
    ///
    /// When the logits below m are so far below that s' is under MPFR's range, dx_i is C_0/n_0²
    /// plus an infinitesimal; if C_0/n_0² is a rounding midpoint, this split keeps it an end of
    /// the enclosure only where the perturbation's numerator keeps one sign over s' = [0, least]
    /// (R <= 0 < C_0 or C_0 < 0 <= R); the others hold it inside at every precision, and take
    /// the midpoint form with s' factored out (`BackwardFarTerms`).
    private static func topMember(_ dyi: Double, groups: Groups, lower: (s: Interval, t: Interval), s2: Interval,
                                  _ w: IntervalArithmetic) -> Interval {
        let n0 = w.point(Double(groups.topCount))
        let c0 = Interval(point: ExactArithmetic.difference(product(ExactArithmetic.value(dyi), groups.topCount), groups.topGradSum))
        let n0sq = w.mul(n0, n0)
        let r = w.sub(w.mul(w.point(dyi), lower.s), lower.t)
        let shift = w.mul(w.mul(c0, lower.s), w.add(w.add(n0, n0), lower.s))
        let perturbation = w.div(w.sub(w.mul(r, n0sq), shift), w.mul(s2, n0sq))
        return w.add(w.div(c0, n0sq), perturbation)
    }

    /// Enclosures of dy_i − (e_i/S)·G for the pending outputs, made one at a time (see `softmax`).
    static func logSoftmax(_ x: [Double], _ dy: [Double], gradSum g: BigFloat, groups: Groups, facts: RowFacts,
                           _ w: IntervalArithmetic, pending: [Int]) -> (Int) -> Enclosure {
        let exact = { (i: Int) in logSoftmaxExact(i, x, dy, groups, gradSum: g) }
        if pending.allSatisfy({ exact($0) != nil }) { return { .exact(exact(pending[$0])!) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let gPoint = Interval(point: g)
        var lower = StreamedIntervalSum(w)
        for j in x.indices where x[j] < row.m {
            if let e = row.e(j) { lower.add(e) }
        }
        let lowerSum = lower.total()
        return { k in
            let i = pending[k]
            if let v = exact(i) { return .exact(v) }
            let e = row.e(i)!
            if dy[i] == 0, e.lo.isZero {
                // y_i below MPFR's range: dx_i = −y_i·G is a zero of the sign of −G (G ≠ 0 here).
                return .exact(g.signum > 0 ? -0.0 : 0.0)
            }
            if x[i] == row.m {
                // dy_i − G/S = (n_0·dy_i − G)/n_0 + G·s'/(n_0·S): an exact rational part and a
                // perturbation of the sign of G (see `topMember` for why).
                let n0 = w.point(Double(groups.topCount))
                let c = Interval(point: ExactArithmetic.difference(product(ExactArithmetic.value(dy[i]), groups.topCount), g))
                return .interval(w.add(w.div(c, n0), w.div(w.mul(gPoint, lowerSum), w.mul(n0, row.S))))
            }
            let y = w.div(e, row.S)
            return .interval(w.sub(w.point(dy[i]), w.mul(y, gPoint)))
        }
    }
}
