import DoubleWordArithmetic

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The certified tier's L = log1p(s) in double words, once per row (notation in
// DoubleWordArithmetic's ErrorFreeTransforms.swift). s > 0 is the row's sum of shifted
// exponentials, known as a ScaledDoubleWord ŝ with |ŝ − s| <= ε_s·s.
//
// Three regimes, each with an error bound computed from the actual magnitudes at run time:
//
// (i)   s < 2^-60: L = s(1 − s/2 + s²/3 − ...) = ŝ ⊗ (1 − ŝ_hi/2) up to s²/3 + u·s/2 relative
//       (<= 2^-112), plus one `DoubleWord.product` (8.1u²). Works at any exponent (ŝ stays scaled).
// (ii)  2^-60 <= s <= 0.75: Newton's correction on expm1. Take any L0 (libm's log1p(ŝ_hi): its
//       accuracy is not relied on, only measured), then exactly
//           L = L0 + log1p(δ),   δ = (ŝ − expm1(L0)) / e^L0,
//       and |log1p(δ) − δ| <= δ² for |δ| <= 1/2. expm1(L0) comes from `DoubleWordExp.expm1`
//       with a proven relative error ε_em <= ~2^-99; δ is ~2^-52·L when L0 is good, so it needs only
//       double precision, and the error of L is relative to L (not to 1): what matters for
//       log_softmax at the arg-max and for a cross-entropy of 1e-30.
// (iii) s > 0.75: the same on exp: Y = 1 + ŝ (2.01u²), L0 = libm log(Y_hi),
//           L = L0 + log1p(δ),   δ = Y·e^(−L0) − 1,
//       with e^(−L0) from `DoubleWordExp.exp` (2^-101) and one `DoubleWord.product` (8.1u²):
//       an absolute error of ~2^-100 on δ, relative to L >= 0.559.
// The effect of ε_s: |log1p(s) − log1p(ŝ)| <= |s − ŝ|/(1 + min(s, ŝ)) <= 1.01·ε_s·s/(1 + s)
// <= 1.01·ε_s·L, as log1p(s) >= s/(1 + s).
// (Scalings x·2^e are `scaled`: one rounding, RN(x·2^e), the value Double(sign:exponent:significand:)
// gives, without its generic slow path.)
enum DoubleWordLog1p {
    /// log1p(s) and a bound on its relative error, or nil (libm's guess unusable: never seen).
    static func logOnePlus(_ s: ScaledDoubleWord, relativeError epsS: Double, _ tab: DoubleWordExpTable) -> (value: ScaledDoubleWord, relativeError: Double)? {
        let u = unitRoundoff, u2 = unitRoundoffSquared
        if s.exponent < -60 {
            // (i): f = 1 − ŝ_hi/2 is the double word (1, −ŝ_hi·2^(e−1)), exact and normalized.
            let half = s.exponent > -1100 ? scaled(s.hi, by: s.exponent - 1) : 0
            let l = DoubleWord.product(DoubleWord(s.hi, s.lo), DoubleWord(1, -half))
            let v = ScaledDoubleWord(hi: l.hi, lo: l.lo, exponent: s.exponent).normalized()
            return (v, roundedUp(1.01 * epsS + 8.1 * u2 + 0x1p-112))
        }
        let sh = scaled(s.hi, by: s.exponent)
        let sl = scaled(s.lo, by: s.exponent)
        if sh <= 0.75 {
            // (ii)
            let l0 = log1p(sh)
            guard l0 > 0 && l0 < 0.6 else { return nil }
            let (e1, epsEm) = DoubleWordExp.expm1(l0, tab)
            guard e1.hi >= 0.5 * sh && e1.hi <= 2 * sh else { return nil }
            let dh = sh - e1.hi                      // exact (Sterbenz)
            let t = sl - e1.lo                       // errs by <= 1.01u²(sh + e1.hi)
            let d = dh + t                           // errs by <= u|d|
            let delta = d / (1 + e1.hi)              // = D̂/e^L0·(1 + θ), |θ| <= 3.02u
            guard delta.magnitude <= 0x1p-20 else { return nil }
            let l = twoSum(l0, delta)
            let etaD = 1.01 * u2 * (sh + e1.hi) + u * d.magnitude + 1.01 * epsEm * e1.hi
            let dErr = etaD + 3.02 * u * d.magnitude
            let quad = (delta.magnitude + dErr) * (delta.magnitude + dErr)
            let absolute = dErr + quad
            let v = ScaledDoubleWord(hi: l.hi, lo: l.lo, exponent: 0).normalized()
            return (v, roundedUp(1.01 * epsS + absolute / (l.hi * (1 - 0x1p-50))))
        }
        // (iii)
        let y = DoubleWord.sum(DoubleWord(sh, sl), 1.0)
        let l0 = log(y.hi)
        guard l0 > 0.5 && l0 < 0x1p19 else { return nil }
        let e = DoubleWordExp.exp(-l0, 0, tab)
        let z = DoubleWord.product(y, e.m)
        let zh = scaled(z.hi, by: e.k)
        let zl = scaled(z.lo, by: e.k)
        guard zh >= 0.5 && zh <= 2 else { return nil }
        let delta = (zh - 1) + zl                    // zh − 1 exact (Sterbenz); errs by <= u|δ|
        guard delta.magnitude <= 0x1p-20 else { return nil }
        let l = twoSum(l0, delta)
        // |Ẑ − Ŷe^(−L0)| <= (2^-101 + 8.1u²)(1 + |δ| + ...); Ŷ's error 2.01u² plus ε_s·s/(1+s)
        // (counted as 1.01ε_s·L below) becomes an absolute error of log.
        let dErr = (DoubleWordExp.relativeError + 8.1 * u2) * 1.001 + u * delta.magnitude + 2.02 * u2
        let quad = (delta.magnitude + dErr) * (delta.magnitude + dErr)
        let v = ScaledDoubleWord(hi: l.hi, lo: l.lo, exponent: 0).normalized()
        return (v, roundedUp(1.01 * epsS + (dErr + quad) / (l.hi * (1 - 0x1p-50))))
    }
}
