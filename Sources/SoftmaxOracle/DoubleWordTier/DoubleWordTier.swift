import DoubleWordArithmetic
// The oracle's double-word tier: what it answers, how, and where each part lives.
//
//   DoubleWordTier.swift       this overview and the dispatch (`evaluate`)
//   RowScan.swift              the row's maximum, second largest and specials
//   RowSum.swift               s = Σ e^(d_j) with its bound; the two strategies:
//   ExactRowSum.swift            f64 outputs: `DoubleWordExp.exp` on lanes (DoubleWordExpLanes.swift) summed exactly (`FixedPointSum`)
//   CompactRowSum.swift          p <= 24: `DoubleWordExp.expCompact` on SIMD lanes, blocks of Sum2
//   ExpStore.swift             softmax's exponentials, kept in the output array's own slots
//   LogPart.swift              L = log1p(s), and exact near-ties P ± L
//   LogsumexpOutput.swift, LogSoftmaxOutputs.swift, SoftmaxOutputs.swift,
//   CrossEntropyOutputs.swift, BatchLoss.swift     the outputs of each function
//   NarrowSoftmaxOutputs.swift softmax into p <= 24: the same outputs, most by a shorter test
//   ZLoss.swift, ZLossGradient.swift   cross_entropy and cross_entropy_grad with a z_loss
//   SoftcapLoss.swift, SoftcapGradient.swift   the same with softcap alone
//   SpecialRows.swift          rows whose answer NaN, +inf or all −inf decide
//   GradientOutputs.swift      cross_entropy_grad (hard target): softmax's outputs, entry t
//   RefinedOutputs.swift       outputs that cancel past the double words (probability-target gradient,
//                              both backwards), recomputed alone in MPFR intervals
//   RefinedProbabilityGradient.swift  their [P/S] for the probability-target gradient
//   BackwardOutputs.swift      log_softmax_backward: the probability-target gradient with p = dy, negated
//   SoftmaxBackwardOutputs.swift  softmax_backward: y_i·(dy_i − ⟨dy, y⟩), ⟨dy, y⟩ from an exact sum of ê_j·dy_j
//   WideRow.swift              rows whose two largest logits lie more than 2^19 apart
//   TinySpreadRow.swift        rows whose finite logits lie within 2^-110 of one another (no exponential)
//   DistinctRow.swift          long rows of at most 8 distinct logits: each exponential and output once
//   ElementwiseTier.swift, ElementwiseOutputs.swift, BinaryCrossEntropy.swift
//                              sigmoid, log_sigmoid, softplus, bce_with_logits, output by output
//   DoubleWordCertifier.swift  the certification test (one test, scalar and 2, 4 or 8 SIMD lanes)
//   ExactRounding.swift        its exact fallback (`Format.roundExactly` at both ends)
//   ExactValue+DoubleWord.swift  the exact value reported with each output
//   (threads: ParallelExecution's `Parallel.forEachChunk`, results in chunk order)
//   OutputBuffer.swift         the output array: its memory, and the fill loop (4 lanes, pairs or singles)
//   SpecialRows.swift          rows a NaN, a +inf or no finite logit decide, answered exactly
//   ZLoss.swift, ZLossGradient.swift, SoftcapLoss.swift, SoftcapGradient.swift
//                              cross_entropy(_grad) with a z_loss or a softcap alone
//
// The double-word arithmetic it is built on (DoubleWord, twoSum, DoubleWord.product, DoubleWordExp, DoubleWordLog1p,
// FixedPointSum, CompensatedBlockSum) states each operation's error bound where it is defined;
// docs/certification.md states the tier's error budget.

/// The double-word tier: logsumexp, softmax, log_softmax, cross_entropy and cross_entropy_grad
/// (hard or probability targets, without class weights or label smoothing; also with a z_loss
/// or a softcap alone, ZLoss.swift, SoftcapLoss.swift) and the batch loss (hard targets with or without class weights, or probability
/// targets; no label smoothing), certified in double-double arithmetic.
///
/// Formulation: the oracle's own (ShiftedRow.swift): m = max x, d_j = x_j − m (exact, as a
/// TwoSum), s = Σ_{j≠M} e^(d_j), L = log1p(s), and
///
///     logsumexp = m + L,  softmax_i = e^(d_i)/(1 + s),  log_softmax_i = d_i − L,
///     cross_entropy(t) = (−d_t) + L.
///
/// Each output is computed as a double-double v with an absolute error bound err proven from
/// the bounds of its parts, and certified when the whole enclosure [v − err, v + err] rounds to
/// one value of the format and is narrow enough (2·err <= 2^-40 ulp) for v to stand for the
/// exact value (`DoubleWordCertifier`: one test for scalar and SIMD outputs, with an exact
/// fallback). The parts:
/// - the exponentials, two ways. For f64 outputs `DoubleWordExp.exp` (2^-101 relative) summed
///   exactly (`FixedPointSum`: truncation < 2^-126 per double, relative to the largest term);
///   for formats with p <= 24 ("compact") `DoubleWordExp.expCompact` (2^-68.5), on SIMD
///   lanes (`DoubleWordLanes`: 4, or 8 in the FMA build), summed by blocks of Sum2 (`CompensatedBlockSum`, 2^-81 per block): those formats need
///   about 2^-66 (f32: 2^-40 of an ulp of 2^-24), and it halves the work;
/// - `DoubleWordLog1p` (a run-time bound, about 2^-98 relative), once per row;
/// - the double-double operations (2u² to 14u² each); softmax and log_softmax compute groups of
///   ordinary outputs on SIMD lanes (`DoubleWord.product`, `DoubleWordCertifier.certifyLanes`: the scalar
///   operations lane by lane and the same certification test, hence the same outputs).
/// Exact near-ties of the form P ± L, P an exact double-double on a rounding boundary (x_t − m
/// often is one) and L far below P's last bit, are settled by `roundNearTie` as the MPFR path's
/// open enclosure ends settle them.
///
/// cross_entropy_grad with a hard target (GradientOutputs.swift), rows whose two largest logits
/// lie more than 2^19 apart (WideRow.swift: the sum is then only bounded) and the elementwise
/// functions (`elementwise`, output by output) are answered here too.
///
/// Rows a NaN, a +inf or no finite logit decide are answered exactly (SpecialRows.swift: the
/// cross-entropies, and without loss options logsumexp, softmax and log_softmax). When an output
/// does not certify — or for anything outside the tier's scope: a row whose only finite logit is
/// its maximum (exact results), other functions and options (temperature) — `evaluate`
/// returns nil and the MPFR path
/// answers the whole request, so the double-word tier never gives a different answer, only a
/// faster one. -inf logits are handled here as the MPFR path does: exactly 0 in every sum;
/// softmax 0 and log_softmax -inf there, a cross-entropy of +inf when the target's logit is -inf.
///
/// Threads: rows of `parallelThreshold` logits or more are split into 2·threads chunks for the
/// scan, the sum and the outputs (`Parallel.forEachChunk`, ParallelExecution); the exact fixed-point sums add exactly and
/// the compact sums are combined in block order, so the result does not depend on the thread
/// count, nor on where the chunks end: with automatic threads (0), a stage is split only after a
/// timed first sixteenth shows the rest worth the threads (`StageSplit`). Batches are split by
/// rows. Memory: softmax keeps each exponential in the output
/// array's own slot until the output overwrites it (32 bytes per logit in all, an `OracleValue`'s size).
enum DoubleWordTier {
    /// Rows at least this long are split over threads.
    static let parallelThreshold = 16_384

    /// No stage of the tier splits fewer items than this over threads (the smallest of the
    /// thresholds: `parallelThreshold`, `elementwiseParallelThreshold`, and the refinement passes'
    /// 512 and 256 outputs), so a request of fewer logits runs on one thread whatever its count.
    static let fewestToSplit = 256

    /// The working precision reported for this tier's results: a double-double's significand
    /// (f64 outputs), or about the compact exponential's 68 bits (formats with p <= 24).
    static func reportedPrecision(_ format: Format) -> Int { format.precision <= 24 ? 68 : 106 }

    /// The tier's answer, or nil when the MPFR path must answer (see the type's notes).
    static func evaluate(_ q: OracleRequest, threads: Int) -> OracleResult? {
        let threads = Swift.max(1, threads)
        let values: [OracleValue]?
        if q.hasLossOptions {
            values = specialRow(q) ?? optionLoss(q, threads: threads)
        } else {
            guard case .certified(let row)? = rowValues(q, threads: threads, rounded: false) else { return nil }
            values = row
        }
        guard let values else { return nil }
        return OracleResult(values: values, precision: reportedPrecision(q.format), escalations: 0, tier: .doubleWord)
    }

    /// The answer of a request without loss options, or nil, in the order of paths `evaluate`
    /// and `Oracle.evaluateRounded` share: a row of logits within 2^-110 of one another
    /// (TinySpreadRow.swift); a long row of few distinct logits (DistinctRow.swift); the plain
    /// row (`plainValues`); a row `rowSum` declines for its spread alone (WideRow.swift: tried
    /// before `plainValues` when the row's start looks wide, `sampledWideRow`); a row
    /// whose answer is a special value (SpecialRows.swift) — tried first when the first logit is
    /// not finite (a full_mask row, every logit −inf, would otherwise be scanned by each path
    /// in turn). With `rounded`, the tiny-spread, few-distinct, wide and special rows of softmax,
    /// log_softmax and cross_entropy_grad give their rounded values alone (8 bytes an output);
    /// otherwise every answer is `.certified`. Each path answers only with certified outputs,
    /// so the order changes no value.
    static func rowValues(_ q: OracleRequest, threads: Int, rounded: Bool) -> RoundedResult.Values? {
        if let first = q.logits.first, !first.isFinite, let special = specialRowValues(q, rounded: rounded) { return special }
        return tinySpreadRow(q, threads: threads, rounded: rounded) ?? distinctRow(q, threads: threads, rounded: rounded)
            ?? sampledWideRow(q, threads: threads, rounded: rounded)  // (the wide row's answer, one scan sooner)
            ?? plainValues(q, threads: threads).map { .certified($0) }
            ?? wideRow(q, threads: threads, rounded: rounded) ?? specialRowValues(q, rounded: rounded)
    }

    /// The answer of a request without loss options, or nil.
    static func plainValues(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        switch q.function {
        case .logsumexp:
            return q.logits.withUnsafeBufferPointer { logsumexp($0, q.format, threads: threads) }.map { [$0] }
        case .softmax:
            return q.logits.withUnsafeBufferPointer { softmax($0, q.format, threads: threads) }
        case .logSoftmax:
            return q.logits.withUnsafeBufferPointer { logSoftmax($0, q.format, threads: threads) }
        case .crossEntropy:
            guard q.weight == nil, q.labelSmoothing == 0 else { return nil }
            switch q.target {
            case .index(let t)?:
                return q.logits.withUnsafeBufferPointer { crossEntropy($0, target: t, q.format, threads: threads) }.map { [$0] }
            case .probabilities(let p)?:
                return q.logits.withUnsafeBufferPointer { x in
                    p.withUnsafeBufferPointer { crossEntropy(x, probabilities: $0, q.format, threads: threads) }
                }.map { [$0] }
            case nil:
                return nil
            }
        case .crossEntropyGrad:
            guard q.weight == nil, q.labelSmoothing == 0 else { return nil }
            switch q.target {
            case .index(let t)?:
                return q.logits.withUnsafeBufferPointer { crossEntropyGradient($0, target: t, q.format, threads: threads) }
            case .probabilities(let p)?:
                return q.logits.withUnsafeBufferPointer { x in
                    guard let scan = sumScan(x, threads: threads) else { return nil }  // (both would decline)
                    return p.withUnsafeBufferPointer {  // a declined row again, with outputs refined in MPFR
                        softmax(x, q.format, threads: threads, probabilities: $0, scan: scan)
                            ?? refinedProbabilityGradient(x, $0, q.format, scan: scan)
                    }
                }
            case nil:
                return nil
            }
        case .crossEntropyLoss:
            return batchLoss(q, threads: threads)
        case .softmaxBackward, .logSoftmaxBackward:
            guard let dy = q.gradOutput else { return nil }
            let log = q.function == .logSoftmaxBackward
            return q.logits.withUnsafeBufferPointer { x in
                dy.withUnsafeBufferPointer {
                    log ? logSoftmaxBackward(x, $0, q.format, threads: threads) : softmaxBackward(x, $0, q.format, threads: threads)
                }
            }
        default:
            return nil
        }
    }
}
