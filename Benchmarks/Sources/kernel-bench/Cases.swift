import FastSoftmax
import Foundation

/// The row length and the batch's rows.
let k = 4096, batchRows = 256

/// The cases, in the table's order: softmax then log_softmax; one row then the batch; f64 then f32.
let caseShapes: [(function: String, rows: Int, format: String)] = ["softmax", "log_softmax"].flatMap { fn in
    [1, batchRows].flatMap { rows in ["f64", "f32"].map { (fn, rows, $0) } }
}

/// --profile's names of the cases: "softmax f64 1", "log_softmax f32 256", ….
let caseNames = caseShapes.map { "\($0.function) \($0.format) \($0.rows)" }

/// One case: a call of the `accurate` kernel over `rows` rows of K.
struct Case {
    let function: String, format: String, rows: Int, body: () -> Void

    /// "softmax f64 1".
    var name: String { "\(function) \(format) \(rows)" }
}

/// Every case of ``caseShapes``, on 256 × 4096 normal(0, 10) logits (one row: the first).
func kernelCases() -> [Case] {
    let x64 = normalLogits(batchRows * k, seed: 4096)
    let x32 = x64.map { Float($0) }
    var o64 = [Double](repeating: 0, count: x64.count)
    var o32 = [Float](repeating: 0, count: x32.count)
    return caseShapes.map { shape in
        let log = shape.function == "log_softmax", rows = shape.rows
        let body: () -> Void = shape.format == "f64" ? { run(x64, &o64, log: log, rows: rows) } : { run(x32, &o32, log: log, rows: rows) }
        return Case(function: shape.function, format: shape.format, rows: rows, body: body)
    }
}

/// normal(0, 10) logits from a seeded 64-bit LCG (Knuth's MMIX constants; its top 53 bits) and
/// Box–Muller. The values only need to be ordinary: no row leaves the SIMD path.
func normalLogits(_ n: Int, seed: UInt64) -> [Double] {
    var state = seed
    func uniform() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) * 0x1p-53
    }
    return (0..<n).map { _ in 10 * (-2 * log(max(uniform(), 0x1p-60))).squareRoot() * cos(2 * Double.pi * uniform()) }
}

/// One call over `rows` rows of K = 4096 (row by row, as a batch loop would).
func run<T: KernelScalar>(_ x: [T], _ o: inout [T], log: Bool, rows: Int) {
    x.withUnsafeBufferPointer { xb in
        o.withUnsafeMutableBufferPointer { ob in
            for r in 0..<rows {
                let xr = UnsafeBufferPointer(rebasing: xb[(r * k)..<((r + 1) * k)])
                let or = UnsafeMutableBufferPointer(rebasing: ob[(r * k)..<((r + 1) * k)])
                if log { Kernels<T>.logSoftmax(xr, into: or, variant: .accurate) } else { Kernels<T>.softmax(xr, into: or, variant: .accurate) }
            }
        }
    }
}
