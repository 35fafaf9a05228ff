import DoubleWordArithmetic

/// The gradients' products in the fast tier, each output a compensated sum (Lemma 2 of
/// ProductEnclosure.swift) certified on the spot.
///
/// The gradient G (N × V) is given as double words gh + gl with bounds gerr, and Veltkamp's
/// split of gh (ghs: hi parts, then lo parts). For an output Σ_r G_r·x_r (r over rows i, or over
/// classes j), Lemma 2 with a_r = G_r (a double word: its low part's product is one more term
/// of C) gives the computed double word within ρ(n)·T + n·2^-1071 of Σ G_r x_r; the G_r are
/// within gerr_r of the exact gradient, which adds Σ gerr_r·|x_r|, summed in floating point
/// (non-negative terms: the computed sum times (1 + 2γ_{2n}) bounds the exact one).
struct GradientProducts {
    let rows: Int
    let classes: Int
    let dimension: Int
    /// The rows of G that contribute (kept rows with a nonzero upstream gradient).
    let active: [Int]
    let gh: UnsafePointer<Double>
    let gl: UnsafePointer<Double>
    let ghs: UnsafePointer<Double>
    /// gerr, the bounds of G.
    let a: UnsafePointer<Double>
    let certifier: DoubleWordCertifier

    /// The certified output for the compensated sum (s, c) with Σ gerr·|x| = `bound` and Lemma 2's
    /// T = `magnitudes`, n terms (rho = ρ(n)).
    @inline(__always)
    func output(_ s: Double, _ c: Double, bound: Double, magnitudes t: Double, terms n: Int, rho: Double) -> OracleValue? {
        let r = twoSum(s, c)
        let err = roundedUp(bound * (1 + 2 * ProductEnclosure.gamma(2 * n)) + rho * t + ProductEnclosure.underflow(2 * n))
        return BoundedValue(r, err: err).certified(certifier)
    }

    /// grad_weight[j][k] = Σ_i G_ij·h_ik for j in `range`, every k, two columns k at a time on
    /// SIMD lanes (each lane its own output, the same operations as one at a time); the indices
    /// that do not certify go to `failed`. An output with no nonzero h_ik over active rows is the
    /// exact 0.
    func gradWeight(hidden h: UnsafePointer<Double>, splits hs: UnsafePointer<Double>, nonzero: [Bool],
                    classes range: Range<Int>, into out: UnsafeMutablePointer<OracleValue>, failed: inout [Int]) {
        let d = dimension, nd = rows * d, v = classes
        let zero = OracleValue(rounded: 0, exact: ExactValue(0.0))
        let n = active.count
        let rho = ProductEnclosure.rho(n, blocked: false)
        let widen = 1 + 2 * ProductEnclosure.gamma(2 * n), floor = ProductEnclosure.underflow(2 * n)
        for j in range {
            var k = 0
            while k < d {
                let lanes = k + 1 < d ? 2 : 1
                var s = SIMD2<Double>.zero, c = SIMD2<Double>.zero, tt = SIMD2<Double>.zero, b = SIMD2<Double>.zero
                for i in active {
                    let o = i * v + j, x0 = i * d + k, x1 = lanes == 2 ? x0 + 1 : x0
                    let gv = SIMD2(repeating: gh[o]), ghh = SIMD2(repeating: ghs[o]), ghl = SIMD2(repeating: ghs[rows * v + o])
                    let x = SIMD2(h[x0], h[x1]), xh = SIMD2(hs[x0], hs[x1]), xl = SIMD2(hs[nd + x0], hs[nd + x1])
                    let p = gv * x
                    let e = ((ghh * xh - p) + ghh * xl + ghl * xh) + ghl * xl
                    let t = s + p
                    let z = t - s
                    let q = (s - (t - z)) + (p - z)
                    s = t
                    let f = SIMD2(repeating: gl[o]) * x
                    c += e + q + f
                    tt += ProductEnclosure.magnitude(e) + ProductEnclosure.magnitude(q) + ProductEnclosure.magnitude(f)
                    b += SIMD2(repeating: a[o]) * ProductEnclosure.magnitude(x)
                }
                let hi = s + c
                let z = hi - s
                let lo = (s - (hi - z)) + (c - z)
                let err = (b * widen + rho * tt + floor) * (1 + 0x1p-40)
                let base = j * d + k
                if lanes == 2 && nonzero[k] && nonzero[k + 1]
                    && certifier.certifyPair(hi, lo, scale: .zero, error: err, into: out + base) {
                    k += 2
                    continue
                }
                for l in 0..<lanes {
                    if !nonzero[k + l] {
                        out[base + l] = zero
                    } else if let r = BoundedValue(DoubleWord(hi[l], lo[l]), err: err[l]).certified(certifier) {
                        out[base + l] = r
                    } else {
                        out[base + l] = zero
                        failed.append(base + l)
                    }
                }
                k += lanes
            }
        }
    }

    /// grad_hidden[i][k] = Σ_j G_ij·w_jk for k in `range` (every active row i; other rows are
    /// exact zeros, as are columns k of W without a nonzero value); nil where it does not certify.
    func gradHidden(weight w: UnsafePointer<Double>, nonzero: [Bool], columns range: Range<Int>,
                    into out: UnsafeMutablePointer<OracleValue>, failed: inout [Int]) {
        let d = dimension, v = classes, n = active.count
        let zero = OracleValue(rounded: 0, exact: ExactValue(0.0))
        let width = 8, slots = 5  // per row and lane pair: s, block sum, C, T, Σ gerr·|w|
        let rho = ProductEnclosure.rho(v)
        let acc = UnsafeMutablePointer<SIMD2<Double>>.allocate(capacity: slots * n * width / 2)
        defer { acc.deallocate() }
        var k0 = range.lowerBound
        while k0 < range.upperBound {
            let kn = Swift.min(width, range.upperBound - k0)
            let lanes = (kn + 1) / 2
            acc.initialize(repeating: .zero, count: slots * n * width / 2)
            for j in 0..<v {
                if j % ProductEnclosure.block == 0 {
                    for x in 0..<(n * width / 2) {
                        acc[slots * x + 2] += acc[slots * x + 1]
                        acc[slots * x + 1] = .zero
                    }
                }
                let wr = w + j * d + k0
                for l in 0..<lanes {
                    let wv = 2 * l + 1 < kn ? SIMD2(wr[2 * l], wr[2 * l + 1]) : SIMD2(wr[2 * l], 0)
                    let cw = 134_217_729.0 * wv
                    let wh = cw - (cw - wv)
                    let wl = wv - wh
                    let wa = SIMD2(wv[0].magnitude, wv[1].magnitude)
                    for (r, i) in active.enumerated() {
                        let o = i * v + j
                        let gv = SIMD2(repeating: gh[o]), ghh = SIMD2(repeating: ghs[o]), ghl = SIMD2(repeating: ghs[rows * v + o])
                        let p = gv * wv
                        let e = ((ghh * wh - p) + ghh * wl + ghl * wh) + ghl * wl
                        let base = slots * (r * (width / 2) + l)
                        let s = acc[base]
                        let t = s + p
                        let z = t - s
                        let q = (s - (t - z)) + (p - z)
                        acc[base] = t
                        let f = SIMD2(repeating: gl[o]) * wv
                        acc[base + 1] += e + q + f
                        acc[base + 3] += ProductEnclosure.magnitude(e) + ProductEnclosure.magnitude(q) + ProductEnclosure.magnitude(f)
                        acc[base + 4] += SIMD2(repeating: a[o]) * wa
                    }
                }
            }
            for i in 0..<rows {
                for kk in 0..<kn { out[i * d + k0 + kk] = zero }
            }
            for (r, i) in active.enumerated() {
                for kk in 0..<kn where nonzero[k0 + kk] {
                    let base = slots * (r * (width / 2) + kk / 2), lane = kk % 2
                    let c = acc[base + 2][lane] + acc[base + 1][lane]
                    if let x = output(acc[base][lane], c, bound: acc[base + 4][lane], magnitudes: acc[base + 3][lane], terms: v, rho: rho) {
                        out[i * d + k0 + kk] = x
                    } else {
                        failed.append(i * d + k0 + kk)
                    }
                }
            }
            k0 += kn
        }
    }
}
