import MPFR
import SoftmaxOracle
import Testing

/// softmax_backward and log_softmax_backward: expected values from exact math (closed forms,
/// exact zeros) and from a direct 2000-bit MPFR evaluation of the textbook formula written here,
/// independent of the oracle's Certifier and of its exact-zero proofs.
@Suite("softmax_backward and log_softmax_backward")
struct BackwardTests {
    static func softmaxBackward(_ x: [Double], _ dy: [Double], _ format: Format = .f64) -> OracleRequest {
        OracleRequest(function: .softmaxBackward, format: format, logits: x, gradOutput: dy)
    }

    static func logSoftmaxBackward(_ x: [Double], _ dy: [Double], _ format: Format = .f64) -> OracleRequest {
        OracleRequest(function: .logSoftmaxBackward, format: format, logits: x, gradOutput: dy)
    }

    // MARK: exact zeros (these would escalate to the precision cap without the proof)

    @Test("a constant dy gives softmax_backward = +0 exactly, any logits", arguments: Format.allCases)
    func constantGradient(format: Format) throws {
        for (x, c) in [([1.0, 2, 3], 5.0), ([1000, 0, -1000], -0x1p-1074), ([0.1, 0x1p-1074, -7e300, 3], 1e300)] {
            let got = try rounded(Self.softmaxBackward(x, [Double](repeating: c, count: x.count), format))
            expectBits(got, [Double](repeating: 0, count: x.count), "x \(hex(x)), dy \(c)")
        }
    }

    @Test("equal logits: softmax_backward_i = (dy_i − mean dy)/K, 0 exactly at the mean")
    func equalLogits() throws {
        // y = 1/3: dx = (1/3)·(dy − 1) for dy = [0, 1, 2].
        expectBits(try rounded(Self.softmaxBackward([0, 0, 0], [0, 1, 2])), [-1.0 / 3, 0, 1.0 / 3])
        // y = 1/4, ⟨dy, y⟩ = 1/4: [3/16, −1/16, −1/16, −1/16], all exact.
        expectBits(try rounded(Self.softmaxBackward([7, 7, 7, 7], [1, 0, 0, 0])), [0x1.8p-3, -0x1p-4, -0x1p-4, -0x1p-4])
    }

    @Test("log_softmax_backward: Σdy = 0 gives dy exactly; equal logits give dy_i − Σdy/K")
    func logSoftmaxExactCases() throws {
        expectBits(try rounded(Self.logSoftmaxBackward([0, 1, -5], [1, -1, 0])), [1, -1, 0])
        expectBits(try rounded(Self.logSoftmaxBackward([2, 2, 2], [1, 1, 1])), [0, 0, 0])
        expectBits(try rounded(Self.logSoftmaxBackward([3, 3, 3, 3], [1, 0, 0, 0])), [0.75, -0.25, -0.25, -0.25])
        // A −inf logit has y = 0: its entry is dy exactly, and it takes no part in the rest.
        expectBits(try rounded(Self.logSoftmaxBackward([0, 0, -.infinity], [1, 0, 5])), [-2, -3, 5])
    }

    // MARK: closed forms for K = 2

    @Test("K = 2: softmax_backward = ±y0·y1·(dy0 − dy1)")
    func twoLogits() throws {
        // x = [0, 0]: y = 1/2, dx0 = (dy0 − dy1)/4.
        expectBits(try rounded(Self.softmaxBackward([0, 0], [3, 1])), [0.5, -0.5])
        // dy0 − dy1 = −2^-52 exactly: −2^-54 and 2^-54, far below what dy0·S − T shows in binary64.
        expectBits(try rounded(Self.softmaxBackward([0, 1e-300], [1, 0x1.0000000000001p0])), [-0x1p-54, 0x1p-54])
    }

    // MARK: underflow: only the sign of a zero is left

    @Test("outputs below MPFR's range keep the exact sign: [1e30, −1e30, 0]")
    func underflowSigns() throws {
        // y = [1, e^-2e30, e^-1e30]; dx_0 = −Σ_{j>0} y_j·(dy_j − dy_0) < 0, dx_2 > 0 or < 0 by dy_2 − ⟨dy,y⟩.
        for format in [Format.f64, .f32] {
            expectBits(try rounded(Self.softmaxBackward([1e30, -1e30, 0], [0.5, -1.2, 0.3], format)), [0, -0.0, -0.0])
            expectBits(try rounded(Self.softmaxBackward([1e30, -1e30, 0], [0.5, -1.2, 0.7], format)), [-0.0, -0.0, 0])
            // log_softmax_backward: dx_0 = 1 − y_0 = y_1 > 0 (+0); at dy_1 = 0, −y_1·Σdy < 0 (−0).
            expectBits(try rounded(Self.logSoftmaxBackward([1e30, 0], [1, 0], format)), [0, -0.0])
        }
    }

    @Test("a rounding midpoint plus an infinitesimal rounds by the infinitesimal's sign, not to even")
    func midpointPlusInfinitesimal() throws {
        // log_softmax_backward: dx_0 = −G/(1 + s'), G = 1 + 3·2^-53 (a binary64 midpoint), s' ≈ 2e^-1e6:
        // just above −G, so −(1 + 2^-52), where ties-to-even would give −(1 + 2^-51).
        expectBits(try rounded(Self.logSoftmaxBackward([0, -1e6, -1e6], [0, 1, 3 * 0x1p-53])),
                   [-0x1.0000000000001p0, 0x1p0, 3 * 0x1p-53])
        // softmax_backward: x = [0, 0, −1e6], dy = [1, −2^-53, −2^-50]: dx_0 = (1 + 2^-53)/4 + e·(b − c)/4 + O(e²)
        // with b − c > 0: just above the midpoint, so (1 + 2^-52)/4, not the even 1/4.
        let got = try rounded(Self.softmaxBackward([0, 0, -1e6], [1, -0x1p-53, -0x1p-50]))
        #expect(hex(got[0]) == hex(0x1.0000000000001p-2))
    }

    // MARK: special values and validation

    @Test("NaN, +inf or all −inf logits give NaN everywhere; K = 0 gives no outputs")
    func specialValues() throws {
        for f in [Self.softmaxBackward, Self.logSoftmaxBackward] {
            for x in [[0, Double.nan], [0, .infinity], [-.infinity, -.infinity]] {
                let got = try rounded(f(x, [1, 2], .f64))
                #expect(got.count == 2 && got.allSatisfy(\.isNaN), "\(hex(x)) → \(hex(got))")
            }
            #expect(try rounded(f([], [], .f64)).isEmpty)
        }
    }

    @Test("grad_output missing, of another length, or not finite names \"grad_output\"",
          arguments: [OracleFunction.softmaxBackward, .logSoftmaxBackward])
    func validation(function: OracleFunction) {
        expectInvalid(OracleRequest(function: function, logits: [1, 2]), field: "grad_output", mentioning: "missing")
        expectInvalid(OracleRequest(function: function, logits: [1, 2], gradOutput: [1]), field: "grad_output", mentioning: "1 values for 2 logits")
        expectInvalid(OracleRequest(function: function, logits: [1, 2], gradOutput: [1, .nan]), field: "grad_output[1]", mentioning: "nan")
        expectInvalid(OracleRequest(function: function, logits: [1, 2], gradOutput: [-.infinity, 0]), field: "grad_output[0]", mentioning: "-inf")
    }

    // MARK: against a direct 2000-bit MPFR evaluation

    /// The textbook formulas at 2000 bits, round to nearest (no shifts, no interval, no
    /// escalation): exact to far below binary64's resolution for moderate logits, whose outputs
    /// do not cancel by 1900 bits.
    static func direct(_ x: [Double], _ dy: [Double], log: Bool) -> [Double] {
        let p = 2000
        let e = x.map { v -> BigFloat in let r = BigFloat(precision: p); r.exp(BigFloat(v, precision: 53), .nearest); return r }
        let s = BigFloat(precision: p); s.sum(e, .nearest)
        let y = e.map { v -> BigFloat in let r = BigFloat(precision: p); r.div(v, s, .nearest); return r }
        let dyBig = dy.map { BigFloat($0, precision: 53) }
        let products = zip(dyBig, y).map { a, b -> BigFloat in let r = BigFloat(precision: p); r.mul(a, b, .nearest); return r }
        let dot = BigFloat(precision: p); dot.sum(products, .nearest)
        let total = BigFloat(precision: p); total.sum(dyBig, .nearest)
        return x.indices.map { i in
            let r = BigFloat(precision: p)
            if log {
                let t = BigFloat(precision: p); t.mul(y[i], total, .nearest)
                r.sub(dyBig[i], t, .nearest)
            } else {
                let d = BigFloat(precision: p); d.sub(dyBig[i], dot, .nearest)
                r.mul(y[i], d, .nearest)
            }
            return r.double(.nearest)
        }
    }

    @Test("random moderate rows equal the 2000-bit textbook value rounded to binary64")
    func againstDirectMPFR() throws {
        let seed: UInt64 = 0xBAC4_2026_1204
        var rng = SplitMix64(seed: seed)
        for n in 0..<200 {
            let k = rng.int(1...12)
            let x = (0..<k).map { _ in rng.uniform(-30, 30) }
            let dy = (0..<k).map { _ in rng.oneIn(4) ? 0 : rng.uniform(-4, 4) }
            for log in [false, true] {
                let q = log ? Self.logSoftmaxBackward(x, dy) : Self.softmaxBackward(x, dy)
                let want = Self.direct(x, dy, log: log)
                let got = try rounded(q)
                // Direct evaluation of an exact 0 gives a tiny residue; the oracle's proof gives 0.
                let comparable = want.indices.filter { want[$0].magnitude > 0x1p-900 || got[$0] != 0 }
                expectBits(comparable.map { got[$0] }, comparable.map { want[$0] },
                           "seed 0x\(String(seed, radix: 16)) case \(n) log \(log): x \(hex(x)) dy \(hex(dy))")
            }
        }
    }

    @Test("the MPFR path alone gives the same values")
    func mpfrOnly() throws {
        let q = Self.softmaxBackward([0.5, -3, 2, 2], [1, -2, 0.25, 0.25])
        expectBits(try rounded(q, oracle: Oracle(doubleWordTier: false)), try rounded(q))
    }
}
