import DoubleWordArithmetic
import ParallelExecution

extension LinearFastTier.Result {
    /// The outputs that certified, and the indices of those that did not (placeholders there).
    init(settling values: [OracleValue?]) {
        let placeholder = OracleValue(rounded: .nan, exact: .nan)
        self.init(values: values.map { $0 ?? placeholder }, failed: values.indices.filter { values[$0] == nil })
    }
}

extension LinearFastTier {
    /// The loss outputs: per row ω_t·CE_i + zLoss·lse_i² (ignored rows: the exact 0), their sum,
    /// or the mean Σ ω_t·CE_i / Σ ω_t + zLoss·Σ lse_i² / N_kept (docs/semantics.md).
    static func lossOutputs(_ q: OracleRequest, rows: [LinearFastRow?], kept: [Int], ceDivisor: BoundedValue,
                            _ certifier: DoubleWordCertifier) -> [OracleValue?] {
        let m = q.linear!
        let omega: (Int) -> Double = { i in m.classWeight?[m.targets[i]] ?? 1 }
        func zTerm(_ r: LinearFastRow) -> BoundedValue? { q.zLoss == 0 ? nil : (r.lse * r.lse) * q.zLoss }
        if q.reduction == .none {
            return (0..<m.rows).map { i in
                guard let r = rows[i] else { return OracleValue(rounded: 0, exact: ExactValue(0.0)) }
                let ce = r.ce * omega(i)
                return (zTerm(r).map { ce + $0 } ?? ce).certified(certifier)
            }
        }
        var ce = BoundedValue.zero, z = BoundedValue.zero
        for i in kept {
            ce = ce + rows[i]!.ce * omega(i)
            if let t = zTerm(rows[i]!) { z = z + t }
        }
        if q.reduction == .mean {
            ce = ce / ceDivisor
            z = z / BoundedValue(Double(kept.count))
        }
        return [(ce + z).certified(certifier)]
    }

    /// grad_weight or grad_hidden from G (GradientProducts), split over threads.
    static func gradientProducts(_ q: OracleRequest, _ m: LinearCrossEntropyInputs, gh: [Double], gl: [Double], gerr: [Double],
                                 active: [Int], splitsOfHidden hs: [Double], _ certifier: DoubleWordCertifier, chunks: Int) -> Result {
        let (n, d, v) = (m.rows, m.dimension, m.classes)
        let hiddenSide = q.function == .linearCrossEntropyGradHidden
        let a = gerr
        let ghs = gh.withUnsafeBufferPointer { ProductEnclosure.splits($0) }
        let count = hiddenSide ? n * d : v * d
        var failed: [Int] = []
        let values = [OracleValue](unsafeUninitializedCapacity: count) { out, initialized in
            gh.withUnsafeBufferPointer { ghp in gl.withUnsafeBufferPointer { glp in ghs.withUnsafeBufferPointer { ghsp in
                a.withUnsafeBufferPointer { ap in
                    let p = GradientProducts(rows: n, classes: v, dimension: d, active: active, gh: ghp.baseAddress!, gl: glp.baseAddress!,
                                             ghs: ghsp.baseAddress!, a: ap.baseAddress!, certifier: certifier)
                    let base = out.baseAddress!
                    if hiddenSide {
                        let nonzero = (0..<d).map { k in (0..<v).contains { m.weight[$0 * d + k] != 0 } }
                        let parts = m.weight.withUnsafeBufferPointer { w in
                            Parallel.forEachChunk(count: d, chunks: Swift.min(chunks, d)) { range -> [Int] in
                                var f: [Int] = []
                                p.gradHidden(weight: w.baseAddress!, nonzero: nonzero, columns: range, into: base, failed: &f)
                                return f
                            }
                        }
                        failed = parts.flatMap { $0 }
                    } else {
                        let nonzero = (0..<d).map { k in active.contains { m.hidden[$0 * d + k] != 0 } }
                        let parts = m.hidden.withUnsafeBufferPointer { h in hs.withUnsafeBufferPointer { hsp in
                            Parallel.forEachChunk(count: v, chunks: Swift.min(chunks, v)) { range -> [Int] in
                                var f: [Int] = []
                                p.gradWeight(hidden: h.baseAddress!, splits: hsp.baseAddress!, nonzero: nonzero, classes: range, into: base, failed: &f)
                                return f
                            }
                        } }
                        failed = parts.flatMap { $0 }
                    }
                }
            } } }
            initialized = count
        }
        return Result(values: values, failed: failed)
    }
}
