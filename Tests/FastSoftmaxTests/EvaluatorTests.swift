import Testing
import FastSoftmax

@Suite("Type-erased evaluator")
struct EvaluatorTests {
    @Test func runsEveryFunctionInEveryVariantAndFormat() throws {
        let x: [Double] = [0.5, -1, 2, -0.25]
        for variant in KernelVariant.allCases {
            for format in KernelEvaluator.formats where KernelEvaluator.supports(variant: variant, format: format) {
                for function in KernelFunction.allCases {
                    var target: Int? = nil, probabilities: [Double]? = nil, labels: [Double]? = nil
                    var gradOutput: [Double]? = nil
                    switch function {
                    case .crossEntropy: target = 2
                    case .crossEntropyGrad: probabilities = [0.25, 0.25, 0.25, 0.25]
                    case .bceWithLogits: labels = [1, 0, 0.5, 1]
                    case .softmaxBackward, .logSoftmaxBackward: gradOutput = [1, -2, 0.5, 0]
                    default: break
                    }
                    let y = try KernelEvaluator.evaluate(function: function.rawValue, variant: variant, format: format,
                                                         logits: x, target: target, probabilities: probabilities,
                                                         labels: labels, posWeight: 2, gradOutput: gradOutput)
                    let scalar = function == .logsumexp || function == .crossEntropy
                    #expect(y.count == (scalar ? 1 : x.count), "\(function) \(variant) \(format)")
                    #expect(y.allSatisfy { $0.isFinite }, "\(function) \(variant) \(format): \(y)")
                    // Outputs are values of the format.
                    if format == "f32" { #expect(y.allSatisfy { Double(Float($0)) == $0 }) }
                    if format == "bf16" { #expect(y.allSatisfy { Double(BFloat16($0).floatValue) == $0 }) }
                }
            }
        }
    }

    @Test func f32MatchesTheGenericAPI() throws {
        let x: [Double] = [3, 1, -2]
        let y = try KernelEvaluator.evaluate(function: "log_softmax", variant: .accurate, format: "f32", logits: x)
        #expect(y == Kernels<Float>.logSoftmax([3, 1, -2]).map { Double($0) })
        let ce = try KernelEvaluator.evaluate(function: "cross_entropy", variant: .accurate, format: "f64",
                                              logits: [1000, 0, -1000], target: 1)
        #expect(ce == [1000])
        let naive = try KernelEvaluator.evaluate(function: "cross_entropy", variant: .naive, format: "f64",
                                                 logits: [1000, 0, -1000], target: 1)
        #expect(naive == [.infinity])
    }

    @Test func errorsNameTheFieldAndValue() {
        func error(_ body: () throws -> [Double]) -> KernelError? {
            do { _ = try body() } catch let e as KernelError { return e } catch { return nil }
            return nil
        }
        let e1 = error { try KernelEvaluator.evaluate(function: "softmaxx", variant: .accurate, format: "f64", logits: [1]) }
        #expect(e1 == .unknownFunction("softmaxx"))
        #expect(e1?.description.contains("softmaxx") == true)
        #expect(error { try KernelEvaluator.evaluate(function: "softmax", variant: .accurate, format: "f8", logits: [1]) }
                == .unknownFormat("f8"))
        #expect(error { try KernelEvaluator.evaluate(function: "softmax", variant: .mixed, format: "f64", logits: [1]) }
                == .unsupported(variant: .mixed, format: "f64"))
        #expect(error { try KernelEvaluator.evaluate(function: "softmax", variant: .accurate, format: "bf16", logits: [1]) }
                == .unsupported(variant: .accurate, format: "bf16"))
        #expect(error { try KernelEvaluator.evaluate(function: "softmax", variant: .naive, format: "f16", logits: [1]) }
                == .unsupported(variant: .naive, format: "f16"))
        let range = error {
            try KernelEvaluator.evaluate(function: "cross_entropy", variant: .accurate, format: "f64", logits: [1, 2], target: 2)
        }
        #expect(range == .targetOutOfRange(target: 2, count: 2))
        #expect(range?.description.contains("target 2") == true)
        #expect(error { try KernelEvaluator.evaluate(function: "cross_entropy_grad", variant: .shifted, format: "f32",
                                                     logits: [], target: 0) }
                == .emptyRow(function: "cross_entropy_grad"))
        #expect(error { try KernelEvaluator.evaluate(function: "cross_entropy", variant: .accurate, format: "f64", logits: [1]) }
                == .missingField(field: "target or probabilities", function: "cross_entropy"))
        #expect(error { try KernelEvaluator.evaluate(function: "cross_entropy", variant: .accurate, format: "f64",
                                                     logits: [1, 2], probabilities: [1]) }
                == .lengthMismatch(field: "probabilities", expected: 2, actual: 1))
        #expect(error { try KernelEvaluator.evaluate(function: "bce_with_logits", variant: .accurate, format: "f64",
                                                     logits: [1, 2]) }
                == .missingField(field: "labels", function: "bce_with_logits"))
        #expect(error { try KernelEvaluator.evaluate(function: "bce_with_logits", variant: .accurate, format: "f64",
                                                     logits: [1, 2], labels: [1, 0], posWeights: [1, 2, 3]) }
                == .lengthMismatch(field: "posWeight", expected: 2, actual: 3))
    }

    @Test func emptyRows() throws {
        #expect(try KernelEvaluator.evaluate(function: "logsumexp", variant: .accurate, format: "f64", logits: [])
                == [-.infinity])
        #expect(try KernelEvaluator.evaluate(function: "softmax", variant: .shifted, format: "f32", logits: []).isEmpty)
    }
}
