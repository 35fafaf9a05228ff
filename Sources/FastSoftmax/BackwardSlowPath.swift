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
/// - Peeling: with h the largest group whose C_h ≠ 0, N_i = E_h·Σ_{g>=h} e^(x_g − x_h)·C_g, a
///   sum whose first term C_h is exact and nonzero, so its sign and size are found even when
///   E_h is astronomically small (a row like [1e30, −1e30, 0] at its arg-max); the factor
///   e_i·E_h = e^((x_i − m) + (x_h − m)) is one fixed-point exponential (or, below e^-16000, only
///   decides a signed zero). The bound below is for that sum, with E_g read as e^(x_g − x_h).
/// - Error (units u = 2^-2432): E_g from `FixedPointExp` carries c_g units, +2 converting to
///   MPFloat; each product E_g·C_g 2 units; each of the G additions at most 4 units of Σ|terms|.
///   Groups with x_g − m below the cutoff −(2496 + log2 K)·ln 2 are dropped: each E_g <
///   2^-(2496 + log2 K), in all below 2^-2496·max|C_g|. So
///     |err N_i| <= (max c_g + 4 + 4G)·A·u + 2^-2496·max|C_g|,   A = Σ_g E_g·|C_g|,
///   and dx_i = e_i·N_i/S² (S >= 1 with the same relative error, e_i c_g + 2 units, the
///   conversions 2^-104 and the double-word division rhoOp) is accepted by the fast path's test
///   (1/512 ulp of the result, with the bound doubled); then it is within 0.5 + 2^-8 + 2^-27 ulp.
/// - A logit so far below the maximum that its own e_i is below the cutoff has |dx_i| < 2^-1700,
///   a zero in binary64 and binary32, of N_i's sign: set when |N_i| exceeds its bound.
/// - An entry that still fails (an exact value within about 2^-2300 relative of cancelling that
///   is not 0, or an N_i decided only by groups below the cutoff) keeps its fast-path value.
enum BackwardSlowPath {
    static func softmax<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                               max m: Double, indices: [Int], grid: Accurate.Grid,
                                               into out: UnsafeMutableBufferPointer<T>) {
        let n = mpLevels[mpLevels.count - 1]
        let k = x.count
        // Groups, largest value first: value, count, exact Σ dy.
        var members: [Double: [Int]] = [:]
        for j in 0..<k where Double(x[j]).isFinite { members[Double(x[j]) + 0.0, default: []].append(j) }
        let values = members.keys.sorted(by: >)
        var groupOf = [Int](repeating: -1, count: k)
        var counts: [Int] = [], sums: [MPFloat] = []
        for (g, v) in values.enumerated() {
            var sum = MPFloat(zero: n)
            for j in members[v]! {
                groupOf[j] = g
                let d = Double(dy[j])
                if d != 0 { sum = sum + MPFloat(d, limbs: n) }
            }
            counts.append(members[v]!.count)
            sums.append(sum)
        }
        var fx = FixedPointExp(fractionLimbs: n)
        var mantissa = [UInt64](repeating: 0, count: n + 1)
        let cutoff = -Double(64 * n + 64 + SlowPath.log2Ceil(k)) * 0.6931471805599453
        /// e^(x_g − x_h) for the groups g >= h within the cutoff, and the worst error units.
        func shifted(from h: Int) -> (e: [MPFloat?], units: Double) {
            var worst = 0.0
            let e: [MPFloat?] = values.indices.map { g in
                guard g >= h else { return nil }
                let d = twoSum(values[g], -values[h])
                guard d.hi >= cutoff else { return nil }
                let (ke, c) = fx.exp(d, mantissa: &mantissa)
                worst = Swift.max(worst, c + 2)
                return SlowPath.mp(mantissa, fractionLimbs: n, exponentShift: ke)
            }
            return (e, worst)
        }
        let top = shifted(from: 0)
        var S = MPFloat(zero: n)
        for g in values.indices { if let eg = top.e[g] { S = S + eg.multiplied(by: UInt64(counts[g])) } }
        let s2 = S.xw * S.xw
        var cache: [Int: (e: [MPFloat?], units: Double)] = [0: top]
        for i in indices {
            guard groupOf[i] >= 0 else { continue }
            let di = MPFloat(Double(dy[i]), limbs: n)
            let c = values.indices.map { di.multiplied(by: UInt64(counts[$0])) - sums[$0] }
            guard let h = c.firstIndex(where: { !$0.isZero }) else {
                out[i] = 0  // every C_g = 0: exactly 0
                continue
            }
            if cache[h] == nil { cache[h] = shifted(from: h) }
            let (e, worst) = cache[h]!
            // N_i / E_h = Σ_{g >= h} e^(x_g − x_h)·C_g: the h term is C_h ≠ 0, exact.
            var num = MPFloat(zero: n), a = MPFloat(zero: n)
            var maxC = Int.min
            for g in h..<values.count where !c[g].isZero {
                maxC = Swift.max(maxC, c[g].exponent)
                guard let eg = e[g] else { continue }
                let t = eg * c[g]
                num = num + t
                a = a + (t.negative ? -t : t)
            }
            let units = worst + 4 + 4 * Double(values.count)
            let errA = Double.log2(units) + Double(a.exponent) - Double(64 * n)
            let errN = Swift.max(errA, Double(maxC - 64 * n - 64)) + 2
            let numKnown = !num.isZero && Double(num.exponent - 1) > errN
            // dx_i = e^((x_i − m) + (x_h − m))·(N_i/E_h)/S²; the exponent as a double word
            // (error 2^-104 of its size, <= 2^-89 relative in the factor).
            let arg = DoubleWord.anySignSum(twoSum(Double(x[i]), -m), twoSum(values[h], -m))
            guard arg.hi >= -16000 else {
                // factor < 2^-23000: a zero of N_i's sign.
                if numKnown { out[i] = num.negative ? -0.0 : 0 }
                continue
            }
            let (kf, _) = fx.exp(arg, mantissa: &mantissa)  // its error, 2^-2400 relative, is in the 2^-80 budget
            let factor = SlowPath.mp(mantissa, fractionLimbs: n, exponentShift: kf)
            let dx = (factor * num).xw / s2
            let errLog2 = errN + Double(factor.exponent) - 2 * Double(S.exponent - 1)
            if grid.accepts(errorLog2: errLog2, result: dx) && (numKnown || dx.isZero) {
                out[i] = T(dx.doubleValue)
            }
        }
    }
}
