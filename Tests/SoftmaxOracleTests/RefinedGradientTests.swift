@testable import SoftmaxOracle
import Testing

/// cross_entropy_grad with probability targets where q_c = softmax_c·P lies within about
/// 2^-50 of p_c, so grad_c = q_c − p_c cancels far beyond the double-word enclosure's 2^-99
/// (RefinedProbabilityGradient.swift): the tier must answer the row (recomputing only those
/// outputs in MPFR), with the MPFR path's values (`TierCoverageAgreementTests.compare`: rounded
/// values bit for bit, exact values within 2^-39 ulps). Before, such a row went wholly to the MPFR
/// path (the harness's exp_underflow and softcap_saturation cells at K = 10^5).
@Suite("Double-word tier: refined cancelling gradient outputs = MPFR path")
struct RefinedGradientTests {
    /// −ln 3 rounded to binary64: with x = [0, d], softmax_0 = 1/(1 + e^d) = 3/4 (1 + O(2^-54)).
    static let minusLn3 = -0x1.193ea7aad030bp+0

    @Test("plain rows: q_0 = 3/4 + O(2^-54) against p_0 = 3/4; terms below the cut; −inf")
    func plainRows() throws {
        let rows: [([Double], [Double])] = [
            ([0, Self.minusLn3], [0.75, 0.25]),
            // e^-500 and e^-100000 lie below the cut D (about −98 at 128 bits, −275 at 384):
            // bounded, not computed; they move q_0 by 2^-720, far below the cancellation.
            ([0, Self.minusLn3, -500, -100_000, -.infinity], [0.75, 0.25, 0, 0, 0]),
            // Shifted: the same row at the maximum 700 (x_j − m exact).
            ([700, 700 + Self.minusLn3, 1], [0.75, 0.25, 0]),
        ]
        for (x, p) in rows {
            for format in Format.allCases {
                var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
                q.target = .probabilities(p)
                try LossTierCoverageTests.expectTier(q, "x \(x), p \(p), \(format)")
            }
        }
    }

    @Test("softcap c = 1 and 5: z_1 = c·tanh(x_1/c) = ln 0.6 + O(2^-53), so q_0 = 5/8 + tiny against p_0 = 5/8")
    func softcapRows() throws {
        for (c, x1) in [(1.0, -0x1.20b0751dd6906p-1), (5.0, -0x1.06755baf75b6cp-1)] {
            for format in Format.allCases {
                var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: [0, x1, -3])
                q.target = .probabilities([0.625, 0.375, 0])
                q.softcap = c
                try LossTierCoverageTests.expectTier(q, "softcap \(c), \(format)")
            }
        }
    }

    @Test("an exact zero (x = [0, 0], p = [1/2, 1/2]) stays with the MPFR path, which decides it")
    func exactZero() throws {
        for format in [Format.f64, .f32] {
            var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: [0, 0])
            q.target = .probabilities([0.5, 0.5])
            _ = try TierCoverageAgreementTests.compare(q, "exact zero, \(format)")
        }
    }

    @Test("cross_entropy_loss with softcap alone: hard targets, class weights, an ignored row, a NaN row")
    func softcapBatchLoss() throws {
        let rows: [[Double]] = [[3, -1, 0.5, 40], [-0x1.20b0751dd6906p-1, 2, 2, -7], [0.25, 1e3, -1e3, 0], [1, .nan, 0, 2]]
        // c = 30 in f64 stays with the MPFR path (|d_j| up to 2c times d's 2^-99 leaves e^(d_j)
        // too loose for binary64): there only agreement is checked.
        for c in [1.0, 0.3, 30] {
            for format in Format.allCases {
                for reduction in Reduction.allCases {
                    for (n, batch) in [Array(rows.prefix(3)), rows].enumerated() {
                        var q = OracleRequest(function: .crossEntropyLoss, format: format, logits: [])
                        q.batch = batch
                        q.softcap = c
                        q.reduction = reduction
                        q.batchTargets = .indices([0, 3, q.ignoreIndex, 1].prefix(batch.count).map { $0 })
                        let answered = c < 30 || format != .f64
                        for weight in [nil, [0.5, 2, 0, 1.25]] {
                            q.weight = weight
                            let note = "softcap \(c), weights \(weight.map(\.description) ?? "none"), \(format), \(reduction), batch \(n)"
                            if answered {
                                try LossTierCoverageTests.expectTier(q, note)
                            } else {
                                _ = try TierCoverageAgreementTests.compare(q, note)
                            }
                        }
                    }
                }
            }
        }
    }
}
