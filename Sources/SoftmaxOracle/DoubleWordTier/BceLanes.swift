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
    /// The coefficients `bce` uses for output i at a finite logit x: the coefficient of term 1
    /// (A for x < 0, B otherwise) and C, with their bounds; ok = false where `bce` would not use
    /// them (z ∉ [0, 1], pw < 0 or w < 0, NaN included). From the cache for every label:
    /// `output` takes the labels +0 and 1 from `hardLabelWeights` when it is set, which is
    /// `bceWeights` of the same bit patterns (+0 or 1, the one pos_weight or 1, weight 1), so the
    /// same values (`bceWeights` is a function of the bits), without a branch on the label.
    /// `pw`: the one pos_weight (or 1) when the request gives one value or none, else nil.
    typealias BceLaneCoefficients = (ah: Double, al: Double, ae: Int, epsA: Double, ch: Double, cl: Double, ce: Int, epsC: Double, ok: Bool)

    @inline(__always)
    func bceLaneCoefficients(_ i: Int, _ x: Double, pw one: Double?, _ cache: UnsafeMutablePointer<BceWeightCache>) -> BceLaneCoefficients {
        let pw = one ?? posWeight.unsafelyUnwrapped[i]
        let z = labels.unsafelyUnwrapped[i], w = weight?[i] ?? 1
        guard z >= 0, z <= 1, pw >= 0, w >= 0 else { return (0, 0, 0, 0, 0, 0, 0, 0, false) }
        let k = cache.pointee.slot(label: z, posWeight: pw, weight: w)
        let a = x < 0 ? k.pointee.a : k.pointee.b
        return (a.hi, a.lo, a.exponent, x < 0 ? k.pointee.epsA : k.pointee.epsB, k.pointee.c.hi, k.pointee.c.lo,
                k.pointee.c.exponent, k.pointee.epsC, true)
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
                    into out: UnsafeMutablePointer<OracleValue>) -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = SIMD4<Double>  // OutputLanes, built lane by lane from four scalars
        typealias I = V.MaskStorage
        let u2 = unitRoundoffSquared
        let pw: Double?
        if let p = posWeight { pw = p.count == 1 ? p[0] : nil } else { pw = 1 }
        let c0 = bceLaneCoefficients(q.index[0], q.values[0], pw: pw, cache), c1 = bceLaneCoefficients(q.index[1], q.values[1], pw: pw, cache)
        let c2 = bceLaneCoefficients(q.index[2], q.values[2], pw: pw, cache), c3 = bceLaneCoefficients(q.index[3], q.values[3], pw: pw, cache)
        let weighed = I(c0.ok ? 1 : 0, c1.ok ? 1 : 0, c2.ok ? 1 : 0, c3.ok ? 1 : 0) .!= 0
        let ah = V(c0.ah, c1.ah, c2.ah, c3.ah), al = V(c0.al, c1.al, c2.al, c3.al)
        let ae = I(Int64(c0.ae), Int64(c1.ae), Int64(c2.ae), Int64(c3.ae))
        let epsA = V(c0.epsA, c1.epsA, c2.epsA, c3.epsA)
        let ch = V(c0.ch, c1.ch, c2.ch, c3.ch), cl = V(c0.cl, c1.cl, c2.cl, c3.cl)
        let ce = I(Int64(c0.ce), Int64(c1.ce), Int64(c2.ce), Int64(c3.ce))
        let epsC = V(c0.epsC, c1.epsC, c2.epsC, c3.epsC)
        let x = q.x, ax = magnitudeLanes(x)
        let normalizedA = (ah .>= 1) .& (ah .< 2)
        let ok = weighed .& (ch .>= 1) .& (ch .< 2) .& (normalizedA .| (ah .== 0))
            .& (t.hi .>= 1) .& (t.hi .< 2)
        // Term 1 = `times`(coefficient, |x|): |x| normalized (lo = 0), the mantissas' product
        // (`DoubleWord.product(_:_: Double)`), exponents added, normalized; bound
        // roundedUp(ε_coefficient + (lo = 0 ? 0 : 3.02u²)). Zero when x = 0 or the coefficient is.
        // A subnormal |x| is first scaled by 2^64 (exact, now normal) and its exponent lowered by
        // 64: a nonzero double has one normalized form (significand in [1, 2), lo = 0), so this
        // is `ScaledDoubleWord(|x|)` bit for bit.
        let subnormal = ax .< 0x1p-1022
        let xn = normalizedLanes(ax.replacing(with: ax * 0x1p64, where: subnormal), V(),
                                 I(repeating: 0).replacing(with: -64, where: subnormal))
        let p1 = twoProduct(ah, split: veltkampSplit(ah), xn.hi, split: veltkampSplit(xn.hi))
        let s1 = fastTwoSum(p1.hi, al * xn.hi + p1.lo)
        let t1 = normalizedLanes(s1.hi, s1.lo, ae &+ xn.exponent)
        let eps1: V = (epsA + V(repeating: 3.02 * u2).replacing(with: 0, where: al .== 0)) * (1 + 0x1p-40)
        let noTerm1 = (ax .== 0) .| (ah .== 0)
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
        // (k clamped to [−2000, 2000], by selections: out of the test's range either way.)
        let test = certifier.test(lanes: h, l, scale: k.replacing(with: -2000, where: k .< -2000).replacing(with: 2000, where: k .> 2000), error: err)
        var done = ok .& test.inRange .& test.narrow .& test.certified
        // Consecutive slots (a queue of neighbours): every lane's `test.output(j)` written at
        // once (`writeOutputs`); a lane not done gets garbage there (computed without traps),
        // which the scalar path overwrites (OracleValue is a plain value: one store).
        let consecutive = q.holdsNeighbouringSlots
        if consecutive && (done[0] || done[1] || done[2] || done[3]) {
            test.writeOutputs(to: out + q.index[0])
        }
        for j in 0..<V.scalarCount {
            if done[j] {
                if consecutive { continue }
                (out + q.index[j]).initialize(to: test.output(j))
            } else if ok[j] && noTerm1[j] && !test.inRange[j] {
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
}
