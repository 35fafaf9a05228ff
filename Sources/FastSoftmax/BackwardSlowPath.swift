import DoubleWordArithmetic
import RealModule

/// The `accurate` softmax_backward's slow path: entries whose double-word bound failed (at least
/// ~25 leading bits cancel in dy_i − ⟨dy, y⟩), recomputed at 2432 bits (38 limbs) from exact
/// group coefficients.
///
/// Group the finite logits by value: group g has n_g logits at x_g, D_g = Σ_{j∈g} dy_j and
/// E_g = e^(x_g − m). Then N_i = Σ_g E_g·C_g with C_g = n_g·dy_i − D_g, and
/// softmax_backward_i = E_{g(i)}·N_i/S², S = Σ_g n_g·E_g.
///
/// - Exactness of C_g: every dy_j is a multiple of 2^-1074 below 2^1024, so D_g and n_g·dy_i
///   (K <= 2^20) have at most 2098 + 21 significant bits, which 2432-bit MPFloat holds: the
///   additions and the small-integer product are exact, and so is C_g.
/// - Exact zeros: the E_g are linearly independent over the rationals (Lindemann–Weierstrass:
///   the x_g − m are distinct rationals), so N_i = 0 iff every C_g = 0. Then the output is 0
///   exactly; otherwise N_i ≠ 0.
/// - Error (units u = 2^-2432): E_g from `FixedPointExp` carries c_g units, +2 converting to
///   MPFloat; each product E_g·C_g 2 units; each of the G additions at most 4 units of Σ|terms|.
///   Groups with x_g − m below the cutoff −(2496 + log2 K)·ln 2 are dropped: each E_g <
///   2^-(2496 + log2 K), in all below 2^-2496·max|C_g|. So
///     |err N_i| <= (max c_g + 4 + 4G)·A·u + 2^-2496·max|C_g|,   A = Σ_g E_g·|C_g|,
///   and dx_i = e_i·N_i/S² (S >= 1 with the same relative error, e_i c_g + 2 units, the
///   conversions 2^-104 and the double-word division rhoOp) is accepted by the fast path's test
///   (1/512 ulp of the result, with the bound doubled); then it is within 0.5 + 2^-8 + 2^-27 ulp.
/// - An entry that still fails (an exact value within about 2^-2300 relative of cancelling that
///   is not 0, or a logit so far below the maximum that its own e_i is below the cutoff: then
///   |dx_i| < 2^-1700, which rounds to ±0) keeps its fast-path value.
enum BackwardSlowPath {
    static func softmax<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                               max m: Double, indices: [Int], grid: Accurate.Grid,
                                               into out: UnsafeMutableBufferPointer<T>) {
        let n = mpLevels[mpLevels.count - 1]
        let k = x.count
        // Groups: first index of each distinct finite value, in order of appearance.
        var slot: [Double: Int] = [:]
        var values: [Double] = []
        var counts: [Int] = []
        var sums: [MPFloat] = []
        var groupOf = [Int](repeating: -1, count: k)
        for j in 0..<k {
            let v = Double(x[j])
            if !v.isFinite { continue }
            let key = v + 0.0
            let g: Int
            if let s = slot[key] {
                g = s
            } else {
                g = values.count
                slot[key] = g
                values.append(key)
                counts.append(0)
                sums.append(MPFloat(zero: n))
            }
            groupOf[j] = g
            counts[g] += 1
            let d = Double(dy[j])
            if d != 0 { sums[g] = sums[g] + MPFloat(d, limbs: n) }
        }
        // E_g for the groups above the cutoff.
        var fx = FixedPointExp(fractionLimbs: n)
        var mantissa = [UInt64](repeating: 0, count: n + 1)
        let cutoff = -Double(64 * n + 64 + SlowPath.log2Ceil(k)) * 0.6931471805599453
        var e: [MPFloat?] = []
        var worst = 0.0
        var S = MPFloat(zero: n)
        for (g, v) in values.enumerated() {
            let d = twoSum(v, -m)
            guard d.hi >= cutoff else { e.append(nil); continue }
            let (ke, c) = fx.exp(d, mantissa: &mantissa)
            worst = Swift.max(worst, c + 2)
            let eg = SlowPath.mp(mantissa, fractionLimbs: n, exponentShift: ke)
            e.append(eg)
            S = S + eg.multiplied(by: UInt64(counts[g]))
        }
        let sx = S.xw
        let s2 = sx * sx
        let units = worst + 4 + 4 * Double(values.count)
        for i in indices {
            let g0 = groupOf[i]
            guard g0 >= 0, let ei = e[g0] else { continue }
            let di = MPFloat(Double(dy[i]), limbs: n)
            var num = MPFloat(zero: n)
            var a = MPFloat(zero: n)
            var maxC = Int.min
            var allZero = true
            for g in values.indices {
                let c = di.multiplied(by: UInt64(counts[g])) - sums[g]
                if c.isZero { continue }
                allZero = false
                maxC = Swift.max(maxC, c.exponent)
                guard let eg = e[g] else { continue }
                let t = eg * c
                num = num + t
                a = a + (t.negative ? -t : t)
            }
            if allZero {
                out[i] = 0
                continue
            }
            let dx = (ei * num).xw / s2
            // log2 of the bound of |err N_i|, doubled; then scaled by e_i/S² (S >= 2^(S.exponent - 1)).
            let errA = a.isZero ? -Double.infinity : Double.log2(units) + Double(a.exponent) - Double(64 * n)
            let errDropped = Double(maxC - 64 * n - 64)
            let errN = Swift.max(errA, errDropped) + 2
            let errLog2 = errN + Double(ei.exponent) - 2 * Double(S.exponent - 1)
            if grid.accepts(errorLog2: errLog2, result: dx) { out[i] = T(dx.doubleValue) }
        }
    }
}
