import DoubleWordArithmetic
import ParallelExecution

/// The fused linear cross-entropy's fast tier: compensated products with a priori bounds
/// (ProductEnclosure.swift), the rows in double words with bounds (LinearFastRows.swift), the
/// gradient products (GradientProducts.swift), every output certified by `DoubleWordCertifier`
/// (the double-word tier's rule: the enclosure rounds to one value and is narrow).
///
/// Scope: class-index targets with optional class weights, bias, `ignore_index`, every
/// reduction, `grad_output` and `z_loss`; no label smoothing, soft-capping or temperature, and
/// every |H|, |W| below 2^995 (Veltkamp's split). Outside it, or for a row it cannot handle
/// (E' > 2^-12, a logit gap beyond 2^20), `evaluate` returns nil and the MPFR path answers all;
/// otherwise it returns every output, with the indices that did not certify (their values are
/// placeholders), which the MPFR path recomputes.
///
/// Threads: the logits are split by classes, the rows by rows, grad_weight by classes and
/// grad_hidden by columns; each output is computed by one thread in a fixed order, so results do
/// not depend on the thread count. Memory: the logits, exponentials and G take 7·N·V doubles,
/// the splits 2·N·d (and 2·N·V for G); no N × V × d intermediate.
enum LinearFastTier {
    /// Every output (placeholders at `failed`) and the outputs left to the MPFR path.
    struct Result {
        var values: [OracleValue]
        var failed: [Int]
    }

    /// How many pieces the logits and the gradient products are split into on `threads` threads:
    /// four a thread (pieces take unequal time: classes and columns with zero weights are
    /// skipped), and one on one thread, so that `threads: 1` runs every stage on the calling
    /// thread. (It was `max(1, threads) * 4`: four pieces run concurrently on one thread's request.)
    static func chunks(threads: Int) -> Int {
        threads > 1 ? threads * 4 : 1
    }

    static func evaluate(_ q: OracleRequest, threads: Int) -> Result? {
        guard let m = q.linear, q.softcap == nil, q.temperature == nil || q.temperature == 1, q.labelSmoothing == 0 else { return nil }
        let (n, d, v) = (m.rows, m.dimension, m.classes)
        let kept = (0..<n).filter { m.targets[$0] != q.ignoreIndex }
        guard !kept.isEmpty else { return nil }
        let limit = 0x1p995
        guard !m.hidden.contains(where: { $0.magnitude >= limit }), !m.weight.contains(where: { $0.magnitude >= limit }) else { return nil }
        let classWeight: (Int) -> Double = { m.classWeight?[$0] ?? 1 }
        var ceDivisor = BoundedValue.zero
        for i in kept { ceDivisor = ceDivisor + BoundedValue(classWeight(m.targets[i])) }
        if q.reduction == .mean && ceDivisor.v.hi == 0 { return nil }

        let chunks = Self.chunks(threads: threads)
        // 1. The logits and their bound per row.
        let hs = m.hidden.withUnsafeBufferPointer { ProductEnclosure.splits($0) }
        var zh = [Double](repeating: 0, count: n * v), zl = zh, zerr = zh
        let biasValues = m.bias ?? [Double](repeating: 0, count: v)
        m.hidden.withUnsafeBufferPointer { h in hs.withUnsafeBufferPointer { hsp in m.weight.withUnsafeBufferPointer { w in
            zh.withUnsafeMutableBufferPointer { zhp in zl.withUnsafeMutableBufferPointer { zlp in zerr.withUnsafeMutableBufferPointer { zep in
                biasValues.withUnsafeBufferPointer { bias in
                    _ = Parallel.forEachChunk(count: v, chunks: chunks) { range in
                        ProductEnclosure.logits(hidden: h.baseAddress!, splits: hsp.baseAddress!, weight: w.baseAddress!,
                                                bias: bias.baseAddress!, rows: n, dimension: d, classes: v, classes: range,
                                                hi: zhp.baseAddress!, lo: zlp.baseAddress!, error: zep.baseAddress!)
                    }
                }
            } } }
        } } }
        let logitError: [Double] = (0..<n).map { i in zerr[(i * v)..<(i * v + v)].max()! }
        guard zh.allSatisfy(\.isFinite), logitError.allSatisfy(\.isFinite) else { return nil }

        // 2. The rows.
        var eh = [Double](repeating: 0, count: n * v), el = eh
        let rows: [LinearFastRow?] = eh.withUnsafeMutableBufferPointer { ehp in el.withUnsafeMutableBufferPointer { elp in
            zh.withUnsafeBufferPointer { zhp in zl.withUnsafeBufferPointer { zlp in
                Parallel.forEachChunk(count: n, chunks: Swift.min(n, threads)) { range in
                    range.map { i -> LinearFastRow? in
                        guard m.targets[i] != q.ignoreIndex else { return nil }
                        return LinearFastRow.make(zh: zhp.baseAddress! + i * v, zl: zlp.baseAddress! + i * v, classes: v, target: m.targets[i],
                                                  logitError: logitError[i], eh: ehp.baseAddress! + i * v, el: elp.baseAddress! + i * v)
                    }
                }.flatMap { $0 }
            } }
        } }
        for i in kept where rows[i] == nil { return nil }
        let certifier = DoubleWordCertifier(q.format)
        let upstream: (Int) -> Double = { i in q.gradOutput.map { $0.count == 1 ? $0[0] : $0[i] } ?? 1 }
        let zLoss = q.zLoss

        if q.function == .linearCrossEntropy {
            return Result(settling: lossOutputs(q, rows: rows, kept: kept, ceDivisor: ceDivisor, certifier))
        }
        // 3. G, with the reduction's scales.
        var gh = [Double](repeating: 0, count: n * v), gl = gh, gerr = gh
        var active: [Int] = []
        for i in kept where upstream(i) != 0 {
            let row = rows[i]!
            var sigma = BoundedValue(upstream(i)), tau = BoundedValue(upstream(i))
            if q.reduction == .mean {
                sigma = sigma / ceDivisor
                tau = tau / BoundedValue(Double(kept.count))
            }
            let alpha = sigma * classWeight(m.targets[i])
            let beta = zLoss == 0 ? nil : (tau * (2 * zLoss)) * row.lse
            eh.withUnsafeBufferPointer { ehp in el.withUnsafeBufferPointer { elp in
                gh.withUnsafeMutableBufferPointer { ghp in gl.withUnsafeMutableBufferPointer { glp in gerr.withUnsafeMutableBufferPointer { gep in
                    row.gradient(alpha: alpha, beta: beta, target: m.targets[i], classes: v,
                                 eh: ehp.baseAddress! + i * v, el: elp.baseAddress! + i * v,
                                 gh: ghp.baseAddress! + i * v, gl: glp.baseAddress! + i * v, gerr: gep.baseAddress! + i * v)
                } } }
            } }
            active.append(i)
        }
        guard gh.allSatisfy({ $0.magnitude < limit }), gerr.allSatisfy(\.isFinite) else { return nil }
        if q.function == .linearCrossEntropyGradBias {
            var values: [OracleValue?] = []
            for j in 0..<v {
                guard !active.isEmpty else { values.append(OracleValue(rounded: 0, exact: ExactValue(0.0))); continue }
                var s = BoundedValue.zero
                for i in active { s = s + BoundedValue(DoubleWord(gh[i * v + j], gl[i * v + j]), err: gerr[i * v + j]) }
                values.append(s.certified(certifier))
            }
            return Result(settling: values)
        }
        return gradientProducts(q, m, gh: gh, gl: gl, gerr: gerr, active: active, splitsOfHidden: hs, certifier, chunks: chunks)
    }
}
