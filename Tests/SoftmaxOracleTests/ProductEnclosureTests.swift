import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import TestSupport
import Testing

/// Lemma 3 of ProductEnclosure.swift at its stated bound: the logits kernel's double words against
/// exact MPFR dot products, on inputs chosen to make the compensation work (cancellation, wide
/// exponent ranges, large partial sums, an odd d, a bias), and the a priori form of T.
@Suite("Product enclosure (the fast tier's logits)")
struct ProductEnclosureTests {
    /// The exact Σ h_k w_k + b (MPFR, as many bits as needed).
    static func exact(_ h: ArraySlice<Double>, _ w: ArraySlice<Double>, _ b: Double) -> BigFloat {
        var terms = zip(h, w).map { ExactArithmetic.product(ExactArithmetic.value($0), ExactArithmetic.value($1)) }
        terms.append(ExactArithmetic.value(b))
        return ExactArithmetic.sum(terms)
    }

    /// |zh + zl − exact| as a double (rounded up), at 4000 bits.
    static func error(_ zh: Double, _ zl: Double, _ z: BigFloat) -> Double {
        let r = BigFloat(precision: 4000)
        ExponentRange.widest {
            r.sub(BigFloat(zh, precision: 53), z, .nearest)
            r.add(r, BigFloat(zl, precision: 53), .nearest)
        }
        return r.double(.up).magnitude
    }

    @Test("every computed logit is within zerr of the exact dot product (seeded; the seed is printed on failure)",
          arguments: [1, 2, 7, 64, 1023])
    func bound(d: Int) {
        let seed = UInt64(0xB0D0) &+ UInt64(d)
        var rng = SplitMix64(seed: seed)
        let (n, v) = (3, 5)
        for round in 0..<6 {
            let spread = [1.0, 0x1p30, 0x1p-300][round % 3]
            var h = (0..<(n * d)).map { _ in rng.uniform(-1, 1) * (rng.oneIn(3) ? spread : 1) }
            var w = (0..<(v * d)).map { _ in rng.uniform(-1, 1) }
            if round >= 3 {  // cancellation: w_1 = −w_0 except one entry, h sums to a near-zero
                for k in 0..<d { w[d + k] = -w[k] }
                w[d] += 0x1p-40
                h[0] = 1e20
            }
            let bias = (0..<v).map { _ in rng.uniform(-3, 3) }
            let hs = h.withUnsafeBufferPointer { ProductEnclosure.splits($0) }
            var zh = [Double](repeating: 0, count: n * v), zl = zh, zerr = zh
            h.withUnsafeBufferPointer { hp in hs.withUnsafeBufferPointer { hsp in w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                ProductEnclosure.logits(hidden: hp.baseAddress!, splits: hsp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                        rows: n, dimension: d, classes: v, classes: 0..<v,
                                        hi: &zh, lo: &zl, error: &zerr)
            } } } }
            for i in 0..<n {
                for j in 0..<v {
                    let z = Self.exact(h[(i * d)..<(i * d + d)], w[(j * d)..<(j * d + d)], bias[j])
                    let err = Self.error(zh[i * v + j], zl[i * v + j], z)
                    #expect(err <= zerr[i * v + j], "seed \(seed) round \(round) i \(i) j \(j): error \(err) > bound \(zerr[i * v + j])")
                    // The a priori form: T <= (n + 5)u(1 + γ)(Σ|h_k w_k| + |b|) makes zerr at most about
                    // ρ₃·(d + 5)u·Σ|h||w| + γ₈·P; here: zerr <= 2^-80 Σ|h||w| + 2^-100 |z| + underflow.
                    let absSum = zip(h[(i * d)..<(i * d + d)], w[(j * d)..<(j * d + d)]).reduce(0.0) { $0 + ($1.0 * $1.1).magnitude } + bias[j].magnitude
                    #expect(zerr[i * v + j] <= 0x1p-80 * absSum + 0x1p-100 * zh[i * v + j].magnitude + 0x1p-1000)
                }
            }
        }
    }
}
