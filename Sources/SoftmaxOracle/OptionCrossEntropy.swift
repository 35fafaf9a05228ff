import MPFR

/// Enclosures of the cross-entropies with loss options (`LossOptions`), and of the batch loss's
/// gradient `cross_entropy_loss_backward`, on a `TransformedRow`.
///
/// With the target weights r_c = r̃_c / D of `TargetWeights`, one row's loss is
///
///     CE = (1/D)·[ Σ_c r̃_c·(−d_c) + R̃·L ],   Z = coefficient·(z_M + L)²,
///
/// the same cancellation-free form as `CrossEntropy.loss` (−d_c >= 0, L >= 0), on the transformed
/// logits. The gradient with respect to z is `CrossEntropy.gradient`'s (e_c·A_c − r̃_c·B_c)/(S·D)
/// plus 2·coefficient·lse·softmax_c, scaled by the batch's divisors and `grad_output`, then taken
/// through the options by `TransformedRow.chain`. Exact zeros are decided without arithmetic:
/// an ignored row's gradient, a zero `grad_output`, a zero target weight on a −inf logit, and
/// ±inf logits under soft-capping (slope 0) are `.exact(0)`; equal logits keep every e_j exact.
enum OptionCrossEntropy {
    /// One row's cross-entropy (with its divisor D) and z-loss (nil when off), or the row's special
    /// value (NaN, or +inf for a positive target weight on a −inf logit without soft-capping).
    enum RowLoss {
        case special(Double)
        case parts(ce: Interval, z: Interval?)
    }

    static func rowLoss(_ x: [Double], _ r: TargetWeights, _ o: LossOptions, _ w: IntervalArithmetic) -> RowLoss {
        if let v = TransformedRow.special(x, o) { return .special(v) }
        // Σ_c r̃_c·(−d_c) over r̃_c ≠ 0 and d_c ≠ 0, then R̃·L: `w.sum` of these K + 1 terms, each
        // made once, from the d_c the row makes (`visit`), packed (`PackedIntervalSum`), not a
        // list of intervals; the row keeps no e_j (the loss needs s, L and d_c alone).
        var terms = PackedIntervalSum(capacity: x.count + 1, w)
        let row = TransformedRow(x, o, w, keepTerms: false) { c, dc in
            let rc = r.scaled[c]
            if !rc.isZero && !dc.isExactZero { terms.add(w.mul(Interval(point: rc), w.neg(dc))) }
        }
        for c in 0..<row.count where !r.scaled[c].isZero && !row.hasTerm(c) {
            return .special(.infinity)  // −inf logit, r_c > 0
        }
        terms.add(w.mul(Interval(point: r.total), row.L))
        return .parts(ce: w.div(terms.total(), w.point(Double(r.divisor))), z: row.zLossTerm(w))
    }

    /// `cross_entropy` with options: CE + Z.
    static func loss(_ x: [Double], _ r: TargetWeights, _ o: LossOptions, _ w: IntervalArithmetic) -> Enclosure {
        switch rowLoss(x, r, o, w) {
        case .special(let v): return .exact(v)
        case .parts(let ce, let z): return .interval(z.map { w.add(ce, $0) } ?? ce)
        }
    }

    /// ∂(ceScale·CE + zScale·Z)/∂x_c for the classes c = `kept[k]` (or c = k when `kept` is nil),
    /// k = 0, 1, … (nil scales: 1),
    /// one at a time (`Certifier.run(outputs:streaming:)`): the row's shared parts are made here,
    /// each output's enclosure when it is asked for, so a round never holds K enclosures (two
    /// `BigFloat`s each, about 180 bytes an output at 93 bits; issue 13). The same operations on
    /// the same numbers as making them all at once, so the same bits. `kept`: the classes asked
    /// for, increasing (nil: every class), the ones whose e_c the row keeps (`TransformedRow`'s
    /// `keeping`: a later round's few pending outputs do not keep a term per logit).
    static func rowGradient(
        _ x: [Double], _ r: TargetWeights, _ o: LossOptions, ceScale: MidpointForms.Scale?, zScale: Interval?,
        _ w: IntervalArithmetic, kept: [Int]?
    ) -> (Int) -> Enclosure {
        if let v = TransformedRow.special(x, o) { return { _ in .exact(v) } }
        let row = TransformedRow(x, o, w, keeping: kept)
        let d = w.point(Double(r.divisor))
        let sd = w.mul(row.S, d)
        let nearTie = NearTieNumerator(count: row.termCount, outputs: row.count, d: { row.d($0) }, e: { row.e($0) }, sum: row.S, w)
        // 2·coefficient·scale: the z-loss gradient's factor of logsumexp·softmax_c (the form at a
        // unique maximum whose z_M is a point), and that times logsumexp, with S (the midpoint form's).
        let zCoefficient = o.zLoss.map { w.scale(w.mul(Interval(point: $0), zScale ?? w.one), 1) }
        let zLoss = zCoefficient.map { (factor: w.mul($0, row.logsumexp(w)), sum: row.S) }
        var ties: Int?  // counted when an output at the maximum first needs it
        return { k in
            let c = kept?[k] ?? k
            var g: Interval
            if let ec = row.e(c) {
                // The scale folded into the quotient (MidpointForms.scaled): an end at a midpoint
                // stays one (e.g. R̃·g/(S·D·M) with S = 1 + e^(−2^27) enclosed as [1, 1 + 2^-w]).
                let numerator = NearTieNumerator.numerator(c, e: ec, maxIndex: row.maxIndex, s: row.s, weights: r, near: nearTie, w)
                g = MidpointForms.scaled(numerator, over: sd, ceScale, w)
                // At the maximum, the other terms tiny (MidpointForms.swift): the form of the
                // cross-entropy's part, or of the whole entry when it carries the z-loss term.
                var atMaximum: (form: Interval, withZLoss: Bool)?
                if x[c] == x[row.maxIndex] {
                    if ties == nil { ties = MidpointForms.ties(x, maxIndex: row.maxIndex) }
                    let z = ties == 1 && row.zMax.isPoint ? zCoefficient.map { ($0, row.zMax) } : nil
                    atMaximum = MidpointForms.gradientAtMaximum(weight: r.scaled[c], total: r.total, ties: ties!, divisor: r.divisor,
                                                                sum: row.S, scale: ceScale, zLoss: z, w).map { ($0, z != nil) }
                    if let atMaximum, !atMaximum.withZLoss { g = g.intersection(atMaximum.form) }
                }
                if let zg = row.zLossGradient(c, w) { g = w.add(g, zScale.map { w.mul(zg, $0) } ?? zg) }
                if let atMaximum, atMaximum.withZLoss { g = g.intersection(atMaximum.form) }
                // −r_c (scaled) on a rounding midpoint, moved by a tiny q_c and z-loss term; or,
                // with r_c = 0, the z-loss's sign against q_c's when e_c underflowed
                // (MidpointForms.swift).
                let rc = r.scaled[c]
                if MidpointForms.mayBeTiny(e: ec, weight: rc, total: r.total, w) || (zLoss != nil && rc.isZero && ec.lo.isZero) {
                    g = g.intersection(MidpointForms.gradient(e: ec, weight: rc, total: r.total, divisor: d, sd: sd,
                                                              scale: ceScale, zLoss: zLoss, w))
                }
            } else {  // softmax_c = 0 exactly: the entry is −r_c (no z-loss term)
                if r.scaled[c].isZero { return .exact(0) }
                g = MidpointForms.negatedWeight(r.scaled[c], divisor: d, scale: ceScale, w)
            }
            let result = row.chain(g, c, w)
            return result.isExactZero ? .exact(0) : .interval(result)
        }
    }

    /// `cross_entropy_grad` with options, one pending output at a time.
    static func gradient(_ x: [Double], _ r: TargetWeights, _ o: LossOptions, _ w: IntervalArithmetic, pending: [Int]) -> (Int) -> Enclosure {
        // (pending is increasing: every class when it has K of them)
        rowGradient(x, r, o, ceScale: nil, zScale: nil, w, kept: pending.count == x.count ? nil : pending)
    }

    /// The batch loss with options. `ceDenominator` is the cross-entropy's mean divisor, `kept`
    /// the number of kept rows (the z-loss's mean divisor).
    static func batch(
        _ rows: [[Double]], targets: [TargetWeights?], reduction: Reduction, ceDenominator: BigFloat, kept: Int,
        _ o: LossOptions, _ w: IntervalArithmetic, pending: [Int]
    ) -> [Enclosure] {
        if reduction == .none {
            return pending.map { i in targets[i].map { loss(rows[i], $0, o, w) } ?? .exact(0) }
        }
        var ce: [Interval] = [], z: [Interval] = []
        var special: Double?
        for (i, row) in rows.enumerated() {
            guard let t = targets[i] else { continue }
            switch rowLoss(row, t, o, w) {
            case .special(let v):
                if v.isNaN { special = .nan } else if special == nil { special = v }
            case .parts(let c, let zi):
                ce.append(c)
                if let zi { z.append(zi) }
            }
        }
        if reduction == .mean && (ceDenominator.isZero || kept == 0) { return [.exact(.nan)] }
        if let v = special { return [.exact(v)] }
        if reduction == .sum { return [.interval(w.sum(ce + z))] }
        let ceMean = w.div(w.sum(ce), Interval(point: ceDenominator))
        return [.interval(z.isEmpty ? ceMean : w.add(ceMean, w.div(w.sum(z), w.point(Double(kept)))))]
    }

    /// `cross_entropy_loss_backward`: the N×K gradient, row-major (output p is row p / K, class
    /// p % K), one pending output at a time (`Certifier.run(outputs:streaming:)`): a row's parts
    /// are made when its first pending output is asked for and dropped at the next row's, so a
    /// round holds one row and one enclosure, not N·K enclosures. `gradOutput` holds one value
    /// (sum, mean) or one per row (none). `pending` must be increasing, and asked for in order.
    static func backward(
        _ rows: [[Double]], targets: [TargetWeights?], reduction: Reduction, ceDenominator: BigFloat, kept: Int,
        gradOutput: [Double], _ o: LossOptions, _ w: IntervalArithmetic, pending: [Int]
    ) -> (Int) -> Enclosure {
        let k = rows[0].count
        let meanIsNaN = reduction == .mean && ceDenominator.isZero
        // The row whose outputs are being asked for, and its enclosures by position in `pending`.
        final class Current {
            var row = -1
            var start = 0
            var enclosure: (Int) -> Enclosure = { _ in .exact(0) }
        }
        let current = Current()
        return { position in
            let i = pending[position] / k
            if i != current.row {
                current.row = i
                let start = position
                current.start = start
                current.enclosure = { _ in .exact(0) }  // the previous row's parts are released first
                // The row's pending classes (increasing, as `pending` is): all of them, or the few
                // a later round has left.
                var end = start
                while end < pending.count && pending[end] / k == i { end += 1 }
                let classes = end - start == k ? nil : pending[start..<end].map { $0 % k }
                current.enclosure = rowBackward(
                    rows[i], targets[i], meanIsNaN: meanIsNaN, reduction: reduction, ceDenominator: ceDenominator, kept: kept,
                    gradOutput: gradOutput.count == 1 ? gradOutput[0] : gradOutput[i], o, w, keptClasses: classes)
            }
            return current.enclosure(position - current.start)
        }
    }

    /// One row of `backward`: the enclosures of its classes `keptClasses[j]` (every class, j,
    /// when nil), j = 0, 1, ….
    private static func rowBackward(
        _ x: [Double], _ t: TargetWeights?, meanIsNaN: Bool, reduction: Reduction, ceDenominator: BigFloat, kept: Int,
        gradOutput go: Double, _ o: LossOptions, _ w: IntervalArithmetic, keptClasses: [Int]?
    ) -> (Int) -> Enclosure {
        guard let t else { return { _ in .exact(0) } }  // an ignored row: the loss does not depend on it
        if meanIsNaN { return { _ in .exact(.nan) } }
        if go == 0 && TransformedRow.special(x, o) == nil { return { _ in .exact(0) } }
        var zScale = w.point(go)
        if reduction == .mean { zScale = w.div(zScale, w.point(Double(kept))) }
        let ceScale = (gradOutput: go, divisor: reduction == .mean ? Interval(point: ceDenominator) : nil)
        return rowGradient(x, t, o, ceScale: ceScale, zScale: zScale, w, kept: keptClasses)
    }
}

extension OptionCrossEntropy {
    /// Certifies a validated cross-entropy request with loss options, or any
    /// `cross_entropy_loss_backward` request.
    static func evaluate(_ q: OracleRequest, _ certifier: Certifier) throws(OracleError) -> OracleResult {
        let o = LossOptions(q)
        let x = q.logits
        switch q.function {
        case .crossEntropy:
            let r = TargetWeights(target: q.target!, classes: x.count, weight: q.weight, labelSmoothing: q.labelSmoothing)
            return try certifier.run(outputs: 1) { w, _ in [loss(x, r, o, w)] }
        case .crossEntropyGrad:
            let r = TargetWeights(target: q.target!, classes: x.count, weight: q.weight, labelSmoothing: q.labelSmoothing)
            return try certifier.run(outputs: x.count, streaming: { w, pending in gradient(x, r, o, w, pending: pending) })
        default:
            let rows = q.batch!
            let (targets, denominator) = Oracle.batchWeights(q)
            let kept = targets.lazy.filter { $0 != nil }.count
            if q.function == .crossEntropyLoss {
                return try certifier.run(outputs: q.reduction == .none ? rows.count : 1) { w, pending in
                    batch(rows, targets: targets, reduction: q.reduction, ceDenominator: denominator, kept: kept, o, w, pending: pending)
                }
            }
            let go = q.gradOutput ?? [1]
            return try certifier.run(outputs: rows.count * rows[0].count, streaming: { w, pending in
                backward(rows, targets: targets, reduction: q.reduction, ceDenominator: denominator, kept: kept,
                         gradOutput: go, o, w, pending: pending)
            })
        }
    }
}
