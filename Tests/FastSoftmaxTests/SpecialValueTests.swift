import Testing
import FastSoftmax

/// The special values of docs/semantics.md: NaN anywhere → all NaN; -inf contributes 0; all -inf →
/// logsumexp -inf, others NaN; any +inf → logsumexp +inf, others NaN. Every variant but
/// `naive` follows them, in both formats.
@Suite("Special values")
struct SpecialValueTests {
    static let variants: [KernelVariant] = [.shifted, .online, .accurate]

    func rowOutputs<T: KernelScalar>(_ x: [T], _ variant: KernelVariant) throws -> [String: [T]] {
        let k = x.count
        var p = [T](repeating: 0, count: k)
        p[0] = 1
        return [
            "softmax": Kernels<T>.softmax(x, variant: variant),
            "log_softmax": Kernels<T>.logSoftmax(x, variant: variant),
            "cross_entropy(t)": [try Kernels<T>.crossEntropy(x, target: k - 1, variant: variant)],
            "cross_entropy(p)": [try Kernels<T>.crossEntropy(x, probabilities: p, variant: variant)],
            "grad(t)": try Kernels<T>.crossEntropyGrad(x, target: 0, variant: variant),
            "grad(p)": try Kernels<T>.crossEntropyGrad(x, probabilities: p, variant: variant),
        ]
    }

    func check<T: KernelScalar>(_: T.Type) throws {
        for variant in Self.variants {
            for x: [T] in [[.nan, 1, 2], [1, .nan, .infinity], [-.infinity, .nan], [.nan]] {
                #expect(Kernels<T>.logsumexp(x, variant: variant).isNaN, "\(variant) \(x)")
                for (name, out) in try rowOutputs(x, variant) {
                    #expect(out.allSatisfy { $0.isNaN }, "\(variant) \(name) \(x) → \(out)")
                }
            }
            for x: [T] in [[.infinity, 1, 2], [0, .infinity, .infinity], [-.infinity, .infinity]] {
                #expect(Kernels<T>.logsumexp(x, variant: variant) == .infinity, "\(variant) \(x)")
                for (name, out) in try rowOutputs(x, variant) {
                    #expect(out.allSatisfy { $0.isNaN }, "\(variant) \(name) \(x) → \(out)")
                }
            }
            for x: [T] in [[-.infinity], [-.infinity, -.infinity, -.infinity]] {
                #expect(Kernels<T>.logsumexp(x, variant: variant) == -.infinity, "\(variant) \(x)")
                for (name, out) in try rowOutputs(x, variant) {
                    #expect(out.allSatisfy { $0.isNaN }, "\(variant) \(name) \(x) → \(out)")
                }
            }
            // -inf contributes exactly 0.
            let x: [T] = [0, -.infinity, 0]
            #expect(Kernels<T>.softmax(x, variant: variant) == [0.5, 0, 0.5], "\(variant)")
            let ls = Kernels<T>.logSoftmax(x, variant: variant)
            #expect(ls[1] == -.infinity && ls[0] == ls[2] && ls[0] == -T.log(2), "\(variant) \(ls)")
            #expect(Kernels<T>.logsumexp([0, -.infinity], variant: variant) == 0, "\(variant)")
            #expect(try Kernels<T>.crossEntropy(x, target: 1, variant: variant) == .infinity, "\(variant)")
            // 0·(-inf) = 0 with probability targets.
            #expect(try Kernels<T>.crossEntropy([0, -.infinity], probabilities: [1, 0], variant: variant) == 0,
                    "\(variant)")
            #expect(try Kernels<T>.crossEntropyGrad(x, target: 1, variant: variant) == [0.5, -1, 0.5], "\(variant)")
            // K = 0.
            #expect(Kernels<T>.logsumexp([], variant: variant) == -.infinity)
            #expect(Kernels<T>.softmax([], variant: variant).isEmpty)
        }
    }

    @Test func double() throws { try check(Double.self) }
    @Test func float() throws { try check(Float.self) }

    @Test func lossesRejectBadArguments() {
        #expect(throws: KernelError.emptyRow(function: "cross_entropy")) {
            try Kernels<Double>.crossEntropy([], target: 0)
        }
        #expect(throws: KernelError.targetOutOfRange(target: 3, count: 3)) {
            try Kernels<Double>.crossEntropy([1, 2, 3], target: 3)
        }
        #expect(throws: KernelError.targetOutOfRange(target: -1, count: 2)) {
            try Kernels<Double>.crossEntropyGrad([1, 2], target: -1)
        }
        #expect(throws: KernelError.lengthMismatch(field: "probabilities", expected: 2, actual: 3)) {
            try Kernels<Double>.crossEntropy([1, 2], probabilities: [0.2, 0.3, 0.5])
        }
    }

    /// Zeros keep the sign of the exact value: log_softmax at the max is -L, which is -0 when
    /// L > 0 underflows (even below the extended range: e^-5e16), and +0 when L = 0 exactly
    /// (no other finite logit); the gradient at the target likewise.
    @Test func signedZeros() throws {
        let ls = Kernels<Float>.logSoftmax([-3.032963e16, 2.1440880e16])
        #expect(ls[1] == 0 && ls[1].sign == .minus, "\(ls)")
        let g = try Kernels<Float>.crossEntropyGrad([-3.032963e16, 2.1440880e16], target: 1)
        #expect(g[1] == 0 && g[1].sign == .minus && g[0] == 0 && g[0].sign == .plus, "\(g)")
        for x: [Double] in [[3.5], [2, -.infinity]] {
            let y = Kernels<Double>.logSoftmax(x)
            #expect(y[0] == 0 && y[0].sign == .plus, "\(x) → \(y)")
            let gz = try Kernels<Double>.crossEntropyGrad(x, target: 0)
            #expect(gz[0] == 0 && gz[0].sign == .plus, "\(x) → \(gz)")
        }
    }

    /// logsumexp of a row whose only finite logit is -0 is log(e^0) = log 1, an exact zero: +0
    /// (docs/semantics.md), not the logit's -0 (the report's single_logit family found it).
    @Test func logsumexpOfNegativeZeroIsPositiveZero() {
        for variant in Self.variants {
            for x: [Double] in [[-0.0], [-0.0, -.infinity]] {
                let y = Kernels<Double>.logsumexp(x, variant: variant)
                #expect(y == 0 && y.sign == .plus, "\(variant) \(x) → \(y)")
                let z = Kernels<Float>.logsumexp(x.map { Float($0) }, variant: variant)
                #expect(z == 0 && z.sign == .plus, "\(variant) \(x) → \(z)")
            }
        }
    }

    /// The naive variant keeps its failure modes (that is its point).
    @Test func naiveFailureModes() throws {
        #expect(Kernels<Double>.softmax([1000, 0], variant: .naive)[0].isNaN)   // inf/inf
        #expect(Kernels<Double>.logsumexp([1000, 0], variant: .naive) == .infinity)
        #expect(Kernels<Float>.logsumexp([100, 0], variant: .naive) == .infinity)
        #expect(try Kernels<Double>.crossEntropy([0, -800], target: 1, variant: .naive) == .infinity)
    }
}
