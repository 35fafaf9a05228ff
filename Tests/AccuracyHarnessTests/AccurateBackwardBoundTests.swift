import AccuracyHarness
import BuiltInImplementations
import FastSoftmax
import SoftmaxOracle
import Testing

/// The `accurate` backward kernels' stated bounds (FastSoftmax's AccurateBackward.swift,
/// docs/kernels.md), checked output by output against the certified oracle's exact value on
/// every generator family and every kind of grad_output, in binary64 and binary32:
///
/// | function             | bound (ulp)          | why                                             |
/// |----------------------|----------------------|-------------------------------------------------|
/// | softmax_backward     | 0.5 + 2^-8 + 2^-26   | 1/512-ulp bound test, then ρ <= 2^-80 (+ 2^-29 binary32) |
/// | log_softmax_backward | 0.5 + 2^-8           | the probability-target gradient at p = −dy      |
///
/// with no special-value mismatch and no zero of the wrong sign. The seed is printed with every
/// failure.
@Suite("accurate softmax_backward and log_softmax_backward meet their stated bounds")
struct AccurateBackwardBoundTests {
    static let seed: UInt64 = 0xB4C_2026_1204
    static let casesPerFamily = 60

    static func bound(_ function: OracleFunction) -> Double {
        function == .softmaxBackward ? 0.5 + 0x1p-8 + 0x1p-26 : 0.5 + 0x1p-8
    }

    @Test("accurate: every output within its stated bound, every family",
          arguments: [OracleFunction.softmaxBackward, .logSoftmaxBackward], [Format.f64, .f32])
    func accurateWithinStatedBound(function: OracleFunction, format: Format) throws {
        let oracle = Oracle(doubleWordTier: false)
        let kernel = FastSoftmaxImplementation(.accurate)
        let cases = RunConfiguration(seed: Self.seed, functions: [function], formats: [format], families: Family.allCases,
                                     casesPerFamily: Self.casesPerFamily).cases()
        var worst = 0.0
        for c in cases {
            let reference = try oracle.reference(for: c.request)
            let outputs = try kernel.evaluate(c.request)
            let v = try #require(Scoring.verdict(outputs: outputs, reference: reference, format: format))
            let where_ = "seed 0x\(String(Self.seed, radix: 16)), \(c.key)"
            #expect(v.specialMismatches == 0, "\(where_): special-value mismatch")
            #expect(v.signedZeroNotes == 0, "\(where_): a zero of the wrong sign")
            #expect(v.maxULP <= Self.bound(function), "\(where_): \(v.maxULP) ulp at element \(v.worstElement)")
            worst = max(worst, v.maxULP)
        }
        print("accurate \(function.rawValue) \(format.rawValue): \(cases.count) cases, largest error \(worst) ulp")
    }

    @Test("the textbook kernels miss the exact zeros of a constant grad_output")
    func textbookNoise() throws {
        // y ⊙ (dy − ⟨dy, y⟩) with a constant dy = c is 0 exactly; ⟨dy, y⟩ = c·Σy rounds away from c.
        let x: [Double] = [0x1.9e3e84ff2a8efp+18, 0x1.9e3ea5ddd45d8p+18, 0x1.9e3e6fe955022p+18]
        let dy = [Double](repeating: 0x1.d4e2aa4c50739p+8, count: x.count)
        #expect(try Kernels<Double>.softmaxBackward(x, gradOutput: dy) == [0, 0, 0])
        let shifted = try Kernels<Double>.softmaxBackward(x, gradOutput: dy, variant: .shifted)
        #expect(shifted.contains { $0 != 0 }, "shifted happened to be exact here: \(shifted)")
    }
}
