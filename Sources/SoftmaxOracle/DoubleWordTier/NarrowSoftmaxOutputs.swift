import DoubleWordArithmetic
// softmax's outputs into formats of precision p <= 24 (f32, f16, bf16, e5m2, e4m3fn), groups of
// `OutputLanes` at a time with a certification test written for them: the same enclosure as
// `SoftmaxOutputs` (the same stored exponential, the same product by 1/S, the same bound), only a
// shorter proof that it rounds to one value. A certified rounding is unique, so where this test
// certifies, the rounded value is the one `DoubleWordCertifier.test` (or the MPFR path) gives;
// where it does not decide, the group goes to `SoftmaxOutputs` (pairs, then singles), unchanged.
//
// The shortcut: in the format's normal range rounding to p bits does not depend on the power of
// two 2^k, so the test runs on the unscaled product ph + pl (a normal binary64 near 1) instead of
// on h·2^k, and needs none of the general test's range checks on 2^k, its underflow floors or its
// per-lane narrowness test (the row's relative bound decides narrowness once per row). And outputs
// far below the format's least subnormal are +0 at once (f16: most outputs of a wide row).

extension DoubleWordTier {
    /// The bound on softmax's relative error (`SoftmaxOutputs.epsUp`) up to which
    /// `NarrowSoftmaxOutputs` applies to a format of precision p: 2^(−p−42), which makes every
    /// output it certifies narrow (see the type's notes).
    static func narrowOutputsApply(_ format: Format, epsUp: Double) -> Bool {
        format.precision <= 24 && epsUp <= powerOfTwo(-format.precision - 42)
    }
}

/// softmax's outputs for formats with p <= 24: `lanes` certifies a group of `OutputLanes` with
/// the test below; `single` and `pair` are `SoftmaxOutputs`' (which also takes every group
/// `lanes` declines).
///
/// Output j of a group: e^(d_j) = 2^(k_j)·(h_j + l_j) from the store, (ph, pl) =
/// `DoubleWord.product`((h, l), 1/Ŝ) — the same operations as `SoftmaxOutputs`, so the same
/// enclosure: the exact value lies within err = epsUp·ph of ph + pl, in units of 2^k. With
/// E = ⌊log₂ ph⌋ (ph is a normal binary64: h >= 1 − 2^-9, 1/Ŝ > 2^-64 for S < 2^63) and
/// |pl| <= u·ph; Q = minNormal − p + 1, the exponent of the format's least subnormal:
/// - **in range**, Q − 2 <= E + k <= maxExponent − 1: every value of the enclosure lies in
///   (0, 2^maxExponent) (v + err < 2^(E+k+1)(1 + 2^-60)), where the format's quantum at a value w
///   is 2^(max(⌊log₂ w⌋, minNormal) − p + 1), and no overflow occurs. Scaled by 2^-k, that is
///   rounding to p bits with the exponent floor minNormal − k: `DoubleWordCertifier.test` on
///   hs = ph, ls = pl (no scaling: exact) for a format whose minNormal is minNormal − k. So:
///   r = (ph + C) − C with C = 1.5·2^(max(E, minNormal − k) + 53 − p) (ph rounded to that
///   quantum, ties to even, exactly); δ = (ph − r) + pl (ph − r exact, one rounding, so δ has
///   the sign of v − r or is 0); room = max(2^(er − p − [r a power of two and δ < 0]),
///   2^(minNormal − k − p)): half the quantum at r on δ's side of r (the spacing below a power of
///   two above the floor is half the spacing above it); certified when
///   (|δ|(1 + 2^-50) + err)(1 + 2^-50) < room: the enclosure's end on δ's side stays inside r's
///   cell, and its other end lies within err of r, far inside (err <= 2^(E−p−41), while the
///   cell reaches at least 2^(E−p−1) or the floor's half quantum on either side). r = 0 (only
///   for E + k <= Q − 1) is the output +0: the enclosure is positive (err <= 2^-60·v). (The general
///   test halves on both sides; at p = 8 that declined about 1 % of groups, those just above a
///   power of two.) The output is r·2^k (r's exponent field moved by
///   k: r·2^k is a multiple of 2^Q below 2^maxExponent, a normal binary64 for these formats).
///   Narrow: the format's ulp at v is >= 2^(max(E+k−1, minNormal) − p + 1) and |ph| < 2^(E+1), so
///   2·err·2^k <= 2·epsUp·2^(E+1+k) <= 2^-40·ulp when epsUp <= 2^(−p−42) (`narrowOutputsApply`,
///   checked once per row; E + k <= minNormal gives the same with ulp = 2^Q).
/// - **tiny**, E + k <= Q − 3: every value of the enclosure is below 2^(E+k+1)(1 + 2^-60) <
///   2^(Q−1), half the least subnormal: it rounds to +0 (softmax is positive). Narrow:
///   2·err·2^k < 2·epsUp·2^(Q−2) <= 2^(Q−41), the format's ulp at 0 being 2^Q.
/// - otherwise (an undecided rounding) the group is declined.
/// The exact value reported is ph + pl scaled by 2^k: `ExactValue(normalHi:lo:)`'s fields
/// (exponent E + k, head = ph/2^E, tail = pl/2^E; (2, 2·tail, E + k − 1) when head = 1 and
/// tail < 0), the value `SoftmaxOutputs` reports where h·2^k is a normal binary64.
struct NarrowSoftmaxOutputs: RowOutputs {
    let general: SoftmaxOutputs
    let precision: Int64
    /// The format's minNormal, and the range Q − 2 ... maxExponent − 1 of E + k for the test.
    let minNormal: Int64, lowest: Double, highest: Double
    /// Q − 3: the highest binade E + k of the tiny case.
    let highestTiny: Double

    init(_ general: SoftmaxOutputs) {
        self.general = general
        let format = general.certifier.format
        precision = Int64(format.precision)
        minNormal = Int64(format.minNormalExponent)
        lowest = Double(format.minSubnormalExponent - 2)
        highest = Double(format.maxExponent - 1)
        highestTiny = Double(format.minSubnormalExponent - 3)
    }

    @inline(__always) func single(_ i: Int) -> OracleValue? { general.single(i) }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { general.pair(i, into: out) }

    @inline(__always)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        typealias V = OutputLanes
        typealias I = V.MaskStorage
        let width = V.scalarCount
        guard general.maxIndex < i || general.maxIndex >= i + width else { return false }
        var h = V(), l = V()
        var k32 = SIMD4<Int32>()
        for j in 0..<width {
            let e = general.store.load(i + j)
            h[j] = e.hi
            l[j] = e.lo
            k32[j] = e.k
        }
        // A −inf logit's or an omitted term's slot has k = Int32.min: far below every tiny
        // binade, but declined here so that `SoftmaxOutputs` answers it.
        guard all(k32 .!= Int32.min) else { return false }
        let k = I(truncatingIfNeeded: k32)
        @inline(__always) func double(_ b: I) -> V { unsafeBitCast(b, to: V.self) }
        /// b unless a > b (a NaN or a negative pattern gives b).
        @inline(__always) func larger(_ a: V, than b: V) -> V { b.replacing(with: a, where: a .> b) }
        let p = DoubleWord.product(h, l, general.inverse)
        let exponentField = I(repeating: 0x7FF0_0000_0000_0000)
        let bits = unsafeBitCast(p.hi, to: I.self)
        let binade = bits & exponentField  // 2^E
        let e = (binade &>> 52) &- 1023 &+ k  // E + k
        // The range tests on E + k as binary64 lanes (exact: |E + k| < 2^22): Int64 lane
        // comparisons are scalarized on SSE2 and AVX2 alike.
        let ed = V(SIMD4<Int32>(truncatingIfNeeded: binade &>> 52) &- 1023 &+ k32)
        let inRange = (ed .>= lowest) .& (ed .<= highest)
        let tiny = ed .<= highestTiny
        // The floor 2^(minNormal − k): a normal binary64 for in-range lanes (E + k within the
        // format's exponents, |E| < 64, so |minNormal − k| < 400); garbage elsewhere, masked.
        let floorBits = (minNormal &- k &+ 1023) &<< 52
        // r = ph rounded to p bits above the floor: C = 1.5·2^(max(E, minNormal − k) + 53 − p).
        let top = unsafeBitCast(larger(double(binade), than: double(floorBits)), to: I.self)
        let c = double((top &+ ((53 &- precision) << 52)) | 0x0008_0000_0000_0000)
        let r = (p.hi + c) - c
        let rb = unsafeBitCast(r, to: I.self)
        let rBinade = rb & exponentField
        let delta = (p.hi - r) + p.lo
        // Halved only on the side below a power of two (δ < 0).
        let halving = I(repeating: 0).replacing(with: 1 << 52, where: (r .== double(rBinade)) .& (delta .< 0))
        let room = larger(double(rBinade &- (precision << 52) &- halving), than: double(floorBits &- (precision << 52)))
        let err = p.hi * general.epsUp
        let reach = (magnitudeLanes(delta) * (1 + 0x1p-50) + err) * (1 + 0x1p-50)
        let certified = (inRange .& (reach .< room)) .| tiny
        guard all(certified) else { return false }
        // r·2^k (in-range lanes), or +0 (tiny lanes, r = 0).
        let rounded = double(rb &+ (k &<< 52)).replacing(with: 0, where: tiny .| (r .== 0))
        // The exact value's fields, as `LaneTests.writeOutputs` computes them from h·2^k, l·2^k.
        var head = double((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
        var tail = p.lo * double((2046 << 52) &- binade)
        let below = (head .== 1) .& (tail .< 0)
        let exponent = e.replacing(with: e &- 1, where: below)
        head.replace(with: 2, where: below)
        tail = tail.replacing(with: tail * 2, where: below)
        for j in 0..<width {
            (out + j).initialize(to: OracleValue(
                rounded: rounded[j],
                exact: ExactValue(kind: .finite, isNegative: false, exponent: Int(exponent[j]), head: head[j], tail: tail[j])))
        }
        return true
    }
}
