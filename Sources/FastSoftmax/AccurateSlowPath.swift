import DoubleWordArithmetic
import RealModule

// The `accurate` kernels' slow path: the two outputs that can cancel (logsumexp near 0, the
// probability-target gradient near 0), recomputed with MPFloat at escalating precision until
// the error bound is 1/512 ulp of the result (or below 2^(emin_sub - 9) in absolute value).
// Only reached when the double-word bound fails, i.e. when at least ~25 leading bits cancel.

enum SlowPath {
    /// Bits of log2(K) rounded up, for cutoffs.
    static func log2Ceil(_ k: Int) -> Int { k <= 1 ? 0 : Int.bitWidth - (k - 1).leadingZeroBitCount }

    /// Adds mantissa·2^k (k <= 0, truncated below one unit) into the fixed-point accumulator.
    static func accumulate(_ acc: inout [UInt64], _ mantissa: [UInt64], _ k: Int, scratch: inout [UInt64]) {
        for i in 0..<mantissa.count { scratch[i] = mantissa[i] }
        FixedPointExp.shiftRight(&scratch, -k)
        FixedPointExp.add(&acc, scratch)
    }

    /// The fixed-point value (w limbs, two's complement) as an MPFloat with n limbs.
    static func mp(_ fixed: [UInt64], fractionLimbs n: Int, exponentShift k: Int = 0) -> MPFloat {
        var v = fixed
        let negative = v[v.count - 1] >> 63 == 1
        if negative { FixedPointExp.negate(&v) }
        return MPFloat.make(v, scale: k - 64 * n, negative: negative, limbs: n)
    }

    /// logsumexp(x) = log1p(t) with t = Σ_j e^(x_j) - 1, T = Σ e^(x_j) accumulated in fixed
    /// point (no shift: this is only reached when m is in [-log K - 1, 0], so T is near 1).
    ///
    /// Error of t at n fraction limbs (units 2^-64n): each e^(x_j) carries C_j relative
    /// (FixedPointExp.exp), its shift into the accumulator one unit, the terms skipped below
    /// m - (64n + 64 + log2 K)·ln2 total below one unit, and T - 1 is exact:
    ///   |t - t_exact| <= (max C_j)·T + terms + 1 units.
    /// Accepted as in `Accurate.Grid.accepts` (1/512 ulp); log1p(t) then adds 2^-97 relative
    /// (t >= -1/2), so the result is within 0.5 + 2^-8 ulp. If even 38 limbs (2432 bits) do not
    /// pass (an exact value within 2^-2400 of 0 that is not 0 itself), the fast result is
    /// returned.
    static func logsumexp<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, max m: Double,
                                                 grid: Accurate.Grid, fallback: ScaledDoubleWord) -> Double {
        guard m <= 0 && m > -1000 else { return fallback.doubleValue }
        let k = x.count
        for n in mpLevels {
            var fx = FixedPointExp(fractionLimbs: n)
            let w = n + 1
            var acc = [UInt64](repeating: 0, count: w)
            var mantissa = acc, shifted = acc
            let cutoff = m - Double(64 * n + 64 + log2Ceil(k)) * 0.6931471805599453
            var worst = 0.0
            var terms = 0
            var last = Double.nan
            var lastK = 0
            for j in 0..<k {
                let v = Double(x[j])
                if !(v >= cutoff) { continue }
                if v != last {
                    let (e, c) = fx.exp(DoubleWord(v, 0), mantissa: &mantissa)
                    worst = max(worst, c)
                    last = v
                    lastK = e
                }
                accumulate(&acc, mantissa, lastK, scratch: &shifted)
                terms += 1
            }
            let total = Double(acc[n]) + Double(acc[n - 1]) * 0x1p-64
            var one = [UInt64](repeating: 0, count: w)
            one[n] = 1
            FixedPointExp.subtract(&acc, one)
            let t = mp(acc, fractionLimbs: n).xw
            let units = worst * max(total, 1) + Double(terms) + 2
            let errLog2 = Double.log2(units) - Double(64 * n)
            if grid.accepts(errorLog2: errLog2, result: t) {
                return DoubleWordMath.log1p(t).doubleValue
            }
        }
        return fallback.doubleValue
    }

    /// Recomputes gradient entries g_i = e_i·P/S - p_i (e_i = e^(x_i - m), S = Σ e_j,
    /// P = Σ p_j) for the indices whose fast bound failed.
    ///
    /// All finite logits equal: softmax_i = 1/n exactly, and g_i = (P - n·p_i)/n where P and
    /// n·p_i are exact in 2432-bit MPFloat (every p_j is a multiple of 2^-1074 below 2^1024, so
    /// Σ p_j has at most 2115 + log2 K significant bits): one double-word division, <= 0.5 +
    /// 2^-50 ulp (a zero gradient is exactly 0).
    ///
    /// Otherwise, at n limbs (units 2^-64n): S (fixed point, >= 1) carries max C_j + terms + 1
    /// relative (as in `logsumexp`) and 2 more converting to MPFloat; P carries 4K relative to
    /// Σ|p_j| (MPFloat additions); e_i carries C_i + 2; each product 2; the numerator
    /// num = e_i·P - p_i·S then has
    ///   |error| <= ((C_i + 4K + 6)·e_i·Σ|p| + (C_S + 4)·|p_i|·S + 4·max(e_i·Σ|p|, |p_i|·S))
    /// units, and g_i = num/S is accepted by the fast path's test (1/512 ulp); the final
    /// division adds 2^-101. An entry that never passes keeps its fast-path value.
    static func gradient<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                probabilities pr: UnsafeBufferPointer<T>,
                                                max m: Double, allEqual: Bool, negligibleTerms: Bool,
                                                indices: [Int], grid: Accurate.Grid,
                                                into out: UnsafeMutableBufferPointer<T>) {
        let k = x.count
        if allEqual {
            // n logits equal to m, the others (if any) below m - 1800: softmax_i = 1/(n + δ) with
            // 0 <= δ < K·e^-1800, so g_i = (P - n·p_i - δ·p_i)/(n + δ). When P - n·p_i != 0 it
            // is a nonzero multiple of 2^-1074 and δ changes nothing at binary64 resolution;
            // when it is 0, g_i = -δ·p_i/(n + δ): -0 for p_i > 0 if δ > 0, else exactly 0.
            let n = mpLevels[mpLevels.count - 1]
            var P = MPFloat(zero: n)
            var count = 0
            for j in 0..<k {
                if Double(x[j]) == m { count += 1 }
                let pj = Double(pr[j])
                if pj != 0 { P = P + MPFloat(pj, limbs: n) }
            }
            let cnt = MPFloat(Double(count), limbs: n)
            for i in indices where Double(x[i]) == m {
                let pi = Double(pr[i])
                let num = P - cnt * MPFloat(pi, limbs: n)
                if num.isZero {
                    out[i] = negligibleTerms && pi != 0 ? (pi > 0 ? -0.0 : 0.0) : 0.0
                } else {
                    out[i] = T((num.xw / ScaledDoubleWord(Double(count))).doubleValue)
                }
            }
            return
        }
        var remaining = indices
        var wanted = [Bool](repeating: false, count: k)
        for n in mpLevels {
            for i in 0..<k { wanted[i] = false }
            for i in remaining { wanted[i] = true }
            var fx = FixedPointExp(fractionLimbs: n)
            let w = n + 1
            var acc = [UInt64](repeating: 0, count: w)
            var mantissa = acc, shifted = acc
            let cutoff = -Double(64 * n + 64 + log2Ceil(k)) * 0.6931471805599453
            var worst = 0.0
            var terms = 0
            var stash: [Int: (k: Int, mantissa: [UInt64], units: Double)] = [:]
            var P = MPFloat(zero: n)
            var absP = MPFloat(zero: n)
            var last = Double.nan
            var lastK = 0, lastC = 0.0
            for j in 0..<k {
                let pj = Double(pr[j])
                if pj != 0 {
                    P = P + MPFloat(pj, limbs: n)
                    absP = absP + MPFloat(abs(pj), limbs: n)
                }
                let v = Double(x[j])
                if v == -.infinity { continue }
                let d = twoSum(v, -m)
                let inSum = d.hi >= cutoff
                guard inSum || (wanted[j] && d.hi >= -16000) else { continue }
                if v != last {
                    (lastK, lastC) = fx.exp(d, mantissa: &mantissa)
                    last = v
                }
                if wanted[j] { stash[j] = (lastK, mantissa, lastC) }
                if inSum {
                    accumulate(&acc, mantissa, lastK, scratch: &shifted)
                    worst = max(worst, lastC)
                    terms += 1
                }
            }
            let cS = worst + Double(terms) + 1
            let S = mp(acc, fractionLimbs: n)
            let sx = S.xw
            var still: [Int] = []
            for i in remaining {
                guard let (ke, me, ce) = stash[i] else {
                    still.append(i)  // e_i below 2^-23000: cannot cancel against p_i
                    continue
                }
                let e = mp(me, fractionLimbs: n, exponentShift: ke)
                let pm = MPFloat(Double(pr[i]), limbs: n)
                let num = e * P - pm * S
                let a = Double(e.exponent + absP.exponent)     // log2 bound of e_i·Σ|p|
                let b = Double(pm.exponent + S.exponent)       // log2 bound of |p_i|·S
                let units = (ce + 4 * Double(k) + 6) + (cS + 4) + 4
                let numErrLog2 = Double.log2(units) + max(a, b) - Double(64 * n)
                // g = num/S with S >= 1: errors divide by S >= 2^(S.exponent - 1).
                let errLog2 = numErrLog2 - Double(S.exponent - 1)
                let g = num.xw / sx
                if grid.accepts(errorLog2: errLog2, result: g) {
                    out[i] = T(g.doubleValue)
                } else {
                    still.append(i)
                }
            }
            remaining = still
            if remaining.isEmpty { return }
        }
    }
}
