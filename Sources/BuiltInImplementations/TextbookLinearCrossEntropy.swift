import AccuracyHarness
import FastSoftmax
import SoftmaxOracle

/// `linear_cross_entropy` as a framework composes it (`F.linear` then `F.cross_entropy`), for
/// every kernel variant: the logits z = H·Wᵀ (+ bias) as a matrix product in the format's
/// precision (binary64 for f64; binary32 accumulation rounded once into the format for the
/// others, as a framework's GEMM accumulates half-precision inputs in binary32); each kept row's
/// loss by the variant's `cross_entropy` of that row (through ``FastSoftmaxImplementation``, so
/// the loss options take the variant's own path), times the target's class weight; the
/// reduction in binary64, rounded once into the format (mean: divided by the sum of the kept
/// rows' weights, NaN when no row is kept; none: an ignored row's loss is 0).
///
/// No error bound: the product's rounding error, d·u·|h|·|w| for each logit, is unbounded
/// relative to the loss (near ties and huge logits through the product), which is what the
/// report measures. Declined (``ImplementationError/unsupported(_:)``): label smoothing, and
/// class weights with z-loss (whose mean divides the z-loss by the kept rows, not the weights).
enum TextbookLinearCrossEntropy {
    /// The loss of `request` (a `linear_cross_entropy` request) through `implementation`'s kernel.
    static func evaluate(_ request: OracleRequest, _ implementation: FastSoftmaxImplementation) throws -> [Double] {
        guard let m = request.linear else { throw ImplementationError.failed("no hidden/weight matrices") }
        if request.labelSmoothing != 0 { throw ImplementationError.unsupported("label smoothing") }
        if m.classWeight != nil && request.zLoss != 0 { throw ImplementationError.unsupported("class weights with z_loss") }
        let f = request.format
        var losses: [Double] = []
        var total = 0.0, kept = 0.0
        for i in 0..<m.rows {
            let t = m.targets[i]
            guard t != request.ignoreIndex else { losses.append(0); continue }
            let z = logits(row: i, m, f)
            var row = OracleRequest(function: .crossEntropy, format: f, logits: z, target: .index(t),
                                    softcap: request.softcap, zLoss: request.zLoss, temperature: request.temperature)
            row.ignoreIndex = request.ignoreIndex
            let w = m.classWeight?[t] ?? 1
            let loss = try implementation.evaluate(row)[0] * w
            losses.append(loss)
            total += loss
            kept += w
        }
        switch request.reduction {
        case .none: return losses.map(f.round)
        case .sum: return [f.round(total)]
        case .mean: return [f.round(total / kept)]
        }
    }

    /// The three gradients of `request` (a `linear_cross_entropy_grad_*` request): each kept
    /// row's r_i = the variant's `cross_entropy_grad` of z_i (loss options included), scaled by
    /// c_i = grad_output (its row's for reduction none) · the target's class weight (/ the kept
    /// weights' sum for mean); then Σ_i c_i·r_ij (bias), Σ_i c_i·r_ij·h_ik (weight) and
    /// Σ_j c_i·r_ij·w_jk (hidden) in binary64, each rounded once into the format. No error bound.
    static func gradient(_ request: OracleRequest, _ implementation: FastSoftmaxImplementation) throws -> [Double] {
        guard let m = request.linear else { throw ImplementationError.failed("no hidden/weight matrices") }
        if request.labelSmoothing != 0 { throw ImplementationError.unsupported("label smoothing") }
        if m.classWeight != nil && request.zLoss != 0 { throw ImplementationError.unsupported("class weights with z_loss") }
        let f = request.format, (n, d, v) = (m.rows, m.dimension, m.classes)
        let g = request.gradOutput ?? [1]
        var kept = 0.0
        for t in m.targets where t != request.ignoreIndex { kept += m.classWeight?[t] ?? 1 }
        var scaled = [[Double]](repeating: [Double](repeating: 0, count: v), count: n)  // c_i·r_i
        for i in 0..<n where m.targets[i] != request.ignoreIndex {
            let t = m.targets[i]
            var c = (request.reduction == .none ? g[i] : g[0]) * (m.classWeight?[t] ?? 1)
            if request.reduction == .mean { c /= kept }
            var row = OracleRequest(function: .crossEntropyGrad, format: f, logits: logits(row: i, m, f), target: .index(t),
                                    softcap: request.softcap, zLoss: request.zLoss, temperature: request.temperature)
            row.ignoreIndex = request.ignoreIndex
            scaled[i] = try implementation.evaluate(row).map { c * $0 }
        }
        switch request.function {
        case .linearCrossEntropyGradBias:
            return (0..<v).map { j in f.round((0..<n).reduce(0) { $0 + scaled[$1][j] }) }
        case .linearCrossEntropyGradWeight:
            return (0..<(v * d)).map { jk in
                f.round((0..<n).reduce(0) { $0 + scaled[$1][jk / d] * m.hidden[$1 * d + jk % d] })
            }
        default:
            return (0..<(n * d)).map { ik in
                f.round((0..<v).reduce(0) { $0 + scaled[ik / d][$1] * m.weight[$1 * d + ik % d] })
            }
        }
    }

    /// Row i of z = H·Wᵀ (+ bias): binary64 dot products for f64, binary32 ones rounded into the
    /// format otherwise.
    static func logits(row i: Int, _ m: LinearCrossEntropyInputs, _ f: Format) -> [Double] {
        let d = m.dimension
        let h = m.hidden[(i * d)..<(i * d + d)]
        return (0..<m.classes).map { j in
            let w = m.weight[(j * d)..<(j * d + d)]
            if f == .f64 {
                var s = 0.0
                for (a, b) in zip(h, w) { s += a * b }
                return s + (m.bias?[j] ?? 0)
            }
            var s: Float = 0
            for (a, b) in zip(h, w) { s += Float(a) * Float(b) }
            return f.round(Double(s + Float(m.bias?[j] ?? 0)))
        }
    }
}
