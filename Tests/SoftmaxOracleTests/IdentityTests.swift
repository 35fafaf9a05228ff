import SoftmaxOracle
import Testing

/// Identities between different formulations of the same real number. Where two requests have the
/// same exact value, both correct roundings are equal (rounding to nearest-even is a function of
/// the real, and odd: RN(−v) = −RN(v)), whatever the format. Inputs are seeded random values chosen
/// so that every auxiliary input (a difference a − b, a shifted row) is exact in binary64.
@Suite("Identities between formulations")
struct IdentityTests {
    static let seed: UInt64 = 0x1DE7_0000_0000_0007

    /// A multiple of 2^-20 in [−range, range]: sums and differences of two such values are exact.
    static func dyadic(_ rng: inout SplitMix64, range: Double) -> Double {
        (rng.uniform(-range, range) * 0x1p20).rounded() * 0x1p-20
    }

    static func generator(_ format: Format, _ salt: UInt64) -> (SplitMix64, UInt64) {
        let s = seed &+ salt &* 0x100 &+ UInt64(Format.allCases.firstIndex(of: format)!)
        return (SplitMix64(seed: s), s)
    }

    /// 25 seeded pairs of dyadic logits (ranges 4, 40, 400 in turn), each with its failure note.
    static func pairs(_ format: Format, _ salt: UInt64) -> [(a: Double, b: Double, note: String)] {
        var (rng, s) = generator(format, salt)
        return (0..<25).map { i in
            let range = [4.0, 40, 400][i % 3]
            let a = dyadic(&rng, range: range), b = dyadic(&rng, range: range)
            return (a, b, "seed \(String(s, radix: 16)) case \(i): a = \(hex(a)), b = \(hex(b))")
        }
    }

    @Test("softmax([a, b]) = [sigmoid(a − b), sigmoid(b − a)]", arguments: Format.allCases)
    func softmaxOfTwoIsSigmoid(format: Format) throws {
        for (a, b, note) in Self.pairs(format, 1) {
            let sm = try rounded(OracleRequest(function: .softmax, format: format, logits: [a, b]))
            let sg = try rounded(OracleRequest(function: .sigmoid, format: format, logits: [a - b, b - a]))
            expectBits(sm, sg, "\(note)")
        }
    }

    @Test("cross_entropy_grad([a, b], target 0) = [−sigmoid(b − a), sigmoid(b − a)]", arguments: Format.allCases)
    func gradientOfTwoIsSigmoid(format: Format) throws {
        for (a, b, note) in Self.pairs(format, 2) {
            let g = try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: [a, b], target: .index(0)))
            let sg = try rounded(OracleRequest(function: .sigmoid, format: format, logits: [b - a]))[0]
            expectBits(g, [-sg, sg], "\(note)")
        }
    }

    @Test("log_sigmoid(x) = −softplus(−x), bit for bit, specials included", arguments: Format.allCases)
    func logSigmoidIsNegatedSoftplus(format: Format) throws {
        var (rng, s) = Self.generator(format, 3)
        var x: [Double] = [0, -0.0, .infinity, -.infinity, .nan, 1e-300, -1e-300, 800, -800, 1e300, -1e300]
        for _ in 0..<30 { x.append(rng.uniform(-60, 60)) }
        let ls = try rounded(OracleRequest(function: .logSigmoid, format: format, logits: x))
        let sp = try rounded(OracleRequest(function: .softplus, format: format, logits: x.map { -$0 }))
        for i in x.indices {
            #expect(hex(ls[i]) == hex(-sp[i]), "seed \(String(s, radix: 16)) x = \(hex(x[i]))")
        }
    }

    @Test("bce_with_logits with label 1 (pos_weight 1 or none) = softplus(−x); label 0 = softplus(x)", arguments: Format.allCases)
    func bceIsSoftplus(format: Format) throws {
        var (rng, s) = Self.generator(format, 4)
        var x: [Double] = [0, 1e-300, -1e-300, 700, -700, .infinity, -.infinity]
        for _ in 0..<30 { x.append(rng.uniform(-60, 60)) }
        let k = x.count
        let positive = try rounded(OracleRequest(function: .softplus, format: format, logits: x.map { -$0 }))
        let negative = try rounded(OracleRequest(function: .softplus, format: format, logits: x))
        for posWeight in [nil, [1.0], Array(repeating: 1.0, count: k)] as [[Double]?] {
            let b1 = try rounded(OracleRequest(function: .bceWithLogits, format: format, logits: x,
                                               labels: Array(repeating: 1, count: k), posWeight: posWeight))
            let b0 = try rounded(OracleRequest(function: .bceWithLogits, format: format, logits: x,
                                               labels: Array(repeating: 0, count: k), posWeight: posWeight))
            expectBits(b1, positive, "label 1, seed \(String(s, radix: 16)), x = \(hex(x))")
            expectBits(b0, negative, "label 0, seed \(String(s, radix: 16)), x = \(hex(x))")
        }
    }

    @Test("label smoothing ε = 1/2 on a hard target (K = 4) = probability targets [5/8, 1/8, 1/8, 1/8]", arguments: Format.allCases)
    func smoothingIsProbabilities(format: Format) throws {
        var (rng, s) = Self.generator(format, 5)
        for i in 0..<12 {
            let x = (0..<4).map { _ in rng.uniform(-30, 30) }
            let t = rng.int(0...3)
            var p = Array(repeating: 0.125, count: 4)  // ε/K
            p[t] = 0.625  // (1 − ε) + ε/K
            let weight: [Double]? = i % 2 == 0 ? nil : (0..<4).map { _ in rng.uniform(0, 3) }
            for function in [OracleFunction.crossEntropy, .crossEntropyGrad] {
                let smoothed = try rounded(OracleRequest(function: function, format: format, logits: x, target: .index(t), labelSmoothing: 0.5, weight: weight))
                let explicit = try rounded(OracleRequest(function: function, format: format, logits: x, target: .probabilities(p), weight: weight))
                expectBits(smoothed, explicit, "\(function) seed \(String(s, radix: 16)) case \(i): x = \(hex(x)), t = \(t)")
            }
        }
    }

    @Test("cross_entropy(x, t) = −log_softmax(x)[t] = cross_entropy(x, onehot(t))", arguments: Format.allCases)
    func crossEntropyIsNegatedLogSoftmax(format: Format) throws {
        var (rng, s) = Self.generator(format, 6)
        for i in 0..<15 {
            let k = rng.int(1...6)
            let x = (0..<k).map { _ in rng.uniform(-[5.0, 50, 800][i % 3], [5.0, 50, 800][i % 3]) }
            let ls = try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x))
            for t in 0..<k {
                var onehot = Array(repeating: 0.0, count: k)
                onehot[t] = 1
                let ce = try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(t)))
                let ceP = try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .probabilities(onehot)))
                let context: Comment = "seed \(String(s, radix: 16)) case \(i): x = \(hex(x)), t = \(t)"
                // Exact zero (K = 1): CE is +0 and log_softmax is +0 too, so compare values there.
                if ce[0] == 0 { #expect(ls[t] == 0, context) } else { expectBits(ce, [-ls[t]], context) }
                expectBits(ceP, ce, context)
            }
        }
    }

    @Test("cross_entropy_grad with a hard target equals softmax off the target", arguments: Format.allCases)
    func gradientOffTargetIsSoftmax(format: Format) throws {
        var (rng, s) = Self.generator(format, 7)
        for i in 0..<15 {
            let k = rng.int(2...6)
            let x = (0..<k).map { _ in rng.uniform(-40, 40) }
            let t = rng.int(0...(k - 1))
            let g = try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(t)))
            let sm = try rounded(OracleRequest(function: .softmax, format: format, logits: x))
            for c in 0..<k where c != t {
                #expect(hex(g[c]) == hex(sm[c]), "seed \(String(s, radix: 16)) case \(i): x = \(hex(x)), t = \(t), c = \(c)")
            }
        }
    }

    @Test("softmax is shift-invariant and permutation-equivariant (exact shifts)", arguments: Format.allCases)
    func shiftAndPermutation(format: Format) throws {
        var (rng, s) = Self.generator(format, 8)
        for i in 0..<12 {
            let k = rng.int(2...7)
            let x = (0..<k).map { _ in Self.dyadic(&rng, range: 30) }
            let c = Self.dyadic(&rng, range: 500)
            let base = try rounded(OracleRequest(function: .softmax, format: format, logits: x))
            let shifted = try rounded(OracleRequest(function: .softmax, format: format, logits: x.map { $0 + c }))
            let context: Comment = "seed \(String(s, radix: 16)) case \(i): x = \(hex(x)), c = \(hex(c))"
            expectBits(shifted, base, context)
            let reversed = try rounded(OracleRequest(function: .softmax, format: format, logits: x.reversed()))
            expectBits(reversed, base.reversed(), context)
            // log_softmax is shift-invariant too (x_i − logsumexp(x) does not change).
            let ls = try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x))
            let lsShifted = try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x.map { $0 + c }))
            expectBits(lsShifted, ls, context)
        }
    }
}
