import SoftmaxOracle

/// NumPy `.npy` files, format version 1.0 (the format `numpy.load` reads everywhere):
/// the magic `\x93NUMPY`, version 1.0, a little-endian 2-byte header length, then an ASCII
/// dictionary `{'descr': …, 'fortran_order': False, 'shape': (…), }` padded with spaces and a
/// final `\n` so that the data starts at a multiple of 64 bytes, then the data in C order.
public enum NPY {
    /// A `<f8` array (little-endian binary64) of `shape`; `values.count` is the product of it.
    public static func float64(_ values: [Double], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "values must fill the shape")
        var out = header(descr: "<f8", shape: shape)
        out.reserveCapacity(out.count + 8 * values.count)
        for x in values { appendLittleEndian(x.bitPattern, to: &out) }
        return out
    }

    /// A `<i8` array (little-endian 64-bit integers) of `shape`.
    public static func int64(_ values: [Int], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "values must fill the shape")
        var out = header(descr: "<i8", shape: shape)
        out.reserveCapacity(out.count + 8 * values.count)
        for x in values { appendLittleEndian(UInt64(bitPattern: Int64(x)), to: &out) }
        return out
    }

    /// A 1-D `<U{n}` array (UTF-32LE strings of n code points, zero-padded), n the longest.
    public static func unicode(_ values: [String]) -> [UInt8] {
        let scalars = values.map { Array($0.unicodeScalars) }
        let width = Swift.max(1, scalars.map(\.count).max() ?? 1)
        var out = header(descr: "<U\(width)", shape: [values.count])
        for s in scalars {
            for k in 0..<width {
                let v = k < s.count ? s[k].value : 0
                for b in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * b))) }
            }
        }
        return out
    }

    /// The magic, version and header of a version 1.0 file.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let prefix = 10  // magic (6) + version (2) + header length (2)
        let total = (prefix + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = dict.utf8.count
        out.append(UInt8(n & 0xFF))
        out.append(UInt8(n >> 8))
        out.append(contentsOf: dict.utf8)
        return out
    }

    private static func appendLittleEndian(_ word: UInt64, to out: inout [UInt8]) {
        for b in 0..<8 { out.append(UInt8(truncatingIfNeeded: word >> (8 * b))) }
    }
}

/// The arrays of a fixture file as `.npy` files, for Python users (`numpy.load`).
///
/// Rows have different lengths K, so every per-row array is padded to the file's largest K with
/// NaN and comes with its length vector (`k`, `rows`, `n_expected`): row i is
/// `logits[i, :k[i]]`. Padding is NaN (never a valid reading, since NaN is also a real input:
/// always slice by the lengths). Files are `<function>.<format>.<array>.npy` (a shard's carry its
/// `.shard-I-of-N` infix too). Arrays, C = number of cases, K = largest row, R = most rows:
///
/// | array | dtype, shape | for | meaning |
/// |---|---|---|---|
/// | `id` | `<U`, (C) | all | the case id, `function/format/family#index` |
/// | `expected` | `<f8`, (C, max outputs) | all | certified outputs, NaN-padded |
/// | `n_expected` | `<i8`, (C) | all | outputs per case (-1: the oracle refused the case) |
/// | `k` | `<i8`, (C) | all | logits per row |
/// | `logits` | `<f8`, (C, K) | row functions | the row |
/// | `target` | `<i8`, (C) | cross_entropy(_grad) | class index, -1 for probability targets |
/// | `targets` | `<f8`, (C, K) | cross_entropy(_grad) | probability targets (NaN rows for class indices) |
/// | `label_smoothing` | `<f8`, (C) | cross-entropies | ε (0 when none) |
/// | `weight` | `<f8`, (C, K) | cross-entropies, bce | class / element weights (1 where none are given: the same result) |
/// | `labels`, `pos_weight` | `<f8`, (C, K) | bce_with_logits | labels; pos_weight per element (a single value repeated, 1 when none) |
/// | `batch` | `<f8`, (C, R, K) | cross_entropy_loss | the rows |
/// | `rows` | `<i8`, (C) | cross_entropy_loss | rows per case |
/// | `hard_target` | `<i8`, (C) | cross_entropy_loss | 1: class indices in `target`, 0: probabilities in `targets` |
/// | `target` | `<i8`, (C, R) | cross_entropy_loss | class index per row (0-padded) |
/// | `targets` | `<f8`, (C, R, K) | cross_entropy_loss | probability rows |
/// | `ignore_index` | `<i8`, (C) | cross_entropy_loss | PyTorch's ignore_index |
/// | `reduction` | `<U4`, (C) | cross_entropy_loss | none, sum or mean |
/// | `softcap`, `z_loss`, `temperature` | `<f8`, (C) | cross-entropies, when a case has one | c (0: off), coefficient (0: off), T (1: off) |
/// | `grad_output` | `<f8`, (C, R) | cross_entropy_loss_backward | one value, or one per row (none), NaN-padded |
///
/// `cross_entropy_loss_backward` files have the arrays of `cross_entropy_loss` too; their
/// `expected` row is the N×K gradient flattened row-major.
public enum NPYExport {
    /// The arrays of `file`, by file name.
    public static func arrays(_ file: GoldenFile) -> [(name: String, bytes: [UInt8])] {
        let h = file.header
        let base = FixtureSpec.baseName(function: h.function, format: h.format)
            + (h.shard.map { $0.count > 1 ? $0.fileInfix : "" } ?? "")
        let cases = file.cases
        let c = cases.count
        let requests = cases.map(\.request)
        var out: [(String, [UInt8])] = []
        func add(_ name: String, _ bytes: [UInt8]) { out.append(("\(base).\(name).npy", bytes)) }

        add("id", NPY.unicode(cases.map { $0.key.description }))
        let expected: [[Double]] = cases.map { if case .values(let v) = $0.expectation { v } else { [] } }
        add("expected", padded(expected))
        add("n_expected", NPY.int64(cases.map { if case .values(let v) = $0.expectation { v.count } else { -1 } }, shape: [c]))

        if h.function.isBatchLoss {
            let batches = requests.map { $0.batch ?? [] }
            let k = batches.map { $0.first?.count ?? 0 }
            let kMax = k.max() ?? 0
            let rMax = batches.map(\.count).max() ?? 0
            add("k", NPY.int64(k, shape: [c]))
            add("rows", NPY.int64(batches.map(\.count), shape: [c]))
            add("batch", padded3(batches, rows: rMax, k: kMax))
            var hard: [Int] = [], target: [Int] = [], probabilities: [[[Double]]] = []
            for q in requests {
                switch q.batchTargets {
                case .indices(let t)?:
                    hard.append(1)
                    target += t + [Int](repeating: 0, count: rMax - t.count)
                    probabilities.append([])
                case .probabilities(let p)?:
                    hard.append(0)
                    target += [Int](repeating: 0, count: rMax)
                    probabilities.append(p)
                case nil:
                    hard.append(0)
                    target += [Int](repeating: 0, count: rMax)
                    probabilities.append([])
                }
            }
            add("hard_target", NPY.int64(hard, shape: [c]))
            add("target", NPY.int64(target, shape: [c, rMax]))
            add("targets", padded3(probabilities, rows: rMax, k: kMax))
            add("weight", padded(requests.map { $0.weight ?? [Double](repeating: 1, count: $0.batch?.first?.count ?? 0) }, width: kMax))
            add("ignore_index", NPY.int64(requests.map(\.ignoreIndex), shape: [c]))
            add("reduction", NPY.unicode(requests.map(\.reduction.rawValue)))
            add("label_smoothing", NPY.float64(requests.map(\.labelSmoothing), shape: [c]))
            if h.function == .crossEntropyLossBackward {
                add("grad_output", padded(requests.map { $0.gradOutput ?? [1] }, width: rMax))
            }
            lossOptions(requests, add)
            return out
        }

        let rows = requests.map(\.logits)
        let kMax = rows.map(\.count).max() ?? 0
        add("k", NPY.int64(rows.map(\.count), shape: [c]))
        add("logits", padded(rows, width: kMax))
        switch h.function {
        case .crossEntropy, .crossEntropyGrad:
            add("target", NPY.int64(requests.map { if case .index(let t)? = $0.target { t } else { -1 } }, shape: [c]))
            add("targets", padded(requests.map { if case .probabilities(let p)? = $0.target { p } else { [] } }, width: kMax))
            add("label_smoothing", NPY.float64(requests.map(\.labelSmoothing), shape: [c]))
            add("weight", padded(requests.map { $0.weight ?? [Double](repeating: 1, count: $0.logits.count) }, width: kMax))
            lossOptions(requests, add)
        case .bceWithLogits:
            add("labels", padded(requests.map { $0.labels ?? [] }, width: kMax))
            add("pos_weight", padded(requests.map { q in
                let w = q.posWeight ?? [1]
                return w.count == 1 ? [Double](repeating: w[0], count: q.logits.count) : w
            }, width: kMax))
            add("weight", padded(requests.map { $0.weight ?? [Double](repeating: 1, count: $0.logits.count) }, width: kMax))
        default:
            break
        }
        return out
    }

    /// The loss options' arrays, when any request has one (files without keep their old arrays).
    static func lossOptions(_ requests: [OracleRequest], _ add: (String, [UInt8]) -> Void) {
        guard requests.contains(where: { $0.softcap != nil || $0.zLoss != 0 || $0.temperature != nil }) else { return }
        let c = requests.count
        add("softcap", NPY.float64(requests.map { $0.softcap ?? 0 }, shape: [c]))
        add("z_loss", NPY.float64(requests.map(\.zLoss), shape: [c]))
        add("temperature", NPY.float64(requests.map { $0.temperature ?? 1 }, shape: [c]))
    }

    /// Writes the arrays of `file` into `directory`, each through a temporary name and a rename.
    public static func write(_ file: GoldenFile, to directory: String) throws(FixtureError) {
        for (name, bytes) in arrays(file) {
            try AtomicFile.write(bytes, to: AtomicFile.join(directory, name))
        }
    }

    /// Rows padded with NaN to `width` (default: the longest), as a (rows, width) array.
    static func padded(_ rows: [[Double]], width: Int? = nil) -> [UInt8] {
        let w = width ?? (rows.map(\.count).max() ?? 0)
        var flat: [Double] = []
        flat.reserveCapacity(rows.count * w)
        for r in rows { flat += r + [Double](repeating: .nan, count: w - r.count) }
        return NPY.float64(flat, shape: [rows.count, w])
    }

    /// Matrices padded with NaN to (rows, k) each, as a (count, rows, k) array.
    static func padded3(_ matrices: [[[Double]]], rows: Int, k: Int) -> [UInt8] {
        var flat: [Double] = []
        flat.reserveCapacity(matrices.count * rows * k)
        for m in matrices {
            for r in 0..<rows {
                let row = r < m.count ? m[r] : []
                flat += row + [Double](repeating: .nan, count: k - row.count)
            }
        }
        return NPY.float64(flat, shape: [matrices.count, rows, k])
    }
}
