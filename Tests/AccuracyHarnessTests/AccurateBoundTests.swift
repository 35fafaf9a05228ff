import AccuracyHarness
import BuiltInImplementations
import Foundation
import FastSoftmax
import SoftmaxOracle
import Testing

/// The `accurate` kernel's stated bounds (FastSoftmax's Accurate.swift, AccurateVector.swift,
/// AccurateVectorFloat.swift; docs/kernels.md), checked case by case against the certified
/// oracle's exact value (`ULP.score` against `ExactValue`) on every generator family, with
/// hundreds of cases per family: the error of each output, in ulps of the format, is at most
///
/// | function                        | binary64          | binary32               |
/// |---------------------------------|-------------------|------------------------|
/// | softmax (vector path)           | 0.5 + 2^-4.3      | 0.5 + 2^-16            |
/// | log_softmax (vector path)       | 0.5 + 2^-5.8      | 0.5 + 2^-16            |
/// | logsumexp (bound test, 1/512)   | 0.5 + 2^-8        | 0.5 + 2^-8             |
/// | cross_entropy (ρ <= 2^-80)      | 0.5 + 2^-27       | 0.5 + 2^-29 + 2^-56    |
/// | ∂CE, hard target (ρ <= 2^-78)   | 0.5 + 2^-25       | 0.5 + 2^-29 + 2^-54    |
/// | ∂CE, probability targets (1/512)| 0.5 + 2^-8        | 0.5 + 2^-8             |
/// | CE with softcap / z_loss / T    | 0.5 + 2^-25(1+z)  | 0.5 + 2^-29 + 2^-54(1+z) |
/// | ∂CE with loss options, or probability targets with them: composed (`ComposedLossOptions`), no bound |
///
/// (a relative error ρ before the last rounding gives 0.5 + ρ·2^p ulp; binary32 results are
/// rounded from binary64, which adds 2^-29 ulp), with no special-value mismatch. And the textbook
/// kernels exceed it where the math says they must. The seed is printed with every failure.
@Suite("accurate meets its stated bounds on every family; the textbook kernels do not")
struct AccurateBoundTests {
    static let seed: UInt64 = 0x5EED_2026_1129
    static let functions: [OracleFunction] = [.logsumexp, .softmax, .logSoftmax, .crossEntropy, .crossEntropyGrad]
    /// Cases per family, function and format (families with a recommended maximum get fewer).
    static let casesPerFamily = 200

    /// The stated bound, in ulps, for `request` (see the table above).
    static func bound(_ request: OracleRequest) -> Double {
        let f64 = request.format == .f64
        let probabilityTargets: Bool
        if case .probabilities = request.target { probabilityTargets = true } else { probabilityTargets = false }
        switch request.function {
        case .softmax: return f64 ? 0.5 + pow(2, -4.3) : 0.5 + 0x1p-16
        case .logSoftmax: return f64 ? 0.5 + pow(2, -5.8) : 0.5 + 0x1p-17
        case .logsumexp: return 0.5 + 0x1p-8
        case _ where request.softcap != nil || request.zLoss != 0 || request.temperature != nil:
            guard request.function == .crossEntropy, !probabilityTargets else { return .infinity }  // composed
            // AccurateLossOptions: relative error <= 2^-78·(1 + zLoss) before the last rounding.
            return f64 ? 0.5 + 0x1p-25 * (1 + request.zLoss) : 0.5 + 0x1p-29 + 0x1p-54 * (1 + request.zLoss)
        case .crossEntropy: return f64 ? 0.5 + 0x1p-27 : 0.5 + 0x1p-29 + 0x1p-56
        case .crossEntropyGrad:
            if probabilityTargets { return 0.5 + 0x1p-8 }
            return f64 ? 0.5 + 0x1p-25 : 0.5 + 0x1p-29 + 0x1p-54
        default: return 0.5
        }
    }

    static func cases(_ function: OracleFunction, _ format: Format, perFamily: Int) -> [HarnessCase] {
        RunConfiguration(seed: seed, functions: [function], formats: [format], families: Family.allCases,
                         casesPerFamily: perFamily).cases()
    }

    /// The reference is the oracle's MPFR path (`doubleWordTier: false`): independent of the
    /// double-word code under test, and of the certified tier's own double-word arithmetic.
    @Test("accurate: every output within its stated bound, every family", arguments: functions, [Format.f64, .f32])
    func accurateWithinStatedBound(function: OracleFunction, format: Format) throws {
        let oracle = Oracle(doubleWordTier: false)
        let kernel = FastSoftmaxImplementation(.accurate)
        var scored = Set<Family>()
        var worst = 0.0
        for c in Self.cases(function, format, perFamily: Self.casesPerFamily) {
            let reference = try oracle.reference(for: c.request)
            let outputs = try kernel.evaluate(c.request)
            let v = try #require(Scoring.verdict(outputs: outputs, reference: reference, format: format))
            let bound = Self.bound(c.request)
            let where_ = "seed 0x\(String(Self.seed, radix: 16)), \(function.rawValue) \(format.rawValue) \(c.key)"
            #expect(v.specialMismatches == 0, "\(where_): special-value mismatch")
            #expect(v.maxULP <= bound, "\(where_): \(v.maxULP) ulp > \(bound) at element \(v.worstElement)")
            worst = max(worst, v.maxULP)
            scored.insert(c.key.family)
        }
        #expect(scored == Set(Family.allCases), "families without a scored case: \(Set(Family.allCases).subtracting(scored))")
        print("accurate \(function.rawValue) \(format.rawValue): largest error \(worst) ulp")
    }

    static func run(_ variant: KernelVariant, functions: [OracleFunction], families: [Family], cases: Int) -> HarnessResult {
        let configuration = RunConfiguration(seed: seed, functions: functions, formats: [.f64, .f32],
                                             families: families, casesPerFamily: cases)
        return Runner(oracle: Oracle(), implementations: [FastSoftmaxImplementation(variant)])
            .run(cases: configuration.cases(), seed: seed, threads: 2)
    }

    /// The dominant-target family has losses below 2^-53 relative to the terms they come from:
    /// the shifted kernel's (m − x_t) + log(1 + s) rounds 1 + s to 1, so its loss is 0 or has
    /// no correct digit, and naive's −log(softmax) does no better.
    @Test("shifted and naive exceed 2 ULP on tiny losses (dominant target)")
    func textbookKernelsFailTinyLosses() {
        for variant in [KernelVariant.shifted, .naive] {
            let result = Self.run(variant, functions: [.crossEntropy, .logSoftmax], families: [.dominantTarget], cases: 6)
            #expect(result.cells.count == 4)  // 2 functions × 2 formats, each scored
            for cell in result.cells {
                #expect(cell.statistics.scored == 6)
                let s = cell.statistics
                let bad = (s.maxULP ?? 0) > 2 || s.specialMismatchCases > 0
                #expect(bad, "seed 0x\(String(Self.seed, radix: 16)): \(variant.rawValue) \(cell.function.rawValue) \(cell.format.rawValue) stayed within 2 ULP (max \(s.maxULP ?? 0))")
            }
        }
    }

    @Test("the seed's case: accurate gives 1000, naive gives inf")
    func seedCase() throws {
        let q = OracleRequest(function: .crossEntropy, logits: [1000, 0, -1000], target: .index(1))
        #expect(try FastSoftmaxImplementation(.accurate).evaluate(q) == [1000])
        #expect(try FastSoftmaxImplementation(.naive).evaluate(q) == [.infinity])
        #expect(try Oracle().evaluate(q).rounded == [1000])
    }
}
