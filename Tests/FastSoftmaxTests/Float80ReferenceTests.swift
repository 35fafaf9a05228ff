#if arch(x86_64) && !os(Windows)
import Testing
import RealModule
import FastSoftmax

/// Checks against an independent Float80 (x87, 64-bit significand) computation.
///
/// Why the references are accurate enough: inputs are multiples of 2^-40 in [-20, 20], so
/// every x_i - m is exact in Float80 (at most 46 significant bits); `Float80.exp` and
/// `Float80.log(onePlus:)` (glibc expl/log1pl) are within 1 Float80 ulp (relative 2^-63); the
/// sum of K <= 12 positive terms adds at most K·2^-64 relative, the quotient 2^-64. So the
/// references are within (K + 4)·2^-63 <= 2^-59 relative of the exact values, i.e. within
/// 2^-6 binary64 ulp; log_softmax and the losses are formed without cancellation
/// (L = log1p(Σ_{j != a} e^(x_j - m)), then (x_i - m) - L, both <= 0). A binary64 result within
/// the stated bound (at most 0.5 + 2^-4.3 ulp of the exact value, softmax's; the others are
/// tighter) is then within 0.5 + 2^-4.3 + 2^-6 ulp of the reference (`stated64`).
@Suite("Accurate kernels against Float80")
struct Float80ReferenceTests {
    /// The loosest stated binary64 bound (softmax, 0.5 + 2^-4.3 ulp) plus the reference's 2^-6.
    static let stated64 = 0.5 + 0.0508 + 0x1p-6

    struct Reference {
        var softmax: [Float80]
        var logSoftmax: [Float80]
        var logsumexp: Float80
    }

    func reference(_ x: [Double]) -> Reference {
        let xe = x.map { Float80($0) }
        let m = xe.max()!
        let a = xe.firstIndex(of: m)!
        var s: Float80 = 0
        for (j, v) in xe.enumerated() where j != a { s += Float80.exp(v - m) }
        let l = Float80.log(onePlus: s)
        let softmax = xe.map { Float80.exp($0 - m) / (1 + s) }
        let logSoftmax = xe.map { ($0 - m) - l }
        return Reference(softmax: softmax, logSoftmax: logSoftmax, logsumexp: m + l)
    }

    func randomRow(_ rng: inout SplitMix64) -> [Double] {
        let k = 1 + rng.index(12)
        let spread = [0.01, 1, 5, 20][rng.index(4)]
        return (0..<k).map { _ in (rng.uniform(-spread, spread) * 0x1p40).rounded() * 0x1p-40 }
    }

    @Test func rowFunctions() throws {
        var rng = SplitMix64(seed: 20240611)
        for _ in 0..<2000 {
            let x = randomRow(&rng)
            let ref = reference(x)
            let sm = Kernels<Double>.softmax(x)
            let ls = Kernels<Double>.logSoftmax(x)
            for i in x.indices {
                #expect(ulpError(sm[i], ref.softmax[i]) <= Self.stated64, "softmax \(x) [\(i)]")
                #expect(ulpError(ls[i], ref.logSoftmax[i]) <= Self.stated64, "log_softmax \(x) [\(i)]")
            }
            // logsumexp only where m >= 0 (no cancellation in the Float80 reference itself).
            if x.max()! >= 0 {
                #expect(ulpError(Kernels<Double>.logsumexp(x), ref.logsumexp) <= Self.stated64, "logsumexp \(x)")
            }
            let t = rng.index(x.count)
            let ce = try Kernels<Double>.crossEntropy(x, target: t)
            #expect(ulpError(ce, -ref.logSoftmax[t]) <= Self.stated64, "cross_entropy \(x) t=\(t)")
            let g = try Kernels<Double>.crossEntropyGrad(x, target: t)
            for i in x.indices where i != t {
                #expect(ulpError(g[i], ref.softmax[i]) <= Self.stated64, "grad \(x) [\(i)]")
            }
            // g_t = -(Σ_{j != t} e_j)/S: from the reference softmax without cancellation.
            var rest: Float80 = 0
            for i in x.indices where i != t { rest += ref.softmax[i] }
            #expect(ulpError(g[t], -rest) <= Self.stated64, "grad \(x) at target \(t)")
        }
    }

    /// Probability targets p >= 0: CE = Σ p_i·(-log_softmax_i), all terms >= 0.
    @Test func probabilityTargets() throws {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<1000 {
            let x = randomRow(&rng)
            let ref = reference(x)
            let p = x.map { _ in rng.uniform(0, 1) }
            var want: Float80 = 0
            for i in x.indices { want += Float80(p[i]) * -ref.logSoftmax[i] }
            let ce = try Kernels<Double>.crossEntropy(x, probabilities: p)
            #expect(ulpError(ce, want) <= Self.stated64, "\(x) \(p)")
        }
    }

    /// Binary32: the binary64 algorithm, rounded once more. Compare with the Float80 value
    /// rounded to Float (the reference is within 2^-35 binary32 ulp of the exact value).
    @Test func binary32() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<1000 {
            let x = randomRow(&rng).map { Double(Float($0)) }
            let ref = reference(x)
            let xf = x.map { Float($0) }
            let sm = Kernels<Float>.softmax(xf)
            let ls = Kernels<Float>.logSoftmax(xf)
            for i in x.indices {
                #expect(ulpError(sm[i], Float(ref.softmax[i])) <= 1)
                #expect(ulpError(ls[i], Float(ref.logSoftmax[i])) <= 1)
            }
        }
    }

    /// Large K (10^5): the double-word sum keeps full precision (Float80 reference with Kahan
    /// summation: error 2·2^-64 + K·2^-128 relative).
    @Test func largeRow() {
        var rng = SplitMix64(seed: 1)
        let k = 100_000
        let x = (0..<k).map { _ in (rng.uniform(0, 12) * 0x1p40).rounded() * 0x1p-40 }
        let xe = x.map { Float80($0) }
        let m = xe.max()!
        let a = xe.firstIndex(of: m)!
        var s: Float80 = 0, c: Float80 = 0
        for (j, v) in xe.enumerated() where j != a {
            let y = Float80.exp(v - m) - c
            let t = s + y
            c = (t - s) - y
            s = t
        }
        let l = Float80.log(onePlus: s)
        #expect(ulpError(Kernels<Double>.logsumexp(x), m + l) <= 1)
        let ls = Kernels<Double>.logSoftmax(x)
        for i in stride(from: 0, to: k, by: 997) {
            #expect(ulpError(ls[i], (xe[i] - m) - l) <= 1)
        }
    }

    /// Subnormal results: softmax entries of e^(-d) for d in (708, 745] are binary64
    /// subnormals; the kernel rounds the double-word once, correctly, so the result is within
    /// 1/2 subnormal ulp plus the reference's 2^-59 relative error (far below 2^-6 ulp there).
    @Test func subnormalSoftmax() {
        for d in stride(from: 708.5, through: 745.0, by: 0.125) {
            let x: [Double] = [0, -d, -d - 0.5]
            let ref = reference(x)
            let sm = Kernels<Double>.softmax(x)
            for i in x.indices {
                #expect(ulpError(sm[i], ref.softmax[i]) <= 0.5 + 0x1p-6, "\(x) [\(i)]: \(sm[i])")
            }
        }
    }
}
#endif
