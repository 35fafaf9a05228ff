import SoftmaxOracle

/// The arrays of a fixture file as `.npy` files, for Python users (`numpy.load`), without padding.
///
/// Rows have different lengths, so a per-row array is stored flat, all cases one after the other,
/// with an offsets array of C + 1 int64 (CSR style): case i's slice of `X` is
/// `X[X_offsets[i]:X_offsets[i+1]]`. An array whose every case has it, one value per element of
/// the reference the table names, has no offsets file of its own and is sliced by that
/// reference's offsets. Arrays that would hold only defaults are not written (an absent array
/// means the default for every case); a case without an optional array has an empty slice.
/// Files are `<function>.<format>.<array>.npy` (a shard's carry its `.shard-I-of-N` infix too).
/// C = number of cases:
///
/// | array | dtype, length | for | meaning; when absent |
/// |---|---|---|---|
/// | `id` | `<U`, C | all | the case id, `function/format/family#index` |
/// | `expected`, `expected_offsets` | `<f8`, `<i8` C+1 | all | certified outputs (empty slice: refused) |
/// | `expected_error` | `<U`, C | all | the oracle's message, "" for answered cases; absent: none refused |
/// | `logits`, `row_offsets` | `<f8`, `<i8` C+1 | row functions | the rows |
/// | `target` | `<i8`, C | cross_entropy(_grad) | class index (-1 where `targets` is non-empty); absent: none |
/// | `targets` (`_offsets`) | `<f8` | cross_entropy(_grad) | probability targets; reference `logits`; absent: none |
/// | `label_smoothing` | `<f8`, C | cross-entropies | ε; absent: 0 |
/// | `weight` (`_offsets`) | `<f8` | cross-entropies, bce | weights; reference `logits` (batch loss: its K); absent: none |
/// | `labels` (`_offsets`) | `<f8` | bce_with_logits | labels z; reference `logits` |
/// | `pos_weight` (`_offsets`) | `<f8` | bce_with_logits | as the request gives it: 1 or K values; absent: none |
/// | `batch`, `batch_offsets` | `<f8`, `<i8` C+1 | cross_entropy_loss | the rows, row-major |
/// | `rows` | `<i8`, C | cross_entropy_loss | rows per case: its batch is `reshape(rows[i], -1)` |
/// | `target` (`_offsets`) | `<i8` | cross_entropy_loss | class index per row; reference: `rows` |
/// | `targets` (`_offsets`) | `<f8` | cross_entropy_loss | probability rows, row-major; reference `batch` |
/// | `ignore_index` | `<i8`, C | cross_entropy_loss | absent: -100 for every case |
/// | `reduction` | `<U`, C | cross_entropy_loss | none, sum or mean; absent: mean for every case |
/// | `rows`, `classes` | `<i8`, C | linear_cross_entropy* | N and V per case |
/// | `hidden`, `weight` (`_offsets`) | `<f8` | linear_cross_entropy* | H (N × d) and W (V × d), row-major, flat |
/// | `targets`, `bias`, `ce_weight` | `<i8`, `<f8`, `<f8` | linear_cross_entropy* | reference `rows`, `classes`, `classes`; absent: none |
/// | `softcap`, `z_loss`, `temperature` | `<f8`, C | cross-entropies | c (0: off), coefficient, T (1: off); each absent when no case sets it |
/// | `grad_output` | `<f8`, flat + `grad_output_offsets` | backward functions | the upstream gradient (cross_entropy_loss_backward: one value, or one per row for none; absent: 1) |
public enum NPYExport {
    /// The arrays of `file`, by file name.
    public static func arrays(_ file: GoldenFile) -> [(name: String, bytes: [UInt8])] {
        let h = file.header
        var out = Arrays(base: FixtureSpec.baseName(function: h.function, format: h.format)
            + (h.shard.map { $0.count > 1 ? $0.fileInfix : "" } ?? ""))
        let cases = file.cases
        let requests = cases.map(\.request)

        out.add("id", NPY.unicode(cases.map { $0.key.description }))
        out.ragged("expected", cases.map { if case .values(let v) = $0.expectation { v } else { [] } }, reference: nil)
        let errors = cases.map { if case .error(let m) = $0.expectation { m } else { "" } }
        if errors.contains(where: { !$0.isEmpty }) { out.add("expected_error", NPY.unicode(errors)) }
        if requests.contains(where: { $0.labelSmoothing != 0 || $0.labelSmoothing.sign == .minus }) {
            out.add("label_smoothing", NPY.float64(requests.map(\.labelSmoothing), shape: [requests.count]))
        }

        if h.function.isLinearCrossEntropy {
            // The fused matrices, row-major and flat: case i's hidden is N_i × d_i, its weight
            // V_i × d_i (d_i = hidden's length / N_i).
            let linear = requests.map(\.linear)
            let n = linear.map { $0?.rows ?? 0 }, v = linear.map { $0?.classes ?? 0 }
            out.add("rows", NPY.int64(n, shape: [n.count]))
            out.add("classes", NPY.int64(v, shape: [v.count]))
            out.ragged("hidden", linear.map { $0?.hidden }, reference: nil)
            out.ragged("weight", linear.map { $0?.weight }, reference: nil)
            out.ragged("targets", linear.map { $0?.targets }, reference: n)
            out.ragged("bias", linear.map { $0?.bias }, reference: v)
            out.ragged("ce_weight", linear.map { $0?.classWeight }, reference: v)
            out.batchOptions(requests)
            out.ragged("grad_output", requests.map(\.gradOutput), reference: nil)
            out.lossOptions(requests)
            return out.files
        }

        if h.function.isBatchLoss {
            let batches = requests.map { $0.batch ?? [] }
            let rows = batches.map(\.count)
            let k = batches.map { $0.first?.count ?? 0 }
            out.ragged("batch", batches.map { $0.flatMap { $0 } }, reference: nil)
            out.add("rows", NPY.int64(rows, shape: [rows.count]))
            out.ragged("target", requests.map { q -> [Int]? in
                if case .indices(let t)? = q.batchTargets { t } else { nil }
            }, reference: rows)
            out.ragged("targets", requests.map { q -> [Double]? in
                if case .probabilities(let p)? = q.batchTargets { p.flatMap { $0 } } else { nil }
            }, reference: zip(rows, k).map(*))
            out.ragged("weight", requests.map(\.weight), reference: k)
            out.batchOptions(requests)
            if h.function == .crossEntropyLossBackward {
                out.ragged("grad_output", requests.map(\.gradOutput), reference: nil)
            }
            out.lossOptions(requests)
            return out.files
        }

        let k = requests.map(\.logits.count)
        out.ragged("logits", requests.map(\.logits), reference: nil, offsetsName: "row_offsets")
        switch h.function {
        case .crossEntropy, .crossEntropyGrad:
            if requests.contains(where: { if case .index? = $0.target { true } else { false } }) {
                out.add("target", NPY.int64(requests.map { if case .index(let t)? = $0.target { t } else { -1 } },
                                            shape: [requests.count]))
            }
            out.ragged("targets", requests.map { q -> [Double]? in
                if case .probabilities(let p)? = q.target { p } else { nil }
            }, reference: k)
            out.ragged("weight", requests.map(\.weight), reference: k)
            out.lossOptions(requests)
        case .bceWithLogits:
            out.ragged("labels", requests.map(\.labels), reference: k)
            out.ragged("pos_weight", requests.map(\.posWeight), reference: k)
            out.ragged("weight", requests.map(\.weight), reference: k)
        case .softmaxBackward, .logSoftmaxBackward:
            out.ragged("grad_output", requests.map(\.gradOutput), reference: k)
        default:
            break
        }
        return out.files
    }

    /// Writes the arrays of `file` into `directory`, each through a temporary name and a rename.
    public static func write(_ file: GoldenFile, to directory: String) throws(FixtureError) {
        for (name, bytes) in arrays(file) {
            try AtomicFile.write(bytes, to: AtomicFile.join(directory, name))
        }
    }

    /// The files being collected, named `<base>.<array>.npy`.
    struct Arrays {
        let base: String
        var files: [(name: String, bytes: [UInt8])] = []

        mutating func add(_ name: String, _ bytes: [UInt8]) { files.append(("\(base).\(name).npy", bytes)) }

        /// `ignore_index` and `reduction` of the batch losses, each only when some case differs
        /// from PyTorch's default (-100, mean).
        mutating func batchOptions(_ requests: [OracleRequest]) {
            if requests.contains(where: { $0.ignoreIndex != -100 }) {
                add("ignore_index", NPY.int64(requests.map(\.ignoreIndex), shape: [requests.count]))
            }
            if requests.contains(where: { $0.reduction != .mean }) {
                add("reduction", NPY.unicode(requests.map(\.reduction.rawValue)))
            }
        }

        /// The loss options, each only when some case sets it (absent: off for every case).
        mutating func lossOptions(_ requests: [OracleRequest]) {
            let c = requests.count
            if requests.contains(where: { $0.softcap != nil }) {
                add("softcap", NPY.float64(requests.map { $0.softcap ?? 0 }, shape: [c]))
            }
            if requests.contains(where: { $0.zLoss != 0 }) { add("z_loss", NPY.float64(requests.map(\.zLoss), shape: [c])) }
            if requests.contains(where: { $0.temperature != nil }) {
                add("temperature", NPY.float64(requests.map { $0.temperature ?? 1 }, shape: [c]))
            }
        }

        /// A per-case array stored flat. Nothing when no case has it; no offsets file when every
        /// case has it with `reference[i]` values (the reader slices by the reference's offsets);
        /// else `<name>_offsets` (or `offsetsName`), cases without it having an empty slice.
        mutating func ragged<T: NPYElement>(_ name: String, _ perCase: [[T]?], reference: [Int]?,
                                            offsetsName: String? = nil) {
            if perCase.allSatisfy({ $0 == nil }) { return }
            let flat = perCase.flatMap { $0 ?? [] }
            add(name, T.npy(flat, shape: [flat.count]))
            if let reference, zip(perCase, reference).allSatisfy({ $0?.count == $1 }) { return }
            var offsets = [0]
            offsets.reserveCapacity(perCase.count + 1)
            for v in perCase { offsets.append(offsets[offsets.count - 1] + (v?.count ?? 0)) }
            add(offsetsName ?? "\(name)_offsets", NPY.int64(offsets, shape: [offsets.count]))
        }
    }
}

/// An element type of the flat arrays (`<f8` or `<i8`).
protocol NPYElement {
    /// `values` as an `.npy` file of `shape`.
    static func npy(_ values: [Self], shape: [Int]) -> [UInt8]
}

extension Double: NPYElement {
    static func npy(_ values: [Double], shape: [Int]) -> [UInt8] { NPY.float64(values, shape: shape) }
}

extension Int: NPYElement {
    static func npy(_ values: [Int], shape: [Int]) -> [UInt8] { NPY.int64(values, shape: shape) }
}
