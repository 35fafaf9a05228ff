import DoubleWordArithmetic

// The certified exponentials (DoubleWordExp.swift) on SIMD lanes: `exp` and `expCompact`
// evaluated on every lane of a vector of arguments (2, 4 or 8 lanes), for the row sums.
//
// Why the results and bounds are the scalar routines': each lane goes through the same IEEE
// operations, in the same order, as the scalar routine (IEEE operations on SIMD lanes round
// exactly as scalar ones; Swift never contracts a·b + c into an FMA on its own, and the exact
// products go through DoubleWordArithmetic's lane `twoProduct`/`twoSquare`, the scalar routines'
// operations lane by lane under either FMA policy). The integer parts (t, k, the table indices)
// are the scalar routine's bit manipulations on Int64 lanes. Only the table entries are read lane
// by lane. So lane j's result is the scalar routine's result for lane j's argument, bit for bit
// (Tests/DoubleWordArithmeticTests: CertifiedFunctionTests, random arguments, printed seed), and
// the scalar routine's error bound (2^-101, 2^-68.5) holds per lane.

/// SIMD vectors of binary64 lanes whose integer companion (`MaskStorage`) has Int64 lanes:
/// SIMD2, SIMD4 and SIMD8 of Double.
protocol DoubleLanes: SIMD where Scalar == Double, MaskStorage.Scalar == Int64, MaskStorage.MaskStorage == MaskStorage {}
extension SIMD2: DoubleLanes where Scalar == Double {}
extension SIMD4: DoubleLanes where Scalar == Double {}
extension SIMD8: DoubleLanes where Scalar == Double {}

/// 2^e on every lane, for e in binary64's normal exponent range (−1022 ... 1023): the bit pattern
/// (e + 1023)·2^52. Outside that range the pattern is not 2^e (callers that can get such e test
/// the range or replace those lanes).
@inline(__always)
func powerOfTwoLanes<V: DoubleLanes>(_ e: V.MaskStorage) -> V {
    unsafeBitCast((e &+ 1023) &<< 52, to: V.self)
}

/// The magnitude of every lane.
@inline(__always)
func magnitudeLanes<V: DoubleLanes>(_ v: V) -> V {
    unsafeBitCast(unsafeBitCast(v, to: V.MaskStorage.self) & Int64.max, to: V.self)
}

/// `ScaledDoubleWord(hi:lo:exponent:).normalized()` on every lane, for normal hi (the fast
/// branch of `normalized`): hi's significand with exponent field 1023, lo·2^(−e), exponent + e,
/// e = ⌊log₂|hi|⌋ (|e| < 1023: the power of two is normal).
@inline(__always)
func normalizedLanes<V: DoubleLanes>(_ hi: V, _ lo: V, _ exponent: V.MaskStorage) -> (hi: V, lo: V, exponent: V.MaskStorage) {
    let bits = unsafeBitCast(hi, to: V.MaskStorage.self)
    let e = ((bits &>> 52) & 0x7FF) &- 1023
    let h = unsafeBitCast((bits & Int64(bitPattern: 0x800F_FFFF_FFFF_FFFF)) | 0x3FF0_0000_0000_0000, to: V.self)
    // e == 0: hi is unchanged (same bits) and lo·2^0 = lo, as the scalar early return.
    return (h, lo * powerOfTwoLanes(0 &- e), exponent &+ e)
}

/// The lane width of the row sums and of softmax's outputs (DoubleWordArithmetic's
/// `DoubleWordLanes`: 8 in the build for a CPU with an FMA, else 4).
typealias RowLanes = DoubleWordLanes

extension DoubleWordExp {
    /// `integerPart` on every lane: (round(y), round(y) as Int64) for |y| < 2^51.
    @inline(__always)
    static func integerPart<V: DoubleLanes>(_ y: V) -> (V, V.MaskStorage) {
        let shifted = y + 0x1.8p52
        let bits = unsafeBitCast(shifted, to: V.MaskStorage.self)
        return (shifted - 0x1.8p52, bits &- 0x4338_0000_0000_0000)
    }

    /// `exp` on every lane: e^(dh_j + dl_j) = 2^(k_j)·(hi_j + lo_j), each lane bit for bit the
    /// scalar `exp` (relative error <= 2^-101). Needs every lane in `exp`'s domain
    /// (dh + dl <= 0, |dl| <= u|dh|, −2^20 <= dh <= 0).
    @inline(__always)
    static func exp<V: DoubleLanes>(_ dh: V, _ dl: V, _ tab: DoubleWordExpTable) -> (k: V.MaskStorage, hi: V, lo: V) {
        let (tf, t) = integerPart(dh * tab.inverseC)
        let tfSplit = veltkampSplit(tf)
        let p1 = twoProduct(V(repeating: tab.c1), split: (V(repeating: tab.c1Split.hi), V(repeating: tab.c1Split.lo)),
                            tf, split: tfSplit)
        let a = dh - p1.hi
        let p2 = twoProduct(V(repeating: tab.c2), split: (V(repeating: tab.c2Split.hi), V(repeating: tab.c2Split.lo)),
                            tf, split: tfSplit)
        let b = twoSum(a, -p2.hi)
        let c = twoSum(b.hi, dl)
        let f = twoSum(c.hi, -p1.lo)
        var rl0: V = f.lo + c.lo
        rl0 = rl0 + b.lo
        rl0 = rl0 - p2.lo
        rl0 = rl0 - tf * tab.c3
        let (rh, rl) = twoSum(f.hi, rl0)
        let s1 = fastTwoSum(V(repeating: 1), rh)
        let q = twoSquare(rh)
        let s2 = twoSum(s1.hi, 0.5 * q.hi)
        var cubicFactor: V = (1.0 / 120) * rh + 1.0 / 24
        cubicFactor = cubicFactor * rh + 1.0 / 6
        let cubic: V = (q.hi * rh) * cubicFactor
        var small: V = 0.5 * q.lo + rl
        small = small + rh * rl
        small = small + cubic
        let rest: V = (s1.lo + s2.lo) + small
        let poly = fastTwoSum(s2.hi, rest)
        // The table entries, lane by lane.
        var a1h = V(), a1l = V(), a2h = V(), a2l = V(), s1h = V(), s1l = V(), s2h = V(), s2l = V()
        let e = tab.entries
        for j in 0..<V.scalarCount {
            let i1 = Int(truncatingIfNeeded: (t[j] >> 8) & 255), i2 = Int(truncatingIfNeeded: t[j] & 255)
            a1h[j] = e[2 * i1]; a1l[j] = e[2 * i1 + 1]
            a2h[j] = e[512 + 2 * i2]; a2l[j] = e[512 + 2 * i2 + 1]
            s1h[j] = e[2048 + 2 * i1]; s1l[j] = e[2048 + 2 * i1 + 1]
            s2h[j] = e[2560 + 2 * i2]; s2l[j] = e[2560 + 2 * i2 + 1]
        }
        let p12 = twoProduct(a1h, split: (s1h, s1l), a2h, split: (s2h, s2l))
        let cross: V = a1h * a2l + a1l * a2h
        let table = fastTwoSum(p12.hi, p12.lo + cross)
        let m = DoubleWord.product(table.hi, table.lo, poly.hi, poly.lo)
        return (t &>> 16, m.hi, m.lo)
    }

    /// `expCompact` on every lane, each lane bit for bit the scalar `expCompact` (relative error
    /// <= 2^-68.5). Needs every lane in `expCompact`'s domain.
    @inline(__always)
    static func expCompact<V: DoubleLanes>(_ dh: V, _ dl: V, _ tab: DoubleWordExpTable) -> (k: V.MaskStorage, hi: V, lo: V) {
        let (tf, t) = integerPart(dh * tab.inverseCCompact)
        // TwoProduct(C1', t) with C1' pre-split.
        let c1 = tab.c1CompactSplit
        let p1 = twoProduct(V(repeating: tab.c1Compact), split: (V(repeating: c1.hi), V(repeating: c1.lo)),
                            tf, split: veltkampSplit(tf))
        let a: V = dh - p1.hi
        let small: V = (dl - p1.lo) - tf * tab.c2Compact
        let (rh, rl) = twoSum(a, small)
        var q: V = (1.0 / 720) * rh + 1.0 / 120
        q = q * rh + 1.0 / 24
        q = q * rh + 1.0 / 6
        q = q * rh + 0.5
        let c: V = (rh * rh) * q
        var th = V(), tl = V(), tsh = V(), tsl = V()
        let e = tab.entries
        for j in 0..<V.scalarCount {
            let i = Int(truncatingIfNeeded: t[j] & 255)
            th[j] = e[2 * i]; tl[j] = e[2 * i + 1]
            tsh[j] = e[2048 + 2 * i]; tsl[j] = e[2048 + 2 * i + 1]
        }
        let p = twoProduct(th, split: (tsh, tsl), rh, split: veltkampSplit(rh))
        let s = fastTwoSum(th, p.hi)
        var tiny: V = tl + p.lo
        tiny = tiny + th * rl
        tiny = tiny + tl * rh
        tiny = tiny + s.lo
        let sum: V = th * c + tiny
        let m = fastTwoSum(s.hi, sum)
        return (t &>> 8, m.hi, m.lo)
    }

    /// `expCompact` on two lanes (the SIMD2 case of the lane routine above).
    @inline(__always)
    static func expCompact2(_ dh: SIMD2<Double>, _ dl: SIMD2<Double>, _ tab: DoubleWordExpTable)
        -> (k: SIMD2<Int64>, hi: SIMD2<Double>, lo: SIMD2<Double>) {
        expCompact(dh, dl, tab)
    }
}
