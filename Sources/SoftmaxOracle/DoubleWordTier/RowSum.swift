import DoubleWordArithmetic
// The row's sum s = Σ_{j≠M} e^(d_j), d_j = x_j − m, with its relative error bound: what every
// function of the double-word tier needs. Two strategies, one per file: ExactRowSum.swift (f64
// outputs) and CompactRowSum.swift (formats with p <= 24).

extension DoubleWordTier {
    /// What every row function needs: m, its index, and s = Σ_{j≠M} e^(d_j) with its bound.
    struct RowSum {
        var m: Double
        var maxIndex: Int
        /// s, normalized.
        var s: ScaledDoubleWord
        /// |ŝ − s| <= epsS·s.
        var epsS: Double
        /// Some x_j − m overflowed binary64 (such terms are omitted, and counted in `omitted`).
        var overflow: Bool
        /// Terms omitted from s (d_j < −2^20, or an overflowed difference); within epsS.
        var omitted: Int
        /// Computed with `DoubleWordExp.expCompact` (softmax's stored exponentials then err by
        /// 2^-68.5, not 2^-101).
        var compact: Bool
    }

    /// One chunk's share of the row's sum: the exact strategy's fixed-point sum, and what both
    /// strategies count for their bounds.
    struct SumPart: Sendable {
        var sum = FixedPointSum()
        /// Doubles truncated into the sum, plus omitted terms: each errs by < 2^(σ−126).
        var truncations = 0
        /// x_j − m overflowed binary64 (it is then −inf: the term is omitted, counted above).
        var overflow = false
        /// Terms with d_j < −2^20, omitted (each < 2^(σ−126)).
        var omitted = 0

        /// x_j − m exactly, or nil when term j is absent (x_j = −inf) or omitted (below
        /// `DoubleWordExp.lowestArgument`; an overflow of x_j − m is noted); both marked in `store`.
        @inline(__always)
        mutating func difference(_ xj: Double, _ j: Int, m: Double, store: ExpStore?) -> DoubleWord? {
            if xj == -.infinity {
                store?.markAbsent(j)
                return nil
            }
            let d = twoSum(xj, -m)
            if !(d.hi >= DoubleWordExp.lowestArgument) {
                omitted += 1
                if !d.hi.isFinite { overflow = true }
                store?.markAbsent(j)
                return nil
            }
            return d
        }
    }

    /// d_j = x_j − m (as TwoSums, `difference`'s) for the `RowLanes.scalarCount` logits from
    /// index j, when every one is ordinary: not the maximum, not −inf, d_j in the exponential's
    /// domain (an overflowed difference is −inf, outside it); else nil (the caller then takes
    /// index j alone).
    @inline(__always)
    static func laneDifferences(_ x: UnsafeBufferPointer<Double>, _ j: Int, m: Double, maxIndex: Int)
        -> (hi: RowLanes, lo: RowLanes)? {
        guard maxIndex < j || maxIndex >= j + RowLanes.scalarCount else { return nil }
        let v = UnsafeRawPointer(x.baseAddress! + j).loadUnaligned(as: RowLanes.self)
        guard all(v .> -.infinity) else { return nil }
        let d = twoSum(v, RowLanes(repeating: -m))
        guard all(d.hi .>= DoubleWordExp.lowestArgument) else { return nil }
        return d
    }

    /// The row's scan (`RowScan`, on 2·threads chunks for a row of `parallelThreshold` or more:
    /// the same result) when `rowSum` takes the row, else nil (see `rowSum`): callers that
    /// allocate before the sum check this first, so that a row the sum declines (a wide row, a
    /// special row) costs no output array.
    static func sumScan(_ x: UnsafeBufferPointer<Double>, threads: Int) -> RowScan? {
        let split = StageSplit(threads: threads, count: x.count)
        let scan = RowScan.of(x, split: split)
        guard !scan.special, scan.maxIndex >= 0, scan.second > -.infinity, scan.second - scan.max >= -0x1p19 else { return nil }
        return scan
    }

    /// The row's sum, or nil when the row is outside the double-word tier (NaN or +inf; no finite
    /// logit; no finite logit besides the maximum, s = 0; the second largest more than 2^19
    /// below the largest).
    ///
    /// `compact`: the exponentials of `DoubleWordExp.expCompact` (2^-68.5) summed by blocks of Sum2
    /// (`compactRowSum`), for formats with p <= 24; else those of `DoubleWordExp.exp` (2^-101) summed
    /// exactly (`exactRowSum`). Either is split into `chunks` = 2·threads parts for a row of
    /// `parallelThreshold` or more, and gives the same result for every thread count; either
    /// returns nil when the sum is 0. `store`: where softmax keeps each exponential (nil: not
    /// kept). Postcondition: |ŝ − s| <= epsS·s.
    /// `scan`: the row's `sumScan`, when the caller has it (nil: scanned here).
    static func rowSum(_ x: UnsafeBufferPointer<Double>, threads: Int, store: ExpStore?, compact: Bool,
                       scan known: RowScan? = nil) -> RowSum? {
        let n = x.count
        let split = StageSplit(threads: threads, count: n)
        guard let scan = known ?? sumScan(x, threads: threads) else { return nil }
        let d2 = scan.second - scan.max
        let tab = DoubleWordExpTable.shared
        // σ: the k of the second largest logit, as the strategy's exponential computes it (t>>8
        // for `expCompact`, t>>16 for `exp`); k is a non-decreasing function of dh, so every other
        // term's k is <= σ.
        if compact {
            let sigma = Int(DoubleWordExp.roundToInteger(d2 * tab.inverseCCompact)) >> 8
            return compactRowSum(x, scan, sigma: sigma, split: split, store: store, tab)
        }
        let sigma = Int(DoubleWordExp.roundToInteger(d2 * tab.inverseC)) >> 16
        return exactRowSum(x, scan, sigma: sigma, split: split, store: store, tab)
    }
}
