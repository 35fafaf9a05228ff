import Testing
import FastSoftmax

/// The certified binary64 values of docs/reference-values.md (Arb ball arithmetic, correctly
/// rounded). Each is within 1/2 ulp of the exact value, so a result meeting the accurate
/// variant's bound (at most 0.5 + 2^-4.3 ulp) is within 1 ulp of it (`boundAgainstRounded`).
@Suite("Certified reference values (accurate, f64)")
struct ReferenceValueTests {
    func expectClose(_ got: [Double], _ want: [Double], _ note: Comment? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.count == want.count, note, sourceLocation: sourceLocation)
        for (g, w) in zip(got, want) {
            #expect(ulpError(g, w) <= boundAgainstRounded, "\(g) vs certified \(w)", sourceLocation: sourceLocation)
        }
    }

    @Test func logsumexpValues() {
        expectClose([Kernels<Double>.logsumexp([0, -40])], [4.248354255291589e-18])
        expectClose([Kernels<Double>.logsumexp([1000, 1000])], [1000.6931471805599])
        expectClose([Kernels<Double>.logsumexp([Double](repeating: 10000, count: 1000))], [10006.907755278982])
    }

    @Test func softmaxValues() {
        expectClose(Kernels<Double>.softmax([0, 1, 2, 3]),
                    [0.03205860328008499, 0.08714431874203257, 0.23688281808991013, 0.6439142598879724])
        expectClose(Kernels<Double>.softmax([-25, 0, 25, 50]),
                    [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771146e-11, 0.9999999999861121])
        expectClose(Kernels<Double>.softmax([1, 325, 749, 750]),
                    [0.0, 1.9444526359919375e-185, 0.2689414213699951, 0.7310585786300049])
        expectClose(Kernels<Double>.softmax([1000, 0, 0, 0]), [1, 0, 0, 0])
    }

    @Test func logSoftmaxValues() {
        let a = Kernels<Double>.logSoftmax([1000, 1])
        #expect(a == [-0.0, -999.0])
        #expect(a[0].sign == .minus, "log_softmax at the max is -e^-999 ≈ -1e-434, which rounds to -0")
        expectClose(Kernels<Double>.logSoftmax([0, 1, 2, 3]),
                    [-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533])
    }

    /// The brief's subnormal-scale case: the first entry is -log1p(e^-700 + e^-745.5 + e^-800).
    @Test func logSoftmaxTinyAtTheMax() {
        let y = Kernels<Double>.logSoftmax([0, -700, -745.5, -800])
        expectClose(y, [-9.85967654375977e-305, -700.0, -745.5, -800.0])
        #expect(ulpError(y[0], -9.85967654375977e-305) <= boundAgainstRounded)
    }

    @Test func crossEntropyValues() throws {
        expectClose([try Kernels<Double>.crossEntropy([1.2, -0.8, -0.5], target: 0)], [0.27612970554553756])
        expectClose([try Kernels<Double>.crossEntropy([0.9, -1.2, 1.1], target: 1)], [2.951798795854425])
        expectClose([try Kernels<Double>.crossEntropy([1, 2, 3], probabilities: [0.25, 0.25, 0.5])],
                    [1.1576059644443804])
        // The story that started the project.
        #expect(try Kernels<Double>.crossEntropy([1000, 0, -1000], target: 1) == 1000)
        #expect(try Kernels<Double>.crossEntropy([1000, 0, -1000], target: 0) == 0)
    }

    /// CE([30, 0], 0) = log1p(e^-30): the target is the arg-max, so the loss is L itself.
    @Test func tinyLoss() throws {
        let certified = 9.357622968839737e-14
        let accurate = try Kernels<Double>.crossEntropy([30, 0], target: 0)
        #expect(ulpError(accurate, certified) <= boundAgainstRounded)
        // The textbook shift computes log(1 + 9.4e-14) from a rounded sum and loses ~3 digits.
        let shifted = try Kernels<Double>.crossEntropy([30, 0], target: 0, variant: .shifted)
        #expect(ulpError(shifted, certified) > 1000)
    }

    @Test func gradientValues() throws {
        expectClose(try Kernels<Double>.crossEntropyGrad([30, 0], target: 0),
                    [-9.357622968839299e-14, 9.357622968839299e-14])
    }

    @Test func bceValues() throws {
        expectClose(try Kernels<Double>.bceWithLogits([2, -3], labels: [1, 0.3], posWeight: 2),
                    [0.253856022085945, 1.8631635570458647])
    }

    /// The seed case across variants: only -log(softmax) overflows.
    @Test func seedCaseAcrossVariants() throws {
        let x: [Double] = [1000, 0, -1000]
        #expect(try Kernels<Double>.crossEntropy(x, target: 1, variant: .naive) == .infinity)
        #expect(try Kernels<Double>.crossEntropy(x, target: 1, variant: .accurate) == 1000)
        #expect(try Kernels<Double>.crossEntropy(x, target: 1, variant: .shifted) == 1000)
        #expect(try Kernels<Double>.crossEntropy(x, target: 1, variant: .online) == 1000)
        #expect(try Kernels<Float>.crossEntropy([1000, 0, -1000], target: 1, variant: .accurate) == 1000)
    }
}
