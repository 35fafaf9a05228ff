import DoubleWordArithmetic

// The certified tier's exponentials: e^d for d <= 0 and e^x − 1 for 0 < x < 0.6, in double
// words, with proven relative error bounds (notation in DoubleWordArithmetic's
// ErrorFreeTransforms.swift: u = 2^-53).
//
// Reduction. With N = 2^16 and C = ln 2 / N, write t = round(d/C) (an integer), r = d − t·C
// exactly, and t = N·k + 256·i1 + i2 (0 <= i1, i2 < 256). Then
//
//     e^d = 2^k · 2^(i1/256) · 2^(i2/65536) · e^r,     |r| <= 2^-17.52.
//
// The two tables hold 2^(i1/256) and 2^(i2/65536) as double words (and, for expm1, the same
// numbers minus 1): `ExpTables` (DoubleWordArithmetic), literals generated with mpmath by
// scripts/generate-exp-tables.py as hi = RN(T), lo = RN(T − hi), so each entry errs by
// <= 1.01u² relative. Tests/DoubleWordArithmeticTests recomputes every entry with MPFR.

/// The tables and reduction constants of the certified exponential, in one block of memory
/// (the literal tables of `ExpTables` plus the Veltkamp splits of their leading parts).
final class DoubleWordExpTable: @unchecked Sendable {  // immutable after init
    static let shared = DoubleWordExpTable()

    /// 3072 doubles: `ExpTables.entries` (T1 = 2^(i/256) at 0, T2 = 2^(i/65536) at 512, T1 − 1
    /// at 1024, T2 − 1 at 1536; entry i of each is the pair (hi, lo) at offsets 2i, 2i + 1),
    /// then, at 2048 and 2560, Veltkamp's split of T1's and T2's hi parts (for
    /// `twoProduct(_:split:_:)`).
    let entries: UnsafeMutablePointer<Double>
    /// Veltkamp's splits of c1, c2 and c1Compact.
    let c1Split: DoubleWord, c2Split: DoubleWord, c1CompactSplit: DoubleWord
    /// C = ln2/65536 split as C1 + C2 + C3 (each the nearest double to what is left), with
    /// |C − C1 − C2 − C3| <= 2^-158.9·C.
    let c1: Double, c2: Double, c3: Double
    /// RN(65536/ln 2).
    let inverseC: Double
    /// 1/6 as a double word (relative error <= u²).
    let sixth: DoubleWord
    /// C' = ln2/256 split as C1' + C2' (|C' − C1' − C2'| <= 1.01u²·C'), and RN(256/ln 2), for
    /// `DoubleWordExp.expCompact`.
    let c1Compact: Double, c2Compact: Double, inverseCCompact: Double

    private init() {
        let entries = UnsafeMutablePointer<Double>.allocate(capacity: 3072)
        self.entries = entries
        for (i, v) in ExpTables.entries.enumerated() { entries[i] = v }
        (c1, c2, c3, inverseC) = (ExpTables.c1, ExpTables.c2, ExpTables.c3, ExpTables.inverseC)
        sixth = DoubleWord(ExpTables.sixthHi, ExpTables.sixthLo)
        (c1Compact, c2Compact, inverseCCompact) = (ExpTables.c1Compact, ExpTables.c2Compact, ExpTables.inverseCCompact)
        c1Split = veltkampSplit(c1)
        c2Split = veltkampSplit(c2)
        c1CompactSplit = veltkampSplit(c1Compact)
        for i in 0..<512 {
            let s = veltkampSplit(entries[2 * i])  // T1[i].hi for i < 256, T2[i − 256].hi after
            entries[2048 + 2 * i] = s.hi
            entries[2048 + 2 * i + 1] = s.lo
        }
    }

    @inline(__always) func t1(_ i: Int) -> DoubleWord { DoubleWord(entries[2 * i], entries[2 * i + 1]) }
    @inline(__always) func t1Split(_ i: Int) -> DoubleWord { DoubleWord(entries[2048 + 2 * i], entries[2048 + 2 * i + 1]) }
    @inline(__always) func t2Split(_ i: Int) -> DoubleWord { DoubleWord(entries[2560 + 2 * i], entries[2560 + 2 * i + 1]) }
    @inline(__always) func t2(_ i: Int) -> DoubleWord { DoubleWord(entries[512 + 2 * i], entries[512 + 2 * i + 1]) }
    @inline(__always) func t1MinusOne(_ i: Int) -> DoubleWord { DoubleWord(entries[1024 + 2 * i], entries[1024 + 2 * i + 1]) }
    @inline(__always) func t2MinusOne(_ i: Int) -> DoubleWord { DoubleWord(entries[1536 + 2 * i], entries[1536 + 2 * i + 1]) }
}

/// e^d as 2^k·M for a non-positive double word d.
struct ScaledExp {
    var k: Int
    var m: DoubleWord
}

enum DoubleWordExp {
    /// The integer nearest to y (ties to even), for |y| < 2^51: y + 1.5·2^52 lies in [2^52, 2^53),
    /// where the spacing is 1, so RN rounds y to an integer there, and the subtraction is exact.
    /// (The same as `y.rounded(.toNearestOrEven)`, which without SSE4.1 is a libm call.)
    @inline(__always) static func roundToInteger(_ y: Double) -> Double {
        (y + 0x1.8p52) - 0x1.8p52
    }

    /// The same integer as an Int, read from the bits of y + 1.5·2^52 (= 2^52·(1.5 + t·2^-52):
    /// its bit pattern is 0x4338000000000000 + t for |t| < 2^51), without a checked conversion.
    @inline(__always) static func integerPart(_ y: Double) -> (Double, Int) {
        let shifted = y + 0x1.8p52
        return (shifted - 0x1.8p52, Int(Int64(bitPattern: shifted.bitPattern) &- 0x4338_0000_0000_0000))
    }

    /// The relative error bound of `exp`: |M·2^k − e^d| <= 2^-101·e^d.
    static let relativeError: Double = 0x1p-101
    /// The domain of `exp`: dh >= -2^20.
    static let lowestArgument: Double = -0x1p20

    /// e^(dh + dl) = 2^k·M, with M a normalized double word in [1 − 2^-17.5, 2) and relative
    /// error <= 2^-101 (`relativeError`).
    ///
    /// Needs: dh + dl <= 0 exactly, |dl| <= u|dh| (a TwoSum's output), −2^20 <= dh <= 0.
    ///
    /// Error analysis (ρ = 2^-17.52; |dh| <= 2^20 gives |t| <= 2^36.53).
    ///
    /// 1. t = round(RN(dh·RN(1/C))): |dh/C − t| <= 1/2 + 2.01u|dh/C| <= 1/2 + 2^-14.47, and
    ///    |dl/C| <= 2^-16.47, so r = d − t·C has |r| <= C(1/2 + 2^-14) <= ρ.
    /// 2. r = d − t(C1 + C2 + C3) − t·C4, with |C4| <= 2^-158.9·C. (p1h, p1l) = TwoProd(t, C1) and
    ///    (p2h, p2l) = TwoProd(t, C2) are exact (Dekker; t = 0 or |t·C2| >= 2^-70, no underflow).
    ///    a = dh − p1h is exact: |dh − p1h| <= ρ + |dl| + |t||C − C1| + |p1l| <= ρ + 3·2^-33 < 2^-17,
    ///    and for |dh| >= 2^-17 both dh and p1h (>= 2^-18) are multiples of 2^-70; for |dh| < 2^-17,
    ///    t ∈ {0, −1} and p1h ∈ {0, −C1}, and dh (>= 2^-18 when t = −1) is a multiple of 2^-70.
    ///    b = TwoSum(a, −p2h), c = TwoSum(bh, dl), f = TwoSum(ch, −p1l) are exact, so
    ///    r = fh + fl + cl + bl − p2l − t·C3 − t·C4, with |fl|, |cl|, |bl| <= 2^-70 (the his are
    ///    <= 2^-16.97), |p2l| <= 2^-86, |t·C3| <= 2^-86. rl0 = RN of those four sums and the
    ///    product: <= 5·u·2^-68.3 <= 2^-119 off; (rh, rl) = TwoSum(fh, rl0) is exact and
    ///    normalized (|rl| <= u|rh| <= 2^-70.5). So rh + rl = r + δr, |δr| <= 2^-118.9.
    /// 3. e^r = 1 + r + r²/2 + r³(1/6 + r/24 + r²/120) + R6, |R6| <= ρ⁶/720·e^ρ <= 2^-114.5.
    ///    (s1, e1) = Fast2Sum(1, rh), (qh, ql) = TwoProd(rh, rh), (s2, e2) = TwoSum(s1, qh/2) are
    ///    exact (when t = 0, r = d may be tiny and rh² underflow: <= 2^-1075 absolute, negligible).
    ///    r²/2 = qh/2 + ql/2 + rh·rl + rl²/2 and r³/6 = rh³/6 + rh²·rl/2 + ...: the dropped terms
    ///    are <= 2^-141 and 2^-106.5.
    ///    The cubic part c = RN(RN(qh·rh)·Q), Q = RN(RN(RN(c5·rh) + c4)·rh) + c3) with c3, c4, c5 =
    ///    RN(1/6), RN(1/24), RN(1/120): Q errs by <= 2.3u relative (the roundings on the small
    ///    terms count for <= u·2^-17.5 each), qh by u, so c by <= 5.31u·|r³/6| <= 2^-105.7.
    ///    small = RN(RN(RN(ql/2 + rl) + RN(rh·rl)) + c): roundings on numbers <= 2^-70.3 and one
    ///    <= 2^-55: <= 2^-108 in all. rest = RN(RN(e1 + e2) + small): |e1|, |e2| <= 2^-53, so
    ///    <= 2^-105 + 2^-104.8. P = Fast2Sum(s2, rest) is exact.
    ///    |P − e^r| <= 2^-105.7 + 2^-108 + 2^-105 + 2^-104.8 + 2^-106.5 + 2^-114.5 + 2^-118.9·e^ρ
    ///    <= 2^-103.0, relative to e^r >= 1 − 2^-17.5.
    /// 4. M = (T1[i1] ⊗ T2[i2]) ⊗ P: two table entries (1.01u² each) and two `DoubleWord.product` (8.1u²
    ///    each): 2^-103.0 + (2.02 + 16.2)u² <= 2^-101.29, plus second-order terms: <= 2^-101.
    ///    M ∈ [1 − 2^-17.5, 2): T1·T2 ∈ [1, 2^(1 − 1/65536)] and e^r <= e^(C/2) < 2^(1/131072·1.01).
    @inline(__always)
    static func exp(_ dh: Double, _ dl: Double, _ tab: DoubleWordExpTable) -> ScaledExp {
        let (tf, t) = integerPart(dh * tab.inverseC)
        let p1 = twoProduct(tab.c1, split: tab.c1Split, tf)
        let a = dh - p1.hi
        let p2 = twoProduct(tab.c2, split: tab.c2Split, tf)
        let b = twoSum(a, -p2.hi)
        let c = twoSum(b.hi, dl)
        let f = twoSum(c.hi, -p1.lo)
        let rl0 = (((f.lo + c.lo) + b.lo) - p2.lo) - tf * tab.c3
        let r = twoSum(f.hi, rl0)
        let rh = r.hi, rl = r.lo
        let s1 = fastTwoSum(1, rh)
        let q = twoSquare(rh)
        let s2 = twoSum(s1.hi, 0.5 * q.hi)
        let cubicFactor = ((1.0 / 120) * rh + 1.0 / 24) * rh + 1.0 / 6
        let cubic = (q.hi * rh) * cubicFactor
        let small = ((0.5 * q.lo + rl) + rh * rl) + cubic
        let rest = (s1.lo + s2.lo) + small
        let poly = fastTwoSum(s2.hi, rest)
        let i1 = (t >> 8) & 255
        let i2 = t & 255
        let a1 = tab.t1(i1), a2 = tab.t2(i2)
        // DoubleWord.product(T1, T2) with both splits from the table (the same operations as `DoubleWord.product`).
        let p12 = twoProduct(a1.hi, split: tab.t1Split(i1), a2.hi, split: tab.t2Split(i2))
        let table = fastTwoSum(p12.hi, p12.lo + (a1.hi * a2.lo + a1.lo * a2.hi))
        return ScaledExp(k: t >> 16, m: DoubleWord.product(table, poly))
    }

    /// The relative error bound of `expCompact`: 2^-68.5 (derived: 2^-68.99).
    static let compactRelativeError: Double = 0x1.6a09e667f3bcdp-69  // 2^-68.5

    /// e^(dh + dl) = 2^k·(eh + el), a normalized double word with eh ∈ [1 − 2^-9, 2), to a
    /// relative error <= 2^-68.5 (`compactRelativeError`): half the work of `exp`, enough for
    /// outputs of formats with p <= 24 (certification and the 2^-40-ulp exact value need about
    /// 2^-66 there).
    ///
    /// Needs: dh + dl <= 0 exactly, |dl| <= u|dh|, −2^20 <= dh <= 0.
    ///
    /// Error analysis. C = ln2/256, t = round(RN(dh·RN(1/C))), |t| <= 2^28.53, r = d − t·C,
    /// |r| <= C(1/2 + 2^-23) <= ρ = 2^-9.529 (as in `exp`); e^d = 2^(t>>8)·T1[t & 255]·e^r.
    /// 1. (p1h, p1l) = TwoProd(t, C1) exact. a = dh − p1h exact: |dh − p1h| <= ρ + 3·2^-33 < 2^-9,
    ///    and dh, p1h are multiples of 2^-62 when |dh| >= 2^-9 (C1 ∈ [2^-9, 2^-8)); for smaller
    ///    |dh|, t ∈ {0, −1} and a ∈ {dh, dh + C1}, a multiple of 2^-62 below 2^-9.
    ///    small = RN(RN(dl − p1l) − RN(t·C2)) (three roundings of numbers <= 2^-31.4: <= 2^-83)
    ///    and t·(C − C1 − C2) (<= 2^-86) are what is left; (rh, rl) = TwoSum(a, small) is exact:
    ///    rh + rl = r + δr, |δr| <= 2^-82.7, |rl| <= u|rh| <= 2^-62.5.
    /// 2. e^r = 1 + r + c(r), c = r²/2 + r³/6 + r⁴/24 + r⁵/120 + r⁶/720 + R7, |R7| <= 2^-79,
    ///    c <= 2^-20.05. ĉ = RN(RN(rh²)·Q), Q = RN-Horner(1/2, 1/6, 1/24, 1/120, 1/720 at rh):
    ///    Q errs by <= 1.01u relative (its last step adds 1/2 to a term <= 2^-12), so ĉ by
    ///    <= 3.03u·c <= 2^-71.45; using rh for r in c costs <= |r|·|rl| <= 2^-72. |ĉ − c(r)| <= 2^-70.7.
    /// 3. T·e^r = T + T·r + T·c with T = Th + Tl (1.01u²): (ph, pl) = TwoProd(Th, rh) and
    ///    (sh, sl) = Fast2Sum(Th, ph) are exact; tiny = the sum of Tl, pl, Th·rl, Tl·rh, sl (each
    ///    <= 2^-52; five roundings: <= 2^-101.9); mid = RN(Th·ĉ) (<= 2^-72.06 off); small =
    ///    RN(mid + tiny) (<= 2^-72.05); Tl·rl and Tl·c (<= 2^-72) are dropped; (eh, el) =
    ///    Fast2Sum(sh, small) is exact.
    ///    |eh + el − T·e^r| <= 2·2^-70.7 + 2^-72.06 + 2^-72.05 + 2^-72 + 2·2^-82.7 <= 2^-69.0,
    ///    and T·e^r >= e^-ρ >= 0.998: relative <= 2^-68.99.
    @inline(__always)
    static func expCompact(_ dh: Double, _ dl: Double, _ tab: DoubleWordExpTable) -> ScaledExp {
        let (tf, t) = integerPart(dh * tab.inverseCCompact)
        let p1 = twoProduct(tab.c1Compact, split: tab.c1CompactSplit, tf)
        let a = dh - p1.hi
        let small = (dl - p1.lo) - tf * tab.c2Compact
        let r = twoSum(a, small)
        let rh = r.hi, rl = r.lo
        let q = ((((1.0 / 720) * rh + 1.0 / 120) * rh + 1.0 / 24) * rh + 1.0 / 6) * rh + 0.5
        let c = (rh * rh) * q
        let table = tab.t1(t & 255)
        let p = twoProduct(table.hi, split: tab.t1Split(t & 255), rh)
        let s = fastTwoSum(table.hi, p.hi)
        let tiny = (((table.lo + p.lo) + table.hi * rl) + table.lo * rh) + s.lo
        let sum = table.hi * c + tiny
        return ScaledExp(k: t >> 8, m: fastTwoSum(s.hi, sum))
    }

    /// e^x − 1 for 2^-60 <= x < 0.6, as a double word and a bound on its relative error
    /// (returned, computed from the actual magnitudes; at most about 2^-99).
    ///
    /// Same reduction as `exp` (dl = 0; t = 256·i1 + i2 < 65536, so k = 0; |p2h| <= 2^-53.5,
    /// |p1l| <= 2^-53.7, the lows <= 2^-70.4: rl0 is <= 2^-120.3 off, and t = 0 gives r = x
    /// exactly), then
    ///     e^x − 1 = A + T·p,   T = T1[i1]·T2[i2],   A = T − 1 = (T1 − 1)(T2 − 1) + (T1 − 1) + (T2 − 1),
    ///     p = e^r − 1 = r + r²/2 + r³/6 + (r⁴/24 + r⁵/120 + r⁶/720) + R7,  |R7| <= 2^-134.
    /// Unlike `exp`, p must be accurate relative to |r| (t = 0: r = x, p is the result) or to an
    /// absolute 2^-118 (t >= 1: the result is then >= A_1 >= 2^-16.53): r³/6 is a double word
    /// (TwoProd(qh, rh) plus ql·rh and 3qh·rl, then `DoubleWord.product` by 1/6 (u²)), r, r²/2, r³/6 are
    /// added with exact TwoSums, and what is left is a sum of numbers <= 2^-68.8 (t >= 1) or
    /// <= 2.01u|r| (t = 0): seven roundings, <= 2^-119 absolute, or <= 12.2u²|r| relative. The
    /// dropped terms (4rh³rl/24, 3rh·rl², ...) are <= 2^-125.
    /// A: table entries (1.01u²), one `DoubleWord.product` (8.1u²) on a term <= 0.003·A, two same-sign
    /// additions (3.02u² each): <= 12u²·A. T·p: 2·1.01u² + 2·8.1u² and p's own error (times T < 2).
    /// The final addition is the any-sign one (p < 0 when r < 0): 3.1u²(A + |T·p|) absolute.
    static func expm1(_ x: Double, _ tab: DoubleWordExpTable) -> (value: DoubleWord, relativeError: Double) {
        let u2 = unitRoundoffSquared
        let tf = roundToInteger(x * tab.inverseC)
        let t = Int(tf)
        let p1 = twoProduct(tf, tab.c1)
        let a = x - p1.hi
        let p2 = twoProduct(tf, tab.c2)
        let b = twoSum(a, -p2.hi)
        let f = twoSum(b.hi, -p1.lo)
        let rl0 = ((f.lo + b.lo) - p2.lo) - tf * tab.c3
        let r = twoSum(f.hi, rl0)
        let rh = r.hi, rl = r.lo
        // p = e^r − 1.
        let q = twoSquare(rh)                        // rh²
        let cube = twoProduct(q.hi, rh)                 // qh·rh
        let cubeTail = (cube.lo + q.lo * rh) + 3 * q.hi * rl
        let cubeNorm = fastTwoSum(cube.hi, cubeTail)
        let sixthOfCube = DoubleWord.product(cubeNorm, tab.sixth)  // r³/6
        let quartic = (q.hi * q.hi) * (((1.0 / 720) * rh + 1.0 / 120) * rh + 1.0 / 24)
        let a1 = twoSum(rh, 0.5 * q.hi)
        let b1 = twoSum(a1.hi, sixthOfCube.hi)
        let low = ((((a1.lo + b1.lo) + rl) + (0.5 * q.lo + rh * rl)) + sixthOfCube.lo) + quartic
        let p = fastTwoSum(b1.hi, low)
        if t == 0 {
            // r = x exactly; the error is relative to |r|, and e^x − 1 >= x.
            return (p, 13 * u2)
        }
        let i1 = t >> 8, i2 = t & 255
        let tm1 = tab.t1MinusOne(i1), tm2 = tab.t2MinusOne(i2)
        let cross = DoubleWord.product(tm1, tm2)
        let aPart = DoubleWord.sameSignSum(DoubleWord.sameSignSum(tm1, tm2), cross)
        let tt = DoubleWord.product(tab.t1(i1), tab.t2(i2))
        let tp = DoubleWord.product(tt, p)
        let sum = DoubleWord.anySignSum(aPart, tp)
        let magA = aPart.hi.magnitude, magTP = tp.hi.magnitude
        // Absolute error: A's (12u²·A), T·p's relative (18.3u²) and p's absolute (2^-118.3 · T <
        // 2^-117), the final addition's 3.1u²(A + |Tp|); relative to |result| (>= 0.49·A > 0).
        let absolute = 12 * u2 * magA + 18.3 * u2 * magTP + 0x1p-117 + 3.1 * u2 * (magA + magTP)
        let result = sum.hi.magnitude * (1 - 0x1p-50)
        return (sum, roundedUp(absolute / result) * 1.01)
    }
}
