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
                let chunks = (threads > 1 && n >= elementwiseParallelThreshold) ? threads * 2 : 1
                let failed = Parallel.forEachChunk(count: n, chunks: chunks) { range -> [Int] in
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

    /// `elementwise`'s rounded values alone (nil for other functions): `rounded[i]` is output
    /// i's rounding unless i is in `pending` (ascending; the slot holds 0), the same outputs as
    /// `elementwise` leaves. 8 bytes an output are written instead of an `OracleValue`'s 40: the
    /// outputs are certified a block at a time into a small reused buffer (`fillRounded`).
    static func elementwiseRounded(_ q: OracleRequest, threads: Int) -> (rounded: [Double], pending: [Int])? {
        guard let outputs = elementwiseOutputs(q) else { return nil }
        let n = q.logits.count
        var pending: [Int] = []
        let rounded = q.logits.withUnsafeBufferPointer { x in
            [Double](unsafeUninitializedCapacity: n) { buffer, count in
                guard n > 0 else { return }
                let base = UncheckedSendable(value: buffer.baseAddress!)
                let chunks = (threads > 1 && n >= elementwiseParallelThreshold) ? threads * 2 : 1
                let failed = Parallel.forEachChunk(count: n, chunks: chunks) { range -> [Int] in
                    outputs.fillRounded(x, range, into: base.value)
                }
                pending = failed.flatMap { $0 }
                count = n
            }
        }
        return (rounded, pending)
    }
}

extension ElementwiseOutputs {
    /// Initializes out[i] for i in `range` with the rounded value of output i (`fill`'s, 0 where
    /// it fails) and returns the indices that failed, ascending. Each block of
    /// `DoubleWordTier.roundedBlock`
    /// outputs is `fill`ed into one buffer (`fill` writes output i at its `out + i`: it is given
    /// the buffer's address minus the block's start, never read or written outside the block),
    /// then its rounded values copied out; a block whose logits are all tiny (|x| <= 2^-60, where
    /// every output rounds to `tinyLogitRounded`: ElementwiseShortcuts.swift) is that value
    /// without `fill`.
    func fillRounded(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, into out: UnsafeMutablePointer<Double>) -> [Int] {
        let block = DoubleWordTier.roundedBlock
        let buffer = UnsafeMutablePointer<OracleValue>.allocate(capacity: block)
        defer { buffer.deallocate() }
        let placeholder = OracleValue(rounded: 0, exact: ExactValue(0.0))
        var failed: [Int] = []
        var start = range.lowerBound
        while start < range.upperBound {
            let end = Swift.min(start + block, range.upperBound)
            if let r = tinyLogitRounded, Self.allTiny(x, start..<end) {
                (out + start).initialize(repeating: r, count: end - start)
            } else {
                failed += fill(x, start..<end, into: buffer - start, placeholder: placeholder)
                for i in start..<end { (out + i).initialize(to: buffer[i - start].rounded) }
            }
            start = end
        }
        return failed
    }

    /// Whether every x_i, i in `range`, has |x_i| <= `tinyLogitBound` (false for NaN).
    static func allTiny(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        let width = OutputLanes.scalarCount
        while i + width <= range.upperBound {
            let v = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: OutputLanes.self)
            if any(.!(magnitudeLanes(v) .<= tinyLogitBound)) { return false }
            i += width
        }
        while i < range.upperBound {
            if !(x[i].magnitude <= tinyLogitBound) { return false }
            i += 1
        }
        return true
    }
}
