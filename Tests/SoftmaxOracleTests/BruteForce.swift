import MPFR
import SoftmaxOracle

/// An independent reference: the textbook formulas, evaluated naively with MPFR at 4000 bits in
/// round-to-nearest, then rounded once into the output format.
///
/// Nothing here shares code with the oracle (no shifting by the maximum, no log1p, no intervals).
/// Why it is right for the inputs it is used on (|x| <= 50 in the random tests, K <= 8; a few
/// hand-picked rows up to 1000): each naive step is one correctly rounded MPFR operation, so the
/// computed value is within a relative error of about (number of steps) · κ · 2^-4000 of the exact
/// one, κ the condition number of the formula; for such inputs κ is below 2^200 (the smallest
/// result that can arise by cancellation, e.g. log_softmax at the arg-max ≈ -e^-100, is far above
/// 2^-3800 of the terms that cancel). So the one final rounding gives the correctly rounded value
/// unless the exact value lies within 2^-3800 (relative) of a rounding boundary. The exact values
/// here are transcendental, except where a test says otherwise, so that does not happen.
enum BruteForce {
    static let bits = 4000

    private static func fresh() -> BigFloat { BigFloat(precision: bits) }
    static func exact(_ x: Double) -> BigFloat { BigFloat(x, precision: 53) }
    static var one: BigFloat { exact(1) }

    static func exp(_ a: BigFloat) -> BigFloat { let r = fresh(); r.exp(a, .nearest); return r }
    static func log(_ a: BigFloat) -> BigFloat { let r = fresh(); r.log(a, .nearest); return r }
    static func add(_ a: BigFloat, _ b: BigFloat) -> BigFloat { let r = fresh(); r.add(a, b, .nearest); return r }
    static func sub(_ a: BigFloat, _ b: BigFloat) -> BigFloat { let r = fresh(); r.sub(a, b, .nearest); return r }
    static func mul(_ a: BigFloat, _ b: BigFloat) -> BigFloat { let r = fresh(); r.mul(a, b, .nearest); return r }
    static func div(_ a: BigFloat, _ b: BigFloat) -> BigFloat { let r = fresh(); r.div(a, b, .nearest); return r }
    static func neg(_ a: BigFloat) -> BigFloat { let r = fresh(); r.neg(a, .nearest); return r }
    static func sum(_ terms: [BigFloat]) -> BigFloat { let r = fresh(); r.sum(terms, .nearest); return r }

    // MARK: Row functions

    /// Σ_j exp(x_j).
    static func sumOfExps(_ x: [Double]) -> BigFloat { sum(x.map { exp(exact($0)) }) }

    /// log Σ_j exp(x_j).
    static func logsumexp(_ x: [Double]) -> BigFloat { log(sumOfExps(x)) }

    /// exp(x_i) / Σ_j exp(x_j).
    static func softmax(_ x: [Double]) -> [BigFloat] {
        let s = sumOfExps(x)
        return x.map { div(exp(exact($0)), s) }
    }

    /// x_i − log Σ_j exp(x_j).
    static func logSoftmax(_ x: [Double]) -> [BigFloat] {
        let l = logsumexp(x)
        return x.map { sub(exact($0), l) }
    }

    /// r_c = w_c · q_c with q the target distribution: onehot(t) or p, smoothed to
    /// (1 − ε)·q + ε/K (PyTorch's `CrossEntropyLoss`, where the class weight multiplies every
    /// term of the smoothed sum).
    static func targetWeights(classes k: Int, target: RowTarget, weight: [Double]?, labelSmoothing eps: Double) -> [BigFloat] {
        var q: [BigFloat]
        switch target {
        case .index(let t): q = (0..<k).map { exact($0 == t ? 1 : 0) }
        case .probabilities(let p): q = p.map { exact($0) }
        }
        if eps != 0 {
            let keep = sub(one, exact(eps))
            let spread = div(exact(eps), exact(Double(k)))
            q = q.map { add(mul(keep, $0), spread) }
        }
        return q.enumerated().map { c, qc in mul(exact(weight?[c] ?? 1), qc) }
    }

    /// −Σ_c r_c · log_softmax(x)_c.
    static func crossEntropy(_ x: [Double], weights r: [BigFloat]) -> BigFloat {
        let ls = logSoftmax(x)
        return neg(sum(zip(r, ls).map { mul($0, $1) }))
    }

    /// softmax(x)_i · Σ_c r_c − r_i.
    static func crossEntropyGrad(_ x: [Double], weights r: [BigFloat]) -> [BigFloat] {
        let sm = softmax(x)
        let total = sum(r)
        return zip(sm, r).map { sub(mul($0, total), $1) }
    }

    // MARK: Elementwise

    /// 1 / (1 + exp(−x)).
    static func sigmoid(_ x: Double) -> BigFloat { div(one, add(one, exp(neg(exact(x))))) }

    /// log(sigmoid(x)) (a different formulation from the oracle's −softplus(−x)).
    static func logSigmoid(_ x: Double) -> BigFloat { log(sigmoid(x)) }

    /// log(1 + exp(x)).
    static func softplus(_ x: Double) -> BigFloat { log(add(one, exp(exact(x)))) }

    /// weight · −[w·z·log σ(x) + (1 − z)·log(1 − σ(x))].
    static func bce(_ x: Double, label z: Double, posWeight w: Double, weight: Double) -> BigFloat {
        let s = sigmoid(x)
        let positive = mul(mul(exact(w), exact(z)), log(s))
        let negative = mul(sub(one, exact(z)), log(sub(one, s)))
        return mul(exact(weight), neg(add(positive, negative)))
    }

    // MARK: Batch

    /// PyTorch `CrossEntropyLoss`: per-row losses (ignored rows 0) for `.none`, their sum, or
    /// the sum divided by Σ w[y_i] over kept rows (hard targets) or by N (probability targets).
    static func batchLoss(
        _ rows: [[Double]], targets: BatchTargets, weight: [Double]? = nil, labelSmoothing eps: Double = 0,
        ignoreIndex: Int = -100, reduction: Reduction
    ) -> [BigFloat] {
        let k = rows[0].count
        var losses: [BigFloat?] = []
        var denominator: BigFloat
        switch targets {
        case .indices(let t):
            for (row, ti) in zip(rows, t) {
                losses.append(ti == ignoreIndex ? nil
                    : crossEntropy(row, weights: targetWeights(classes: k, target: .index(ti), weight: weight, labelSmoothing: eps)))
            }
            denominator = sum(t.filter { $0 != ignoreIndex }.map { exact(weight?[$0] ?? 1) })
        case .probabilities(let p):
            for (row, pi) in zip(rows, p) {
                losses.append(crossEntropy(row, weights: targetWeights(classes: k, target: .probabilities(pi), weight: weight, labelSmoothing: eps)))
            }
            denominator = exact(Double(rows.count))
        }
        switch reduction {
        case .none: return losses.map { $0 ?? exact(0) }
        case .sum: return [sum(losses.compactMap { $0 })]
        case .mean: return [div(sum(losses.compactMap { $0 }), denominator)]
        }
    }
}
