import ParallelExecution
import MPFR

/// The certified reference for the softmax family.
///
/// Each output is enclosed in an interval computed with MPFR in directed rounding, then rounded
/// to nearest-even into the output format at both ends; when both ends give the same value, that
/// value is proven to be the correct rounding of the exact result (rounding is monotone). When they
/// differ, the working precision is doubled and the enclosure recomputed, up to `maxPrecision`,
/// past which the answer is `OracleError.notCertified` — never a guess. An enclosure of width zero
/// (every step exact, e.g. equal logits) is the exact value and is rounded directly, ties to even.
///
/// Before the MPFR path, the double-word tier (DoubleWordTier/) tries logsumexp, softmax,
/// log_softmax, cross_entropy and cross_entropy_grad (a hard target or probability targets,
/// without class weights or label smoothing; also with a z_loss or a softcap alone) and the batch
/// loss (hard targets with or without class weights, or probability targets; no label smoothing)
/// in double-double arithmetic with proven error bounds; it answers only when
/// every output of the request certifies that way (same certification rule, same results), else
/// the MPFR path answers. For sigmoid, log_sigmoid, softplus and bce_with_logits it answers
/// output by output, and the MPFR path only the outputs it leaves.
public struct Oracle: Sendable {
    /// The first working precision, in bits, is the format's precision plus this.
    public var guardBits: Int
    /// The precision cap, in bits.
    public var maxPrecision: Int
    /// Largest number of values one request may hold.
    public var maxValues: Int
    /// Try the double-word tier first (false: always the MPFR path, for comparisons; the
    /// results are the same).
    public var doubleWordTier: Bool
    /// Threads the double-word tier may use for a long row or a large batch (0: one per
    /// processor; in `evaluateRounded`, each stage of a row split only when a timed first part
    /// of it shows the rest worth the threads, `DoubleWordTier.StageSplit`). The results do not
    /// depend on it.
    public var threads: Int
    /// Whether the MPFR path narrows the exact values of outputs already certified
    /// (`Certifier.narrowsExactValues`); `evaluateRounded` turns it off.
    var narrowsExactValues = true

    /// An oracle with the given limits.
    ///
    /// - Parameters:
    ///   - guardBits: the first working precision is the format's precision plus this (at
    ///     least 64 bits in all).
    ///   - maxPrecision: the precision cap, in bits; past it an output is `notCertified`.
    ///   - maxValues: the largest number of values one request may hold.
    ///   - doubleWordTier: try the double-word tier before the MPFR path.
    ///   - threads: threads for the double-word tier (0: one per processor).
    public init(guardBits: Int = 40, maxPrecision: Int = 1 << 16, maxValues: Int = 10_000_000,
                doubleWordTier: Bool = true, threads: Int = 0) {
        self.guardBits = guardBits
        self.maxPrecision = maxPrecision
        self.maxValues = maxValues
        self.doubleWordTier = doubleWordTier
        self.threads = threads
    }

    /// The double-word tier's result for `request`, or nil when it would defer to the MPFR path
    /// (for tests and benchmarks; `evaluate` uses it when `doubleWordTier` is true).
    ///
    /// - Throws: `OracleError.invalidInput` for a request `evaluate` would reject.
    /// - Postcondition: a non-nil result has `tier == .doubleWord`, `escalations == 0`, and
    ///   the values `evaluate` gives with the MPFR path alone.
    public func evaluateDoubleWordTier(_ request: OracleRequest) throws(OracleError) -> OracleResult? {
        try Validation.check(request, maxValues: maxValues)
        let threads = threads > 0 ? threads : ProcessorCount.online
        if let partial = DoubleWordTier.elementwise(request, threads: threads) {
            return partial.pending.isEmpty ? OracleResult(values: partial.values, precision: 106, escalations: 0, tier: .doubleWord) : nil
        }
        return DoubleWordTier.evaluate(request, threads: threads)
    }

    /// Evaluates `request`, certified.
    ///
    /// - Throws: `OracleError.invalidInput` naming the field and value of a request the function
    ///   cannot take; `OracleError.notCertified` when an output is still ambiguous at
    ///   `maxPrecision` bits.
    /// - Postcondition: one value per output (1 for logsumexp, cross_entropy and reduced batch
    ///   losses; K for the row functions; N rows for reduction "none"), each the correct rounding
    ///   of the exact value into `request.format`.
    public func evaluate(_ request: OracleRequest) throws(OracleError) -> OracleResult {
        let q = request
        try Validation.check(q, maxValues: maxValues)
        if q.function.isLinearCrossEntropy {
            return try LinearCrossEntropy.evaluate(
                q, Certifier(format: q.format, guardBits: guardBits, maxPrecision: maxPrecision, narrowsExactValues: narrowsExactValues),
                fastTier: doubleWordTier, threads: threads > 0 ? threads : ProcessorCount.online)
        }
        let certifier = Certifier(format: q.format, guardBits: guardBits, maxPrecision: maxPrecision, narrowsExactValues: narrowsExactValues)
        let x = q.logits
        // (Elementwise requests first: `DoubleWordTier.evaluate` answers none of them, after a
        // scan of the row for a wide row.)
        if let output = elementwiseEnclosure(q) {
            // Elementwise: the double-word tier answers output by output; the MPFR path only the
            // outputs it left (each output's enclosure depends on its own logit alone, so this
            // is what the MPFR path gives for the whole row).
            // (Streaming: each output's enclosure is certified and released before the next is
            // made, so a round holds one, not one per output: a few hundred bytes an output.)
            guard doubleWordTier, let partial = DoubleWordTier.elementwise(q, threads: threads > 0 ? threads : ProcessorCount.online) else {
                return try certifier.run(outputs: x.count, streaming: { w, pending in { output(pending[$0], w) } })
            }
            if partial.pending.isEmpty {
                return OracleResult(values: partial.values, precision: 106, escalations: 0, tier: .doubleWord)
            }
            let left = partial.pending
            let rest = try certifier.run(outputs: left.count, streaming: { w, pending in { output(left[pending[$0]], w) } })
            var values = partial.values
            for (j, i) in left.enumerated() { values[i] = rest.values[j] }
            return OracleResult(values: values, precision: rest.precision, escalations: rest.escalations)
        }
        if doubleWordTier, let r = DoubleWordTier.evaluate(q, threads: threads > 0 ? threads : ProcessorCount.online) {
            return r
        }
        switch q.function {
        case .logsumexp:
            return try certifier.run(outputs: 1) { w, _ in SoftmaxFamily.logsumexp(x, w) }
        case .softmax:
            return try certifier.run(outputs: x.count, repeats: SoftmaxFamily.repeats(x),
                                     streaming: { w, pending in SoftmaxFamily.softmax(x, w, pending: pending) })
        case .logSoftmax:
            return try certifier.run(outputs: x.count, repeats: SoftmaxFamily.repeats(x),
                                     streaming: { w, pending in SoftmaxFamily.logSoftmax(x, w, pending: pending) })
        case .crossEntropy where q.hasLossOptions, .crossEntropyGrad where q.hasLossOptions,
             .crossEntropyLoss where q.hasLossOptions, .crossEntropyLossBackward:
            return try OptionCrossEntropy.evaluate(q, certifier)
        case .crossEntropy:
            let r = TargetWeights(target: q.target!, classes: x.count, weight: q.weight, labelSmoothing: q.labelSmoothing)
            return try certifier.run(outputs: 1) { w, _ in [CrossEntropy.loss(x, r, w)] }
        case .crossEntropyGrad:
            let r = TargetWeights(target: q.target!, classes: x.count, weight: q.weight, labelSmoothing: q.labelSmoothing)
            return try certifier.run(outputs: x.count, repeats: SoftmaxFamily.repeats(x, target: q.target, weight: q.weight),
                                     streaming: { w, pending in CrossEntropy.gradient(x, r, w, pending: pending) })
        case .sigmoid, .logSigmoid, .softplus, .bceWithLogits, .linearCrossEntropy, .linearCrossEntropyGradHidden,
             .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            preconditionFailure("answered above")
        case .crossEntropyLoss:
            return try batchLoss(q, certifier)
        case .softmaxBackward, .logSoftmaxBackward:
            return try Backward.evaluate(q, certifier)
        }
    }

    /// The MPFR enclosure of output i of an elementwise function at a working precision, or nil
    /// for the other functions.
    private func elementwiseEnclosure(_ q: OracleRequest) -> ((Int, IntervalArithmetic) -> Enclosure)? {
        let x = q.logits
        switch q.function {
        case .sigmoid: return { i, w in Elementwise.sigmoid(x[i], w) }
        case .logSigmoid: return { i, w in Elementwise.logSigmoid(x[i], w) }
        case .softplus: return { i, w in Elementwise.softplus(x[i], w) }
        case .bceWithLogits:
            let labels = q.labels!
            let pw = q.posWeight ?? [1]
            return { i, w in
                Elementwise.bce(x[i], label: labels[i], posWeight: pw.count == 1 ? pw[0] : pw[i],
                                weight: q.weight?[i] ?? 1, w)
            }
        default: return nil
        }
    }

    private func batchLoss(_ q: OracleRequest, _ certifier: Certifier) throws(OracleError) -> OracleResult {
        let rows = q.batch!
        let (targets, denominator) = Self.batchWeights(q)
        let outputs = q.reduction == .none ? rows.count : 1
        return try certifier.run(outputs: outputs) { w, pending in
            CrossEntropy.batch(rows, targets: targets, reduction: q.reduction, meanDenominator: denominator, w, pending: pending)
        }
    }

    /// A validated batch request's per-row target weights (nil for a row skipped by
    /// `ignore_index`) and the exact divisor of its mean (PyTorch's: the total class weight of the
    /// kept rows for class indices, the number of rows for probability targets).
    static func batchWeights(_ q: OracleRequest) -> (targets: [TargetWeights?], denominator: BigFloat) {
        let k = q.batch![0].count
        switch q.batchTargets! {
        case .indices(let t):
            let targets = t.map { ti in
                ti == q.ignoreIndex ? nil
                    : TargetWeights(target: .index(ti), classes: k, weight: q.weight, labelSmoothing: q.labelSmoothing)
            }
            // PyTorch's mean for class indices: divide by the total weight of the kept rows.
            return (targets, ExactArithmetic.sum(t.filter { $0 != q.ignoreIndex }.map { ExactArithmetic.value(q.weight?[$0] ?? 1) }))
        case .probabilities(let p):
            let targets = p.map { TargetWeights(target: .probabilities($0), classes: k, weight: q.weight, labelSmoothing: q.labelSmoothing) }
            return (targets, ExactArithmetic.value(Double(p.count)))  // PyTorch: the number of rows
        }
    }
}
