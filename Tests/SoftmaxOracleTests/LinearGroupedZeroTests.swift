import SoftmaxOracle
import Testing

/// Fused gradient outputs that are exactly 0 under soft-capping or z-loss (`GroupedZeroGradients`).
/// Each zero case ended "not certified" at the 65 536-bit cap before: the direct sum's enclosure
/// straddles 0 at every precision. Expected values are derived in the comments; the nonzero
/// neighbours come from mpmath at 400 bits (φ(z) = c·tanh(z/c), φ' = 1 − tanh²(z/c), the
/// z-loss gradient 2ζ·lse·p_c, all chained by φ'), rounded to nearest binary64.
@Suite("Linear cross-entropy: exact zeros under soft-capping and z-loss")
struct LinearGroupedZeroTests {
    static func evaluate(_ f: OracleFunction, _ m: LinearCrossEntropyInputs, softcap: Double? = nil, zLoss: Double = 0,
                         labelSmoothing: Double = 0, tier: Bool) throws -> [Double] {
        var q = OracleRequest(function: f, format: .f64, reduction: .mean)
        q.linear = m
        q.softcap = softcap
        q.zLoss = zLoss
        q.labelSmoothing = labelSmoothing
        return try Oracle(doubleWordTier: tier).evaluate(q).rounded
    }

    /// h = ((1, 2), (0.5, −1)), every weight row (1, 1): each row's logits are equal (3 and −0.5),
    /// so p = 1/3 in every class.
    static let tied = LinearCrossEntropyInputs(hidden: [[1, 2], [0.5, -1]], weight: [[1, 1], [1, 1], [1, 1]], targets: [0, 2])

    @Test("a tied weight matrix gives grad_hidden = +0 under softcap", arguments: [true, false])
    func tiedWeightsHidden(tier: Bool) throws {
        // Σ_c G_c·w_ck = φ'·(σ/D)·w·Σ_c (1/3 − [c = t]) = 0 in every row and column.
        let got = try Self.evaluate(.linearCrossEntropyGradHidden, Self.tied, softcap: 3, tier: tier)
        #expect(got == [0, 0, 0, 0] && got.allSatisfy { $0.sign == .plus })
    }

    @Test("grad_bias under softcap: 0 with uniform targets, mpmath's values with hard ones", arguments: [true, false])
    func tiedWeightsBias(tier: Bool) throws {
        // label_smoothing 1: r̃_c = 1/3, R̃ = 1, so G_nv = φ'_n·σ·(1/3 − 1/3) = 0 for every row.
        let zero = try Self.evaluate(.linearCrossEntropyGradBias, Self.tied, softcap: 3, labelSmoothing: 1, tier: tier)
        #expect(zero == [0, 0, 0] && zero.allSatisfy { $0.sign == .plus })
        let weight = try Self.evaluate(.linearCrossEntropyGradWeight, Self.tied, softcap: 3, labelSmoothing: 1, tier: tier)
        #expect(weight == [0, 0, 0, 0, 0, 0] && weight.allSatisfy { $0.sign == .plus })
        // Hard targets: grad_bias[v] = Σ_n (1/2)·φ'(z_n)·(1/3 − [v = t_n]), z = (3, −0.5): nonzero,
        // not claimed 0 (the condition fails in both rows).
        let hard = try Self.evaluate(.linearCrossEntropyGradBias, Self.tied, softcap: 3, tier: tier)
        #expect(hard == [0x1.6a93eb8c640cdp-6, 0x1.db603e6b1d45ep-3, -0x1.04595dee54e3cp-2])
    }

    /// h = (1, 0): the logits are W's first column (1, 1, 2, 2): two groups of two classes. In
    /// column 1 each group's weights cancel (5 − 5, 3 − 3): Γ_g = 0, and with label_smoothing 1
    /// Q_g = Γ_g/4 = 0.
    static let twoGroups = LinearCrossEntropyInputs(hidden: [[1, 0]], weight: [[1, 5], [1, -5], [2, 3], [2, -3]], targets: [0])

    @Test("groups whose weights cancel give grad_hidden = +0 under softcap, z-loss or both",
          arguments: [(3.0, 0.0, 0x1.43f8d24f482efp-4), (3.0, 0.125, 0x1.d4e084544e0fcp-1), (nil, 0.125, 0x1.88396994d74cfp+0)]
                     as [(Double?, Double, Double)])
    func cancellingGroups(softcap: Double?, zLoss: Double, column0: Double) throws {
        // Column 0 (w = 1, 1, 2, 2) does not cancel: Σ_g φ'_g·[(p_g − 1/4) + 2ζ·lse·p_g]·n_g·w_g,
        // mpmath. Column 1: every group's Γ_g and Q_g are 0, so both parts vanish: exact +0.
        for tier in [true, false] {
            let got = try Self.evaluate(.linearCrossEntropyGradHidden, Self.twoGroups, softcap: softcap, zLoss: zLoss,
                                        labelSmoothing: 1, tier: tier)
            #expect(got[0] == column0)
            #expect(got[1] == 0 && got[1].sign == .plus)
        }
    }
}
