import DoubleWordArithmetic

// The vector path for binary32 rows: binary64 arithmetic without double-words, since binary32
// needs a relative error of about 2^-30 before its last rounding, not 2^-60.
//
// Notation as in AccurateVector.swift; here d_j = RN64(x_j - m) (one rounding: relative u).
//
// e^d (`expLanesSingle`): the same reduction n = round(d/L), r = (d - n·C1) - n·C2 (r within
// 2^-62 of d - n·L), and e^d = 2^k·T_i.hi·(1 + p), p = r + r^2(1/2 + r/6): truncation
// |r|^4/24·e^|r| < 2^-42.6, the table head 2^-53, roundings below 4u. The rounding of d moves
// the exponent by up to u·|d| <= 2^-43.5 (|d| <= 746; below, the term is dropped or the output
// is 0). ρ_e <= 2^-42.6 + 2^-43.5 + 2^-50.6 <= 2^-41.9.
//
// T: per-lane binary64 sums over blocks of 1024 elements (128 per lane: 128u, and 7u for the
// sum of the eight lanes) folded into a double-word (2^-101 each): ρ_T <= ρ_e + 2^-45.9 +
// dropped (as for binary64) <= 2^-41.7.
// S = 1 + T, I = RN(1/S.hi): ρ_I <= ρ_T + 2u.
//
// softmax_j = RN32(RN64(e_j·I)): ρ <= ρ_e + ρ_I + u <= 2^-40.6 before the binary64 rounding,
// so within 0.5 + 2^-40.6·2^24 <= 0.5 + 2^-16 ulp of binary32 (binary32 subnormals are normal
// in binary64, so this holds for them too); d < -746 gives +0.
// log_softmax_j = RN32(RN64(d_j - L)), L = RN64(log1p(T)) (DoubleWordMath.log1p on the double-word T:
// ρ_L <= ρ_T + 2^-97 + u). Both terms <= 0: ρ <= 2u + ρ_L before the binary32 rounding: within
// 0.5 + 2^-17 ulp.
// x_j = -inf gives d = -inf and -inf.

extension AccurateVector {
    /// e^d for d in [-746, 0] lanes, to 2^-41.9 (see above; callers clamp).
    @inline(__always)
    static func expLanesSingle(_ d: Lanes, _ table: UnsafePointer<Double>) -> Lanes {
        let shifter = Lanes(repeating: 0x1.8p52)
        let s = d * DoubleWordMath.invLn2Over256 + shifter
        let n = s - shifter
        let nb = s.bitPattern(as: LaneBits.self) &- shifter.bitPattern(as: LaneBits.self) &+ LaneBits(repeating: 1 << 20)
        let r = (d - n * DoubleWordMath.c1) - n * DoubleWordMath.c2
        let p = r + (r * r) * (0.5 + r * 0x1.5555555555555p-3)
        let t = gather(table, LaneIndices(truncatingIfNeeded: (nb & LaneBits(repeating: 255)) &* 4), offset: 0)
        // 2^k = 2^k1·2^k2 (k1 = floor(k/2)), both normal for k >= -1077.
        let kb = nb &>> 8
        let k1 = kb &>> 1
        let p1 = Lanes(bitPattern: (k1 &- LaneBits(repeating: 2048 - 1023)) &<< 52)
        let p2 = Lanes(bitPattern: ((kb &- k1) &- LaneBits(repeating: 2048 - 1023)) &<< 52)
        return ((t + t * p) * p1) * p2
    }

    /// Pass 2 for binary32: T = Σ_{j != a} e^(d_j) as a double-word.
    static func sumOthersSingle(_ x: UnsafeBufferPointer<Float>, m: Double, skipping a: Int,
                                table: UnsafePointer<Double>) -> DoubleWord {
        sumBlocks(x, skipping: a, zero: Lanes(repeating: 0),
                  { acc, v in acc += termsSingle(v, m, table) },
                  { acc, total in total = DoubleWord.sum(total, acc.sum()) })
    }

    @inline(__always)
    static func termsSingle(_ x: Lanes, _ m: Double, _ table: UnsafePointer<Double>) -> Lanes {
        let d = x - m
        let dropped = d .< sumCutoff
        return expLanesSingle(d.replacing(with: sumCutoff, where: dropped), table).replacing(with: 0, where: dropped)
    }

    /// The binary32 softmax (see above); false when Accurate.swift must take the row.
    static func softmax(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        withRow(x, sum: { sumOthersSingle($0, m: $1, skipping: $2, table: $3) }) { m, t, table in
            let inv = 1 / DoubleWord.sum(t, 1).hi
            mapLanes(x, out) { softmaxLanesSingle($0, m, inv, table) }
        }
    }

    @inline(__always)
    static func softmaxLanesSingle(_ x: Lanes, _ m: Double, _ inv: Double, _ table: UnsafePointer<Double>) -> Lanes {
        let d = x - m
        let zero = d .< softmaxCutoff
        return (expLanesSingle(d.replacing(with: softmaxCutoff, where: zero), table) * inv).replacing(with: 0, where: zero)
    }

    /// The binary32 log_softmax (see above); false when Accurate.swift must take the row.
    static func logSoftmax(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        withRow(x, sum: { sumOthersSingle($0, m: $1, skipping: $2, table: $3) }) { m, t, _ in
            let negL = -DoubleWordMath.log1p(ScaledDoubleWord(t)).unscaled.hi
            mapLanes(x, out) { ($0 - m) + negL }
        }
    }
}
