import SoftmaxOracle
import Testing

/// Fused gradient outputs that escalation alone never certified (`ExactZeroGradients`): exact
/// zeros by cancellation, values below MPFR's range whose sign decides the signed zero, and a
/// rounding midpoint minus e^(−gap). Every expected value is derived by hand in the comment next
/// to it; each case was "not certified" before.
@Suite("Linear cross-entropy: exact zeros and exact forms")
struct LinearExactZeroTests {
    static func evaluate(_ f: OracleFunction, _ m: LinearCrossEntropyInputs, format: Format = .f64,
                         reduction: Reduction = .mean, gradOutput: [Double]? = nil, tier: Bool) throws -> [Double] {
        var q = OracleRequest(function: f, format: format, reduction: reduction, gradOutput: gradOutput)
        q.linear = m
        return try Oracle(doubleWordTier: tier).evaluate(q).rounded
    }

    @Test("grad_hidden that cancels within one row is the exact +0", arguments: [true, false])
    func oneRow(tier: Bool) throws {
        // z = (1, 7), t = 0: grad_hidden[0] = (p0 − 1)·1 + p1·1 = 0 exactly;
        // grad_hidden[1] = p1·3 = 3/(1 + e^-6) = 2.99258...
        let m = LinearCrossEntropyInputs(hidden: [[1, 2]], weight: [[1, 0], [1, 3]], targets: [0])
        let got = try Self.evaluate(.linearCrossEntropyGradHidden, m, tier: tier)
        #expect(got[0] == 0 && got[0].sign == .plus)
        #expect(got[1] == 0x1.7f0cee669c42p+1)  // 3/(1 + e^-6), mpmath at 300 bits
    }

    @Test("grad_bias of two rows that are permutations of each other cancels exactly", arguments: [true, false])
    func permutedRows(tier: Bool) throws {
        // Row 0: z = (0, 1), t = 0; row 1: z = (1, 0), t = 1. With q = e/(1 + e):
        // grad_bias[0] = (p00 − 1) + p10 = −q + q = 0, grad_bias[1] = p01 + (p11 − 1) = q − q = 0.
        // Neither row's term is 0, and the rows' softmax vectors differ: only the expansion of
        // P = A_0·S_1 + A_1·S_0 in e^0, e^1, e^2 shows every coefficient 0.
        let m = LinearCrossEntropyInputs(hidden: [[1, 0], [0, 1]], weight: [[0, 1], [1, 0]], targets: [0, 1])
        let got = try Self.evaluate(.linearCrossEntropyGradBias, m, tier: tier)
        #expect(got.map(\.sign) == [.plus, .plus] && got == [0, 0])
    }

    @Test("grad_weight outputs of one class share its expansion; each weights it by its own h", arguments: [true, false])
    func sharedClassExpansion(tier: Bool) throws {
        // The rows of `permutedRows` (q = e/(1 + e)): G_0 = (−q, q), G_1 = (q, −q), so with
        // h_0 = (1, 1, 0), h_1 = (1, 2, 1) and the sum: grad_weight[0][k] = q·(h_1k − h_0k) =
        // (0, q, q), grad_weight[1][k] = −grad_weight[0][k]. k = 0 cancels between the two rows
        // (exact +0), k = 2 has row 0's h = 0 (a different set of live classes). W gives the
        // logits z_0 = W·h_0 = (0, 1), z_1 = W·h_1 = (1, 0).
        let m = LinearCrossEntropyInputs(hidden: [[1, 1, 0], [1, 2, 1]], weight: [[0, 0, 1], [1, 0, -1]], targets: [0, 1])
        let got = try Self.evaluate(.linearCrossEntropyGradWeight, m, reduction: .sum, gradOutput: [1], tier: tier)
        let q = 0x1.764d4f5d5a2bdp-1  // e/(1 + e), Python's decimal at 60 digits
        #expect(got == [0, q, q, 0, -q, -q])
        #expect(got[0].sign == .plus && got[3].sign == .plus)
    }

    @Test("a gradient below MPFR's range is a zero of the right sign", arguments: [Format.f64, .bf16])
    func signedZero(format: Format) throws {
        // z = (2^300, 2^299, −2^300), t = 0 (the arg-max): grad_hidden = Σ_{j≠0} p_j·(w_j − w_0)
        // = −p_1·2^299 − p_2·2^301 < 0, |·| < e^(−2^299): rounds to −0.
        let m = LinearCrossEntropyInputs(hidden: [[1]], weight: [[0x1p300], [0x1p299], [-0x1p300]], targets: [0])
        let got = try Self.evaluate(.linearCrossEntropyGradHidden, m, format: format, reduction: .sum, gradOutput: [1], tier: true)
        #expect(got == [0] && got[0].sign == .minus)
    }

    @Test("a rounding midpoint plus or minus e^(−gap) rounds by the sign of the tiny part")
    func midpointPlusTiny() throws {
        // h = (1, 0): z = W[·][0]; output 1 is Σ_j G_j·W[j][1] with t = 0, M = 1 (z = 2^70), third
        // class c: = m − p_t·m + p_c·(q − m), m = W[1][1] = 1 + 2^-24 (the binary32 midpoint of 1
        // and 1 + 2^-23), W[0][1] = 0, q = W[2][1] = 2. Both p_t and p_c are below MPFR's range
        // (e^(−2^70)), so the direct sum straddles m; the larger of p_t, p_c decides.
        // z_t = 0 > z_c = −2^70: m − p_t·m − ... < m, rounds to 1.
        let down = LinearCrossEntropyInputs(hidden: [[1, 0]], weight: [[0, 0], [0x1p70, 0x1.000001p0], [-0x1p70, 2]], targets: [0])
        #expect(try Self.evaluate(.linearCrossEntropyGradHidden, down, format: .f32, reduction: .sum, tier: true)
                == [0x1p70, 1])
        // z_t = −2^71 < z_c = 0: m + p_c·(q − m) − ... > m, rounds to 1 + 2^-23. Output 0 is
        // (p_t − 1)·(−2^71) + p_M·2^70 ≈ 2^71 + 2^70.
        let up = LinearCrossEntropyInputs(hidden: [[1, 0]], weight: [[-0x1p71, 0], [0x1p70, 0x1.000001p0], [0, 2]], targets: [0])
        #expect(try Self.evaluate(.linearCrossEntropyGradHidden, up, format: .f32, reduction: .sum, tier: true)
                == [0x1.8p71, 0x1.000002p0])
    }
}
