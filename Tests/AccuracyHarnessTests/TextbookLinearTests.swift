import AccuracyHarness
import BuiltInImplementations
import SoftmaxOracle
import Testing

/// The built-ins' textbook fused `linear_cross_entropy`: F.linear, then the variant's
/// cross_entropy per kept row, then PyTorch's reduction.
@Suite("Textbook linear cross-entropy")
struct TextbookLinearTests {
    /// H = I (2 × 2), W's columns the two rows: every logit is one exact product, so the fused
    /// loss must be the reduction of the variant's own cross_entropy of each row.
    @Test("an exact product gives the reduction of the row kernel's losses", arguments: [Reduction.none, .sum, .mean])
    func exactProduct(reduction: Reduction) throws {
        let rows: [[Double]] = [[0.5, -1.25, 3], [2, 0.75, -4]]
        let targets = [2, 0]
        let m = LinearCrossEntropyInputs(hidden: [[1, 0], [0, 1]], weight: (0..<3).map { j in [rows[0][j], rows[1][j]] },
                                         targets: targets)
        var q = OracleRequest(function: .linearCrossEntropy, format: .f64, reduction: reduction)
        q.linear = m
        for impl in FastSoftmaxImplementation.all where impl.supports(.linearCrossEntropy, format: .f64) {
            let per = try (0..<2).map { i in
                try impl.evaluate(OracleRequest(function: .crossEntropy, format: .f64, logits: rows[i], target: .index(targets[i])))[0]
            }
            let want: [Double] = switch reduction {
            case .none: per
            case .sum: [per[0] + per[1]]
            case .mean: [(per[0] + per[1]) / 2]
            }
            #expect(try impl.evaluate(q) == want, "\(impl.name)")
        }
    }

    /// The same exact product: the bias gradient is Σ_i g·r_i (r_i the row kernel's
    /// cross_entropy_grad), the weight gradient's column i is g·r_i (H = I), the hidden
    /// gradient's row i is g·Σ_j r_ij·W_j.
    @Test("the gradients of an exact product are the row kernel's gradients, summed by the chain rule")
    func exactProductGradients() throws {
        let rows: [[Double]] = [[0.5, -1.25, 3], [2, 0.75, -4]]
        let weight = (0..<3).map { j in [rows[0][j], rows[1][j]] }
        let m = LinearCrossEntropyInputs(hidden: [[1, 0], [0, 1]], weight: weight, targets: [2, 0])
        let impl = FastSoftmaxImplementation(.accurate)
        let r = try (0..<2).map { i in
            try impl.evaluate(OracleRequest(function: .crossEntropyGrad, format: .f64, logits: rows[i], target: .index(m.targets[i])))
        }
        func grad(_ function: OracleFunction) throws -> [Double] {
            var q = OracleRequest(function: function, format: .f64, reduction: .sum, gradOutput: [0.5])
            q.linear = m
            return try impl.evaluate(q)
        }
        #expect(try grad(.linearCrossEntropyGradBias) == (0..<3).map { j in 0.5 * r[0][j] + 0.5 * r[1][j] })
        #expect(try grad(.linearCrossEntropyGradWeight) == (0..<3).flatMap { j in [0.5 * r[0][j], 0.5 * r[1][j]] })
        #expect(try grad(.linearCrossEntropyGradHidden) == (0..<2).flatMap { i in
            (0..<2).map { k in (0..<3).reduce(0.0) { $0 + 0.5 * r[i][$1] * weight[$1][k] } }
        })
    }

    @Test("every row ignored: mean is NaN (0/0), none gives zeros, as PyTorch")
    func allIgnored() throws {
        var q = OracleRequest(function: .linearCrossEntropy, format: .f32)
        q.linear = LinearCrossEntropyInputs(hidden: [[1, 2]], weight: [[1, 0], [0, 1]], targets: [-100])
        let impl = FastSoftmaxImplementation(.accurate)
        #expect(try impl.evaluate(q)[0].isNaN)
        q.reduction = .none
        #expect(try impl.evaluate(q) == [0])
    }
}
