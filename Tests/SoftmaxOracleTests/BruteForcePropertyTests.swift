import Foundation
import MPFR
import SoftmaxOracle
import Testing

/// The oracle against the brute-force reference (`BruteForce`: naive formulas at 4000 bits,
/// rounded once) on seeded random inputs: every format, every function, moderate logits
/// (|x| <= 50, K <= 8), random class weights, probability targets, label smoothing, labels and
/// pos_weights. Each case is replayable from the seed printed in its failure message. The
/// oracle's `exact` values are checked against the same reference (to 2^-20 output ulps).
///
/// Inputs avoid exact zeros and ties on purpose (distinct logits, K >= 2 for row functions, no
/// all-zero target rows, positive weights): there the exact value is a rational with a known
/// rounding that the naive formula only approximates; those cases are covered exactly elsewhere.
@Suite("Oracle = brute-force reference on random inputs")
struct BruteForcePropertyTests {
    static let seed: UInt64 = 0x50F7_AA5E_ED00_0001
    /// 66 per format (6 per function) by default; set SOFTMAX_ORACLE_CASES for a deeper run.
    static let casesPerFormat = ProcessInfo.processInfo.environment["SOFTMAX_ORACLE_CASES"].flatMap { Int($0) } ?? 66

    enum Variant: CaseIterable {
        case logsumexp, softmax, logSoftmax, crossEntropyHard, crossEntropyProbabilities
        case gradientHard, gradientProbabilities, sigmoid, logSigmoid, softplus, bce
    }

    struct Case {
        let variant: Variant
        let request: OracleRequest

        var description: String {
            let q = request
            var parts = ["\(q.function.rawValue) \(q.format.rawValue) logits \(hex(q.logits))"]
            switch q.target {
            case .index(let t)?: parts.append("target \(t)")
            case .probabilities(let p)?: parts.append("targets \(hex(p))")
            case nil: break
            }
            if q.labelSmoothing != 0 { parts.append("label_smoothing \(hex(q.labelSmoothing))") }
            if let w = q.weight { parts.append("weight \(hex(w))") }
            if let z = q.labels { parts.append("labels \(hex(z))") }
            if let pw = q.posWeight { parts.append("pos_weight \(hex(pw))") }
            return parts.joined(separator: ", ")
        }

        /// The brute-force values, one per output.
        func reference() -> [BigFloat] {
            let q = request
            let x = q.logits
            switch q.function {
            case .logsumexp: return [BruteForce.logsumexp(x)]
            case .softmax: return BruteForce.softmax(x)
            case .logSoftmax: return BruteForce.logSoftmax(x)
            case .crossEntropy, .crossEntropyGrad:
                let r = BruteForce.targetWeights(classes: x.count, target: q.target!, weight: q.weight, labelSmoothing: q.labelSmoothing)
                return q.function == .crossEntropy ? [BruteForce.crossEntropy(x, weights: r)] : BruteForce.crossEntropyGrad(x, weights: r)
            case .sigmoid: return x.map { BruteForce.sigmoid($0) }
            case .logSigmoid: return x.map { BruteForce.logSigmoid($0) }
            case .softplus: return x.map { BruteForce.softplus($0) }
            case .bceWithLogits:
                let pw = q.posWeight ?? [1]
                return x.indices.map { i in
                    BruteForce.bce(x[i], label: q.labels![i], posWeight: pw.count == 1 ? pw[0] : pw[i], weight: q.weight?[i] ?? 1)
                }
            case .crossEntropyLoss, .crossEntropyLossBackward, .linearCrossEntropy, .linearCrossEntropyGradHidden,
                 .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias: fatalError("not generated")
            }
        }
    }

    /// K distinct logits in [−50, 50]: spread uniformly, at a smaller scale, or clustered within
    /// 2^-r of a common value (softmax near 1/K, cancellation in the gradient).
    static func logits(_ rng: inout SplitMix64, count k: Int) -> [Double] {
        var x: [Double]
        switch rng.int(0...3) {
        case 0: x = (0..<k).map { _ in rng.uniform(-50, 50) }
        case 1:
            let scale = rng.pick([0.001, 1.0, 4, 16])
            x = (0..<k).map { _ in rng.uniform(-scale, scale) }
        case 2:
            let base = rng.uniform(-40, 40)
            let spread = pow2(-rng.int(1...30))
            x = (0..<k).map { _ in base + rng.uniform(-spread, spread) }
        default:
            // One dominant logit and the rest far below it.
            x = (0..<k).map { _ in rng.uniform(-50, -10) }
            x[rng.int(0...(k - 1))] = rng.uniform(30, 50)
        }
        for i in x.indices {
            while x[..<i].contains(x[i]) { x[i] = x[i].nextUp }
        }
        return x
    }

    static func make(_ rng: inout SplitMix64, format: Format, variant: Variant) -> Case {
        let elementwise = [Variant.sigmoid, .logSigmoid, .softplus, .bce].contains(variant)
        let k = elementwise ? rng.int(1...8) : rng.int(2...8)
        let x = elementwise ? (0..<k).map { _ in rng.oneIn(8) ? rng.uniform(-1e-3, 1e-3) : rng.uniform(-50, 50) } : logits(&rng, count: k)
        func probabilities() -> [Double] {
            var p = (0..<k).map { _ in rng.oneIn(4) ? 0 : rng.unit() }
            if p.allSatisfy({ $0 == 0 }) { p[rng.int(0...(k - 1))] = rng.unit() + 0x1p-10 }
            return p
        }
        let eps = rng.pick([0, 0, 0, 0.1, 0.25, 0.5, 1, rng.unit()])
        let weight: [Double]? = rng.oneIn(3) ? (0..<k).map { _ in rng.uniform(0.25, 3) } : nil
        var q: OracleRequest
        switch variant {
        case .logsumexp: q = OracleRequest(function: .logsumexp, logits: x)
        case .softmax: q = OracleRequest(function: .softmax, logits: x)
        case .logSoftmax: q = OracleRequest(function: .logSoftmax, logits: x)
        case .crossEntropyHard, .gradientHard:
            q = OracleRequest(function: variant == .crossEntropyHard ? .crossEntropy : .crossEntropyGrad, logits: x,
                              target: .index(rng.int(0...(k - 1))), labelSmoothing: eps, weight: weight)
        case .crossEntropyProbabilities, .gradientProbabilities:
            q = OracleRequest(function: variant == .crossEntropyProbabilities ? .crossEntropy : .crossEntropyGrad, logits: x,
                              target: .probabilities(probabilities()), labelSmoothing: eps, weight: weight)
        case .sigmoid: q = OracleRequest(function: .sigmoid, logits: x)
        case .logSigmoid: q = OracleRequest(function: .logSigmoid, logits: x)
        case .softplus: q = OracleRequest(function: .softplus, logits: x)
        case .bce:
            let labels = (0..<k).map { _ in rng.pick([0, 1, rng.unit()]) }
            let posWeight: [Double]? = switch rng.int(0...2) {
            case 0: nil
            case 1: [rng.uniform(0.25, 4)]
            default: (0..<k).map { _ in rng.uniform(0.25, 4) }
            }
            q = OracleRequest(function: .bceWithLogits, logits: x, weight: weight, labels: labels, posWeight: posWeight)
        }
        q.format = format
        return Case(variant: variant, request: q)
    }

    @Test("every function and format, seeded random inputs", arguments: Format.allCases)
    func randomCases(format: Format) {
        let formatIndex = UInt64(Format.allCases.firstIndex(of: format)!)
        let variants = Variant.allCases
        for n in 0..<Self.casesPerFormat {
            let caseSeed = Self.seed &+ (formatIndex << 32) &+ UInt64(n)
            var rng = SplitMix64(seed: caseSeed)
            let c = Self.make(&rng, format: format, variant: variants[n % variants.count])
            let reference = c.reference()
            let want = reference.map { format.round($0) }
            let context = "case seed 0x\(String(caseSeed, radix: 16)) (base 0x\(String(Self.seed, radix: 16)), case \(n)): \(c.description)"
            do throws(OracleError) {
                let result = try Oracle().evaluate(c.request)
                #expect(result.rounded.map { hex($0) } == want.map { hex($0) }, "\(context)")
                // The exact value the harness scores against: within 2^-20 output ulps of the truth.
                for (i, (v, b)) in zip(result.values, reference).enumerated() where v.exact.kind == .finite {
                    let d = ExactValueAccuracyTests.distanceInULPs(v.exact, b, format)
                    #expect(d < 0x1p-20, "exact of output \(i) is \(d) ulps off; \(context)")
                }
            } catch {
                Issue.record("case seed 0x\(String(caseSeed, radix: 16)): \(c.description): \(error)")
            }
        }
    }

    /// Replays one case by its seed (for debugging a failure: put the printed seed here).
    static func replay(seed caseSeed: UInt64, format: Format) -> Case {
        let n = Int(caseSeed &- Self.seed) & 0xFFFF_FFFF
        var rng = SplitMix64(seed: caseSeed)
        return make(&rng, format: format, variant: Variant.allCases[n % Variant.allCases.count])
    }
}
