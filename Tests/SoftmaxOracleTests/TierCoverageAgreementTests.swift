import Foundation
import MPFR
@testable import SoftmaxOracle
import Testing

/// What the double-word tier took over from the MPFR path — cross_entropy_grad (hard and
/// probability targets), wide rows (two largest logits more than 2^19 apart), the elementwise
/// functions — against `Oracle(doubleWordTier: false)`: the same rounded values bit for bit and
/// exact values within 2^-39 output ulps, on seeded random rows of every format (each failure
/// names its seed and case), plus the tier's share of the answers.
@Suite("Double-word tier coverage = MPFR path")
struct TierCoverageAgreementTests {
    static let seed: UInt64 = 0xC0FE_2013
    static let rowsPerFamily = ProcessInfo.processInfo.environment["SOFTMAX_ORACLE_FAST_CASES"].flatMap { Int($0) } ?? 6
    static let tier = Oracle()
    static let mpfr = Oracle(doubleWordTier: false)

    /// Compares both paths on q; returns true when no output went to the MPFR path.
    @discardableResult
    static func compare(_ q: OracleRequest, _ note: String) throws -> Bool {
        let b: OracleResult
        do {
            b = try mpfr.evaluate(q)
        } catch {
            // An exact near-tie the MPFR path cannot settle at its cap (e.g. −p_c + e^-10000 on
            // an e5m2 midpoint): the tier must not answer it either.
            #expect(throws: OracleError.self, "the tier answered where the MPFR path threw \(error); \(note)") { try tier.evaluate(q) }
            return false
        }
        let a = try tier.evaluate(q)
        expectBits(a.rounded, b.rounded, "\(note)")
        for (i, (x, y)) in zip(a.values, b.values).enumerated() {
            #expect(x.exact.kind == y.exact.kind && x.exact.isNegative == y.exact.isNegative, "output \(i): \(x.exact) vs \(y.exact); \(note)")
            if x.exact.kind == .finite && y.exact.kind == .finite {
                let d = ExactValueAccuracyTests.distanceInULPs(x.exact, DoubleWordTierAgreementTests.bigValue(y.exact), q.format)
                #expect(d <= 0x1p-39, "output \(i): exact values \(d) ulps apart; \(note)")
            }
        }
        return a.tier == .doubleWord
    }

    @Test("cross_entropy_grad, hard and probability targets", arguments: DoubleWordTierAgreementTests.Family.allCases)
    func gradient(family: DoubleWordTierAgreementTests.Family) throws {
        var rng = SplitMix64(seed: Self.seed &+ UInt64(DoubleWordTierAgreementTests.Family.allCases.firstIndex(of: family)!))
        var answered = 0, total = 0
        for n in 0..<Self.rowsPerFamily {
            let k = [2, 3, 7, 16, 61, 200][n % 6]
            let x = DoubleWordTierAgreementTests.row(&rng, family, count: k)
            for format in Format.allCases {
                var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
                q.target = .index(rng.index(k))
                if try Self.compare(q, "\(family) hard, seed \(Self.seed), row \(n), \(format)") { answered += 1 }
                q.target = .probabilities((0..<k).map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 })
                if try Self.compare(q, "\(family) probabilities, seed \(Self.seed), row \(n), \(format)") { answered += 1 }
                total += 2
            }
        }
        print("cross_entropy_grad \(family): \(answered) of \(total) answered wholly by the double-word tier")
    }

    /// A zero term (p_c = 0) once set the scale of the error sum (its exponent 0 by convention),
    /// so every gradient entry with p_c = 0 and a subnormal e_c·P/S went to the MPFR path.
    @Test("probability-target gradient with p_c = 0 and a subnormal entry: answered on the tier")
    func probabilityGradientTinyEntries() throws {
        let x = [0, -745.13, -744.44, -708.4, -1]
        for format in Format.allCases {
            var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
            q.target = .probabilities([0.5, 0, 0, 0.25, 0.0625])
            #expect(try Self.compare(q, "\(format)"), "the tier should answer in \(format)")
        }
    }

    @Test("wide rows: every row function and the batch loss, overflowing differences, masks")
    func wideRows() throws {
        var rng = SplitMix64(seed: Self.seed &+ 100)
        var answered = 0
        for n in 0..<(Self.rowsPerFamily * 8) {
            let k = rng.int(2...40)
            let top = pow2(rng.int(20...1023)) * (1 + rng.unit())
            var x = (0..<k).map { _ in -pow2(rng.int(-1074...1023)) * rng.unit() }
            x[rng.index(k)] = rng.oneIn(4) ? 0 : (rng.oneIn(2) ? top : -pow2(19) * 3)
            if rng.oneIn(3) { x[rng.index(k)] = -.infinity }
            if rng.oneIn(4) { x[rng.index(k)] = -Double.greatestFiniteMagnitude }
            for format in Format.allCases {
                let batch = OracleRequest(function: .crossEntropyLoss, format: format, batch: [x, x.reversed()],
                                          batchTargets: .indices([rng.index(k), rng.index(k)]),
                                          reduction: rng.pick(Reduction.allCases))
                if try Self.compare(batch, "wide batch \(x.map(hex)), seed \(Self.seed + 100), row \(n), \(format)") {
                    answered += 1
                }
                for function in [OracleFunction.logsumexp, .softmax, .logSoftmax, .crossEntropy, .crossEntropyGrad] {
                    var q = OracleRequest(function: function, format: format, logits: x)
                    if function == .crossEntropy || function == .crossEntropyGrad { q.target = .index(rng.index(k)) }
                    if try Self.compare(q, "wide row \(x.map(hex)), \(function), seed \(Self.seed + 100), row \(n), \(format)") {
                        answered += 1
                    }
                }
            }
        }
        print("wide rows: \(answered) requests answered by the double-word tier")
        #expect(answered > 0)
    }

    @Test("softmax with terms omitted from the sum (x_i − m < −2^20, or overflowing): tiny outputs on the tier")
    func omittedTerms() throws {
        let rows: [[Double]] = [[0, 0, -3e6, -1e300], [1e300, 1e300, -1.7e308, 5], [7, 7 - 0x1p21, 7, -.infinity]]
        for x in rows {
            for format in Format.allCases {
                let q = OracleRequest(function: .softmax, format: format, logits: x)
                #expect(try Self.compare(q, "softmax \(x.map(hex)), \(format)"), "the tier should answer \(x.map(hex)) in \(format)")
            }
        }
    }

    @Test("sigmoid, log_sigmoid, softplus, bce_with_logits", arguments: DoubleWordTierAgreementTests.Family.allCases)
    func elementwise(family: DoubleWordTierAgreementTests.Family) throws {
        var rng = SplitMix64(seed: Self.seed &+ 200 &+ UInt64(DoubleWordTierAgreementTests.Family.allCases.firstIndex(of: family)!))
        for n in 0..<Self.rowsPerFamily {
            let k = [2, 3, 7, 16, 61, 200][n % 6]
            var x = DoubleWordTierAgreementTests.row(&rng, family, count: k)
            if rng.oneIn(3) { x[0] = rng.pick([.infinity, -.infinity, .nan, 0x1p21, -0x1p21, -0.0, 0x1p-1074]) }
            for format in Format.allCases {
                for function in [OracleFunction.sigmoid, .logSigmoid, .softplus, .bceWithLogits] {
                    var q = OracleRequest(function: function, format: format, logits: x)
                    if function == .bceWithLogits {
                        q.labels = (0..<k).map { _ in rng.pick([0, 1, 0.4375, rng.unit(), -0.5, 1.5]) }
                        if rng.oneIn(2) { q.posWeight = [rng.pick([1, 3.5, 0, pow2(rng.int(-1074...1000))])] }
                        if rng.oneIn(3) { q.weight = (0..<k).map { _ in rng.pick([1, 0, 0.3, 1e300]) } }
                    }
                    try Self.compare(q, "\(family) \(function), seed \(Self.seed + 200), row \(n), \(format)")
                }
            }
        }
    }
}
