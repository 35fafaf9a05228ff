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
/// 0; an output that is 0 by cancellation, or below MPFR's range, is handled by
/// `ExactZeroGradients` (no precision would certify its direct sum; under soft-capping or
/// z-loss, `GroupedZeroGradients` proves the exact zeros it can). Ignored rows contribute
/// nothing (PyTorch's convention); a mean whose divisor is 0 gives a NaN loss and, when some row is kept, NaN gradients (0/0), else zero gradients.
final class LinearExactPath {
    let q: OracleRequest
    let m: LinearCrossEntropyInputs
    let options: LossOptions
    let weights: [TargetWeights?]
    let ceDivisor: BigFloat
    let keptCount: Int
    private var logits: [[BigFloat]?]
    /// The precision from which an ambiguous gradient output takes its exact form's enclosure.
    static let formPrecision = 4096
    /// Exact-zero decisions and scaled enclosures of the gradient outputs (nil under soft-capping
    /// or z-loss).
    private lazy var zeros = ExactZeroGradients(self)
    /// Exact zeros under soft-capping or z-loss, by a sufficient condition (nil otherwise).
    private lazy var groupedZeros = GroupedZeroGradients(self)

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
            terms.append(w.mul(Interval(point: r.scaled[c]), w.neg(t.d(c)!)))
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

    /// Row i's gradient G_i· = σ_i·ω_i·K_i + small_i, where K_i = e_M − e_t (the exact ±1 of the
    /// arg-max M and the target t, nil when M = t or when the split does not apply) and small_i
    /// the rest (nil for a row that contributes nothing).
    ///
    /// Why the split: with hard targets, no label smoothing and no soft-cap or temperature,
    /// ∂CE/∂z_M = ω/S = ω − ω·s/S and ∂CE/∂z_t = −ω·B_t/S = −ω + ω·e_t/S (t ≠ M), so the ±ω parts
    /// are exact and the remainders are small with full relative accuracy. Sums over rows (grad_bias,
    /// grad_weight) or over classes (grad_hidden) of the exact parts are formed exactly
    /// (`ExactArithmetic`), so when they cancel exactly (two rows whose arg-max and target
    /// coincide, e^(−10^5)-sized remainders) the remainders decide the output at a working
    /// precision, instead of an interval of width 2^-precision around 0 that never certifies.
    struct GradientRow {
        var small: [Interval]
        /// (M, t, σ_i, ω_i) of the exact part, or nil.
        var split: (m: Int, t: Int, sigma: Interval, omega: Double)?
    }

    func gradientRow(_ i: Int, _ w: IntervalArithmetic) -> GradientRow? {
        let go = upstream(i)
        guard go != 0, let row = row(i, w) else { return nil }
        var sigma = w.point(go), tau = w.point(go)
        if q.reduction == .mean {
            sigma = w.div(sigma, Interval(point: ceDivisor))
            tau = w.div(tau, w.point(Double(keptCount)))
        }
        let t = row.t, r = row.r
        let target = m.targets[i]
        let splits = q.labelSmoothing == 0 && options.softcap == nil && options.temperature == nil && t.maxIndex != target
        let omega = m.classWeight?[target] ?? 1
        let sd = w.mul(t.S, w.point(Double(r.divisor)))
        let nearTie = splits ? nil : NearTieNumerator(count: t.termCount, outputs: t.count, d: { t.d($0) }, e: { t.e($0) }, sum: t.S, w)
        let small: [Interval] = (0..<m.classes).map { c in
            let ec = t.e(c)!
            var g: Interval
            if splits && c == t.maxIndex {  // ω/S − ω = −ω·s/S
                g = w.neg(w.mul(sigma, w.div(w.mul(w.point(omega), t.s), t.S)))
            } else if splits && c == target {  // −ω(1 + s − e_t)/S + ω = ω·e_t/S
                g = w.mul(sigma, w.div(w.mul(w.point(omega), ec), t.S))
            } else {
                let n = NearTieNumerator.numerator(c, e: ec, maxIndex: t.maxIndex, s: t.s, weights: r, near: nearTie, w)
                g = w.mul(sigma, w.div(n, sd))
            }
            if let zg = t.zLossGradient(c, w) { g = w.add(g, w.mul(tau, zg)) }
            return t.chain(g, c, w)
        }
        return GradientRow(small: small, split: splits ? (t.maxIndex, target, sigma, omega) : nil)
    }

    /// True when a mean over kept rows has a zero divisor (the gradients are then NaN).
    var undefinedMean: Bool { q.reduction == .mean && keptCount > 0 && ceDivisor.isZero }

    /// The gradient outputs at pending indices (flat, row-major) for `q.function`: Σ of the
    /// small parts, plus the exact parts grouped by their σ (one σ for sum and mean, one per row
    /// for none), each group's Σ ±ω·x formed exactly.
    func gradient(_ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        if undefinedMean { return pending.map { _ in .exact(.nan) } }
        let d = m.dimension
        var rows: [Int: GradientRow?] = [:]
        func g(_ i: Int) -> GradientRow? {
            if let r = rows[i] { return r }
            let r = gradientRow(i, w)
            rows[i] = r
            return r
        }
        return pending.map { o in
            var terms: [Interval] = []
            // Exact parts: (σ, [±ω·x]) per group; rows share σ unless reduction is none.
            var groups: [(sigma: Interval, parts: [BigFloat])] = []
            func exactPart(_ sigma: Interval, _ omega: Double, _ x: Double, _ sign: Double, row i: Int) {
                let v = ExactArithmetic.product(ExactArithmetic.value(sign * omega), ExactArithmetic.value(x))
                if q.reduction == .none || groups.isEmpty { groups.append((sigma, [v])) } else { groups[0].parts.append(v) }
            }
            switch q.function {
            case .linearCrossEntropyGradHidden:
                let (i, k) = (o / d, o % d)
                if let gi = g(i) {
                    for j in 0..<m.classes where m.weight[j * d + k] != 0 { terms.append(w.mul(gi.small[j], w.point(m.weight[j * d + k]))) }
                    if let sp = gi.split {
                        exactPart(sp.sigma, sp.omega, m.weight[sp.m * d + k], 1, row: i)
                        exactPart(sp.sigma, sp.omega, m.weight[sp.t * d + k], -1, row: i)
                    }
                }
            case .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
                let (j, k) = q.function == .linearCrossEntropyGradBias ? (o, -1) : (o / d, o % d)
                for i in 0..<m.rows {
                    let x = k < 0 ? 1 : m.hidden[i * d + k]
                    guard x != 0, let gi = g(i) else { continue }
                    terms.append(k < 0 ? gi.small[j] : w.mul(gi.small[j], w.point(x)))
                    if let sp = gi.split, j == sp.m || j == sp.t { exactPart(sp.sigma, sp.omega, x, j == sp.m ? 1 : -1, row: i) }
                }
            default:
                break
            }
            for group in groups {
                let total = ExactArithmetic.sum(group.parts)
                if !total.isZero { terms.append(w.mul(group.sigma, Interval(point: total))) }
            }
            if terms.isEmpty { return .exact(0) }
            let e = w.sum(terms)
            // An enclosure that straddles 0 and does not round uniquely may be an exact 0,
            // which no precision certifies, or a nonzero below MPFR's range, whose sign the
            // direct sum cannot see; one still ambiguous at `formPrecision` bits may be a
            // rounding boundary plus e^(−gap). `ExactZeroGradients` decides the exact zeros and
            // gives the others an enclosure from their exact form (only for these outputs, so
            // every output the direct sum certifies is unchanged).
            let straddles = e.lo.signum <= 0 && e.hi.signum >= 0
            if straddles || w.precision >= Self.formPrecision, let zeros, q.format.certify(e) == nil {
                return zeros.enclosure(o, w)
            }
            // Under soft-capping or z-loss only a proven exact 0 is taken; the rest escalates as before.
            if straddles, let groupedZeros, q.format.certify(e) == nil, groupedZeros.isZero(o) {
                return .exact(0)
            }
            return .interval(e)
        }
    }

    /// The enclosures of `q.function`'s outputs at pending indices.
    func enclosures(_ w: IntervalArithmetic, pending: [Int]) -> [Enclosure] {
        q.function == .linearCrossEntropy ? loss(w, pending: pending) : gradient(w, pending: pending)
    }
}
