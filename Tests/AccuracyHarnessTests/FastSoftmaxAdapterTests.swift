import AccuracyHarness
import BuiltInImplementations
import FastSoftmax
import SoftmaxOracle
import Testing
@testable import AccuracyHarness

@Suite("FastSoftmax adapter")
struct FastSoftmaxAdapterTests {
    @Test("Support follows KernelEvaluator; names are the variants")
    func support() {
        let all = FastSoftmaxImplementation.all
        #expect(all.map(\.name) == KernelVariant.allCases.map(\.rawValue))
        let accurate = FastSoftmaxImplementation(.accurate)
        #expect(accurate.supports(.softmax, format: .f64) && accurate.supports(.crossEntropy, format: .f32))
        #expect(!accurate.supports(.softmax, format: .f16) && !accurate.supports(.crossEntropyLoss, format: .f64))
        #expect(FastSoftmaxImplementation(.mixed).supports(.softmax, format: .bf16))
        #expect(!FastSoftmaxImplementation(.mixed).supports(.softmax, format: .e5m2))
    }

    @Test("Requests map onto the kernels; declined fields are unsupported")
    func evaluate() throws {
        let story = OracleRequest(function: .crossEntropy, format: .f64, logits: [1000, 0, -1000], target: .index(1))
        let ce = try FastSoftmaxImplementation(.accurate).evaluate(story)
        #expect(ce.count == 1 && abs(ce[0] - 1000) <= 2 * (1000.0).ulp)
        var smoothed = story
        smoothed.labelSmoothing = 0.1
        let outcome = ImplementationOutcome.run(FastSoftmaxImplementation(.accurate), on: smoothed)
        #expect(outcome == .unsupported("label smoothing"))
        let bad = OracleRequest(function: .crossEntropy, format: .f64, logits: [1, 2], target: .index(5))
        if case .failed = ImplementationOutcome.run(FastSoftmaxImplementation(.shifted), on: bad) {} else {
            Issue.record("an invalid target should be an error")
        }
    }
}
