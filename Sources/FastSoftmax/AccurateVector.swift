import DoubleWordArithmetic

// The `accurate` softmax and log_softmax on SIMD lanes of binary64: the same contract as
// Accurate.swift (at most 2 ulp; the analysis below gives 0.5 + 2^-4.3 ulp), at the speed of a
// textbook kernel. Rows this path does not cover go to Accurate.swift. binary32 rows take the
// cheaper variant in AccurateVectorFloat.swift.
//
// Notation: u = 2^-53, L = ln2/256, "ρ" a relative error. m = max x_j at index a (the first
// maximum); d_j = x_j - m <= 0 as an exact double-word (dh + dl, two-sum); T = Σ_{j != a} e^(d_j);
// S = 1 + T.
//
// ## e^d on lanes (`expLanes`)
// n = round(dh/L) (by the 1.5·2^52 shifter, so |n| <= 2^19 for dh >= -746), k = floor(n/256),
// i = n mod 256, r = ((dh - n·C1) - n·C2) + dl with DoubleWordMath's Cody–Waite constants (C1 has 30
// bits, so n·C1 is exact and dh - n·C1 is exact: a multiple of min(ulp(dh), 2^-38) below
// 2^-9.5); the subtraction of n·C2 and the addition of dl round at most u·|r| each, n·C2
// itself at most u·2^19·2^-38 = 2^-72, and n·C3 (dropped) is below 2^-74: in all at most
// 2u·|r| + 2^-71.4 <= 2^-61.5 added to r, a relative error of the same size in e^r.
// |r| <= L/2·(1 + 2^-30).
// e^d = 2^k·E with E = T_i + (T_i.lo + T_i·p), T_i = 2^(i/256) from `ExpTables` (exact hi,
// lo within 2^-107), p = r + r^2(1/2 + r(1/6 + r(1/24 + r/120))): Taylor truncation
// |r|^6/720·e^|r| < 2^-66.5; the polynomial's roundings are below u·|p| + 3u·r^2/2 < 2^-62.4;
// T_i·p and the sum with T_i.lo round at most u·2^-8.4 each. So E = hi + lo has
//     ρ_E <= 2^-61.5 + 2^-66.5 + 2^-62.4 + 2·2^-61.4 <= 2^-59.4.
//
// ## T (pass 2, `sumOthers`)
// Each E is renormalized (fast two-sum), scaled by 2^k (exact: terms with dh < -708 are
// dropped, so k >= -1022; the tail lo·2^k may lose bits below 2^-1074) and added into per-lane
// double-words (two-sum on hi, tails accumulated in binary64) that are folded into one
// double-word every `block` elements with `DoubleWord.sameSignSum` (3.02u² <= 2^-101 each). All terms are
// positive, so no error is amplified:
//   ρ_T <= ρ_E + (block/8)^2·2u^2 (tails; 8 lanes) + 8·(K/block + 2)·2^-101 (folds) + dropped/T
// The fast path runs only when T >= 2^-860 (about e^-596; else Accurate.swift takes the row:
// K = 1, or every other logit so far below the max that their e^(x_j - m) sum below 2^-860;
// ties give T >= 1 and stay here), so the dropped terms and the lost tails, at most
// K·(2^-1021 + 2^-1074), are below K·2^-160·T. For K <= 2^40 (at most 2^33 folds):
//   ρ_T <= 2^-59.4 + 2^-91 + 2^-68 + 2^-120 <= 2^-59.3.
// S = 1 + T (`DoubleWord.sum`, 2.01u²) and I = 1/S (`DoubleWord.quotient`, 14u²): ρ_S, ρ_I <=
// ρ_T + 2·2^-101 <= 2^-59.3.
//
// ## softmax (pass 3)
// y_a = RN(I) (I is normalized: 0.5 ulp + ρ_I). For j != a, with E and k recomputed:
// z = E·I = T_i·I.hi (exact: `twoProduct` on lanes, under DoubleWordArithmetic's FMA policy;
// T_i's split is tabulated) + (T_i·I.lo + c·I.hi) [c = E - T_i; c·I.lo < 2^-61.4·z dropped], rounded once:
// the correction is below 2^-8.3·z and its three roundings cost at most 3u·2^-8.3·z.
//     ρ_z <= ρ_E + ρ_I + 2^-59.7 + 2^-61.4 <= 2^-57.3  →  y = RN(z)·2^k within 0.5 + 2^-4.3 ulp.
// The scaling 2^k = 2^k1·2^k2 (k1 = floor(k/2), both factors normal) is exact when the result
// is normal. When it is not (y < 2^-1022, only where e^(x_j - m) < 2^-1021), the lane is redone
// in scalar code from the unrounded pair: y = ScaledDoubleWord(ph + corr, 2^k).doubleValue rounds the pair once,
// correctly, onto the subnormal grid, so its error is 1/2 ulp plus ρ_z·|z·2^k|/2^-1074 <=
// ρ_z·2^53: the same 0.5 + 2^-4.3 ulp. dh < -746 gives +0, as the exact value is below
// e^-746 < 2^-1076 (half the least subnormal is 2^-1075).
//
// ## log_softmax (pass 3)
// L = log1p(T) (DoubleWordMath, ρ_L <= ρ_T + 2^-97). y_a = -RN(L); y_j = RN((dh + dl) - (L.hi + L.lo)):
// two-sum of the heads, the tails added in binary64 (a few roundings of values below
// 2·ulp(y), i.e. below 2^-50 ulp), the final addition rounds once. Both terms are <= 0, so
// ρ_L is not amplified: within 0.5 + 2^-5.8 ulp. dh = -inf (x_j = -inf, or x_j - m overflows)
// gives -inf, as the exact value rounds to -inf.
//
// ## binary32
// See AccurateVectorFloat.swift: the same passes in plain binary64 (no double-words), within
// 0.5 + 2^-16 binary32 ulp.

/// The lanes of the vector path: eight binary64 values (four SSE2 registers, two AVX ones);
/// eight rather than four gives the out-of-order core independent chains to overlap.
typealias Lanes = SIMD8<Double>
typealias LaneBits = SIMD8<UInt64>
typealias LaneIndices = SIMD8<Int>
typealias LaneMask = SIMDMask<SIMD8<Int64>>
/// Elements per group of lanes.
let laneCount = Lanes.scalarCount

/// table[index[l] + offset] for every lane (no gather instruction is assumed).
@inline(__always)
func gather(_ table: UnsafePointer<Double>, _ index: LaneIndices, offset: Int) -> Lanes {
    var v = Lanes()
    for l in 0..<laneCount { v[l] = table[index[l] + offset] }
    return v
}

/// A storage type the vector path loads from and stores to (widening to binary64 exactly).
protocol AccurateLaneStorage: BinaryFloatingPoint {
    /// Loads `count` (1...laneCount) elements from `p`; missing lanes are -inf (e^-inf = 0).
    static func loadLanes(_ p: UnsafePointer<Self>, count: Int) -> Lanes
    /// Rounds each lane to `Self` and stores the first `count` (1...laneCount) of them at `p`.
    static func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Self>, count: Int)
}

extension Double: AccurateLaneStorage {
    @inline(__always)
    static func loadLanes(_ p: UnsafePointer<Double>, count: Int) -> Lanes {
        if count == laneCount { return UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        var v = Lanes(repeating: -.infinity)
        for l in 0..<count { v[l] = p[l] }
        return v
    }

    @inline(__always)
    static func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Double>, count: Int) {
        if count == laneCount {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
            return
        }
        for l in 0..<count { p[l] = v[l] }
    }
}

extension Float: AccurateLaneStorage {
    @inline(__always)
    static func loadLanes(_ p: UnsafePointer<Float>, count: Int) -> Lanes {
        // Lane by lane rather than SIMD8<Double>(SIMD8<Float>): the generic conversion is an
        // out-of-line call; this loop compiles to one widening conversion instruction (or a few).
        if count == laneCount {
            var v = Lanes()
            for l in 0..<laneCount { v[l] = Double(p[l]) }
            return v
        }
        var v = Lanes(repeating: -.infinity)
        for l in 0..<count { v[l] = Double(p[l]) }
        return v
    }

    @inline(__always)
    static func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, count: Int) {
        if count == laneCount {
            for l in 0..<laneCount { p[l] = Float(v[l]) }
            return
        }
        for l in 0..<count { p[l] = Float(v[l]) }
    }
}

/// 2^(i/256) (`ExpTables`, entries 0..<256) with the head split for `twoProduct`: hi =
/// split.hi + split.lo with 26-bit halves. Flat: [hi, lo, split.hi, split.lo] per entry.
let expTableSplit: [Double] = {
    var t = [Double]()
    t.reserveCapacity(4 * 256)
    for i in 0..<256 {
        let hi = ExpTables.entries[2 * i], lo = ExpTables.entries[2 * i + 1]
        let s = veltkampSplit(hi)
        t += [hi, lo, s.hi, s.lo]
    }
    return t
}()

enum AccurateVector {
    /// Elements per lane-accumulator fold (see the T budget above).
    static let block = 1024
    /// Below this T, the row goes to Accurate.swift (see the T budget above).
    static let minimumT = 0x1p-860
    /// Below this d, e^d is dropped from T (k stays >= -1022).
    static let sumCutoff = -708.0
    /// Below this d, softmax is +0 (e^d < 2^-1076).
    static let softmaxCutoff = -746.0

    /// The parts of e^(dh + dl) = 2^k·(t + c): t = T_i (exact table head), c = T_i.lo + T_i·p,
    /// the table row index (to reach the split of t) and k + 4096 (as bits, >= 0).
    struct ExpParts {
        var t: Lanes
        var c: Lanes
        var row: LaneIndices
        var kBiased: LaneBits
    }

    /// e^(dh + dl) for dh in [-746, 0] lanes (callers clamp); see "e^d on lanes" above.
    @inline(__always)
    static func expLanes(_ dh: Lanes, _ dl: Lanes, _ table: UnsafePointer<Double>) -> ExpParts {
        let shifter = Lanes(repeating: 0x1.8p52)
        let s = dh * DoubleWordMath.invLn2Over256 + shifter
        let n = s - shifter
        // n + 2^20 >= 0 as an integer, from the low bits of s (|n| < 2^19).
        let nb = s.bitPattern(as: LaneBits.self) &- shifter.bitPattern(as: LaneBits.self) &+ LaneBits(repeating: 1 << 20)
        let r = ((dh - n * DoubleWordMath.c1) - n * DoubleWordMath.c2) + dl
        let p = r + (r * r) * (0.5 + r * (0x1.5555555555555p-3 + r * (0x1.5555555555555p-5 + r * 0x1.1111111111111p-7)))
        let idx = LaneIndices(truncatingIfNeeded: (nb & LaneBits(repeating: 255)) &* 4)
        let t = gather(table, idx, offset: 0)
        let tl = gather(table, idx, offset: 1)
        return ExpParts(t: t, c: tl + t * p, row: idx, kBiased: nb &>> 8)
    }

    /// 2^k for lanes given k + 4096 (result normal: k >= -1022).
    @inline(__always)
    static func powerOfTwoLanes(_ kBiased: LaneBits) -> Lanes {
        Lanes(bitPattern: (kBiased &- LaneBits(repeating: 4096 - 1023)) &<< 52)
    }
}

extension Lanes {
    @inline(__always)
    func bitPattern(as _: LaneBits.Type) -> LaneBits {
        unsafeBitCast(self, to: LaneBits.self)
    }

    @inline(__always)
    init(bitPattern b: LaneBits) {
        self = unsafeBitCast(b, to: Lanes.self)
    }
}
