import MPFR

/// Enclosures of the cross-entropy, its gradient, and the batch loss.
///
/// With the target weights r_c = r̃_c / D of `TargetWeights` and the shifted row of `ShiftedRow`
/// (-log_softmax_c = (m - x_c) + L):
///
///     loss = (1/D) · [ Σ_c r̃_c·(m - x_c) + R̃·L ],   R̃ = Σ_c r̃_c.
///
/// Both terms are >= 0 (r̃ >= 0, m >= x_c, L >= 0): no cancellation, whatever the loss. A loss
/// of 1e-300 (target at the arg-max, every other logit ~690 below) is R̃·L/D with L = log1p(s)
/// enclosed to the working precision's relative width, so it certifies at the first precision.
///
///     grad_c = softmax_c·Σ_j r_j - r_c = (e_c·A_c - r̃_c·B_c) / (S·D),
///     A_c = Σ_{j≠c} r̃_j = R̃ - r̃_c (exact),  B_c = Σ_{j≠c} e_j.
///
/// B_c is s at the maximum (no subtraction: the entry softmax_t - 1 of a hard target at the
/// arg-max is -s/S, full relative accuracy), and 1 + (s - e_c) elsewhere (>= 1, so the rounding of
/// s - e_c is harmless). For a hard target A_t = 0 exactly, so the target's entry is -r̃_t·B_t/(S·D)
/// with no cancellation. The remaining differences of two non-negative products can cancel only
/// where the exact gradient is small, which escalation resolves (and where the row's terms all lie
/// near 1, NearTieNumerator.swift's exact second form resolves at once); an exactly zero entry arises
/// only from exact zeros (r̃_c = 0 and A_c = 0, or equal logits making every e_j exact), which are
/// point enclosures.
enum CrossEntropy {
    /// The loss of one row (reduction "none"), or a special value.
    static func loss(_ x: [Double], _ r: TargetWeights, _ w: IntervalArithmetic) -> Enclosure {
        let facts = RowFacts(x)
        if let v = facts.special(forLogsumexp: false) { return .exact(v) }
        // A -inf logit with a positive weight: -log_softmax is +inf there (0·inf counts as 0).
        for (c, v) in x.enumerated() where v == -.infinity && !r.scaled[c].isZero {
            return .exact(.infinity)
        }
        // The gaps' sum first, then the row: the gaps' store (a term per weighted class) is freed
        // before the row's (a number per distinct logit) is made, so they never take memory at
        // the same time (m = facts.max = row.m; the two are independent computations).
        let a = weightedGaps(x, m: facts.max, r, w)
        let row = ShiftedRow.sums(x, facts: facts, arithmetic: w)  // (s and L alone: no term kept)
        let b = w.mul(Interval(point: r.total), row.L)
        return .interval(w.div(w.add(a, b), w.point(Double(r.divisor))))
    }

    /// Σ_c r̃_c·(m − x_c) over the finite x_c ≠ m with r̃_c ≠ 0: the sum that
    /// `w.sum(terms)` of the terms `w.mul(Interval(point: r̃_c), w.sub(w.point(m), w.point(x_c)))`
    /// gives, both ends of each term summed as they are made (`ExactChunkedSum`): no number kept
    /// per term. The same numbers: m − x_c > 0 and r̃_c >= 0, so
    /// `IntervalArithmetic.mul` takes its non-negative case, [RD(r̃_c·RD(m − x_c)),
    /// RU(r̃_c·RU(m − x_c))], which is what is computed here; no term: the exact 0 (`w.zero`).
    static func weightedGaps(_ x: [Double], m: Double, _ r: TargetWeights, _ w: IntervalArithmetic) -> Interval {
        let mPoint = BigFloat(m, precision: 53), xc = BigFloat(precision: 53)
        let gap = BigFloat(precision: w.precision), term = BigFloat(precision: w.precision)
        // Both ends' terms summed as they are made, in one pass over the classes (`ExactChunkedSum`:
        // the same correctly rounded sums as one `mpfr_sum` of each end's terms, without a number
        // per term; r̃_c asked for once per class: label smoothing's are made when asked for).
        var lower = ExactChunkedSum(precision: w.precision), upper = ExactChunkedSum(precision: w.precision)
        var n = 0
        for c in x.indices where x[c].isFinite && x[c] != m {
            let rc = r.scaled[c]
            if rc.isZero { continue }
            n += 1
            xc.set(x[c], .nearest)  // exact
            gap.sub(mPoint, xc, .down)
            precondition(rc.signum >= 0 && gap.signum >= 0, "non-negative factors")
            term.mul(rc, gap, .down)
            lower.add(term)
            gap.sub(mPoint, xc, .up)
            term.mul(rc, gap, .up)
            upper.add(term)
        }
        if n == 0 { return w.zero }
        return Interval(lo: lower.total(precision: w.precision, .down), hi: upper.total(precision: w.precision, .up))
    }

    /// The gradient's enclosures, one pending output at a time (`Certifier.run(outputs:streaming:)`).
    ///
    /// An output with r̃_c > 0 whose q_c = e_c·R̃/(S·D) may lie below 2^-(w−8)·r_c
    /// (`MidpointForms.mayBeTiny`) is intersected with the midpoint form −r̃_c/D + q_c
    /// (MidpointForms.swift): −r_c on a rounding midpoint is then decided by q_c > 0.
    static func gradient(_ x: [Double], _ r: TargetWeights, _ w: IntervalArithmetic, pending: [Int]) -> (Int) -> Enclosure {
        let facts = RowFacts(x)
        if let v = facts.special(forLogsumexp: false) { return { _ in .exact(v) } }
        let row = ShiftedRow(x, facts: facts, arithmetic: w)
        let d = w.point(Double(r.divisor))
        let sd = w.mul(row.S, d)
        let nearTie = NearTieNumerator(row, w)
        var ties: Int?  // counted when an output at the maximum first needs it
        return { k in
            let c = pending[k]
            let rc = Interval(point: r.scaled[c])
            guard let ec = row.e(c) else {
                // softmax_c = 0 exactly: the entry is -r_c.
                return r.scaled[c].isZero ? .exact(0) : .interval(w.div(w.neg(rc), d))
            }
            var plain = w.div(NearTieNumerator.numerator(c, e: ec, maxIndex: row.maxIndex, s: row.s, weights: r, near: nearTie, w), sd)
            if x[c] == x[row.maxIndex] {  // at the maximum, the other terms tiny (MidpointForms.swift)
                if ties == nil { ties = MidpointForms.ties(x, maxIndex: row.maxIndex) }
                if let form = MidpointForms.gradientAtMaximum(weight: r.scaled[c], total: r.total, ties: ties!, divisor: r.divisor,
                                                              sum: row.S, scale: nil, w) {
                    plain = plain.intersection(form)
                }
            }
            guard MidpointForms.mayBeTiny(e: ec, weight: r.scaled[c], total: r.total, w) else { return .interval(plain) }
            return .interval(plain.intersection(MidpointForms.gradient(e: ec, weight: r.scaled[c], total: r.total, divisor: d, sd: sd, w)))
        }
    }

    /// PyTorch `CrossEntropyLoss` over rows. `targets[i]` gives row i's weights, or nil for a row
    /// skipped by `ignore_index`. `denominator` is the exact divisor of the mean.
    static func batch(
        _ rows: [[Double]], targets: [TargetWeights?], reduction: Reduction,
        meanDenominator: BigFloat, _ w: IntervalArithmetic, pending: [Int]
    ) -> [Enclosure] {
        switch reduction {
        case .none:
            return pending.map { i in targets[i].map { loss(rows[i], $0, w) } ?? .exact(0) }
        case .sum, .mean:
            var parts: [Interval] = []
            var special: Double?
            for (i, row) in rows.enumerated() {
                guard let t = targets[i] else { continue }
                switch loss(row, t, w) {
                case .exact(let v):
                    if v.isNaN { special = .nan } else if v.isInfinite, special == nil || special!.isFinite {
                        special = v
                    } else if v != 0 { parts.append(w.point(v)) }
                case .interval(let e), .intervalOrIntersection(let e, _): parts.append(e)
                }
            }
            if reduction == .mean && meanDenominator.isZero { return [.exact(.nan)] }  // 0/0: nothing kept
            if let v = special { return [.exact(v)] }
            let total = w.sum(parts)
            if reduction == .sum { return [.interval(total)] }
            return [.interval(w.div(total, Interval(point: meanDenominator)))]
        }
    }
}
