import MPFR
@testable import SoftmaxOracle
import Testing

/// MidpointForms.swift: a rounding midpoint moved by a tiny term is decided by the term's sign at
/// the first working precision (64 bits for the 8-bit formats), where the plain enclosures
/// escalated to thousands of bits or ended `notCertified`. Expected values from the math alone
/// (each case says which side of the midpoint the exact value lies on and why).
@Suite("MPFR path: midpoints moved by a tiny term")
struct MidpointFormTests {
    static let mpfrOnly = Oracle(doubleWordTier: false)

    /// Checks `q` on the MPFR path (certified at 64 bits, no escalation) and with the tier first
    /// (which declines these rows or answers the same values).
    static func expectFirstPrecision(_ q: OracleRequest, _ want: [Double], _ name: String) throws {
        let r = try mpfrOnly.evaluate(q)
        #expect(r.precision == 64 && r.escalations == 0, "\(name): certified at \(r.precision) bits after \(r.escalations) escalations")
        expectBits(r.rounded, want, "\(name)")
        expectBits(try rounded(q), want, "\(name), tier first")
    }

    @Test("softmax e4m3fn of [2^-1074, 0 × 1023] and [−2^-1074, 0 × 1023]: 1/S and e^(∓δ)/S on either side of 2^-10, the midpoint between 0 and 2^-9")
    func softmaxNearTie() throws {
        // δ = 2^-1074, n = 1024. Max δ: S = 1 + 1023·e^(−δ) < 1024, so 1/S > 2^-10 → 2^-9; a zero's
        // e^(−δ)/S < 2^-10 since 1024·e^(−δ) − S = e^(−δ) − 1 < 0 → 0.
        let delta = 0x1p-1074
        let up = [delta] + [Double](repeating: 0, count: 1023)
        try Self.expectFirstPrecision(OracleRequest(function: .softmax, format: .e4m3fn, logits: up),
                                      [0x1p-9] + [Double](repeating: 0, count: 1023), "max δ")
        // Max 0 (1023 zeros): S = 1023 + e^(−δ) < 1024, so each zero's 1/S > 2^-10 → 2^-9; −δ's
        // e^(−δ)/S < 2^-10 since 1024·e^(−δ) − S = 1023·(e^(−δ) − 1) < 0 → 0.
        let down = [-delta] + [Double](repeating: 0, count: 1023)
        try Self.expectFirstPrecision(OracleRequest(function: .softmax, format: .e4m3fn, logits: down),
                                      [0] + [Double](repeating: 0x1p-9, count: 1023), "max 0")
    }

    @Test("the review's row: softmax e5m2 of [2^-1074, 0 × 131071], each output within 2^-1091 of 2^-17 (the midpoint between 0 and 2^-16): the first precision")
    func softmaxReviewRow() throws {
        // As above with n = 2^17: 1/S > 2^-17 → 2^-16, e^(−δ)/S < 2^-17 → 0.
        let x = [0x1p-1074] + [Double](repeating: 0, count: 131_071)
        try Self.expectFirstPrecision(OracleRequest(function: .softmax, format: .e5m2, logits: x),
                                      [0x1p-16] + [Double](repeating: 0, count: 131_071), "review row")
    }

    @Test("cross_entropy_grad e4m3fn, probability targets on midpoints, logits 2000 to 1e300 below the maximum: −p_c + e_c·P/S rounds toward 0 (was up to 4096 bits, or notCertified)")
    func gradientNearMidpoint() throws {
        // e4m3fn has 4 bits: 1.3125 lies midway between 1.25 and 1.375, 0.53125 between 0.5 and
        // 0.5625, 0.65625 between 0.625 and 0.6875. For c > 0, grad_c = −p_c + e^(x_c)·P/S with
        // 0 < e^(x_c)·P/S < e^-2000·3: just above the midpoint −p_c, hence the neighbour toward 0.
        // grad_0 = P/S − p_0 = 3/S − 0.5 ∈ (2.5 − 3e^-2000, 2.5): 2.5 (its neighbours 2.25 and
        // 2.75 are a quarter away).
        let x = [0, -3000, -2000.5, -1e300]
        let p = [0.5, 1.3125, 0.53125, 0.65625]
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .e4m3fn, logits: x, target: .probabilities(p)),
                                      [2.5, -1.25, -0.5, -0.625], "probabilities")
        // Label smoothing 0.5 with class weights 2: r_c = 2·(0.5·p_c + 0.5/4) = p_c + 0.25, D = 4
        // (r̃_c = 4·p_c + 1): the same r_c = (0.75, 1.3125, 0.53125, 0.65625), R = 3.25, grad_0 =
        // 3.25/S − 0.75 just below 2.5.
        let q = OracleRequest(function: .crossEntropyGrad, format: .e4m3fn, logits: x, target: .probabilities([0.5, 1.0625, 0.28125, 0.40625]),
                              labelSmoothing: 0.5, weight: [2, 2, 2, 2])
        try Self.expectFirstPrecision(q, [2.5, -1.25, -0.5, -0.625], "smoothing and weights")
    }

    @Test("cross_entropy_grad e4m3fn with temperature 2 (the loss-options path): the same midpoints halved, decided at the first precision")
    func gradientWithOptionsNearMidpoint() throws {
        // grad = (softmax(x/2) − p)/2 on x/2 = (0, −1500, −1000.25, −5e299): −p_c/2 = −0.65625,
        // −0.265625, −0.328125 lie midway between e4m3fn neighbours (0.625 | 0.6875, 0.25 | 0.28125,
        // 0.3125 | 0.34375), moved toward 0 by e_c·P/(2S) > 0; grad_0 = (3/S − 0.5)/2 just below
        // 1.25 (neighbours 1.125 and 1.375): 1.25.
        let q = OracleRequest(function: .crossEntropyGrad, format: .e4m3fn, logits: [0, -3000, -2000.5, -1e300],
                              target: .probabilities([0.5, 1.3125, 0.53125, 0.65625]), temperature: 2)
        try Self.expectFirstPrecision(q, [1.25, -0.625, -0.25, -0.3125], "temperature 2")
    }

    @Test("cross_entropy_grad e5m2 with z_loss 0.5 and logsumexp ≈ −3000: −r_1 = −0.5625 (midway between −0.5 and −0.625) moved away from 0 by the z-loss term, which outweighs q_1")
    func gradientZLossNearMidpoint() throws {
        // x = (−3000, −10^10), p = (0.5, 0.5625): R = 1.0625, s_1 = e^(x_1 − x_0)/S > 0 tiny, and
        // lse = −3000 + log(1 + e^(x_1 − x_0)). grad_1 = s_1·R − 0.5625 + 2·0.5·lse·s_1 =
        // −0.5625 + s_1·(R + lse), R + lse < 0: just below −0.5625, so −0.625. grad_0 =
        // s_0·(R + lse) − 0.5 ≈ −2999.44 (e5m2 neighbours −2560 and −3072): −3072.
        let q = OracleRequest(function: .crossEntropyGrad, format: .e5m2, logits: [-3000, -1e10],
                              target: .probabilities([0.5, 0.5625]), zLoss: 0.5)
        try Self.expectFirstPrecision(q, [-3072, -0.625], "z-loss")
    }

    @Test("cross_entropy_grad f32 with z_loss 2^-13, target 0, x_1 − x_0 ≈ −5·10^10: grad_1 = s_1·(1 + 2^-12·lse) < 0 rounds to −0, whatever the size of s_1")
    func gradientZLossSignOfTiny() throws {
        // lse = −681000 + log(1 + e^(x_1 − x_0)), so 1 + 2^-12·lse ≈ −165.26 and grad_1 = s_1·(1 +
        // 2^-12·lse) is negative and far below f32's least subnormal: −0. grad_0 = s_0·(1 +
        // 2^-12·lse) − 1 = −166.259765625 (exact in f32: 133/512 + 166) plus a positive term below
        // 2^-100: −166.259765625.
        let q = OracleRequest(function: .crossEntropyGrad, format: .f32, logits: [-681_000, -5.3e10], target: .index(0), zLoss: 0x1p-13)
        try Self.expectFirstPrecision(q, [-166.259765625, -0.0], "sign of a tiny gradient")
    }

    @Test("cross_entropy_grad and loss_backward f32 at a maximum shared by two logits, the third 2^105 below (e_0 under MPFR's least number): (R̃/2 − r̃_c) on an f32 midpoint, moved by −R̃·E/(2S) < 0 (was notCertified)")
    func gradientAtSharedMaximum() throws {
        // From a 64-row near_ties batch (seed 3, row 11). x = (−1.5·2^126, x_1 = x_2 = −(1.5 −
        // 2^-22)·2^126), p = (0, 0.4375, 0.5), weights (w_0, w_1, w_2): r_1 = 0.4375·w_1, r_2 =
        // 0.5·w_2, R = r_1 + r_2, S = 2 + E with E = e^(x_0 − x_1) > 0. grad_c = R/S − r_c for c = 1, 2
        // lies just below M_c = R/2 − r_c = ∓(r_1 − r_2)/2 = ∓0x1.2c5f6fp-3, midway between f32
        // neighbours (checked below): grad_1 → −0x1.2c5f7p-3, grad_2 → 0x1.2c5f6ep-3; grad_0 = E·R/S
        // > 0, far below f32's least subnormal: +0.
        let w1 = 0x1.372f24p+0, w2 = 0x1.e8662p-2
        let half = (0.4375 * w1 - 0.5 * w2) / 2  // exact
        #expect(half == 0x1.2c5f6fp-3 && Double(Float(half)) != half)
        let x = [-0x1.8p+126, -0x1.7ffffcp+126, -0x1.7ffffcp+126], p = [0, 0.4375, 0.5], weight = [0x1.6017f4p+0, w1, w2]
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .probabilities(p), weight: weight),
                                      [0, -0x1.2c5f7p-3, 0x1.2c5f6ep-3], "cross_entropy_grad")
        // The batch gradient, sum, grad_output −4: −4·grad_c, again on either side of a midpoint.
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyLossBackward, format: .f32, weight: weight, batch: [x],
                                                    batchTargets: .probabilities([p]), reduction: .sum, gradOutput: [-4]),
                                      [-0.0, 0x1.2c5f7p-1, -0x1.2c5f6ep-1], "loss_backward")
    }

    @Test("cross_entropy_grad f32 with z_loss at a unique maximum z_M = 0, the other logit at −10^300: the z-loss term log(1 + E)/S joins the cross-entropy's −R̃·E/S, and its size decides the side of the midpoint")
    func gradientAtZeroMaximumWithZLoss() throws {
        // x = (−10^300, 0), p = (0.5 + 2^-25, 0.25), weights 1: R̃ = 0.75 + 2^-25, S = 1 + E with
        // E = e^(−10^300) > 0, logsumexp = log(1 + E). grad_1 = (R̃/S − 0.25) + 2z·log(1 + E)/S =
        // (0.5 + 2^-25) + (E/S)·(−R̃ + 2z·λ), λ = log(1 + E)/E ≈ 1: 0.5 + 2^-25 lies midway between
        // the f32 numbers 0.5 and 0.5 + 2^-24. z = 1: −R̃ + 2λ > 0, so 0.5 + 2^-24; z = 2^-4:
        // −R̃ + λ/8 < 0, so 0.5. grad_0 = −(0.5 + 2^-25) + (E/S)·(R̃ + 2z·log(1 + E)): just above
        // the midpoint −(0.5 + 2^-25), so −0.5 for both.
        let x = [-1e300, 0], p = [0.5 + 0x1p-25, 0.25]
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .probabilities(p), zLoss: 1),
                                      [-0.5, 0.5 + 0x1p-24], "z = 1")
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .probabilities(p), zLoss: 0x1p-4),
                                      [-0.5, 0.5], "z = 2^-4")
        // The random request that found it: target 1 (R̃ = r̃_1 = 1), z = 10^-4: grad_1 = (E/S)·(−1 +
        // 2·10^-4·λ) < 0, far below the least subnormal: −0; grad_0 = (E/S)·(1 + …) > 0: +0.
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .index(1), zLoss: 1e-4),
                                      [0, -0.0], "target 1")
    }

    @Test("the review's rows: a maximum shared by 128 logits (bf16) and by 4096 (f16), the last logit −10^300: decided at the first precision (the gate was absolute, refusing every m >= 128)")
    func gradientAtWideSharedMaximum() throws {
        // 128 zeros and −10^300, target 1.5 on class 0: grad_0 = 1.5/S − 1.5 with S = 128 + E, just
        // below −1.5 + 1.5/128 = −1.48828125, midway between the bf16 numbers −1.484375 and
        // −1.4921875: −1.4921875. Classes 1…127: 1.5/S just below 1.5/128 = 0x1.8p-7 (a bf16 number):
        // 0x1.8p-7. The last: 1.5·E/S > 0, far below bf16's least subnormal: +0.
        let x = [Double](repeating: 0, count: 128) + [-1e300]
        let p = [1.5] + [Double](repeating: 0, count: 128)
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .bf16, logits: x, target: .probabilities(p)),
                                      [-0x1.7ep+0] + [Double](repeating: 0x1.8p-7, count: 127) + [0], "m = 128")
        // 4096 zeros and −10^300, target 0: grad_0 = 1/S − 1 just below 1/4096 − 1 = −0.999755859375,
        // midway between the f16 numbers −0.99951171875 and −1 (f16 has 2^-11 steps below 1): −1;
        // the other zeros 1/S just below 2^-12 (an f16 number): 2^-12; the last +0.
        let y = [Double](repeating: 0, count: 4096) + [-1e300]
        try Self.expectFirstPrecision(OracleRequest(function: .crossEntropyGrad, format: .f16, logits: y, target: .index(0)),
                                      [-1] + [Double](repeating: 0x1p-12, count: 4095) + [0], "m = 4096")
    }

    @Test("cross_entropy_grad f32 with z_loss 2^-4 at a unique maximum z_M = −1: the midpoint (R̃ − r̃_0) + 2z·z_M = 0.5 + 2^-25 moved by (E/S)·(−R̃ + 2z·(λ − z_M)) < 0")
    func gradientAtMaximumWithZLossAwayFromZero() throws {
        // x = (−1, −10^300), p = (0.25, 0.625 + 2^-25): R̃ = 0.875 + 2^-25, lse = −1 + log(1 + E).
        // grad_0 = R̃/S − 0.25 + 2z·lse/S = (0.625 + 2^-25 − 0.125) + (E/S)·(−R̃ + 0.125·(λ + 1)),
        // λ ≈ 1: −0.625 − 2^-25 < 0, so just below the f32 midpoint 0.5 + 2^-25: 0.5. grad_1 =
        // −(0.625 + 2^-25) + e_1·(R̃ + 2z·lse)/S, R̃ − 0.125 > 0: just above the f32 midpoint
        // −(0.625 + 2^-25) (f32 steps 2^-24 in [0.5, 1)): −0.625.
        let q = OracleRequest(function: .crossEntropyGrad, format: .f32, logits: [-1, -1e300],
                              target: .probabilities([0.25, 0.625 + 0x1p-25]), zLoss: 0x1p-4)
        try Self.expectFirstPrecision(q, [0.5, -0.625], "z_M = -1")
    }

    @Test("cross_entropy_loss_backward f32, the harness's near_ties row (logits 2^27 apart, near 2^50): ±0.375·w_1 on an f32 midpoint, moved toward 0 by p_1 > 0 (was notCertified at 65 536 bits)")
    func lossBackwardNearMidpoint() throws {
        // Found by BatchRowsTests (seed 5, 32 rows): one of its rows alone. x_0 − x_1 = 2^27, so
        // p_1 = e^(−2^27)/S > 0 and p_0 = 1 − p_1. Targets (0, 0.1875), weights (w_0, w_1): R = r_1
        // = 0.1875·w_1, and with grad_output 2 (sum): grad_0 = 2·p_0·R = 0.375·w_1·(1 − p_1),
        // grad_1 = 2·(p_1 − 1)·R = −0.375·w_1·(1 − p_1). 0.375·w_1 = 0x1.c2c531p+0 lies midway between
        // the f32 numbers 0x1.c2c530p+0 and 0x1.c2c532p+0 (checked below), so both round toward 0.
        let w1 = 0x1.2c8376p+2, m = 0.375 * w1  // exact: 26 bits
        let low = Double(Float(bitPattern: Float(m).bitPattern & ~1)), high = Double(Float(low).nextUp)
        #expect(m == 0x1.c2c531p+0 && (low + high) / 2 == m && low == 0x1.c2c53p+0)
        let q = OracleRequest(function: .crossEntropyLossBackward, format: .f32, weight: [0x1.9ae18cp+1, w1],
                              batch: [[0x1.c6bf52p+49, 0x1.c6bf5p+49]], batchTargets: .probabilities([[0, 0x1.8p-3]]),
                              reduction: .sum, gradOutput: [2])
        try Self.expectFirstPrecision(q, [low, -low], "one row")
    }

    @Test("cross_entropy_loss_backward f32, mean over 3 rows: −(w_1·p_1)/3 = −(0.5 + 2^-25), an f32 midpoint although 1/3 is not a binary number, moved toward 0 by e^-3000")
    func lossBackwardMeanNearMidpoint() throws {
        // Probability targets (0, 0.5 + 2^-25), weights (1, 3), three equal rows, mean (PyTorch
        // divides by the 3 rows), grad_output 1: grad_1 = (e^-3000·R/S − 3·(0.5 + 2^-25))/3 =
        // −(0.5 + 2^-25) + e^-3000·R/(3S), just above the midpoint between −0.5 and −(0.5 + 2^-24):
        // −0.5. grad_0 = (R/S)/3·1 = (0.5 + 2^-25)·(1 − e^-3000/S·…) just below the midpoint: 0.5.
        // The plain form scales by an enclosure of 1/3 and holds the midpoint at every precision.
        let row = [0, -3000.0], p = [0, 0.5 + 0x1p-25]
        let q = OracleRequest(function: .crossEntropyLossBackward, format: .f32, weight: [1, 3],
                              batch: [row, row, row], batchTargets: .probabilities([p, p, p]), reduction: .mean, gradOutput: [1])
        try Self.expectFirstPrecision(q, [0.5, -0.5, 0.5, -0.5, 0.5, -0.5], "mean")
    }

    @Test("mayBeTiny: true exactly when E(e_c.hi) + E(R̃) − E(r̃_c) + 1 <= −(w − 8), the stated bound on q_c/r_c")
    func gateAtItsBound() {
        let w = IntervalArithmetic(precision: 64)
        let one = BigFloat(1, precision: 53), total = BigFloat(3, precision: 53)  // E(1) = 1, E(3) = 2
        // E(2^-k) = 1 − k: the sum is (1 − k) + 2 − 1 + 1 = 3 − k, at the bound −56 for k = 59.
        let at = w.point(0x1p-59), above = w.point(0x1p-58)
        #expect(MidpointForms.mayBeTiny(e: at, weight: one, total: total, w))
        #expect(!MidpointForms.mayBeTiny(e: above, weight: one, total: total, w))
        // At the bound q/r <= e·R̃/r̃ = 3·2^-59 < 2^-56 = 2^-(w−8): the stated inequality holds there.
        #expect(3 * 0x1p-59 < 0x1p-56)
        #expect(!MidpointForms.mayBeTiny(e: at, weight: BigFloat(0, precision: 53), total: total, w))
    }
}
