import DoubleWordArithmetic

// The binary64 softmax for rows of at most `storedTermsLimit` elements: pass 2 keeps the parts
// (t, c, k) of every e^(x_j - m) = 2^k·(t + c) in a temporary buffer, and pass 3 multiplies
// them by I = 1/S instead of evaluating the exponential again (the table lookups are most of
// its cost). The parts are those pass 3 would compute (the same `expLanes` on the same exact
// (dh, dl)), and the product is formed by the same operations as `softmaxParts` (the exact
// product t·I.hi is unique, whichever split Dekker's algorithm is given), so every output is
// bit for bit the one of the recomputing path, with its bound (AccurateVector.swift).
//
// Pass 2 clamps x_j - m below -708 (those terms leave T), so a group with such a lane stores
// t = 0 and pass 3 recomputes that group as before (t is a table entry >= 1 otherwise).
//
// When pass 2 dropped no lane of the row (`StoredTerms.droppedAny`, the usual case), pass 3 takes
// its full groups without the per-group test for t = 0 and scales by 2^k in one product: every
// stored k is >= -1022 (x_j - m >= -708), so 2^k is normal and RN(z)·2^k is RN(z)·2^k1·2^k2 of
// `scaledProduct` bit for bit: for a normal result both are exact, and for a subnormal one both
// round the same exact value RN(z)·2^k once (RN(z)·2^k1 is exact: k1 >= -511); subnormal
// results are then redone by `redoSubnormals` on both paths alike. (The per-group test, a scalar
// loop over the lanes through the stack in the native build, and the two-factor scaling were
// about a third of pass 3's time.)

extension AccurateVector {
    /// Rows up to this length keep their terms (3 binary64 values per element: 96 KB at this
    /// limit, on the stack when there is room) between pass 2 and pass 3.
    static let storedTermsLimit = 4096

    /// The parts of each e^(x_j - m) from pass 2, element by element: t (0 where pass 3 must
    /// recompute), c, and k + 4096 as bits.
    struct StoredTerms {
        let t: UnsafeMutablePointer<Double>
        let c: UnsafeMutablePointer<Double>
        let kBits: UnsafeMutablePointer<Double>
        /// The lanes (of the row's elements) pass 2 dropped, or-ed over the row.
        let droppedAny: UnsafeMutablePointer<LaneMask>

        @inline(__always)
        func store(_ e: ExpParts, dropped: LaneMask, at start: Int, count: Int) {
            // In a short group, the lanes past the row (x = -inf) are not the row's: masked out.
            droppedAny.pointee .|= count == laneCount ? dropped
                : dropped .& (SIMD8<Int64>(0, 1, 2, 3, 4, 5, 6, 7) .< Int64(count))
            Double.storeLanes(e.t.replacing(with: 0, where: dropped), t + start, count: count)
            Double.storeLanes(e.c, c + start, count: count)
            Double.storeLanes(Lanes(bitPattern: e.kBiased), kBits + start, count: count)
        }

        /// e^0 = 2^0·(1 + 0) at the max, which pass 2 skips.
        func storeOne(at a: Int) {
            t[a] = 1
            c[a] = 0
            kBits[a] = Double(bitPattern: 4096)
        }
    }

    /// The binary64 softmax with stored terms (see above); false when Accurate.swift must take
    /// the row.
    static func softmaxStoringTerms(_ x: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>) -> Bool {
        let k = x.count
        var droppedAny = LaneMask(repeating: false)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * max(k, 1)) { buffer in
            let p = buffer.baseAddress!
            return withUnsafeMutablePointer(to: &droppedAny) { flag in
                let stored = StoredTerms(t: p, c: p + k, kBits: p + 2 * k, droppedAny: flag)
                return withRow(x, sum: { x, m, a, table in
                    stored.storeOne(at: a)
                    return sumOthers(x, m: m, skipping: a, table: table, storingIn: stored)
                }) { m, t, table in
                    let inv = DoubleWord.quotient(.one, DoubleWord.sum(t, 1))
                    let split = veltkampSplit(inv.hi)
                    let base = x.baseAddress!, dst = out.baseAddress!
                    var subnormal = LaneMask(repeating: false)
                    var i = 0
                    if !any(flag.pointee) {
                        // Nothing dropped: every stored t >= 1 and k >= -1022 (see above).
                        while i + laneCount <= k {
                            let tv = Double.loadLanes(stored.t + i, count: laneCount)
                            let kb = Double.loadLanes(stored.kBits + i, count: laneCount).bitPattern(as: LaneBits.self)
                            let parts = storedParts(tv, Double.loadLanes(stored.c + i, count: laneCount), kb, inv, split)
                            let y = (parts.ph + parts.corr) * powerOfTwoLanes(kb)
                            subnormal .|= y .< 0x1p-1022
                            Double.storeLanes(y, dst + i, count: laneCount)
                            i += laneCount
                        }
                    }
                    while i < k {
                        let count = min(laneCount, k - i)
                        let tv = Double.loadLanes(stored.t + i, count: count)
                        let parts = hasZero(tv)
                            ? softmaxParts(Double.loadLanes(base + i, count: count), m, inv, split, table)
                            : storedParts(tv, Double.loadLanes(stored.c + i, count: count),
                                          Double.loadLanes(stored.kBits + i, count: count).bitPattern(as: LaneBits.self), inv, split)
                        let y = parts.scaledProduct
                        subnormal .|= (y .< 0x1p-1022) .& .!parts.zero
                        Double.storeLanes(y, dst + i, count: count)
                        i += count
                    }
                    if any(subnormal) { redoSubnormals(x, out, m, inv, split, table) }
                }
            }
        }
    }

    /// True if some lane is ±0. Written out lane by lane: `any(v .== 0)` was an out-of-line
    /// call per group in the portable build.
    @inline(__always)
    static func hasZero(_ v: Lanes) -> Bool {
        var found: UInt8 = 0
        for l in 0..<laneCount { found |= v[l] == 0 ? 1 : 0 }
        return found != 0
    }

    /// `softmaxParts` from stored (t, c, k) lanes; lanes past the row (t = -inf) are marked zero.
    @inline(__always)
    static func storedParts(_ t: Lanes, _ c: Lanes, _ kBits: LaneBits, _ inv: DoubleWord, _ split: DoubleWord) -> SoftmaxParts {
        let (ph, pl) = twoProduct(t, split: veltkampSplit(t), Lanes(repeating: inv.hi),
                                  split: (Lanes(repeating: split.hi), Lanes(repeating: split.lo)))
        return SoftmaxParts(ph: ph, corr: pl + (t * inv.lo + c * inv.hi), kBiased: kBits,
                            zero: t .< 0)
    }
}
