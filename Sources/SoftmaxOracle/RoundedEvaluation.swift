import ParallelExecution

// `Oracle.evaluateRounded`: the rounded values without the exact values, for callers that only
// write them (`softmax-oracle eval`). Where the double-word tier answers output by output, with
// one value for the whole row or from a bound (wide rows), it then writes 8 bytes an output
// instead of an `OracleValue`'s 32:
// a row of 10^5 outputs touches 0.8 MB instead of 3.2 MB of fresh memory, which cost more than
// certifying it (page faults and the kernel's zeroing). Everything else is `evaluate`'s result.

extension Oracle {
    /// `evaluate(request)`'s rounded values, precision, escalations and tier, without the exact
    /// values where a path can leave them out: the elementwise functions (sigmoid, log_sigmoid,
    /// softplus, bce_with_logits: the double-word tier's rounded values, and the outputs it leaves
    /// from the MPFR path) and softmax, log_softmax and cross_entropy_grad on the tier's
    /// tiny-spread and wide rows (TinySpreadRow.swift, WideRow.swift). Other requests get
    /// `evaluate`'s values, kept in place (`RoundedResult.Values.certified`; their exact values
    /// are those at the precision where every output certified, not narrowed further).
    ///
    /// - Throws: what `evaluate` throws for the request.
    /// - Postcondition: `rounded` equals `evaluate(request).rounded`, bit for bit.
    public func evaluateRounded(_ request: OracleRequest) throws(OracleError) -> RoundedResult {
        // The MPFR path stops once every output is certified: the exact values it would go on to
        // narrow are not kept (`Certifier.narrowsExactValues`).
        var roundedOnly = self
        roundedOnly.narrowsExactValues = false
        return try roundedOnly.evaluateRoundedValues(request)
    }

    /// ``evaluateRounded(_:)``, the same results, for a request the caller gives up: a
    /// bce_with_logits request in f64 then gets its rounded values written over its labels'
    /// storage (`DoubleWordTier.bceRoundedInPlace`), so evaluating it allocates no third array of
    /// K doubles beside its logits and labels (`eval`: one 2 MiB huge page of fresh heap
    /// instead of two at K = 10^5). Other requests take ``evaluateRounded(_:)``.
    ///
    /// Safe whoever holds the request: the labels are written in place only when this call
    /// holds their storage alone (the caller gave its last copy up, `consume`); a caller that
    /// keeps the request (or its labels) gets them copied first (copy-on-write) and never sees
    /// them change; such a caller should call ``evaluateRounded(_:)``, which makes no such copy.
    ///
    /// - Throws: what `evaluate` throws for the request.
    /// - Postcondition: `rounded` equals `evaluate(request).rounded`, bit for bit.
    public func evaluateRounded(consuming request: consuming OracleRequest) throws(OracleError) -> RoundedResult {
        guard doubleWordTier, request.function == .bceWithLogits, request.format == .f64 else { return try evaluateRounded(request) }
        try Validation.check(request, maxValues: maxValues)
        var roundedOnly = self
        roundedOnly.narrowsExactValues = false
        let labels = request.labels.take().unsafelyUnwrapped  // (validated: one per logit)
        let (rounded, pending) = DoubleWordTier.bceRoundedInPlace(request, labels: consume labels,
                                                                  threads: tierThreads(values: request.logits.count))
        if pending.isEmpty {
            return RoundedResult(values: .rounded(rounded), precision: 106, escalations: 0, tier: .doubleWord)
        }
        return try roundedOnly.withPending(request, consume rounded, pending, labelsInSlots: true)
    }

    /// The double-word tier's `threads` for a request of `values` logits: as given, or automatic
    /// (0: every processor, each stage split only when worth it, `DoubleWordTier.StageSplit`);
    /// one for a request too short for any stage to split.
    private func tierThreads(values: Int) -> Int {
        threads > 0 ? threads : values < DoubleWordTier.fewestToSplit ? 1 : 0
    }

    private func evaluateRoundedValues(_ request: OracleRequest) throws(OracleError) -> RoundedResult {
        let q = request
        if doubleWordTier && !q.function.isLinearCrossEntropy {
            let tierThreads = tierThreads(values: q.logits.count)
            switch q.function {
            case .sigmoid, .logSigmoid, .softplus, .bceWithLogits:
                try Validation.check(q, maxValues: maxValues)
                if let (rounded, pending) = DoubleWordTier.elementwiseRounded(q, threads: tierThreads) {
                    if pending.isEmpty {
                        return RoundedResult(values: .rounded(rounded), precision: 106, escalations: 0, tier: .doubleWord)
                    }
                    return try withPending(q, consume rounded, pending, labelsInSlots: false)
                }
            case .softmax, .logSoftmax, .crossEntropyGrad:
                if q.hasLossOptions { break }  // (the tier's option paths keep their values)
                try Validation.check(q, maxValues: maxValues)
                if let values = DoubleWordTier.rowValues(q, threads: tierThreads, rounded: true) {
                    return RoundedResult(values: values, precision: DoubleWordTier.reportedPrecision(q.format), escalations: 0,
                                         tier: .doubleWord)
                }
                return RoundedResult(try mpfrPath.evaluate(q))
            default:
                // (The tier's threads only: `threads` is not used by the MPFR path of these functions.)
                var oracle = self
                oracle.threads = threads > 0 ? threads : Self.automaticThreads(values: q.logits.count)
                return RoundedResult(try oracle.evaluate(q))
            }
        }
        return RoundedResult(try evaluate(q))
    }

    /// With automatic threads (`threads == 0`), `evaluateRounded` runs the functions it passes
    /// to `evaluate` (logsumexp, cross_entropy, the backward functions, loss options) on one
    /// thread below this many logits, on every processor from there; softmax, log_softmax,
    /// cross_entropy_grad and the elementwise functions run the double-word tier with its own
    /// automatic threads instead (every processor, each stage split only when a timed first
    /// sixteenth of it shows the rest taking 2 ms or more: `DoubleWordTier.StageSplit`).
    ///
    /// For a row of 10^5 ordinary logits the tier's work is a few tenths of a millisecond: the
    /// first `concurrentPerform` of a process starts dispatch's worker threads, which then join
    /// late and take few chunks, while starting and waking them costs about as much CPU time as
    /// they save (`eval --transport binary` of softmax, log_softmax and cross_entropy_grad rows
    /// of 10^5 logits, spawn.py medians: 0.2-0.3 ms less CPU time and 0.3-0.5 ms less wall time
    /// on one thread, on this machine's two shared cores). Larger requests keep every processor.
    /// The results do not depend on the thread count.
    public static let singleThreadValues = 1 << 18

    /// `evaluate`'s thread count for a request of `values` logits when it is automatic: one
    /// below ``singleThreadValues`` (without asking the system how many processors there are),
    /// else one per processor.
    static func automaticThreads(values: Int) -> Int {
        values < singleThreadValues ? 1 : ProcessorCount.online
    }

    /// This oracle without the double-word tier: what `evaluate` runs once the tier declines.
    private var mpfrPath: Oracle {
        var oracle = self
        oracle.doubleWordTier = false
        return oracle
    }

    /// An elementwise row whose outputs `pending` the double-word tier left: those outputs are
    /// the MPFR path's for the request of their logits alone (and their labels, pos_weight and
    /// weight: each output depends on its own), which certifies them as `evaluate` of the whole
    /// row does (one `Certifier` run over the outputs the tier left), at the same precisions; the
    /// result reports that run's precision, escalations and tier, as `evaluate` does. (The tier
    /// is not tried again on them: each of its outputs is a function of its own inputs, so it
    /// would leave the same ones.) `labelsInSlots`: `q`'s labels were taken out, and the pending
    /// outputs' slots of `rounded` hold them (`DoubleWordTier.bceRoundedInPlace`). The MPFR
    /// path's values are written into `rounded` itself (owned here: no copy).
    private func withPending(_ q: OracleRequest, _ rounded: consuming [Double], _ pending: [Int],
                             labelsInSlots: Bool) throws(OracleError) -> RoundedResult {
        var part = q
        let n = q.logits.count
        let pick = { (values: [Double]) in pending.map { values[$0] } }
        part.logits = pick(q.logits)
        part.labels = labelsInSlots ? pick(rounded) : q.labels.map(pick)
        part.weight = q.weight.map(pick)
        part.posWeight = q.posWeight.map { $0.count == n && n > 1 ? pick($0) : $0 }
        let rest = try mpfrPath.evaluate(part)
        for (j, i) in pending.enumerated() { rounded[i] = rest.values[j].rounded }
        return RoundedResult(values: .rounded(rounded), precision: rest.precision, escalations: rest.escalations, tier: rest.tier)
    }
}
