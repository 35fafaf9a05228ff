import DoubleWordArithmetic
import ParallelExecution

// The row's sum for formats with p <= 24 ("compact"): each e^(d_j) by `DoubleWordExp.expCompact`
// (2^-68.5 relative), `RowLanes.scalarCount` at a time on SIMD lanes, added by blocks of Sum2
// (`CompensatedBlockSum`), the blocks' sums then added in block order. Those formats need about
// 2^-66 (f32: 2^-40 of an ulp of 2^-24), and this halves the work of the exact strategy.

extension DoubleWordTier {
    /// `rowSum`'s compact strategy: a double-double per block of `CompensatedBlockSum.blockSize`
    /// indices (`sumBlocksCompact`), the blocks then added in block order however they were
    /// split over threads.
    static func compactRowSum(_ x: UnsafeBufferPointer<Double>, _ scan: RowScan, sigma: Int, split: StageSplit,
                              store: ExpStore?, _ tab: DoubleWordExpTable) -> RowSum? {
        let n = x.count
        let blockCount = (n + CompensatedBlockSum.blockSize - 1) / CompensatedBlockSum.blockSize
        let parts = split.run(count: blockCount) { blocks in
            sumBlocksCompact(x, blocks: blocks, m: scan.max, maxIndex: scan.maxIndex, sigma: sigma, store: store, tab)
        }
        var total: DoubleWord? = nil
        var omitted = 0
        var overflow = false
        for p in parts {
            for b in p.sums where b.hi != 0 {
                total = total.map { DoubleWord.sameSignSum($0, b) } ?? b
            }
            omitted += p.part.omitted
            overflow = overflow || p.part.overflow
        }
        guard let total, total.hi > 0 else { return nil }
        // The exponentials' 2^-68.5, each Sum2 accumulator's bound (<= 4096 terms each), the
        // additions of accumulators and block sums (lanes + 1 per block, 3.02u² each), omitted or
        // underflowed terms (< 2^(σ−999) each, s >= 0.998·2^σ).
        let epsS = roundedUp(DoubleWordExp.compactRelativeError * 1.0001
                             + CompensatedBlockSum.relativeError(terms: CompensatedBlockSum.blockSize)
                             + Double((RowLanes.scalarCount + 1) * blockCount) * 3.02 * unitRoundoffSquared
                             + Double(n) * 0x1p-998)
        return RowSum(m: scan.max, maxIndex: scan.maxIndex,
                      s: ScaledDoubleWord(hi: total.hi, lo: total.lo, exponent: sigma).normalized(),
                      epsS: epsS, overflow: overflow, omitted: omitted, compact: true)
    }

    /// The compact sum of j in the blocks `blocks` (of `CompensatedBlockSum.blockSize` indices),
    /// j ≠ M, x_j > −inf: one double-double per block, in order. Terms are scaled by 2^(k_j − σ)
    /// (exact: the scaled hi is >= 0.998·2^-1000; the lo may underflow, by <= 2^-1075 relative
    /// to 2^σ, counted in `omitted`'s bound); a term more than 2^1000 below 2^σ is omitted.
    static func sumBlocksCompact(_ x: UnsafeBufferPointer<Double>, blocks: Range<Int>, m: Double, maxIndex: Int,
                                 sigma: Int, store: ExpStore?, _ tab: DoubleWordExpTable) -> (sums: [DoubleWord], part: SumPart) {
        var part = SumPart()
        var sums: [DoubleWord] = []
        sums.reserveCapacity(blocks.count)
        let n = x.count
        for b in blocks {
            // Sum2 accumulators per block: one per SIMD lane (`RowLanes`) for groups of ordinary
            // terms, one for the rest; each holds at most 4096 terms (the bound of
            // `CompensatedBlockSum`), and the block's value adds them (`RowLanes.scalarCount`
            // `DoubleWord.sameSignSum`s, counted by the caller).
            var laneSigma = RowLanes(), laneC = RowLanes()
            var acc = CompensatedBlockSum()
            let lo = b * CompensatedBlockSum.blockSize
            let end = Swift.min(n, lo + CompensatedBlockSum.blockSize)
            var j = lo
            @inline(__always) func scalarTerm(_ j: Int) {
                if j == maxIndex { return }
                guard let d = part.difference(x[j], j, m: m, store: store) else { return }
                let e = DoubleWordExp.expCompact(d.hi, d.lo, tab)
                store?.store(j, hi: e.m.hi, lo: e.m.lo, k: Int32(truncatingIfNeeded: e.k))
                let scale = e.k - sigma
                if scale < -1000 {
                    part.truncations += 1  // below 2^(σ−999): counted in the bound, not summed
                    return
                }
                let f = powerOfTwo(scale)
                acc.add(e.m.hi * f, e.m.lo * f)
            }
            let width = RowLanes.scalarCount
            // dh >= keptFloor = 0.69·(σ − 997) keeps term j (k_j − σ >= −999): dh >= (σ − 998)·ln 2
            // (σ <= 0, 0.69 < ln 2), and `expCompact`'s k = ⌊t/256⌋ >= t/256 − 255/256 with
            // t = round(RN(dh·RN(256/ln 2))) >= dh·(256/ln 2)(1 + u)² − 1/2, so (|σ| < 2^21)
            // k >= σ − 998 − 3u·2^21 − 1/512 − 255/256 > σ − 1000.
            let keptFloor = RowLanes(repeating: 0.69 * Double(sigma - 997))
            while j + width <= end {
                // Every lane ordinary (finite, not the maximum, in the exponential's domain): SIMD.
                if let (dh, dl) = laneDifferences(x, j, m: m, maxIndex: maxIndex) {
                    let e = DoubleWordExp.expCompact(dh, dl, tab)
                    if let store {
                        for l in 0..<width {
                            store.store(j + l, hi: e.hi[l], lo: e.lo[l], k: Int32(truncatingIfNeeded: e.k[l]))
                        }
                    }
                    // 2^(k_j − σ), or 0 for a term more than 2^1000 below 2^σ (not summed; counted).
                    let scale = e.k &- Int64(sigma)
                    var f: RowLanes = powerOfTwoLanes(scale)
                    if !all(dh .>= keptFloor) {  // (Int64 lane comparisons are slow: only here)
                        let dropped = scale .< -1000
                        f = f.replacing(with: 0, where: dropped)
                        for l in 0..<width where dropped[l] { part.truncations += 1 }
                    }
                    let p = e.hi * f, l = e.lo * f
                    let (s, err) = twoSum(laneSigma, p)
                    laneC += err + l
                    laneSigma = s
                    j += width
                    continue
                }
                scalarTerm(j)
                j += 1
            }
            while j < end {
                scalarTerm(j)
                j += 1
            }
            var block = acc.value
            for l in 0..<width {
                block = DoubleWord.sameSignSum(block, fastTwoSum(laneSigma[l], laneC[l]))
            }
            sums.append(block)
        }
        return (sums, part)
    }
}
