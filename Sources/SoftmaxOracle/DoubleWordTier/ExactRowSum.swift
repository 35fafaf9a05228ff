import DoubleWordArithmetic
import ParallelExecution

// The row's sum for f64 outputs: each e^(d_j) by `DoubleWordExp.exp` (2^-101 relative), added exactly
// in a `FixedPointSum` relative to the scale 2^σ of the second largest term.

extension DoubleWordTier {
    /// `rowSum`'s exact strategy, terms scaled by 2^-σ: each chunk's terms go into its own
    /// `FixedPointSum`, and the chunks' sums add exactly, whatever their number.
    static func exactRowSum(_ x: UnsafeBufferPointer<Double>, _ scan: RowScan, sigma: Int, split: StageSplit,
                            store: ExpStore?, _ tab: DoubleWordExpTable) -> RowSum? {
        let parts = split.run(count: x.count) { range in
            sumPart(x, range, m: scan.max, maxIndex: scan.maxIndex, sigma: sigma, store: store, tab)
        }
        var total = FixedPointSum()
        var truncations = 0, omitted = 0
        var overflow = false
        for p in parts {
            total = total + p.sum
            truncations += p.truncations
            omitted += p.omitted
            overflow = overflow || p.overflow
        }
        guard let v = total.value() else { return nil }
        // Relative error of ŝ: the exponentials' 2^-101 (all terms positive), the truncations
        // (each < 2^(σ−126), and s >= e^(d_2) >= 2^σ(1 − 2^-17.5)), the conversion (2^-104.9).
        let epsS = roundedUp(DoubleWordExp.relativeError * 1.0001 + Double(truncations) * 0x1p-126 * 1.0001
                             + FixedPointSum.conversionError * 1.0001)
        return RowSum(m: scan.max, maxIndex: scan.maxIndex,
                      s: ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + sigma),
                      epsS: epsS, overflow: overflow, omitted: omitted, compact: false)
    }

    /// The exact fixed-point sum of 2^(k_j − σ)·M_j over j in `range`, j ≠ M, x_j > −inf.
    ///
    /// Every d_j <= d_2 = the second largest, and t_j (hence k_j) is a non-decreasing function
    /// of dh_j, so k_j <= σ = k(d_2) and every scaled term is below 2 (M < 2): the accumulator's
    /// precondition holds. Terms with d_j < −2^20 are omitted: e^(d_j) < 2^(−1.5·10^6), while
    /// 2^σ >= 2^(−7.6·10^5) (d_2 >= −2^19), so each is far below one unit 2^(σ−126).
    ///
    /// Groups of `RowLanes.scalarCount` ordinary terms (no maximum, no −inf, every d_j in the
    /// exponential's domain) take the lane exponential (the scalar one's results, bit for bit)
    /// and, where `FixedPointSumLanes.preferred`, the lane accumulators (the same truncated
    /// terms, the same exact integer sums); the others the scalar path. The high parts go into
    /// one accumulator and the low parts into another (two independent carry chains);
    /// fixed-point sums are exact, so the order and the split change nothing.
    @inline(__always)
    static func sumPart(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, m: Double, maxIndex: Int,
                        sigma: Int, store: ExpStore?, _ tab: DoubleWordExpTable) -> SumPart {
        var part = SumPart()
        var lows = FixedPointSum()
        // The lane groups' terms: the same truncated terms in per-lane accumulators
        // (`FixedPointSumLanes`), added to the others exactly at the end.
        var highLanes = FixedPointSumLanes(), lowLanes = FixedPointSumLanes()
        var truncations = 0
        // Without a store, a term with dh <= negligible adds nothing to either accumulator, so
        // its exponential is not computed, only its two truncations counted (the same sums, the
        // same count): `exp`'s t = round(RN(dh·RN(1/C))) errs from dh/C by <= 1/2 + 2^-14.47
        // (C = ln2/2^16), so k = t >> 16 <= dh/ln2 + 2^-16 <= σ − 127 for dh <= (σ − 128)·ln2, and
        // negligible = RN((σ − 130)·0.6932) lies below that (σ − 130 < 0, 0.6932 > ln2; the
        // rounding, <= 2^-33, is far below the margin 2·ln2); then M_j·2^(k−σ) < 2^-126 (M_j < 2,
        // |lo| < M_j), which `FixedPointSum` truncates to 0 units.
        let negligible = store == nil ? (Double(sigma) - 130) * 0.6932 : -Double.infinity
        @inline(__always) func scalarTerm(_ j: Int) {
            if j == maxIndex { return }
            guard let d = part.difference(x[j], j, m: m, store: store) else { return }
            if d.hi <= negligible {
                truncations += 2
                return
            }
            let e = DoubleWordExp.exp(d.hi, d.lo, tab)
            let scale = e.k - sigma
            part.sum.addNonNegative(e.m.hi, scale: scale)  // M_j > 0
            lows.add(e.m.lo, scale: scale)
            truncations += 2
            store?.store(j, hi: e.m.hi, lo: e.m.lo, k: Int32(truncatingIfNeeded: e.k))
        }
        let width = RowLanes.scalarCount
        var j = range.lowerBound
        while j + width <= range.upperBound {
            if let (dh, dl) = laneDifferences(x, j, m: m, maxIndex: maxIndex) {
                if all(dh .<= negligible) {  // every lane negligible (see above)
                    truncations += 2 * width
                    j += width
                    continue
                }
                let e = DoubleWordExp.exp(dh, dl, tab)
                if FixedPointSumLanes.preferred {
                    let scale = unsafeBitCast(e.k &- Int64(sigma), to: DoubleWordLaneBits.self)
                    highLanes.addNonNegative(bits: unsafeBitCast(e.hi, to: DoubleWordLaneBits.self), scale: scale)  // M_j > 0
                    lowLanes.add(bits: unsafeBitCast(e.lo, to: DoubleWordLaneBits.self), scale: scale)
                    if let store {
                        for l in 0..<width {
                            store.store(j + l, hi: e.hi[l], lo: e.lo[l], k: Int32(truncatingIfNeeded: e.k[l]))
                        }
                    }
                } else {
                    for l in 0..<width {
                        let k = Int(truncatingIfNeeded: e.k[l])
                        part.sum.addNonNegative(e.hi[l], scale: k &- sigma)  // M_j > 0
                        lows.add(e.lo[l], scale: k &- sigma)
                        store?.store(j + l, hi: e.hi[l], lo: e.lo[l], k: Int32(truncatingIfNeeded: k))
                    }
                }
                truncations += 2 * width
                j += width
                continue
            }
            scalarTerm(j)
            j += 1
        }
        while j < range.upperBound {
            scalarTerm(j)
            j += 1
        }
        part.sum = part.sum + lows + highLanes.sum + lowLanes.sum
        part.truncations = truncations + part.omitted
        return part
    }
}
