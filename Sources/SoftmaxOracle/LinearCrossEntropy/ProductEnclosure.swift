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
// then across lanes; and every e_k, every TwoSum error q and every low part a_lo·b_k of a
// double-word factor are added in floating point into one correction C. The result is the
// double word TwoSum(s, C). Exactly, Σ a_k b_k + c = s + Σ e_k + Σ q (+ Σ a_lo b). So
//
//     |s + C − exact| <= γ_{m−1}·(Σ|e_k| + Σ|q| + Σ|fl(a_lo b)|) + u·Σ|a_lo b|,  m = number of terms of C,
//
// by Lemma 1's summation bound (any order). Each |e_k| <= u|p_k| <= u(1+u)|a_k b_k|. Each TwoSum's
// error is <= u|t|, t its rounded sum, a partial sum of at most n + 2 terms: |t| <= (1+u)^(n+3)·
// (Σ|p_k| + |c|). With at most n + 3 TwoSums, and |a_lo| <= u|a_hi|:
//
//     |s + C − exact| <= κ(n)·(Σ|a_k||b_k| + |c|) + n·2^-1071,
//     κ(n) = γ_{3n+6}·u·(n + 5)·(1 + γ_{n+5}) + 2u²,
//
// since m <= 3n + 6 terms and u(1+u) + (n+3)u(1+u)^(n+4) + u(1+u) <= u(n + 5)(1 + γ_{n+5}); the
// last 2u² covers the rounding of fl(a_lo·b) (u·u|a_hi b|) with room. For d = 1024, κ ≈ 2^-85.
// `ProductEnclosureTests` checks the bound, at the stated value, against exact MPFR products.
enum ProductEnclosure {
    /// γ_n = n·u/(1 − n·u), rounded up.
    static func gamma(_ n: Int) -> Double {
        let nu = Double(n) * unitRoundoff
        return roundedUp(nu / (1 - nu))
    }

    /// κ(n) of Lemma 2, rounded up.
    static func kappa(_ n: Int) -> Double {
        roundedUp(gamma(3 * n + 6) * unitRoundoff * Double(n + 5) * (1 + gamma(n + 5)) + 2 * unitRoundoffSquared)
    }

    /// The underflow allowance of Lemma 2 for n products: n·2^-1071 (four partial products of at
    /// most 2^-1075 each per product, and the same again for the bound's own products).
    static func underflow(_ n: Int) -> Double { Double(n) * 0x1p-1071 }

    /// An upper bound on ‖x‖₂, computed on x scaled by a power of two (no overflow or harmful
    /// underflow): ss = fl(Σ (x_k·2^-e)²) errs by <= γ_{n+1}·ss_exact plus n·2^-1074 for the
    /// squares that underflow; sqrt rounds by u; each factor below covers its error.
    static func normBound(_ x: UnsafeBufferPointer<Double>) -> Double {
        var top = 0.0
        for v in x { top = Swift.max(top, v.magnitude) }
        if top == 0 { return 0 }
        let e = Int(top.exponent)
        var ss = 0.0
        for v in x { let t = scaled(v, by: -e); ss += t * t }
        let n = x.count
        let inflated = (ss + Double(n) * 0x1p-1074) * (1 + 2 * gamma(n + 1))
        return roundedUp(scaled(inflated.squareRoot() * (1 + 4 * unitRoundoff), by: e))
    }

    /// z_ij = Σ_k H_ik·W_jk + b_j for every row i of H (N × d) and every j in `classes`, as double
    /// words (zh, zl, N × V row-major), each within κ(d)·(‖h_i‖‖w_j‖ + |b_j|) + d·2^-1071 of the
    /// exact value (Lemma 2; Σ|h_k w_k| <= ‖h_i‖‖w_j‖). Needs every |H|, |W| < 2^995.
    /// `hs` holds Veltkamp's splits of H: hi parts then lo parts, N × d each.
    static func logits(
        hidden h: UnsafePointer<Double>, splits hs: UnsafePointer<Double>, weight w: UnsafePointer<Double>,
        bias: UnsafePointer<Double>?, rows n: Int, dimension d: Int, classes v: Int, classes range: Range<Int>,
        hi zh: UnsafeMutablePointer<Double>, lo zl: UnsafeMutablePointer<Double>
    ) {
        let s = UnsafeMutablePointer<SIMD2<Double>>.allocate(capacity: 2 * n)
        defer { s.deallocate() }
        let c = s + n
        let nd = n * d
        let pairs = d / 2
        for j in range {
            let wr = w + j * d
            for i in 0..<n { s[i] = .zero; c[i] = .zero }
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
                    let a = s[i]
                    let t = a + p
                    let z = t - a
                    let q = (a - (t - z)) + (p - z)
                    s[i] = t
                    c[i] += e + q
                }
            }
            let b = bias?[j] ?? 0
            for i in 0..<n {
                var a = twoSum(s[i][0], s[i][1])
                var corr = c[i][0] + c[i][1] + a.lo
                if d % 2 == 1 {  // the last column
                    let p = twoProduct(h[i * d + d - 1], w[j * d + d - 1])
                    let t = twoSum(a.hi, p.hi)
                    a = DoubleWord(t.hi, 0)
                    corr += p.lo + t.lo
                }
                let tb = twoSum(a.hi, b)
                let r = twoSum(tb.hi, corr + tb.lo)
                zh[i * v + j] = r.hi
                zl[i * v + j] = r.lo
            }
        }
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
