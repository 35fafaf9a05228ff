import SoftmaxOracle
import Testing

/// softmax_backward and log_softmax_backward at a maximum shared by n_0 logits, every other logit
/// below MPFR's range (x_j − m < −2^30·ln 2): the exact value is C_0/n_0² (log_softmax_backward:
/// (n_0·dy_i − G)/n_0) plus a term too small for any precision, and when that rational part is a
/// rounding midpoint the term's sign decides the rounding (MidpointForms.swift,
/// `softmaxBackwardAtMaximum`). Expected values from the math alone: each case says where the
/// midpoint is and which side the exact value lies on, by the sign of d(dx_i)/dE_1 at E_1 = 0,
/// E_1 = e^(x_1 − m) (for softmax_backward n_1·a − n_0²·D_1 with a = n_0·(2D_0 − n_0·dy_i) and
/// n_1, D_1 the far group's count and dy sum; −C_0 when that is 0).
@Suite("softmax_backward and log_softmax_backward: midpoints moved by a term below MPFR's range")
struct BackwardMidpointTests {
    static let mpfrOnly = Oracle(doubleWordTier: false)

    /// Checks `q` on the MPFR path (certified without escalation) and with the tier first (which
    /// declines these rows: their far exponentials are not stored).
    static func expectCertified(_ q: OracleRequest, _ want: [Double], _ name: String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try mpfrOnly.evaluate(q)
        #expect(r.escalations == 0, "\(name): certified at \(r.precision) bits after \(r.escalations) escalations",
                sourceLocation: sourceLocation)
        expectBits(r.rounded, want, "\(name)", sourceLocation: sourceLocation)
        expectBits(try rounded(q), want, "\(name), tier first", sourceLocation: sourceLocation)
    }

    static func softmaxBackward(_ x: [Double], _ dy: [Double], _ format: Format = .f64) -> OracleRequest {
        OracleRequest(function: .softmaxBackward, format: format, logits: x, gradOutput: dy)
    }

    @Test("the report's row: x = [0, 0, −2^997], dy = [1 + 2^-52, −2^-53, 0], dx_0 just below the f64 midpoint 1/4 + 3·2^-55 (was notCertified at 65536 bits)")
    func reportedRow() throws {
        // n_0 = 2, D_0 = 1 + 2^-53, E = e^(−2^997). dx_0 = (1 + 2^-52)/(2 + E) − (1 + 2^-53)/(2 + E)²:
        // at E = 0, C_0/4 = (1 + 3·2^-53)/4 = 1/4 + 3·2^-55, midway between 1/4 + 2^-54 and
        // 1/4 + 2^-53; d/dE at 0 = (2^-53 − 2^-52)/4 < 0 (a = 2·(2D_0 − 2dy_0) = −2^-51, D_1 = 0):
        // below, so 1/4 + 2^-54 (ties-to-even would give 1/4 + 2^-53). dx_1 = −(1/4 + 3·2^-55) + …,
        // a = 4·dy_0 > 0: above, toward 0: −(1/4 + 2^-54). dx_2 = E·N_2/S², N_2 = 0·S − T < 0: −0.
        try Self.expectCertified(Self.softmaxBackward([0, 0, -0x1p997], [0x1.0000000000001p0, -0x1p-53, 0]),
                                 [0x1.0000000000001p-2, -0x1.0000000000001p-2, -0.0], "report")
        // dx is linear in dy: the negated dy gives the negated outputs (+0 for −0).
        try Self.expectCertified(Self.softmaxBackward([0, 0, -0x1p997], [-0x1.0000000000001p0, 0x1p-53, 0]),
                                 [-0x1.0000000000001p-2, 0x1.0000000000001p-2, 0], "negative dy")
    }

    @Test("the same row in every format: dy = [1 + 2^(1−p), −2^-p, g], C_0/4 = (1 + 3·2^-p)/4 the midpoint between 1/4·(1 + 2^(1−p)) and 1/4·(1 + 2^(2−p)); g = 0 moves it down, g = −1 up",
          arguments: Format.allCases)
    func everyFormat(format: Format) throws {
        // p the format's precision; the steps in [1/4, 1/2) are 2^(1−p)/4. a = −4·2^-p as above;
        // the far logit's D_1 = g: n_1·a − 4·g = −4·2^-p < 0 for g = 0 (below: the odd neighbour
        // 1/4·(1 + 2^(1−p))), 4 − 4·2^-p > 0 for g = −1 (above: 1/4·(1 + 2^(2−p))). dx_1's
        // coefficient 4·dy_0 − 4g > 0 either way: toward 0, −1/4·(1 + 2^(1−p)). dx_2: N_2 = 2g − D_0 < 0.
        let p = format.precision
        let dy0 = 1 + 2 * pow2(-p), dy1 = -pow2(-p)
        let low = (1 + 2 * pow2(-p)) / 4, high = (1 + 4 * pow2(-p)) / 4
        let x = [0, 0, -1e30]
        try Self.expectCertified(Self.softmaxBackward(x, [dy0, dy1, 0], format), [low, -low, -0.0], "\(format), g = 0")
        try Self.expectCertified(Self.softmaxBackward(x, [dy0, dy1, -1], format), [high, -low, -0.0], "\(format), g = −1")
    }

    @Test("three tied maxima: x = [5, 5, 5, −10^300], dy = [4, −1, −9·2^-53, g]: dx_0 near the f64 midpoint 1 + 2^-53, below for g = 0, above for g = −3")
    func threeTiedMaxima() throws {
        // D_0 = 3 − 9·2^-53, C_0 = 3·4 − D_0 = 9 + 9·2^-53: C_0/9 = 1 + 2^-53, midway between 1 and
        // 1 + 2^-52. a = 3·(2D_0 − 12) = −18 − 54·2^-53; n_1·a − 9·g is < 0 for g = 0 (1) and
        // 9 − 54·2^-53 > 0 for g = −3 (1 + 2^-52). dx_1 = (−3 − D_0)/9 + … = −2/3 + 2^-53 + …, not a
        // binary number: RN = −0x1.5555555555554p-1 (2/3 − 2^-53 = 0x1.5555555555554p-1 + ulp/3).
        // dx_2 = (−27·2^-53 − D_0)/9 + … = −(1/3 + 2^-52) + …: 1/3 + 2^-52 = 0x1.5555555555559p-2 +
        // ulp/3, so −0x1.5555555555559p-2. dx_3: N_3 = 3g − D_0 < 0: −0.
        let x = [5, 5, 5, -1e300]
        let rest = [-0x1.5555555555554p-1, -0x1.5555555555559p-2, -0.0]
        try Self.expectCertified(Self.softmaxBackward(x, [4, -1, -9 * 0x1p-53, 0]), [1] + rest, "g = 0")
        try Self.expectCertified(Self.softmaxBackward(x, [4, -1, -9 * 0x1p-53, -3]), [0x1.0000000000001p0] + rest, "g = −3")
    }

    @Test("two far levels, x = [0, 0, −2^997, −2^999]: the side is the upper far group's (D_1 = 0), whatever the lower one's dy (−100)")
    func twoFarLevels() throws {
        // Relative to x_1 = −2^997: s'' = 1 + e^(−3·2^997), T'' = −100·e^(−3·2^997), so the
        // coefficient s''·a − 4·T'' = a + O(e^(−3·2^997)) with a = −2^-51 as in the report's row:
        // below the midpoint, 1/4 + 2^-54. dx_2, dx_3: N_j = 2·dy_j − D_0 < 0: −0.
        try Self.expectCertified(Self.softmaxBackward([0, 0, -0x1p997, -0x1p999], [0x1.0000000000001p0, -0x1p-53, 0, -100]),
                                 [0x1.0000000000001p-2, -0x1.0000000000001p-2, -0.0, -0.0], "two levels")
    }

    @Test("second order (c_1 = 0): f32, x = [0, 0, x_1, x_2] all far, dy = [d, 0, 0, g], d = 1 + 3·2^-24: C_0/4 = d/4 an f32 midpoint moved by two terms below MPFR's range, the one of larger exponent deciding")
    func secondOrder() throws {
        // n_0 = 2, D_0 = d, a = 2·(2d − 2d) = 0, D_1 = 0: c_1 = 0. With E_1 = e^(x_1 − m) and
        // E' = e^(x_2 − x_1), N = E_1·(E'·(−4g) − d·E_1·(1 + E')²) (T_2 = g, s_1 = 1 + E'). d/4 lies
        // midway between the f32 numbers (1 + 2^-23)/4 (below) and (1 + 2^-22)/4 (above; even,
        // ties-to-even's choice). dx_1 = −d/4 + …: a = 4d, c_1 = 4d > 0, above: −(1 + 2^-23)/4. dx_2:
        // N_2 = −D_0 < 0: −0. dx_3: N_3 = 2g − d: +0 for g = 5, −0 for g = −5 and g = −d/4.
        let d = 0x1.000003p0
        let low = 0x1.000002p-2, high = 0x1.000004p-2
        func q(_ x1: Double, _ x2: Double, _ g: Double) -> OracleRequest { Self.softmaxBackward([0, 0, x1, x2], [d, 0, 0, g], .f32) }
        // x_2 − x_1 = −7·2^997 < x_1 − m = −2^997: E_1² dominates E_1·E', so N < 0 whatever g.
        try Self.expectCertified(q(-0x1p997, -0x1p1000, 5), [low, -low, -0.0, 0], "E_1 dominates, g = 5")
        try Self.expectCertified(q(-0x1p997, -0x1p1000, -5), [low, -low, -0.0, -0.0], "E_1 dominates, g = −5")
        // x_2 − x_1 = −2^945 > x_1 − m: E' dominates, N has the sign of −g.
        let x2 = -0x1.0000000000001p997  // −2^997 − 2^945
        try Self.expectCertified(q(-0x1p997, x2, 5), [low, -low, -0.0, 0], "E' dominates, g = 5")
        try Self.expectCertified(q(-0x1p997, x2, -5), [high, -low, -0.0, -0.0], "E' dominates, g = −5")
        // x_2 − x_1 = x_1 − m = −2^70 (E' = E_1): N = E_1²·(−4g − d·(1 + E_1)²): g = −5 gives 20 − d > 0
        // (above); g = −d/4 (exact: 0x1.000003p-2) gives −d·(2E_1 + E_1²) < 0 (below).
        try Self.expectCertified(q(-0x1p70, -0x1p71, -5), [high, -low, -0.0, -0.0], "equal exponents, g = −5")
        try Self.expectCertified(q(-0x1p70, -0x1p71, -0x1.000003p-2), [low, -low, -0.0, -0.0], "equal exponents, g = −d/4")
    }

    @Test("log_softmax_backward's analogue: (2dy_0 − G)/2 = 1 + 2^-53 (an f64 midpoint) plus G·s'/(2S), s' = e^(−2^997): the sign of G decides")
    func logSoftmaxAnalogue() throws {
        // dy = [2, −2^-52, 0]: G = 2 − 2^-52 > 0. dx_0 = (4 − 2 + 2^-52)/2 + … = 1 + 2^-53 + (> 0):
        // 1 + 2^-52 (ties-to-even would give 1). dx_1 = (−2^-51 − G)/2 + … = −1 − 2^-53 + (> 0): −1.
        // dx_2 = 0 − y_2·G < 0: −0. The negated dy negates every output.
        let x = [0, 0, -0x1p997]
        try Self.expectCertified(OracleRequest(function: .logSoftmaxBackward, format: .f64, logits: x, gradOutput: [2, -0x1p-52, 0]),
                                 [0x1.0000000000001p0, -1, -0.0], "G > 0")
        try Self.expectCertified(OracleRequest(function: .logSoftmaxBackward, format: .f64, logits: x, gradOutput: [-2, 0x1p-52, 0]),
                                 [-0x1.0000000000001p0, 1, 0], "G < 0")
    }

    @Test("control: dy = [1, 0, 0] on the same row, C_0/4 = 1/4 a binary number (not a midpoint): 1/4, −1/4, −0")
    func notAMidpoint() throws {
        try Self.expectCertified(Self.softmaxBackward([0, 0, -0x1p997], [1, 0, 0]), [0.25, -0.25, -0.0], "control")
    }
}
