import DoubleWordArithmetic
import ParallelExecution

// The fast tier's products: dot products of binary64 vectors enclosed as a double word with an
// a priori error bound (Rump, Ogita and Oishi's Dot2; Higham, Accuracy and Stability, §3.1).
//
// Notation: u = 2^-53, γ_n = n·u/(1 − n·u).
//
// Lemma 1 (a plain floating-point product, any summation order; Higham Lemma 3.1, (3.5)). For
// x, y ∈ F^n and no underflow, |fl(x·y) − x·y| <= γ_n·Σ|x_k||y_k| <= γ_n·‖x‖₂‖y‖₂ (the last by
// Cauchy–Schwarz). With underflow, each rounded product errs by at most 2^-1075 more and each
// addition is exact below 2^-1021, so n·2^-1075 is added. That bound alone, relative ~2^-43 for
// n = 1024, is too wide for an output's exact value to be reported (2^-40 of an f32 ulp), so
// the kernels below keep the rounding errors and sum them a second time (Lemma 2).
//
// Lemma 2 (the compensated kernels). A kernel computes Σ_k a_k·b_k (+ c, a bias) as follows:
// (p_k, e_k) = TwoProduct(a_k, b_k), exact: p_k + e_k = a_k·b_k (Dekker with Veltkamp's split,
// |a|, |b| < 2^995; a partial product that underflows errs by <= 2^-1075, four per product); the
// p_k (and c) go through a chain of TwoSums, s_new + q = s + p exactly, on one or two SIMD lanes
// then across lanes; every e_k, every TwoSum error q and every f = fl(a_lo·b_k) (the low part of
// a double-word factor) are added in floating point into a correction C, by blocks: each step
// adds fl(e + q + f) to a block sum, every `block` steps the block sum is added to C. The result
// is the double word TwoSum(s, C) (exact). Exactly, Σ a_k b_k + c = s + Σ e_k + Σ q + Σ a_lo b, so
// with T = Σ(|e_k| + |q| + |f|) over all terms (computed alongside, a posteriori):
//
//     |s + C − exact| <= ρ·T + n·2^-1071,   ρ = (γ_{3s} + γ_{B+8}·(1 + γ_{3s}) + u)·(1 + 2γ_{3n+10}),
//
// s = `block`, B = ⌈n/s⌉ + 1 block sums: a block's sum of at most 3s additions errs by <= γ_{3s}
// times its terms' magnitudes (Lemma 1's summation bound, any order), and its result is at most
// (1 + γ_{3s}) times them; the sum of the B block sums and the few lane and bias corrections
// (<= 8 additions more) errs by <= γ_{B+8} times their magnitudes; |fl(a_lo b) − a_lo b| <= u|f|;
// the last factor turns the computed T (a sum of <= 3n + 10 non-negative terms) into an upper bound
// on the exact one. An a priori form follows from |e_k| <= u|p_k| and |q| <= u·(partial sum):
// T <= (n + 5)·u·(1 + γ_{n+5})·(Σ|a_k b_k| + |c|) <= (n + 5)u(1 + γ_{n+5})(‖a‖₂‖b‖₂ + |c|), about
// 2^-86 relative for n = 1024; the a posteriori T is typically 2^5 to 2^10 smaller, which is what
// lets the gradients' exact values (their 2^-40 of an f32 ulp) be reported without recomputation.
//
// Lemma 3 (the logits kernel, one level more). The logits feed every output, so their kernel
// also keeps the rounding errors of C: per step x = fl(e + q) with its TwoSum error xe, then
// C' = fl(C + x) with its TwoSum error ce, and R = fl(Σ (xe + ce)). Exactly, Σ(e + q) = C + Σ(xe +
// ce); |xe| <= u|x|, |x| <= (1+u)(|e| + |q|); |ce| <= u|C'|, every partial |C'| <= (1+u)^(n+1)·T.
// With the lanes' and the bias's parts (<= 8 pieces, summed in floating point) at the end:
//
//     |zh + zl − exact| <= ρ₃(n)·T + γ₈·P + n·2^-1071,   ρ₃(n) = γ_{2n+2}·u·(n + 2)·(1 + γ_{n+2})·(1 + 2γ_{2n+4}),
//
// P the sum of the final pieces' magnitudes (computed). For n = 1024 that is about 2^-84·T + u²·|z|:
// T itself ~2^-40 of Σ|h_k w_k|, so the logits are good to ~2^-105 relative, and the rows'
// exponential (2^-101) and sum bound the gradients instead.
// `ProductEnclosureTests` checks the bounds, at the stated values, against exact MPFR products.
enum ProductEnclosure {
    /// γ_n = n·u/(1 − n·u), rounded up.
    static func gamma(_ n: Int) -> Double {
        let nu = Double(n) * unitRoundoff
        return roundedUp(nu / (1 - nu))
    }

    /// ρ₃(n) of Lemma 3, rounded up.
    static func rho3(_ n: Int) -> Double {
        roundedUp(gamma(2 * n + 2) * unitRoundoff * Double(n + 2) * (1 + gamma(n + 2)) * (1 + 2 * gamma(2 * n + 4)))
    }

    /// The steps per block of the correction sum C.
    static let block = 32

    /// ρ of Lemma 2 for n terms, rounded up; `blocked: false` for a kernel that adds every step
    /// to C directly (one block of n steps: γ_{3n+8} in place of the two levels).
    static func rho(_ n: Int, blocked: Bool = true) -> Double {
        if !blocked { return roundedUp((gamma(3 * n + 8) + unitRoundoff) * (1 + 2 * gamma(3 * n + 10))) }
        let inner = gamma(3 * block)
        let outer = gamma((n + block - 1) / block + 9)
        return roundedUp((inner + outer * (1 + inner) + unitRoundoff) * (1 + 2 * gamma(3 * n + 10)))
    }

    /// The underflow allowance of Lemma 2 for n products: n·2^-1071 (four partial products of at
    /// most 2^-1075 each per product, and the same again for the bound's own products).
    static func underflow(_ n: Int) -> Double { Double(n) * 0x1p-1071 }

    /// z_ij = Σ_k H_ik·W_jk + b_j for every row i of H (N × d) and every j in `range`, as double
    /// words (zh, zl, N × V row-major), each within zerr (Lemma 3) of the exact value. Needs every
    /// |H|, |W| < 2^995. `hs` holds Veltkamp's splits of H: hi parts, then lo parts, N × d each.
    static func logits(
        hidden h: UnsafePointer<Double>, splits hs: UnsafePointer<Double>, weight w: UnsafePointer<Double>,
        bias: UnsafePointer<Double>, rows n: Int, dimension d: Int, classes v: Int, classes range: Range<Int>,
        hi zh: UnsafeMutablePointer<Double>, lo zl: UnsafeMutablePointer<Double>, error zerr: UnsafeMutablePointer<Double>
    ) {
        let acc = UnsafeMutablePointer<SIMD2<Double>>.allocate(capacity: 4 * n)
        defer { acc.deallocate() }
        let rho = rho3(d), eta = underflow(d), g8 = gamma(8)
        let nd = n * d
        let pairs = d / 2
        for j in range {
            let wr = w + j * d
            acc.initialize(repeating: .zero, count: 4 * n)  // per row: s, C, R, T
            for kk in 0..<pairs {
                let k = 2 * kk
                let wv = SIMD2(wr[k], wr[k + 1])
                let cw = 134_217_729.0 * wv
                let wh = cw - (cw - wv)
                let wl = wv - wh
                for i in 0..<n {
                    let o = i * d + k
                    let hv = SIMD2(h[o], h[o + 1])
                    let hh = SIMD2(hs[o], hs[o + 1])
                    let hl = SIMD2(hs[nd + o], hs[nd + o + 1])
                    let p = hv * wv
                    let e = ((hh * wh - p) + hh * wl + hl * wh) + hl * wl
                    let a = acc[4 * i]
                    let t = a + p
                    let z = t - a
                    let q = (a - (t - z)) + (p - z)
                    acc[4 * i] = t
                    let x = e + q
                    let xz = x - e
                    let xe = (e - (x - xz)) + (q - xz)
                    let c0 = acc[4 * i + 1]
                    let c1 = c0 + x
                    let cz = c1 - c0
                    let ce = (c0 - (c1 - cz)) + (x - cz)
                    acc[4 * i + 1] = c1
                    acc[4 * i + 2] += xe + ce
                    acc[4 * i + 3] += magnitude(e) + magnitude(q)
                }
            }
            let b = bias[j]
            for i in 0..<n {
                let s = acc[4 * i], c = acc[4 * i + 1], r = acc[4 * i + 2], tt = acc[4 * i + 3]
                var top = twoSum(s[0], s[1])
                let withBias = twoSum(top.hi, b)
                var pieces = top.lo + c[0] + c[1] + (r[0] + r[1]) + withBias.lo
                var magnitudes = top.lo.magnitude + c[0].magnitude + c[1].magnitude + r[0].magnitude + r[1].magnitude + withBias.lo.magnitude
                var total = tt[0] + tt[1]
                top = DoubleWord(withBias.hi, 0)
                if d % 2 == 1 {  // the last column
                    let p = twoProduct(h[i * d + d - 1], w[j * d + d - 1])
                    let t = twoSum(top.hi, p.hi)
                    top = DoubleWord(t.hi, 0)
                    pieces += p.lo + t.lo
                    magnitudes += p.lo.magnitude + t.lo.magnitude
                    total += p.lo.magnitude + t.lo.magnitude
                }
                let result = twoSum(top.hi, pieces)
                zh[i * v + j] = result.hi
                zl[i * v + j] = result.lo
                zerr[i * v + j] = roundedUp(rho * total + g8 * magnitudes + eta)
            }
        }
    }

    @inline(__always) static func magnitude(_ x: SIMD2<Double>) -> SIMD2<Double> {
        SIMD2(x[0].magnitude, x[1].magnitude)
    }

    /// Veltkamp's splits of x: the hi parts, then the lo parts (2·count values). Needs |x| < 2^995.
    static func splits(_ x: UnsafeBufferPointer<Double>) -> [Double] {
        var r = [Double](repeating: 0, count: 2 * x.count)
        for (k, v) in x.enumerated() {
            let s = veltkampSplit(v)
            r[k] = s.hi
            r[x.count + k] = s.lo
        }
        return r
    }
}
