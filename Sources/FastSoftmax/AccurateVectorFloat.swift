import DoubleWordArithmetic

// The vector path for binary32 rows: binary64 arithmetic without double-words, since binary32
// needs a relative error of about 2^-30 before its last rounding, not 2^-60.
//
// Notation as in AccurateVector.swift; here d_j = RN64(x_j - m) (one rounding: relative u).
//
// e^d (`expSingle`), for d in [-708, 0], one of two ways:
// - FMA build: `LaneExp.exp` (LaneExp.swift: no table, a degree-11 polynomial), within 2^-45.8
//   of e^d; with the rounding of d, which moves the exponent by up to u·|d| <= 2^-43.5,
//   ρ_e <= 2^-43.5 + 2^-45.8 <= 2^-43.1.
// - portable build (no FMA: a polynomial step costs a product and a sum): the reduction of
//   AccurateVector.swift, n = round(d/L), r = (d - n·C1) - n·C2 (r within 2^-62 of d - n·L),
//   and e^d = 2^k·T_i.hi·(1 + p), p = r + r^2(1/2 + r/6): truncation |r|^4/24·e^|r| < 2^-42.6,
//   the table head 2^-53, roundings below 4u: ρ_e <= 2^-42.6 + 2^-43.5 + 2^-50.6 <= 2^-41.9.
//
// T: per-lane binary64 sums over blocks of 1024 elements (128 per lane: 128u, and 7u for the
// sum of the eight lanes) folded into a double-word (2^-101 each); terms with d < -708 are
// dropped (as for binary64: below K·2^-160·T, since the path needs T >= 2^-860):
// ρ_T <= ρ_e + 2^-45.9 + 2^-120: 2^-42.8 (FMA build), 2^-41.7 (portable).
// S = 1 + T, I = RN(1/S.hi): ρ_I <= ρ_T + 2u.
//
// softmax_j = RN32(RN64(e_j·I)): ρ <= ρ_e + ρ_I + u before the binary64 rounding, 2^-41.9
// (FMA build) or 2^-40.6 (portable), so within 0.5 + ρ·2^24 ulp of binary32: 0.5 + 2^-17.9 or
// 0.5 + 2^-16.6, both within the stated 0.5 + 2^-16 (binary32 subnormals are normal in
// binary64, so this holds for them too); d < -708 gives +0, as the exact value is below
// e^-708 < 2^-1021, far below half the least binary32 subnormal (2^-150).
// log_softmax_j = RN32(RN64(d_j - L)), L = RN64(log1p(T)) (DoubleWordMath.log1p on the double-word T:
// ρ_L <= ρ_T + 2^-97 + u). Both terms <= 0: ρ <= 2u + ρ_L before the binary32 rounding: within
// 0.5 + 2^-17 ulp in either build.
// x_j = -inf gives d = -inf and -inf.

extension AccurateVector {
    /// Pass 2 for binary32: T = Σ_{j != a} e^(d_j) as a double-word (per-lane sums over blocks
    /// of `block` elements; lane a of its group is masked out). With `terms`, also stores every
    /// e^(d_j) there (e^0 = 1 at a), so that softmax need not evaluate them twice.
    @inline(__always)
    static func sumOthersSingle(_ x: UnsafeBufferPointer<Float>, m: Double, skipping a: Int,
                                table: UnsafePointer<Double>,
                                storingTermsIn terms: UnsafeMutablePointer<Double>? = nil) -> DoubleWord {
        let base = x.baseAddress!, k = x.count
        var total = DoubleWord.zero
        var i = 0
        while i < k {
            let blockEnd = min(i + block, k)
            var acc = Lanes(repeating: 0)
            while i < blockEnd {
                let count = min(laneCount, blockEnd - i)
                var e = termsSingle(Float.loadLanes(base + i, count: count), m, table)
                if let terms { Double.storeLanes(e, terms + i, count: count) }
                if a >= i && a < i + count { e[a - i] = 0 }
                acc += e
                i += count
            }
            total = DoubleWord.sum(total, acc.sum())
        }
        return total
    }

    /// e^(x - m) for a lane group, 0 where x - m < -708 (dropped from T; see above).
    @inline(__always)
    static func termsSingle(_ x: Lanes, _ m: Double, _ table: UnsafePointer<Double>) -> Lanes {
        let d = x - m
        let dropped = d .< LaneExp.cutoff
        return expSingle(d.replacing(with: LaneExp.cutoff, where: dropped), table).replacing(with: 0, where: dropped)
    }

    /// e^d for d in [-708, 0] lanes (callers clamp): see above for the two builds.
    @inline(__always)
    static func expSingle(_ d: Lanes, _ table: UnsafePointer<Double>) -> Lanes {
        #if DOUBLEWORD_FMA
        return LaneExp.exp(d)
        #else
        let shifter = Lanes(repeating: 0x1.8p52)
        let s = d * DoubleWordMath.invLn2Over256 + shifter
        let n = s - shifter
        let nb = s.bitPattern(as: LaneBits.self) &- shifter.bitPattern(as: LaneBits.self) &+ LaneBits(repeating: 1 << 20)
        let r = (d - n * DoubleWordMath.c1) - n * DoubleWordMath.c2
        let p = r + (r * r) * (0.5 + r * 0x1.5555555555555p-3)
        let t = gather(table, LaneIndices(truncatingIfNeeded: (nb & LaneBits(repeating: 255)) &* 4), offset: 0)
        return (t + t * p) * powerOfTwoLanes(nb &>> 8)  // 2^k, k >= -1022 for d >= -708
        #endif
    }

    /// Rows up to this length keep their terms e^(x_j - m) in a temporary buffer (on the stack:
    /// 64 KB at most) between the sum and the outputs; longer rows evaluate them again. The two
    /// give the same values: the same terms, the same T.
    static let storedTermsLimitSingle = 8192

    /// The binary32 softmax (see above); false when Accurate.swift must take the row.
    static func softmax(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        softmax(x, into: out, storingTerms: x.count <= storedTermsLimitSingle)
    }

    /// The binary32 softmax, keeping the terms between passes or not (the same outputs).
    static func softmax(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>,
                        storingTerms: Bool) -> Bool {
        if storingTerms {
            return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(x.count, 1)) { buffer in
                let terms = buffer.baseAddress!
                return withRow(x, sum: { sumOthersSingle($0, m: $1, skipping: $2, table: $3, storingTermsIn: terms) }) { _, t, _ in
                    let inv = 1 / DoubleWord.sum(t, 1).hi
                    let stored = UnsafeBufferPointer(start: UnsafePointer(terms), count: x.count)
                    mapLanes(stored, out) { e in e * inv }
                }
            }
        }
        return withRow(x, sum: { sumOthersSingle($0, m: $1, skipping: $2, table: $3) }) { m, t, table in
            let inv = 1 / DoubleWord.sum(t, 1).hi
            mapLanes(x, out) { softmaxLanesSingle($0, m, inv, table) }
        }
    }

    @inline(__always)
    static func softmaxLanesSingle(_ x: Lanes, _ m: Double, _ inv: Double, _ table: UnsafePointer<Double>) -> Lanes {
        termsSingle(x, m, table) * inv
    }

    /// The binary32 log_softmax (see above); false when Accurate.swift must take the row.
    static func logSoftmax(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        withRow(x, sum: { sumOthersSingle($0, m: $1, skipping: $2, table: $3) }) { m, t, _ in
            let negL = -DoubleWordMath.log1p(ScaledDoubleWord(t)).unscaled.hi
            mapLanes(x, out) { ($0 - m) + negL }
        }
    }
}
