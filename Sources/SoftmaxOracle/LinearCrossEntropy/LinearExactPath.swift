import MPFR

/// The MPFR path of the fused linear cross-entropy: enclosures of the loss and of the gradients
/// at one working precision, from the exact logits (`ExactLogits`) and `TransformedRow` (the
/// loss options, shared with `cross_entropy_loss`).
///
/// Per kept row i (z = the transformed logits, M, d_c, e_c, s, S, L as in `TransformedRow`, r̃
/// and D as in `TargetWeights`):
///
///     CE_i = (1/D)·[Σ_c r̃_c·(−d_c) + R̃·L]              (every term >= 0)
///     ∂CE_i/∂z_c = (e_c·A_c − r̃_c·B_c)/(S·D),  A_c = R̃ − r̃_c,  B_c = s (c = M), 1 + (s − e_c)
///     row loss = CE_i + zLoss·lse_i²,  ∂/∂z_c of the z-loss: `TransformedRow.zLossGradient`.
///
/// The loss gradient with respect to the logits x is G_ic = chain(σ_i·∂CE_i/∂z_c + τ_i·∂zl/∂z_c),
/// σ_i, τ_i the upstream gradient over the reduction's divisors (mean: D_CE = Σ_kept w[t_i], the
/// z-loss's N_kept; sum: 1; none: row i's grad_output), and then
///
///     grad_hidden[i][k] = Σ_j G_ij·w_jk,  grad_weight[j][k] = Σ_i G_ij·h_ik,  grad_bias[j] = Σ_i G_ij,
///
/// each an interval sum of exact-point products, so escalation narrows them as far as needed.
/// Terms whose input factor is 0 are exact zeros and skipped; an output with no term is the exact
/// 0. Ignored rows contribute nothing (PyTorch's convention); a mean whose divisor is 0 gives a
/// NaN loss and, when some row is kept, NaN gradients (0/0), else zero gradients.
final class LinearExactPath {
    let q: OracleRequest
    let m: LinearCrossEntropyInputs
    let options: LossOptions
    let weights: [TargetWeights?]
    let ceDivisor: BigFloat
    let keptCount: Int
    private var logits: [[BigFloat]?]

    init(_ q: OracleRequest) {
        self.q = q
        let m = q.linear!
        self.m = m
        options = LossOptions(q)
        weights = m.targets.map { t in
            t == q.ignoreIndex ? nil
                : TargetWeights(target: .index(t), classes: m.classes, weight: m.classWeight, labelSmoothing: q.labelSmoothing)
        }
        let kept = m.targets.filter { $0 != q.ignoreIndex }
        keptCount = kept.count
        ceDivisor = ExactArithmetic.sum(kept.map { ExactArithmetic.value(m.classWeight?[$0] ?? 1) })
        logits = Array(repeating: nil, count: m.rows)
    }

    /// The exact logits of row i (computed once).
    func exactRow(_ i: Int) -> [BigFloat] {
        if let r = logits[i] { return r }
        let r = ExactLogits.row(i, m)
        logits[i] = r
        return r
    }

    /// The upstream gradient of row i (1 when absent).
    func upstream(_ i: Int) -> Double {
        guard let g = q.gradOutput else { return 1 }
        return g.count == 1 ? g[0] : g[i]
    }

    /// What one kept row gives at one precision.
    struct Row {
        let t: TransformedRow
        let r: TargetWeights
        /// CE_i (without z-loss).
        let ce: Interval
    }

    func row(_ i: Int, _ w: IntervalArithmetic) -> Row? {
        guard let r = weights[i] else { return nil }
        let t = TransformedRow(exactRow(i), options, w)
        var terms: [Interval] = []
        for c in 0..<m.classes where !r.scaled[c].isZero {
            terms.append(w.mul(Interval(point: r.scaled[c]), w.neg(t.d[c]!)))
        }
        let ce = w.div(w.add(w.sum(terms), w.mul(Interval(point: r.total), t.L)), w.point(Double(r.divisor)))
        return Row(t: t, r: r, ce: ce)
    }

    /// The loss outputs (1, or N for reduction none) at pending indices.
    func loss(_ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if q.reduction == .none {
            return pending.map { i in
                guard let row = row(i, w) else { return .exact(0) }
                return .interval(row.t.zLossTerm(w).map { w.add(row.ce, $0) } ?? row.ce)
            }
        }
        if q.reduction == .mean && (keptCount == 0 || ceDivisor.isZero) { return pending.map { _ in .exact(.nan) } }
        var ce: [Interval] = [], z: [Interval] = []
        for i in 0..<m.rows {
            guard let row = row(i, w) else { continue }
            ce.append(row.ce)
            if let t = row.t.zLossTerm(w) { z.append(t) }
        }
        var total = w.sum(ce), zTotal = w.sum(z)
        if q.reduction == .mean {
            total = w.div(total, Interval(point: ceDivisor))
            zTotal = w.div(zTotal, w.point(Double(keptCount)))
        }
        return pending.map { _ in .interval(w.add(total, zTotal)) }
    }

    /// G_ic for every class c of row i (nil for a row that contributes nothing).
    func gradientRow(_ i: Int, _ w: IntervalArithmetic) -> [Interval]? {
        let go = upstream(i)
        guard go != 0, let row = row(i, w) else { return nil }
        var sigma = w.point(go), tau = w.point(go)
        if q.reduction == .mean {
            sigma = w.div(sigma, Interval(point: ceDivisor))
            tau = w.div(tau, w.point(Double(keptCount)))
        }
        let t = row.t, r = row.r
        let sd = w.mul(t.S, w.point(Double(r.divisor)))
        return (0..<m.classes).map { c in
            let ec = t.e[c]!
            let ac = Interval(point: ExactArithmetic.difference(r.total, r.scaled[c]))
            let bc = c == t.maxIndex ? t.s : w.add(w.one, w.sub(t.s, ec))
            var g = w.mul(sigma, w.div(w.sub(w.mul(ec, ac), w.mul(Interval(point: r.scaled[c]), bc)), sd))
            if let zg = t.zLossGradient(c, w) { g = w.add(g, w.mul(tau, zg)) }
            return t.chain(g, c, w)
        }
    }

    /// True when a mean over kept rows has a zero divisor (the gradients are then NaN).
    var undefinedMean: Bool { q.reduction == .mean && keptCount > 0 && ceDivisor.isZero }

    /// The gradient outputs at pending indices (flat, row-major) for `q.function`.
    func gradient(_ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if undefinedMean { return pending.map { _ in .exact(.nan) } }
        let d = m.dimension
        var rows: [Int: [Interval]?] = [:]
        func g(_ i: Int) -> [Interval]? {
            if let r = rows[i] { return r }
            let r = gradientRow(i, w)
            rows[i] = r
            return r
        }
        return pending.map { o in
            var terms: [Interval] = []
            switch q.function {
            case .linearCrossEntropyGradHidden:
                let (i, k) = (o / d, o % d)
                if let gi = g(i) {
                    for j in 0..<m.classes where m.weight[j * d + k] != 0 { terms.append(w.mul(gi[j], w.point(m.weight[j * d + k]))) }
                }
            case .linearCrossEntropyGradWeight:
                let (j, k) = (o / d, o % d)
                for i in 0..<m.rows where m.hidden[i * d + k] != 0 {
                    if let gi = g(i) { terms.append(w.mul(gi[j], w.point(m.hidden[i * d + k]))) }
                }
            default:
                for i in 0..<m.rows { if let gi = g(i) { terms.append(gi[o]) } }
            }
            return terms.isEmpty ? .exact(0) : .interval(w.sum(terms))
        }
    }

    /// The enclosures of `q.function`'s outputs at pending indices.
    func enclosures(_ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        q.function == .linearCrossEntropy ? loss(w, pending: pending) : gradient(w, pending: pending)
    }
}
