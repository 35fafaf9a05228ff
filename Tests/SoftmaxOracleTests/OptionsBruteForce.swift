import MPFR
import SoftmaxOracle

/// The loss options' textbook formulas, naive at `BruteForce.bits` (see there for why that is
/// enough): z = c·tanh((x/T)/c) taken directly, logsumexp = log Σ exp(z), the gradient
/// (softmax·Σr − r + 2·coefficient·lse·softmax)·(1 − tanh²((x/T)/c))/T. No shifting, no intervals,
/// a different order of operations from the oracle's x/(T·c).
typealias OptionsBruteForce = BruteForce

extension BruteForce {
    static func tanh(_ a: BigFloat) -> BigFloat { let r = BigFloat(precision: bits); r.tanh(a, .nearest); return r }

    /// The transformed logits and their slopes ∂z/∂x.
    static func transform(_ x: [Double], softcap c: Double?, temperature t: Double?) -> (z: [BigFloat], slope: [BigFloat]) {
        let u = x.map { div(exact($0), exact(t ?? 1)) }
        let invT = div(one, exact(t ?? 1))
        guard let c else { return (u, u.map { _ in invT }) }
        let th = u.map { tanh(div($0, exact(c))) }
        return (th.map { mul(exact(c), $0) }, th.map { mul(sub(one, mul($0, $0)), invT) })
    }

    /// log Σ exp(z).
    static func logsumexp(big z: [BigFloat]) -> BigFloat { log(sum(z.map(exp))) }

    /// (CE, lse) of one row: Σ r_c·(lse − z_c).
    static func rowParts(_ x: [Double], _ r: [BigFloat], softcap: Double?, temperature: Double?) -> (ce: BigFloat, lse: BigFloat) {
        let z = transform(x, softcap: softcap, temperature: temperature).z
        let lse = logsumexp(big: z)
        return (sum(zip(r, z).map { mul($0, sub(lse, $1)) }), lse)
    }

    static func rowLoss(_ x: [Double], _ t: RowTarget, softcap: Double? = nil, zLoss: Double = 0, temperature: Double? = nil) -> BigFloat {
        let r = targetWeights(classes: x.count, target: t, weight: nil, labelSmoothing: 0)
        let (ce, lse) = rowParts(x, r, softcap: softcap, temperature: temperature)
        return add(ce, mul(exact(zLoss), mul(lse, lse)))
    }

    /// ∂(ceScale·CE + zScale·coefficient·lse²)/∂x.
    static func scaledGradient(_ x: [Double], _ r: [BigFloat], ceScale: BigFloat, zScale: BigFloat,
                               softcap: Double?, zLoss: Double, temperature: Double?) -> [BigFloat] {
        let (z, slope) = transform(x, softcap: softcap, temperature: temperature)
        let lse = logsumexp(big: z)
        let total = sum(r)
        let twoZL = mul(mul(exact(2 * zLoss), lse), zScale)
        return z.indices.map { j in
            let sm = exp(sub(z[j], lse))
            let ce = mul(sub(mul(sm, total), r[j]), ceScale)
            return mul(add(ce, mul(twoZL, sm)), slope[j])
        }
    }

    static func rowGradient(_ x: [Double], _ t: RowTarget, softcap: Double? = nil, zLoss: Double = 0, temperature: Double? = nil) -> [BigFloat] {
        let r = targetWeights(classes: x.count, target: t, weight: nil, labelSmoothing: 0)
        return scaledGradient(x, r, ceScale: one, zScale: one, softcap: softcap, zLoss: zLoss, temperature: temperature)
    }

    /// The batch loss with options: mean = Σ CE / Σ w[y] + Σ coefficient·lse² / N_kept.
    static func batch(_ rows: [[Double]], _ targets: [Int], weight: [Double]? = nil, eps: Double = 0, reduction: Reduction,
                      softcap: Double?, zLoss: Double, temperature: Double?) -> [BigFloat] {
        var ce: [BigFloat] = [], zl: [BigFloat] = [], none: [BigFloat] = [], wsum: [BigFloat] = []
        for (x, t) in zip(rows, targets) {
            guard t != -100 else { none.append(exact(0)); continue }
            let r = targetWeights(classes: x.count, target: .index(t), weight: weight, labelSmoothing: eps)
            let (c, lse) = rowParts(x, r, softcap: softcap, temperature: temperature)
            let z = mul(exact(zLoss), mul(lse, lse))
            ce.append(c); zl.append(z); none.append(add(c, z)); wsum.append(exact(weight?[t] ?? 1))
        }
        switch reduction {
        case .none: return none
        case .sum: return [add(sum(ce), sum(zl))]
        case .mean: return [add(div(sum(ce), sum(wsum)), div(sum(zl), exact(Double(ce.count))))]
        }
    }

    /// The gradient of `batch` with respect to every logit, times grad_output, row-major.
    static func backward(_ rows: [[Double]], _ targets: [Int], weight: [Double]? = nil, eps: Double = 0, reduction: Reduction,
                         gradOutput: [Double], softcap: Double? = nil, zLoss: Double = 0, temperature: Double? = nil) -> [BigFloat] {
        let kept = targets.filter { $0 != -100 }
        let wsum = sum(kept.map { exact(weight?[$0] ?? 1) })
        var out: [BigFloat] = []
        for (i, (x, t)) in zip(rows, targets).enumerated() {
            guard t != -100 else { out += x.map { _ in exact(0) }; continue }
            let go = exact(gradOutput.count == 1 ? gradOutput[0] : gradOutput[i])
            let r = targetWeights(classes: x.count, target: .index(t), weight: weight, labelSmoothing: eps)
            let ceScale = reduction == .mean ? div(go, wsum) : go
            let zScale = reduction == .mean ? div(go, exact(Double(kept.count))) : go
            out += scaledGradient(x, r, ceScale: ceScale, zScale: zScale, softcap: softcap, zLoss: zLoss, temperature: temperature)
        }
        return out
    }
}
