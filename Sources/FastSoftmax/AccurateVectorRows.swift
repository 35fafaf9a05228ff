import DoubleWordArithmetic

// The three passes of the vector path (error budgets: AccurateVector.swift).
//
// Pass 1: m, its first index a, and whether the row is of the finite kind at all.
// Pass 2: T = Σ_{j != a} e^(x_j - m) as a double-word.
// Pass 3: the outputs (softmax multiplies the terms kept by pass 2, AccurateVectorStored.swift,
// or recomputes them for long rows; log_softmax only adds).
// Nothing is allocated on the heap (the terms softmax keeps are a temporary buffer, on the stack
// when there is room); the table is a global computed once.

extension AccurateVector {
    /// Pass 1: (m, a), or nil when the row is empty, has a NaN or +inf, or is all -inf
    /// (Accurate.swift's special-value rules then apply).
    @inline(__always)
    static func maxAndIndex<T: AccurateLaneStorage>(_ x: UnsafeBufferPointer<T>) -> (m: Double, a: Int)? {
        guard let base = x.baseAddress, x.count > 0 else { return nil }
        let k = x.count
        var mv = Lanes(repeating: -.infinity)
        // Per lane, the start of the first group where the lane's maximum occurs (strict >
        // keeps the first), so that the first index of m needs no second scan of the row.
        var groupOfMax = SIMD8<Int64>(repeating: 0)
        var nan = LaneMask(repeating: false)
        var i = 0
        while i + laneCount <= k {
            let v = T.loadLanes(base + i, count: laneCount)
            nan .|= v .!= v
            let greater = v .> mv
            mv.replace(with: v, where: greater)
            groupOfMax.replace(with: Int64(i), where: greater)
            i += laneCount
        }
        if i < k {
            let v = T.loadLanes(base + i, count: k - i)
            nan .|= v .!= v
            let greater = v .> mv
            mv.replace(with: v, where: greater)
            groupOfMax.replace(with: Int64(i), where: greater)
        }
        if any(nan) { return nil }
        let m = mv.max()
        guard m.isFinite else { return nil }
        // The first index of m: the least group start + lane over the lanes whose maximum is m.
        var a = Int.max
        for l in 0..<laneCount where mv[l] == m { a = min(a, Int(groupOfMax[l]) + l) }
        return (m, a)
    }

    /// x - m for lanes, exactly: (dh, dl) by two-sum (dl is NaN where dh = -inf).
    @inline(__always)
    static func difference(_ x: Lanes, _ m: Double) -> (hi: Lanes, lo: Lanes) {
        twoSum(x, Lanes(repeating: -m))
    }

    /// Σ over j != a of lane groups of x (the last group of a range padded with -inf):
    /// `add` accumulates a group (its lanes, first index and count) into a block accumulator that
    /// starts at `zero`, and every `block` elements `fold` adds the accumulator into the
    /// double-word total.
    @inline(__always)
    static func sumBlocks<T: AccurateLaneStorage, A>(_ x: UnsafeBufferPointer<T>, skipping a: Int, zero: A,
                                                     _ add: (inout A, Lanes, _ start: Int, _ count: Int) -> Void,
                                                     _ fold: (A, inout DoubleWord) -> Void) -> DoubleWord {
        let base = x.baseAddress!
        var total = DoubleWord.zero
        for part in 0..<2 {
            var i = part == 0 ? 0 : a + 1
            let end = part == 0 ? a : x.count
            while i < end {
                let blockEnd = min(i + block, end)
                var acc = zero
                while i + laneCount <= blockEnd {
                    add(&acc, T.loadLanes(base + i, count: laneCount), i, laneCount)
                    i += laneCount
                }
                if i < blockEnd {
                    add(&acc, T.loadLanes(base + i, count: blockEnd - i), i, blockEnd - i)
                    i = blockEnd
                }
                fold(acc, &total)
            }
        }
        return total
    }

    /// Applies `f` to every lane group of x (the last padded with -inf) and stores the
    /// lanes that exist into `out`.
    @inline(__always)
    static func mapLanes<S: AccurateLaneStorage, T: AccurateLaneStorage>(
        _ x: UnsafeBufferPointer<S>, _ out: UnsafeMutableBufferPointer<T>, _ f: (Lanes) -> Lanes
    ) {
        let base = x.baseAddress!, dst = out.baseAddress!
        let k = x.count
        var i = 0
        while i + laneCount <= k {
            T.storeLanes(f(S.loadLanes(base + i, count: laneCount)), dst + i, count: laneCount)
            i += laneCount
        }
        if i < k { T.storeLanes(f(S.loadLanes(base + i, count: k - i)), dst + i, count: k - i) }
    }

    /// Pass 2: T = Σ_{j != a} e^(x_j - m), terms below e^-708 dropped (see the T budget); with
    /// `stored`, also keeps each term's parts for pass 3 (AccurateVectorStored.swift).
    static func sumOthers(_ x: UnsafeBufferPointer<Double>, m: Double, skipping a: Int,
                          table: UnsafePointer<Double>, storingIn stored: StoredTerms? = nil) -> DoubleWord {
        sumBlocks(x, skipping: a, zero: (hi: Lanes(repeating: 0), lo: Lanes(repeating: 0)),
                  { acc, v, start, count in
                      addTerms(v, m, table, &acc.hi, &acc.lo, storingIn: stored, at: start, count: count)
                  },
                  { acc, total in
                      for l in 0..<laneCount where acc.hi[l] != 0 { total = DoubleWord.sameSignSum(total, fastTwoSum(acc.hi[l], acc.lo[l])) }
                  })
    }

    /// Adds e^(x - m) of a lane group into the lane accumulators (two-sum on the heads).
    @inline(__always)
    static func addTerms(_ x: Lanes, _ m: Double, _ table: UnsafePointer<Double>,
                         _ sh: inout Lanes, _ sl: inout Lanes,
                         storingIn stored: StoredTerms? = nil, at start: Int = 0, count: Int = laneCount) {
        let (dh, dl) = difference(x, m)
        let dropped = dh .< sumCutoff
        let e = expLanes(dh.replacing(with: sumCutoff, where: dropped), dl.replacing(with: 0, where: dropped), table)
        stored?.store(e, dropped: dropped, at: start, count: count)
        // E renormalized (fast two-sum: |c| < t), then scaled by 2^k exactly (k >= -1022).
        let eh0 = e.t + e.c
        let el0 = e.c - (eh0 - e.t)
        let scale = powerOfTwoLanes(e.kBiased)
        let eh = (eh0 * scale).replacing(with: 0, where: dropped)
        let el = (el0 * scale).replacing(with: 0, where: dropped)
        let (s, err) = twoSum(sh, eh)
        sh = s
        sl += err + el
    }

    /// Calls `body` with m and T (from `sum`), or returns false when the row belongs to
    /// Accurate.swift (special values, K = 1, or T < 2^-860).
    @inline(__always)
    static func withRow<T: AccurateLaneStorage>(
        _ x: UnsafeBufferPointer<T>,
        sum: (UnsafeBufferPointer<T>, _ m: Double, _ a: Int, _ table: UnsafePointer<Double>) -> DoubleWord,
        _ body: (_ m: Double, _ t: DoubleWord, _ table: UnsafePointer<Double>) -> Void
    ) -> Bool {
        guard x.count <= 1 << 40, let (m, a) = maxAndIndex(x) else { return false }
        return expTableSplit.withUnsafeBufferPointer { tp in
            let table = tp.baseAddress!
            let t = sum(x, m, a, table)
            guard t.hi >= minimumT else { return false }
            body(m, t, table)
            return true
        }
    }

    // MARK: - softmax

    /// The binary64 softmax; false (and nothing written) when Accurate.swift must take the row.
    /// Within 0.5 + 2^-4.3 ulp, subnormal results included. (binary32: AccurateVectorFloat.swift.)
    static func softmax(_ x: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>) -> Bool {
        softmax(x, into: out, storingTerms: x.count <= storedTermsLimit)
    }

    /// The binary64 softmax, keeping the terms between passes or not (the same outputs).
    static func softmax(_ x: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>,
                        storingTerms: Bool) -> Bool {
        if storingTerms { return softmaxStoringTerms(x, into: out) }
        return withRow(x, sum: { sumOthers($0, m: $1, skipping: $2, table: $3) }) { m, t, table in
            let inv = DoubleWord.quotient(.one, DoubleWord.sum(t, 1))
            let split = veltkampSplit(inv.hi)
            var subnormal = LaneMask(repeating: false)
            mapLanes(x, out) { v in
                let p = softmaxParts(v, m, inv, split, table)
                let y = p.scaledProduct
                subnormal .|= (y .< 0x1p-1022) .& .!p.zero
                return y
            }
            if any(subnormal) { redoSubnormals(x, out, m, inv, split, table) }
        }
    }

    /// Rare (e^(x_j - m) < 2^-1021): redoes the subnormal results with one rounding.
    static func redoSubnormals(_ x: UnsafeBufferPointer<Double>, _ out: UnsafeMutableBufferPointer<Double>,
                               _ m: Double, _ inv: DoubleWord, _ split: DoubleWord, _ table: UnsafePointer<Double>) {
        let base = x.baseAddress!
        for i in 0..<x.count where out[i] < 0x1p-1022 {
            let p = softmaxParts(Double.loadLanes(base + i, count: 1), m, inv, split, table)
            if !p.zero[0] { out[i] = p.roundedOnce(lane: 0) }
        }
    }

    /// e^(x - m)·I for a lane group before its last rounding (see "softmax (pass 3)"):
    /// z = ph + corr, and 2^k as two normal factors.
    struct SoftmaxParts {
        var ph: Lanes, corr: Lanes, kBiased: LaneBits
        /// Lanes whose result is +0 (x - m < -746, or -inf).
        var zero: LaneMask

        /// RN(z)·2^k1·2^k2 (k1 = floor(k/2): both factors normal for k >= -1077): exact scaling
        /// for a normal result, a second rounding for a subnormal one.
        @inline(__always)
        var scaledProduct: Lanes {
            let k1 = kBiased &>> 1
            let k2 = kBiased &- k1
            let p1 = Lanes(bitPattern: (k1 &- LaneBits(repeating: 2048 - 1023)) &<< 52)
            let p2 = Lanes(bitPattern: (k2 &- LaneBits(repeating: 2048 - 1023)) &<< 52)
            return (((ph + corr) * p1) * p2).replacing(with: 0, where: zero)
        }

        /// (ph + corr)·2^k rounded once, also onto the subnormal grid (ScaledDoubleWord.doubleValue).
        func roundedOnce(lane l: Int) -> Double {
            ScaledDoubleWord(fastTwoSum(ph[l], corr[l]), exponent: Int(truncatingIfNeeded: kBiased[l]) - 4096).doubleValue
        }
    }

    @inline(__always)
    static func softmaxParts(_ x: Lanes, _ m: Double, _ inv: DoubleWord, _ split: DoubleWord,
                             _ table: UnsafePointer<Double>) -> SoftmaxParts {
        let (dh, dl) = difference(x, m)
        let zero = dh .< softmaxCutoff
        let e = expLanes(dh.replacing(with: softmaxCutoff, where: zero), dl.replacing(with: 0, where: zero), table)
        let r = e.row
        let tHi = gather(table, r, offset: 2)
        let tLo = gather(table, r, offset: 3)
        // t·I.hi = ph + pl exactly (t, I.hi in [2^-41, 2), no underflow).
        let (ph, pl) = twoProduct(e.t, split: (tHi, tLo), Lanes(repeating: inv.hi),
                                  split: (Lanes(repeating: split.hi), Lanes(repeating: split.lo)))
        return SoftmaxParts(ph: ph, corr: pl + (e.t * inv.lo + e.c * inv.hi), kBiased: e.kBiased, zero: zero)
    }

    // MARK: - log_softmax

    /// The binary64 log_softmax; false (and nothing written) when Accurate.swift must take the
    /// row. Within 0.5 + 2^-5.8 ulp. (binary32: AccurateVectorFloat.swift.)
    static func logSoftmax(_ x: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>) -> Bool {
        withRow(x, sum: { sumOthers($0, m: $1, skipping: $2, table: $3) }) { m, t, _ in
            let negL = -DoubleWordMath.log1p(ScaledDoubleWord(t)).unscaled
            mapLanes(x, out) { logSoftmaxLanes($0, m, negL) }
        }
    }

    /// (x - m) - L for a lane group: two-sum of the heads, tails added, one final rounding.
    @inline(__always)
    static func logSoftmaxLanes(_ x: Lanes, _ m: Double, _ negL: DoubleWord) -> Lanes {
        let (dh, dl) = difference(x, m)
        let (s, err) = twoSum(dh, Lanes(repeating: negL.hi))
        let y = s + ((err + dl) + negL.lo)
        return y.replacing(with: -.infinity, where: dh .== -.infinity)
    }
}
