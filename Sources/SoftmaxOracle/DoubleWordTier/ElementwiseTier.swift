import DoubleWordArithmetic
import ParallelExecution

// The elementwise functions on the double-word tier: sigmoid, log_sigmoid, softplus and
// bce_with_logits. Each output depends on one logit, so each is certified on its own: an output
// that does not certify here (an enclosure near a rounding boundary that no exact argument
// settles, a bce label outside [0, 1], a negative weight or pos_weight, an exactly zero loss) is
// listed, and only those outputs go to the MPFR path (`Oracle.evaluate`), not the whole row.
// NaN and infinite logits, and exact near-ties P ± 0⁺, are decided here. The formulas are those of Elementwise.swift, around E = e^(−|x|) and
// T = log1p(E); the bounds are in ElementwiseOutputs.swift.

extension DoubleWordTier {
    /// The outputs of an elementwise request: `values[i]` is certified unless i is in `pending`
    /// (ascending), whose slots hold a placeholder for the MPFR path to replace.
    struct PartialOutputs {
        var values: [OracleValue]
        var pending: [Int]
    }

    /// Elementwise outputs per chunk of this many logits, split over threads for long rows.
    static let elementwiseParallelThreshold = 4096

    /// sigmoid, log_sigmoid, softplus or bce_with_logits on the double-word tier, output by
    /// output (nil for other functions), their exponentials and logarithms on SIMD lanes
    /// (`ElementwiseOutputs.fill`). Threads: chunks of the row; every output is the scalar
    /// path's, so the result does not depend on the thread count or the lanes.
    static func elementwise(_ q: OracleRequest, threads: Int) -> PartialOutputs? {
        guard let outputs = elementwiseOutputs(q) else { return nil }
        let n = q.logits.count
        if n == 0 { return PartialOutputs(values: [], pending: []) }
        let placeholder = OracleValue(rounded: 0, exact: ExactValue(0.0))
        var pending: [Int] = []
        let values = q.logits.withUnsafeBufferPointer { x in
            [OracleValue](unsafeUninitializedCapacity: n) { buffer, count in
                let base = UncheckedSendable(value: buffer.baseAddress!)
                adviseHugePages(UnsafeMutableRawPointer(base.value), bytes: n * MemoryLayout<OracleValue>.stride)
                let split = StageSplit(threads: threads, count: n, minimum: elementwiseParallelThreshold)
                let failed = split.run(count: n) { range -> [Int] in
                    outputs.fill(x, range, into: base.value, placeholder: placeholder)
                }
                pending = failed.flatMap { $0 }
                count = n
            }
        }
        return PartialOutputs(values: values, pending: pending)
    }

    /// The outputs of sigmoid, log_sigmoid, softplus or bce_with_logits for `q`, or nil (other
    /// functions).
    static func elementwiseOutputs(_ q: OracleRequest) -> ElementwiseOutputs? {
        let kind: ElementwiseOutputs.Kind
        switch q.function {
        case .sigmoid: kind = .sigmoid
        case .logSigmoid: kind = .logSigmoid
        case .softplus: kind = .softplus
        case .bceWithLogits: kind = .bce
        default: return nil
        }
        return ElementwiseOutputs(kind: kind, format: q.format, labels: q.labels, posWeight: q.posWeight, weight: q.weight)
    }
}
