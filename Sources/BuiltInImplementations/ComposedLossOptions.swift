import FastSoftmax
import Foundation
import SoftmaxOracle

/// The loss options for the kernels that have no dedicated path, as a framework composes them:
/// z = c·tanh((x/T)/c) in binary64, stored in the request's format (as a framework stores the
/// soft-capped logits in the tensor's dtype); then the kernel's cross_entropy, logsumexp, softmax
/// and cross_entropy_grad of z; the z-loss coefficient·lse² and its gradient
/// 2·coefficient·lse·softmax, and the chain rule (1 − (z/c)²)/T, in binary64, each result
/// rounded once into the format. No error bound: this is what the report measures (near
/// saturation, 1 − (z/c)² cancels).
enum ComposedLossOptions {
    /// cross_entropy or cross_entropy_grad of `request` (hard or probability target) with its
    /// loss options, through `variant`'s kernels.
    static func evaluate(_ request: OracleRequest, variant: KernelVariant) throws -> [Double] {
        let f = request.format
        let t = request.temperature ?? 1
        let z = request.logits.map { x -> Double in
            let u = x / t
            return f.round(request.softcap.map { c in c * tanh(u / c) } ?? u)
        }
        let (target, probabilities) = request.kernelTarget
        func kernel(_ function: String) throws -> [Double] {
            try KernelEvaluator.evaluate(function: function, variant: variant, format: f.rawValue, logits: z,
                                         target: function.hasPrefix("cross") ? target : nil,
                                         probabilities: function.hasPrefix("cross") ? probabilities : nil)
        }
        let lse = request.zLoss == 0 ? 0 : try kernel("logsumexp")[0]
        if request.function == .crossEntropy {
            return [f.round(try kernel("cross_entropy")[0] + request.zLoss * lse * lse)]
        }
        let g = try kernel("cross_entropy_grad")
        let softmax = request.zLoss == 0 ? g.map { _ in 0 } : try kernel("softmax")
        return z.indices.map { j in
            var v = g[j] + 2 * request.zLoss * lse * softmax[j]
            if let c = request.softcap { v *= 1 - (z[j] / c) * (z[j] / c) }
            return f.round(v / t)
        }
    }
}

extension OracleRequest {
    /// The row target as the kernels take it: a class index or probabilities (both nil: none).
    var kernelTarget: (index: Int?, probabilities: [Double]?) {
        switch target {
        case .index(let t)?: (t, nil)
        case .probabilities(let p)?: (nil, p)
        case nil: (nil, nil)
        }
    }
}
