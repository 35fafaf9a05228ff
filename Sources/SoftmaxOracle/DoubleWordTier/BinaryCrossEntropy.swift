import DoubleWordArithmetic

// bce_with_logits on the double-word tier, one output at a time (notation:
// ErrorFreeTransforms.swift, u = 2^-53):
//
//     loss = A·max(−x, 0) + B·max(x, 0) + C·T,   A = w·pw·z,  B = w·(1 − z),  C = A + B,
//
// the MPFR path's formulation (Elementwise.swift). Here only for labels z in [0, 1] and
// pw, w >= 0, so that A, B, C >= 0 and the loss is a sum of non-negative terms (relative bounds
// add); other coefficients, and an exactly zero loss, go to the MPFR path (that output only).
// x = ±inf gives the exact limit for any coefficients (`infiniteLoss`). Every quantity is a
// ScaledDoubleWord, so no coefficient or product underflows or overflows before the final
// certification; an exact term 1 on a rounding boundary plus a term 2 below its last bit is
// settled as P + 0⁺ (`DoubleWordTier.nearTie`) in every binade up to 1023 (term 1 and the loss
// as plain double-doubles: finite there).

extension ElementwiseOutputs {
    /// a·b for a normalized a and a double b >= 0, and its relative error bound: 0 when a.lo = 0
    /// (TwoProd of the mantissas, in [1, 4): exact), else 3.02u² (`DoubleWord.product(_:_: Double)`).
    @inline(__always)
    static func times(_ a: ScaledDoubleWord, _ b: Double) -> (value: ScaledDoubleWord, error: Double) {
        if a.hi == 0 || b == 0 { return (.zero, 0) }
        let bn = ScaledDoubleWord(b)
        let p = DoubleWord.product(a.mantissa, bn.hi)
        return (ScaledDoubleWord(p, exponent: a.exponent + bn.exponent), a.lo == 0 ? 0 : 3.02 * unitRoundoffSquared)
    }

    /// bce_with_logits for one element (see the file's notes), or nil for the MPFR path.
    ///
    /// Bounds. pw·z: exact (`times` on a double). A = (pw·z)·w: 3.02u² unless exact; B = (1 − z)·w
    /// with 1 − z an exact TwoSum: the same. C = A + B: the larger of their bounds plus 3.1u²
    /// (ScaledDoubleWord's same-sign sum) and 2^-996 (an operand more than 2^1000 below the other
    /// is dropped). Term 1 = coefficient·|x|: the coefficient's bound plus `times`'s. Term 2 =
    /// C·T: εC + εT + 8.1u² (ScaledDoubleWord's product). The loss adds the two as C does. Sums
    /// of relative errors stand for their products, covered by `roundedUp`.
    /// `log`, when given, is `logTerm(x)` (computed on SIMD lanes), or `tinyLogTerm(x)` at
    /// |x| <= 2^-60.
    /// `weights`, when given, is `bceWeights(label: z, posWeight: pw, weight: w)`.
    func bce(_ x: Double, label z: Double, posWeight pw: Double, weight w: Double, _ log: DoubleWordTier.LogPart? = nil,
             weights: BceWeights? = nil) -> OracleValue? {
        if x.isNaN { return exactOutput(.nan) }
        if x.isInfinite { return exactOutput(Self.infiniteLoss(negative: x < 0, label: z, posWeight: pw, weight: w)) }
        guard z >= 0, z <= 1, pw >= 0, w >= 0 else { return nil }
        // (Not when T is given: the fill passes T only for outputs that are not softplus(±x).)
        if log == nil, x.magnitude <= Self.tinyLogitBound, let v = bceTinyOutput(x, label: z, posWeight: pw, weight: w) { return v }
        let (c, epsC, t1, eps1, exact1) = Self.bceCoefficients(x, label: z, posWeight: pw, weight: w, weights: weights)
        // Term 2, and the loss.
        if c.hi == 0 {
            return t1.hi == 0 ? nil : certifier.certify(t1, relativeError: eps1)  // 0 exactly: MPFR path
        }
        if x.magnitude > 0x1p20 {
            // T ∈ (0, 2^(tinyExponent+1)): C·T < 2^(c.exponent + tinyExponent + 3) with εC < 1.
            if t1.hi == 0 { return tinyOutput(negative: false, coefficient: c) }
            return sumWithTiny(t1, eps1, exact: exact1, tinyExponent: c.exponent + Self.tinyExponent + 3)
        }
        guard let t = log ?? (x.magnitude <= Self.tinyLogitBound ? Self.tinyLogTerm(x) : logTerm(x)) else { return nil }
        let (t2, eps2) = Self.bceTerm2(c, epsC, t)
        if t1.hi == 0 { return certifier.certifyTiny(t2, relativeError: eps2) }
        if t2.exponent < t1.exponent - 1000 {
            return sumWithTiny(t1, eps1, exact: exact1, tinyExponent: t2.exponent + 2)
        }
        let (loss, eps) = Self.add(t1, eps1, t2, eps2)  // (`bceLoss`, after the exits that do not need it)
        if let v = certifier.certify(loss, relativeError: eps) { return v }
        // An exact term 1 on a rounding boundary plus a term 2 below its last bit.
        guard exact1, t1.exponent > -900, t1.exponent <= 1023, loss.exponent > -900, loss.exponent <= 1023 else { return nil }
        let upper = roundedUp(scaled(t2.hi * (1 + eps2) * (1 + 0x1p-50), by: t2.exponent))
        return DoubleWordTier.nearTie(t1.unscaled, plus: true, loss.unscaled,
                                      absoluteError: roundedUp(eps * scaled(loss.hi, by: loss.exponent) * (1 + 0x1p-50)),
                                      upper: upper, certifier)
    }

    /// bce at x = ±inf (any finite z, pw, w), as the MPFR path gives it (`Elementwise.bce`, an
    /// exact value): the term that grows like |x| has the coefficient A = w·pw·z (x = −inf) or
    /// B = w·(1 − z) (x = +inf); the loss is 0 when that coefficient is exactly 0, else ±inf by
    /// its sign. Decided from signs alone, exactly: a product of finite factors is 0 exactly when
    /// a factor is, else its sign is the product of their signs; 1 − z is 0 for z = 1 and has
    /// the sign of 1 − z otherwise (no rounding involved).
    static func infiniteLoss(negative: Bool, label z: Double, posWeight pw: Double, weight w: Double) -> Double {
        let isNegative: Bool
        if negative {
            if w == 0 || pw == 0 || z == 0 { return 0 }
            isNegative = ((w < 0) != (pw < 0)) != (z < 0)
        } else {
            if w == 0 || z == 1 { return 0 }
            isNegative = (w < 0) != (z > 1)
        }
        return isNegative ? -.infinity : .infinity
    }

    /// C = A + B and term 1 (A·|x| for x < 0, B·x for x > 0, else 0) with their relative error
    /// bounds (see `bce`); `exact1`: term 1 is exact. Needs finite x, z ∈ [0, 1], pw, w >= 0.
    static func bceCoefficients(_ x: Double, label z: Double, posWeight pw: Double, weight w: Double,
                                weights known: BceWeights? = nil)
        -> (c: ScaledDoubleWord, epsC: Double, t1: ScaledDoubleWord, eps1: Double, exact1: Bool) {
        let (a, epsA, b, epsB, c, epsC) = known ?? bceWeights(label: z, posWeight: pw, weight: w)
        let coefficient = x < 0 ? a : b, epsCoefficient = x < 0 ? epsA : epsB
        let (t1, epsProduct) = x == 0 ? (ScaledDoubleWord.zero, 0) : times(coefficient, x.magnitude)
        return (c, epsC, t1, roundedUp(epsCoefficient + epsProduct), epsCoefficient == 0 && epsProduct == 0)
    }

    /// A, B and C = A + B of `bce` with their relative bounds: functions of (z, pw, w) alone,
    /// so computed once for each distinct triple of a row (`BceWeightCache`).
    typealias BceWeights = (a: ScaledDoubleWord, epsA: Double, b: ScaledDoubleWord, epsB: Double, c: ScaledDoubleWord, epsC: Double)

    /// A = (pw·z)·w, B = (1 − z)·w, C = A + B (see `bce`).
    static func bceWeights(label z: Double, posWeight pw: Double, weight w: Double) -> BceWeights {
        let (zp, _) = times(ScaledDoubleWord(z), pw)
        let (a, epsA) = times(zp, w)
        let (b, epsB) = times(ScaledDoubleWord(twoSum(1, -z)), w)
        let (c, epsC) = add(a, epsA, b, epsB)
        return (a, epsA, b, epsB, c, epsC)
    }

    /// Term 2 = C·T (εC + εT + 8.1u²) and the loss t1 + t2 (`add`), with their relative bounds,
    /// for |x| <= 2^20 (T from `logTerm`).
    @inline(__always)
    static func bceLoss(_ t1: ScaledDoubleWord, _ eps1: Double, _ c: ScaledDoubleWord, _ epsC: Double,
                        _ t: DoubleWordTier.LogPart) -> (t2: ScaledDoubleWord, eps2: Double, loss: ScaledDoubleWord, eps: Double) {
        let (t2, eps2) = bceTerm2(c, epsC, t)
        let (loss, eps) = add(t1, eps1, t2, eps2)
        return (t2, eps2, loss, eps)
    }

    /// Term 2 = C·T and its relative bound εC + εT + 8.1u² (see `bceLoss`).
    @inline(__always)
    static func bceTerm2(_ c: ScaledDoubleWord, _ epsC: Double, _ t: DoubleWordTier.LogPart) -> (ScaledDoubleWord, Double) {
        (c * t.value, roundedUp(epsC + t.epsL + 8.1 * unitRoundoffSquared))
    }

    /// x + y for x, y >= 0 with relative errors ex, ey (< 2^-80), and the sum's relative error:
    /// max(ex, ey) + 3.1u² (`ScaledDoubleWord.+`, same signs) + 2^-996 (its dropped operand).
    @inline(__always)
    static func add(_ x: ScaledDoubleWord, _ ex: Double, _ y: ScaledDoubleWord, _ ey: Double) -> (ScaledDoubleWord, Double) {
        if y.hi == 0 { return (x, ex) }
        if x.hi == 0 { return (y, ey) }
        return ((x + y).normalized(), roundedUp(Swift.max(ex, ey) + 3.1 * unitRoundoffSquared + 0x1p-996))
    }

    /// P + t for P = t1 > 0 (relative error eps1; exact when `exact`) and 0 < t < 2^tinyExponent
    /// <= 2^-998·P: P's enclosure widened by 2^-997 relative; when that does not certify and P
    /// is exact, `roundNearTie` settles P + 0⁺ (exact value P).
    func sumWithTiny(_ t1: ScaledDoubleWord, _ eps1: Double, exact: Bool, tinyExponent: Int) -> OracleValue? {
        guard tinyExponent < t1.exponent - 998 else { return nil }
        if let v = certifier.certify(t1, relativeError: roundedUp(eps1 + 0x1p-997)) { return v }
        guard exact, t1.exponent > -900, t1.exponent <= 1023 else { return nil }
        let p = t1.unscaled
        let upper = tinyExponent < -999 ? 0x1p-999 : powerOfTwo(tinyExponent)
        return DoubleWordTier.nearTie(p, plus: true, p, absoluteError: roundedUp(0x1p-997 * p.hi), upper: upper, certifier)
    }
}
