import DoubleWordArithmetic

// bce_with_logits at finite logits with |x| > 2^20 on SIMD lanes: the scalar path's steps there
// (`bce`, BinaryCrossEntropy.swift), on four lanes with its operands in its order:
//
//     C = 0:                      the MPFR path (left to the scalar path)
//     term 1 = 0 (coefficient 0): tinyOutput(negative: false, coefficient: C) (written on lanes)
//     else:                       `sumWithTiny`(term 1, ε1, tinyExponent = C's exponent −
//                                 1512776 + 3): `certify`(term 1, roundedUp(ε1 + 2^-997))
//
// Term 1 and ε1 are `bceTerm1Lanes` (BceLanes.swift), bit for bit `bceCoefficients`; the bound
// roundedUp(ε1 + 2^-997) = (ε1 + 2^-997)(1 + 2^-40) and the error eps·|hi|·(1 + 2^-50) are
// `sumWithTiny`'s and `certify`'s operations, and `DoubleWordCertifier.test` is `certify`'s test
// (its result on a lane does not depend on the lane count). `sumWithTiny`'s guard tinyExponent <
// t1.exponent − 998 is tested on the lanes too (it always holds for finite doubles: C's
// exponent is at most 2048 and term 1's at least −2200, far from −1512776). A lane outside the
// test's range takes `certifyOther` with `certify`'s arguments (what `certify` does next); a
// lane that the test does not certify, or that `certifyOther` leaves undecided, goes to the
// scalar path, which computes it from scratch and settles near-ties (`nearTie`) or declines
// exactly where it always did.

extension ElementwiseOutputs {
    /// bce for a full queue of finite logits with |x| > 2^20 (see the notes above). Writes
    /// out[index_j] for the lanes it decides and returns them; the scalar path finishes the
    /// others. (Not inlined: one call per four such logits keeps `fill`'s loop small.)
    ///
    /// Where term 1 is 0 the output is `tinyOutput(negative: false, coefficient: C)`:
    /// OracleValue(rounded: RN(+0), exact: `ExactValue(scaledHi: C.hi, lo: C.lo, scale:
    /// C.exponent + tinyExponent)`), C normalized (the guard), so `normalized()` leaves it as it
    /// is and the exact value is head C.hi, tail C.lo, binade C.exponent + tinyExponent (or
    /// (2, 2·C.lo, one binade less) when C.hi = 1 and C.lo < 0): `DoubleWordCertifier.writeOutputs`
    /// of (h, l, k) = (C.hi, C.lo, C.exponent + tinyExponent) (head from h's significand, h ∈ [1, 2)
    /// so tail l·2^0, and the same rule for head 1), so every lane is written by one call.
    @inline(never)
    func bceHugeOnLanes(_ q: LaneQueue, cache: UnsafeMutablePointer<BceWeightCache>,
                        into out: UnsafeMutablePointer<OracleValue>) -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = OutputLanes
        typealias I = V.MaskStorage
        let (ah, al, ae, epsA, ch, cl, ce, _, _) = bceLaneWeights(q, cache: cache)
        // `bce` takes the weights (a declined lane's rows are zero) and C ≠ 0; term 1's
        // coefficient is 0 or normalized (`bceTerm1Lanes`' need).
        let ok = (ch .>= 1) .& (ch .< 2) .& (((ah .>= 1) .& (ah .< 2)) .| (ah .== 0))
        let t1 = Self.bceTerm1Lanes(ah, al, ae, epsA, x: q.x)
        let tinyBelow = (ce &+ I(repeating: Int64(Self.tinyExponent + 3))) .< (t1.exponent &- 998)
        let eps: V = (t1.eps + 0x1p-997) * (1 + 0x1p-40)
        let err: V = (eps * magnitudeLanes(t1.hi)) * (1 + 0x1p-50)
        let k = t1.exponent.clamped(lowerBound: I(repeating: -2000), upperBound: I(repeating: 2000))
        let test = certifier.test(lanes: t1.hi, t1.lo, scale: k, error: err)
        let sums = ok .& .!t1.none .& tinyBelow
        let zeroTerm = ok .& t1.none
        var done = (sums .& test.inRange .& test.narrow .& test.certified) .| zeroTerm
        let rounded = test.rounded.replacing(with: certifier.format.round(0.0), where: zeroTerm)
        let hs = test.hs.replacing(with: ch, where: zeroTerm), ls = test.ls.replacing(with: cl, where: zeroTerm)
        let scale = I(repeating: 0).replacing(with: ce &+ Int64(Self.tinyExponent), where: zeroTerm)
        Self.writeOutputs(q, done, rounded: rounded, hs, ls, scale: scale, to: out)
        for j in 0..<V.scalarCount where !done[j] {
            if sums[j] && !test.inRange[j],
               let v = certifier.certifyOther(t1.hi[j], t1.lo[j], scale: Int(t1.exponent[j]), error: err[j]) {
                (out + q.index[j]).initialize(to: v)
                done[j] = true
            }
        }
        return done
    }
}
