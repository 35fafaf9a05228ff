import Testing
import FastSoftmax

/// Identities with values that follow from the definitions alone.
@Suite("Accurate kernels: exact identities")
struct AccurateIdentityTests {
    /// K equal logits: softmax = 1/K, whose correctly rounded value is the IEEE quotient 1/K.
    /// Holds for any common value, including huge, tiny and subnormal ones.
    @Test(arguments: [0.0, -3.5, 1e300, -1e300, 5e-324, -700, 88.5])
    func equalLogitsGiveOneOverK(value: Double) {
        for k in [1, 2, 3, 5, 7, 10, 1000] {
            let x = [Double](repeating: value, count: k)
            let want = 1 / Double(k)
            for y in Kernels<Double>.softmax(x) {
                #expect(ulpError(y, want) <= boundAgainstRounded, "K = \(k), x = \(value): \(y) vs \(want)")
            }
            let xf = [Float](repeating: Float(value), count: k)
            if Float(value).isFinite {
                for y in Kernels<Float>.softmax(xf) {
                    #expect(ulpError(y, 1 / Float(k)) <= boundAgainstRounded)
                }
            }
        }
    }

    /// logsumexp of K = 2^(2^j) copies of a = -k·RN(ln 2) (k = log2 K; k·RN(ln 2) is exact for
    /// k a power of two) is k·(ln 2 - RN(ln 2)): total cancellation of the leading 53 bits, the
    /// case that needs the multi-precision slow path. ln 2 = 0.693147180559945309417232121458176568...
    /// (OEIS A002162), RN(ln 2) = 0x1.62e42fefa39efp-1, and RN(ln 2 - RN(ln 2)) =
    /// 0x1.abc9e3b39803fp-56 (= 2.3190468138462996e-17; the value is 2.31904681384629955842...e-17).
    /// Scaling by a power of two commutes with rounding.
    @Test(arguments: [1, 2, 4, 8, 16])
    func logsumexpCancellingToTheLowPartOfLn2(k: Int) {
        let hi = 0x1.62e42fefa39efp-1
        let lo = 0x1.abc9e3b39803fp-56
        let count = 1 << k
        let x = [Double](repeating: -Double(k) * hi, count: count)
        let y = Kernels<Double>.logsumexp(x)
        #expect(ulpError(y, Double(k) * lo) <= boundAgainstRounded, "K = \(count): \(y) vs \(Double(k) * lo)")
        // The textbook shift gets the sign or the digits wrong here.
        let shifted = Kernels<Double>.logsumexp(x, variant: .shifted)
        #expect(ulpError(shifted, Double(k) * lo) > 2)
    }

    /// Probability targets equal to the (exact) softmax of equal logits give a zero gradient:
    /// with K copies of one logit, softmax = 1/K exactly, and p_i = RN(1/K) for all i gives
    /// Σp = K·RN(1/K) exactly, so g_i = Σp/K - p_i = 0 exactly.
    @Test func gradientIsExactlyZeroAtTheOwnDistribution() throws {
        for k in [2, 3, 5, 7, 10, 100] {
            let x = [Double](repeating: 1.25, count: k)
            let p = [Double](repeating: 1 / Double(k), count: k)
            let g = try Kernels<Double>.crossEntropyGrad(x, probabilities: p)
            #expect(g.allSatisfy { $0 == 0 }, "K = \(k): \(g)")
        }
    }

    /// softmax([a, b]) = [σ(a - b), σ(b - a)] and log_softmax = -softplus(∓(a - b)); the
    /// accurate elementwise kernels and the row kernels must agree within their bounds, in
    /// both formats (a - b exact for these inputs).
    @Test func twoLogitsAreASigmoid() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let a = (rng.uniform(-40, 40) * 0x1p20).rounded() * 0x1p-20
            let b = (rng.uniform(-40, 40) * 0x1p20).rounded() * 0x1p-20
            let s = Kernels<Double>.softmax([a, b])
            let sig = Kernels<Double>.sigmoid([a - b, b - a])
            // Each within 2^-80 relative of the exact value before rounding: at most 1 ulp apart.
            #expect(ulpError(s[0], sig[0]) <= 1 && ulpError(s[1], sig[1]) <= 1, "\(a), \(b)")
            let ls = Kernels<Double>.logSoftmax([a, b])
            let lsig = Kernels<Double>.logSigmoid([a - b, b - a])
            #expect(ulpError(ls[0], lsig[0]) <= 1 && ulpError(ls[1], lsig[1]) <= 1, "\(a), \(b)")
        }
    }

    /// A loss that must not flush to zero: CE([0, -d], 0) = log1p(e^-d), subnormal for d > 708.4.
    @Test func subnormalLossesKeepTheirDigits() throws {
        for d in [709.0, 720, 740, 744, 745] {
            let y = try Kernels<Double>.crossEntropy([0, -d], target: 0)
            #expect(y > 0, "CE([0, -\(d)]) flushed to zero")
            let g = try Kernels<Double>.crossEntropyGrad([0, -d], target: 0)
            #expect(g[0] < 0 && g[1] > 0 && g[0] == -g[1], "\(g)")
        }
        // e^-746 < 2^-1075: the exact loss rounds to 0.
        #expect(try Kernels<Double>.crossEntropy([0, -746], target: 0) == 0)
        // Float: subnormal binary32 losses come from normal binary64 intermediates.
        let yf = try Kernels<Float>.crossEntropy([0, -100], target: 0)
        #expect(yf > 0 && yf.isSubnormal)
    }

    /// Spreads of 1e300 and logits 1e15 apart by single ulps: the differences are exact.
    @Test func extremeSpreadsAndNearTies() throws {
        let x: [Double] = [1e300, -1e300, 0]
        #expect(Kernels<Double>.logSoftmax(x) == [-0.0, -2e300, -1e300])
        #expect(try Kernels<Double>.crossEntropy(x, target: 2) == 1e300)
        #expect(try Kernels<Double>.crossEntropy([1.7e308, -1.7e308], target: 1) == .infinity)
        let c = 1e15
        let u = c.ulp  // 0.125
        let y = Kernels<Double>.logSoftmax([c, c + u, c - u])
        // Differences are -0.125, 0, -0.25: the same as log_softmax([-0.125, 0, -0.25]).
        let z = Kernels<Double>.logSoftmax([-0.125, 0, -0.25])
        #expect(y == z)
    }
}
