import MPFR

/// Exact zeros of the fused gradients (`linear_cross_entropy_grad_hidden`, `_grad_weight`,
/// `_grad_bias`) under soft-capping or z-loss, where `ExactZeroGradients`' theorem does not
/// apply: a sufficient condition, decided group by group in exact arithmetic, for an output that
/// the direct interval sum can never certify because its enclosure always straddles 0.
///
/// **The form.** With the exact logits z_n of row n, the transformed logits y_nc = φ(z_nc)
/// (soft-capping and temperature; φ strictly increasing, φ' > 0) and p_n = softmax(y_n), the
/// gradient with respect to z_nc is
///
///     G_nc = φ'(z_nc)·[σ_n·(R̃_n·p_nc − r̃_nc)/D + τ_n·2ζ·lse_n·p_nc],
///
/// σ_n, τ_n the upstream gradient over the reductions' divisors, D and R̃_n = Σ_c r̃_nc from
/// `TargetWeights`, ζ the z-loss coefficient (0 without it), lse_n = logsumexp(y_n). Group row n's
/// classes by exact logit value (`ExactZeroGradients.Shape`: group g has n_g classes, all with the
/// same z, hence the same y, p_g and φ'_g). For weights γ_c (grad_hidden[n][k]: γ_c = w_ck),
/// Γ_g = Σ_{c∈g} γ_c and Q_g = Σ_{c∈g} γ_c·r̃_nc (exact sums),
///
///     Σ_c G_nc·γ_c = Σ_g φ'_g·[(σ_n/D)·(R̃_n·p_g·Γ_g − Q_g) + τ_n·2ζ·lse_n·p_g·Γ_g].
///
/// **The condition.** Every bracket is 0 when
/// - the row has one group (every logit equal): p = 1/n, so the cross-entropy part is
///   (R̃_n·Γ − n·Q)/n, 0 iff R̃_n·Γ = n·Q, an exact rational test (a tied or constant weight
///   matrix, e.g. `torch.ones`, with a hard target t gives Γ = n·w_tk, Q = R̃·w_tk); with z-loss
///   also Γ = 0;
/// - the row has several groups and Γ_g = Q_g = 0 for every g (both parts vanish).
///
/// Then the output is exactly 0 (every term is). grad_weight[v][k] = Σ_n G_nv·h_nk and
/// grad_bias[v] = Σ_n G_nv: every row that contributes (upstream ≠ 0, kept, h_nk ≠ 0) must have
/// G_nv = 0 by the same test with γ_c = [c = v]. y, φ' and lse are transcendental here, so the
/// test is sufficient, not necessary: an output that is 0 by a cancellation it does not see
/// (between groups, or between rows) stays undecided, as before, and ends "not certified" at the
/// precision cap; a nonzero output is certified by escalation as before (the test never says
/// "nonzero").
final class GroupedZeroGradients {
    private unowned let path: LinearExactPath
    private var shapes: [Int: ExactZeroGradients.Shape] = [:]

    /// Whether the z-loss part is present.
    private let zLoss: Bool

    /// nil without soft-capping and z-loss (`ExactZeroGradients` decides those requests).
    init?(_ path: LinearExactPath) {
        guard path.options.softcap != nil || path.options.zLoss != nil else { return nil }
        self.path = path
        zLoss = path.options.zLoss != nil
    }

    /// True when output `o` of `path.q.function` is proven exactly 0; false: not proven.
    func isZero(_ o: Int) -> Bool {
        let m = path.m, d = m.dimension
        switch path.q.function {
        case .linearCrossEntropyGradHidden:
            let (i, k) = (o / d, o % d)
            return rowTermIsZero(i) { c in m.weight[c * d + k] }
        case .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            let (v, k) = path.q.function == .linearCrossEntropyGradBias ? (o, -1) : (o / d, o % d)
            return (0..<m.rows).allSatisfy { n in
                (k >= 0 && m.hidden[n * d + k] == 0) || rowTermIsZero(n) { c in c == v ? 1 : 0 }
            }
        default:
            return false
        }
    }

    /// Σ_c G_nc·γ_c = 0 by the type's condition (true also for a row that contributes nothing).
    private func rowTermIsZero(_ n: Int, gamma: (Int) -> Double) -> Bool {
        guard path.upstream(n) != 0, let r = path.weights[n] else { return true }
        let s = shape(n)
        var big = [[BigFloat]](repeating: [], count: s.counts.count)
        var q = [[BigFloat]](repeating: [], count: s.counts.count)
        for c in 0..<path.m.classes {
            let x = gamma(c)
            if x == 0 { continue }
            let g = s.groupOf[c], value = ExactArithmetic.value(x)
            big[g].append(value)
            if !r.scaled[c].isZero { q[g].append(ExactArithmetic.product(value, r.scaled[c])) }
        }
        let gammaSums = big.map { ExactArithmetic.sum($0) }, qSums = q.map { ExactArithmetic.sum($0) }
        if s.counts.count == 1 {
            if zLoss && !gammaSums[0].isZero { return false }
            let lhs = ExactArithmetic.product(r.total, gammaSums[0])
            return ExactArithmetic.difference(lhs, Backward.product(qSums[0], s.counts[0])).isZero
        }
        return gammaSums.allSatisfy(\.isZero) && qSums.allSatisfy(\.isZero)
    }

    private func shape(_ n: Int) -> ExactZeroGradients.Shape {
        if let s = shapes[n] { return s }
        let s = ExactZeroGradients.Shape(path.exactRow(n))
        shapes[n] = s
        return s
    }
}
