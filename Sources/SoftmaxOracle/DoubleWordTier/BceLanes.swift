import DoubleWordArithmetic

// bce_with_logits finished on SIMD lanes, for a full queue of logits whose T = log1p(e^(−|x|))
// came from the lane routines (ElementwiseLanes.swift). Each lane runs `bce`'s operations on
// `bce`'s operands, in `bce`'s order (BinaryCrossEntropy.swift; notation: ErrorFreeTransforms.swift,
// u = 2^-53), for the cases that end in the certification test:
//
//     term 1 = coefficient·|x|                (`times`: DoubleWord.product by a double, 3.02u²)
//     term 2 = C·T                            (`ScaledDoubleWord.*`: DoubleWord.product, 8.1u²)
//     term 1 = 0:            C·T alone        (`certifyTiny`, which is `certify` where the test applies)
//     t2 below t1 by > 2^1000: term 1 alone   (`sumWithTiny`'s first step: εT1 + 2^-997)
//     else:                  term 1 + term 2  (`add`: `ScaledDoubleWord.+`, max(ε1, ε2) + 3.1u² + 2^-996)
//
// IEEE operations on lanes round as scalar ones, and the exponents are added as integers, so each
// lane's enclosure (h, l, k, err) is bit for bit the scalar path's, its error bound the scalar
// bound (stated on `bce`), and `DoubleWordCertifier.test` is the test `certify` runs: a lane that
// is in range, narrow and certified gets `certify`'s output. Every other lane (a guard below
// fails, or the test does not decide) is left to the scalar path, which computes it from scratch
// and so declines, or settles near-ties, exactly where it always did.

extension ElementwiseOutputs {
    /// The `BceWeightCache` slot of output i's triple (z, pw, w) (`bceWeights` computed on a
    /// miss), or `BceWeightCache.declined` where `bce` would not use the weights (z ∉ [0, 1],
    /// pw < 0 or w < 0, NaN included). `output` takes the labels +0 and 1 from
    /// `hardLabelWeights` when it is set, which is `bceWeights` of the same bit patterns, so the
    /// same values (`bceWeights` is a function of the bits). `pw`: the one pos_weight (or 1)
    /// when the request gives one value or none, else nil.
    @inline(__always)
    func bceSlot(_ i: Int, pw one: Double?, _ cache: UnsafeMutablePointer<BceWeightCache>) -> Int {
        let z = labels.unsafelyUnwrapped[i]
        if cache.pointee.labelOnly {  // (pw = the one pos_weight >= 0, w = 1: checked once)
            return z >= 0 && z <= 1 ? cache.pointee.slot(label: z, posWeight: one.unsafelyUnwrapped, weight: 1) : BceWeightCache.declined
        }
        let pw = one ?? posWeight.unsafelyUnwrapped[i], w = weight?[i] ?? 1
        guard z >= 0, z <= 1, pw >= 0, w >= 0 else { return BceWeightCache.declined }
        return cache.pointee.slot(label: z, posWeight: pw, weight: w)
    }

    /// The coefficients `bce` uses for a queue of four finite logits, lane by lane: term 1's
    /// (A for x < 0, B otherwise) and C, with their bounds, loaded as four rows and transposed
    /// (`BceWeightCache.rows`); all zero on a lane whose weights `bce` would not use.
    /// `softplusSign`: each lane's σ (`BceWeightCache.rows`). Each lane's rows are read right
    /// after its lookup (the next lane's may move that slot's entry).
    @inline(__always)
    func bceLaneWeights(_ q: LaneQueue, cache: UnsafeMutablePointer<BceWeightCache>)
        -> (ah: OutputLanes, al: OutputLanes, ae: OutputLanes.MaskStorage, epsA: OutputLanes,
            ch: OutputLanes, cl: OutputLanes, ce: OutputLanes.MaskStorage, epsC: OutputLanes, softplusSign: OutputLanes) {
        typealias V = SIMD4<Double>  // OutputLanes
        let pw: Double?
        if let p = posWeight { pw = p.count == 1 ? p[0] : nil } else { pw = 1 }
        let rows = cache.pointee.rows
        // Row 4s (A) for x < 0, 4s + 1 (B) otherwise (x = −0 included, as `x < 0 ? a : b`).
        @inline(__always) func lane(_ j: Int) -> (term: V, c: V, sign: Double) {
            let s = bceSlot(q.index[j], pw: pw, cache)
            return (rows[4 * s + (q.values[j] < 0 ? 0 : 1)], rows[4 * s + 2], rows[4 * s + 3][0])
        }
        let (a0, c0, s0) = lane(0), (a1, c1, s1) = lane(1), (a2, c2, s2) = lane(2), (a3, c3, s3) = lane(3)
        @inline(__always) func exponents(_ v: V) -> V.MaskStorage { unsafeBitCast(v, to: V.MaskStorage.self) }
        return (V(a0[0], a1[0], a2[0], a3[0]), V(a0[1], a1[1], a2[1], a3[1]), exponents(V(a0[2], a1[2], a2[2], a3[2])),
                V(a0[3], a1[3], a2[3], a3[3]),
                V(c0[0], c1[0], c2[0], c3[0]), V(c0[1], c1[1], c2[1], c3[1]), exponents(V(c0[2], c1[2], c2[2], c3[2])),
                V(c0[3], c1[3], c2[3], c3[3]), V(s0, s1, s2, s3))
    }

    /// Term 1 = coefficient·|x| on lanes (`times`: `DoubleWord.product` by a double, exponents
    /// added, normalized) and its bound roundedUp(ε_coefficient + (lo = 0 ? 0 : 3.02u²)), as
    /// `bceCoefficients` computes it; `none`: term 1 is 0 (x = 0 or the coefficient is). Needs a
    /// coefficient that is 0 or normalized (the callers' guard). |x| normalized (lo = 0), the
    /// mantissas' product (in [1, 4)), exponents added, normalized. A subnormal |x| = m·2^-1074
    /// (m < 2^52 its significand field) is first made normal without arithmetic on a subnormal
    /// (a multiplication by one costs a microcode assist on x86): (1 + m·2^-52) − 1, the double
    /// with exponent field 1023 and significand field m, minus 1, is m·2^-52 = |x|·2^1022
    /// exactly (Sterbenz), and its exponent is lowered by 1022. A nonzero double has one
    /// normalized form (significand in [1, 2), lo = 0), so this is `ScaledDoubleWord(|x|)` bit
    /// for bit.
    @inline(__always)
    static func bceTerm1Lanes(_ ah: OutputLanes, _ al: OutputLanes, _ ae: OutputLanes.MaskStorage, _ epsA: OutputLanes, x: OutputLanes)
        -> (hi: OutputLanes, lo: OutputLanes, exponent: OutputLanes.MaskStorage, eps: OutputLanes, none: SIMDMask<OutputLanes.MaskStorage>) {
        typealias V = OutputLanes
        typealias I = V.MaskStorage
        let ax = magnitudeLanes(x)
        let subnormal = ax .< 0x1p-1022
        let lifted = unsafeBitCast(unsafeBitCast(ax, to: I.self) | 0x3FF0_0000_0000_0000, to: V.self) - 1
        let xn = normalizedLanes(ax.replacing(with: lifted, where: subnormal), V(),
                                 I(repeating: 0).replacing(with: -1022, where: subnormal))
        let p1 = twoProduct(ah, split: veltkampSplit(ah), xn.hi, split: veltkampSplit(xn.hi))
        let s1 = fastTwoSum(p1.hi, al * xn.hi + p1.lo)
        let t1 = normalizedLanes(s1.hi, s1.lo, ae &+ xn.exponent)
        let eps1: V = (epsA + V(repeating: 3.02 * unitRoundoffSquared).replacing(with: 0, where: al .== 0)) * (1 + 0x1p-40)
        return (t1.hi, t1.lo, t1.exponent, eps1, (ax .== 0) .| (ah .== 0))
    }

    /// bce for a full queue of logits (|x| <= 2^20) from T on lanes (see the notes above).
    /// Writes out[index_j] for the lanes it certifies and returns them; the scalar path finishes
    /// the others.
    ///
    /// Guards (a lane failing one is left to the scalar path): `bce` would use the weights; C is
    /// normalized and finite (C = 0 goes to the MPFR path, C = inf/NaN follows binary64); term 1's
    /// coefficient is 0 or normalized; T's hi lies in [1, 2) (normalized, so the products'
    /// mantissas lie in [1, 4) and `normalizedLanes` is `normalized()`).
    @inline(__always)
    func bceOnLanes(_ q: LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>, cache: UnsafeMutablePointer<BceWeightCache>,
                    scratch: UnsafeMutablePointer<OracleValue>, into out: UnsafeMutablePointer<OracleValue>) -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = SIMD4<Double>  // OutputLanes
        typealias I = V.MaskStorage
        let u2 = unitRoundoffSquared
        let (ah, al, ae, epsA, ch, cl, ce, epsC, softplusSign) = bceLaneWeights(q, cache: cache)
        let normalizedA = (ah .>= 1) .& (ah .< 2)
        // (A declined lane's rows are zero: its C fails.)
        let ok = (ch .>= 1) .& (ch .< 2) .& (normalizedA .| (ah .== 0)) .& (t.hi .>= 1) .& (t.hi .< 2)
        // Term 1 = `times`(coefficient, |x|), zero when x = 0 or the coefficient is.
        let t1 = Self.bceTerm1Lanes(ah, al, ae, epsA, x: q.x)
        let eps1 = t1.eps, noTerm1 = t1.none
        // Term 2 = C·T (`ScaledDoubleWord.*`), bound roundedUp(εC + εT + 8.1u²).
        let p2 = DoubleWord.product(ch, cl, t.hi, t.lo)
        let t2 = normalizedLanes(p2.hi, p2.lo, ce &+ t.exponent)
        let eps2: V = ((epsC + t.relativeError) + 8.1 * u2) * (1 + 0x1p-40)
        // t1 + t2 (`ScaledDoubleWord.+`, then `normalized()`): the smaller operand scaled by
        // 2^shift (shift in [−1000, 0]) and `DoubleWord.anySignSum`; below 2^-1000 relative the
        // sum is the larger operand itself.
        let firstBig = t1.exponent .>= t2.exponent
        let bh = t2.hi.replacing(with: t1.hi, where: firstBig), bl = t2.lo.replacing(with: t1.lo, where: firstBig)
        let sh = t1.hi.replacing(with: t2.hi, where: firstBig), sl = t1.lo.replacing(with: t2.lo, where: firstBig)
        let be = t2.exponent.replacing(with: t1.exponent, where: firstBig)
        let shift = t1.exponent.replacing(with: t2.exponent, where: firstBig) &- be
        let dropped = shift .< -1000
        let f: V = powerOfTwoLanes(shift.replacing(with: 0, where: dropped))
        let s = DoubleWord.anySignSum(bh, bl, sh * f, sl * f)
        var sum = normalizedLanes(s.hi, s.lo, be)
        sum.hi.replace(with: bh, where: dropped)
        sum.lo.replace(with: bl, where: dropped)
        sum.exponent.replace(with: be, where: dropped)
        let epsSum: V = ((eps2.replacing(with: eps1, where: eps1 .> eps2) + 3.1 * u2) + 0x1p-996) * (1 + 0x1p-40)
        // `sumWithTiny`'s first step where t2's exponent is below t1's by more than 1000.
        let tiny2 = t2.exponent .< t1.exponent &- 1000
        let epsTiny: V = (eps1 + 0x1p-997) * (1 + 0x1p-40)
        // Select each lane's case.
        var h = sum.hi, l = sum.lo, k = sum.exponent, eps = epsSum
        h.replace(with: t1.hi, where: tiny2)
        l.replace(with: t1.lo, where: tiny2)
        k.replace(with: t1.exponent, where: tiny2)
        eps.replace(with: epsTiny, where: tiny2)
        h.replace(with: t2.hi, where: noTerm1)
        l.replace(with: t2.lo, where: noTerm1)
        k.replace(with: t2.exponent, where: noTerm1)
        eps.replace(with: eps2, where: noTerm1)
        let err: V = (eps * magnitudeLanes(h)) * (1 + 0x1p-50)
        // (k clamped to [−2000, 2000], by selections: out of the test's range either way; and
        // −2000 on the lanes below it (`belowTestRange`: h·2^k < 2^-900, also out of range
        // either way), whose scaled parts would otherwise be subnormal: a microcode assist on
        // x86 for each operation on them.)
        let clamped = k.replacing(with: -2000, where: (k .< -2000) .| belowTestRange(h, scale: k))
        let test = certifier.test(lanes: h, l, scale: clamped.replacing(with: 2000, where: k .> 2000), error: err)
        var done = ok .& test.inRange .& test.narrow .& test.certified
        // `bceTinyOutput`'s outputs (the scalar path's first step at |x| <= 2^-60, when the
        // format has the regime): softplus(σx)'s tiny-logit output, `tinyLogitOutput(.softplus,
        // σx)`, which is `writeOutputs` of (r, h = 2·ln2Hi, l = 2·ln2Lo + σx, k = −1): h's
        // significand is 2·ln2Hi ∈ [1, 2), so head 2·ln2Hi, exponent −1, tail l.
        var rounded = test.rounded, hs = test.hs, ls = test.ls, scale = I(repeating: 0)
        if let r = tinySoftplusRounded {
            let softplusTiny = (magnitudeLanes(q.x) .<= Self.tinyLogitBound) .& (softplusSign .!= 0)
            if any(softplusTiny) {
                rounded.replace(with: r, where: softplusTiny)
                hs.replace(with: 2 * Self.ln2Hi, where: softplusTiny)
                // (σx by its sign bit: no multiplication of a subnormal x.)
                let flipped = unsafeBitCast(unsafeBitCast(q.x, to: I.self) ^ (unsafeBitCast(softplusSign, to: I.self) & Int64.min), to: V.self)
                ls.replace(with: 2 * Self.ln2Lo + flipped, where: softplusTiny)
                scale.replace(with: -1, where: softplusTiny)
                done .|= softplusTiny
            }
        }
        Self.writeOutputs(q, done, rounded: rounded, hs, ls, scale: scale, to: out)
        // C·T alone outside the test's range (below binary64's normals: bce at 2^9 < |x| <=
        // 2^20 with A = 0, say): `certifyTiny(t2, relativeError: ε2)` on the lanes where it
        // decides without the exact rounding (`certifyBelowNormals`, the scalar call's first
        // ways, lane by lane; its error argument ε2·|t2.hi|·(1 + 2^-50) is `err` on these lanes,
        // where eps = ε2 and h = t2.hi; its scale t2's exponent, unclamped). The scalar loop
        // below takes the others.
        let belowRange = ok .& noTerm1 .& .!test.inRange .& .!done
        if any(belowRange) {
            done .|= certifyBelowNormals(t2.hi, t2.lo, scale: t2.exponent, error: err, candidates: belowRange, q.index,
                                         scratch: scratch, into: out)
        }
        for j in 0..<V.scalarCount where !done[j] {
            if ok[j] && noTerm1[j] && !test.inRange[j] {
                // C·T outside the test's range: `certifyTiny` with the scalar path's arguments
                // (its early branch settles the tiny ones without rounding).
                let v = ScaledDoubleWord(hi: t2.hi[j], lo: t2.lo[j], exponent: Int(t2.exponent[j]))
                if let value = certifier.certifyTiny(v, relativeError: eps2[j]) {
                    (out + q.index[j]).initialize(to: value)
                    done[j] = true
                }
            }
        }
        return done
    }

    /// `DoubleWordCertifier.writeOutputs`(rounded, h, l, k) of the lanes in `done` to
    /// out[index_j]. Consecutive slots (a queue of neighbours): every lane written at once; a lane
    /// not done gets garbage there (computed without traps), which the scalar path overwrites
    /// (OracleValue is a plain value: one store). Else through a block of four, then the lanes done.
    @inline(__always)
    static func writeOutputs(_ q: LaneQueue, _ done: SIMDMask<OutputLanes.MaskStorage>, rounded: OutputLanes, _ h: OutputLanes,
                             _ l: OutputLanes, scale k: OutputLanes.MaskStorage, to out: UnsafeMutablePointer<OracleValue>) {
        guard any(done) else { return }
        if q.holdsNeighbouringSlots {
            DoubleWordCertifier.writeOutputs(rounded: rounded, h, l, scale: k, to: out + q.index[0])
        } else {
            withUnsafeTemporaryAllocation(of: OracleValue.self, capacity: 4) { block in
                DoubleWordCertifier.writeOutputs(rounded: rounded, h, l, scale: k, to: block.baseAddress!)
                for j in 0..<OutputLanes.scalarCount where done[j] { (out + q.index[j]).initialize(to: block[j]) }
            }
        }
    }
}
