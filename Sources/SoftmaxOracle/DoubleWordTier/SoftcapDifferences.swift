import DoubleWordArithmetic

// The differences d_j = z_j − z_M of a softcapped row (z_j = c·tanh(x_j/c), M the first index
// of the largest logit) on the double-word tier, as `DoubleWordTier.softcapSum` takes them
// (SoftcapLoss.swift states their bounds; u = 2^-53), and the saturated logits' shared terms.
//
// Saturation. With E_j = e^(−2|a_j|), a_j = x_j/c, σ_j the sign of x_j:
//
//     z_j = σ_j·c·(1 − 2E_j/(1 + E_j)),   so   0 <= σ_j·(σ_j·c − z_j) = 2c·E_j/(1 + E_j) <= θ_j := 2c·E_j.
//
// Take T = max(1, 112 + e_c)·ln 2, e_c = exponent(c) (so c < 2^(e_c + 1)). When 2|a_j| >= T:
// for 112 + e_c >= 1, 2c·E_j <= 2c·2^-(112 + e_c) < 2^(e_c + 2 − 112 − e_c) = 2^-110; otherwise
// (e_c <= −112) 2c·E_j <= 2c·e^(−ln 2) = c < 2^(e_c + 1) <= 2^-111. So θ_j < 2^-110, and
// |x_j| >= c·T/2 is tested against `threshold` = RN(RN(c·RN(n·RN(ln 2)·(1 + 2^-48)))·0.5) >=
// c·T/2 (RN(ln 2) is ln 2 below by < 2^-54 relative, three roundings < 2^-52.9: the factor
// 1 + 2^-48 covers them). For c = 1 it is 38.8.
//
// - x_j >= threshold (then x_M >= x_j is one too): d_j = z_j − z_M ∈ [−θ_j, 0] (both z within
//   θ of c, z_j <= z_M), so e_j = e^(d_j) ∈ [e^(−θ_j), 1]: e_j = 1 with relative error
//   < θ_j < 2^-110.
// - x_j <= −threshold: d_j = d₋ + δ, d₋ = −c − z_M, δ = c + z_j ∈ [0, θ_j]: e_j = e^(d₋)·e^δ, so
//   the one shared e^(d₋) is e_j within relative e^θ − 1 < 2^-110·(1 + 2^-100).
//   d₋ (`saturatedNegative`): x_M > 0: −c·(1 + tanh a_M) (the opposite-sides case with
//   tanh|a_j| = 1 exactly); x_M = 0: −c exactly; x_M < 0 (the same side, |a_M| the smaller):
//   −c(1 − tanh|a_M|) = −2c·E_M/(1 + E_M), E_M with its bound εE (2^-101 and the argument's
//   2|a_M|·εA, εA = 14.1u², or 0 when c is a power of two: `epsA`), E ↦ E/(1 + E) of relative
//   condition 1/(1 + E) <= 1, the sum 3.1u², the quotient 14u², the product by 2c 8.1u².
//
// Same side, far apart. d = 2c·E_p·X/((1 + E_p)(1 + E_q)) (the same-side case) has E_p·X =
// E_q − E_p. When Ê_q's exponent is at least 3 below Ê_p's (both significands in
// [1 − 2^-17.5, 2)), r = E_q/E_p <= 1/4·(1 + 2^-16), and the difference Ê_q − Ê_p of the two
// exponentials (relative errors εp, εq) has relative error (εp + r·εq)/(1 − r) <= 1.3336(εp +
// r·εq), r taken as 2^(k_q − k_p + 1)(1 + 2^-16), plus its rounding 3.1u²(1 + r)/(1 − r) <=
// 5.2u² (or 2^-997·E_p, a dropped E_q: 2^-995 relative): one exponential and a quotient fewer than e^(−2Δ) − 1 (`expm1OfNegative`).
// The rest is the same-side case's (its products, sums and quotient; the product by 2c is one
// product where that case has two, and keeps their bound).

/// The per-row constants of d_j = z_j − z_M (see the file's notes) and the differences
/// themselves.
struct SoftcapDifferences {
    let c: Double, cw: DoubleWord, xm: Double
    /// |a_M| = |x_M ⊘ c|, E_M = e^(−2|a_M|), tanh|a_M| with its bound.
    let absAM: DoubleWord, eq: ScaledExp, tanhM: (DoubleWord, Double)
    let twoC: ScaledDoubleWord
    let tab: DoubleWordExpTable
    /// |x_j| >= threshold: x_j is saturated (see the file's notes).
    let threshold: Double
    /// The relative bound of the quotients x ⊘ c and (x_M − x_j) ⊘ c: 14.1u², or 0 when c is a
    /// power of two (`DoubleWord.quotient` by (2^k, 0) divides both parts exactly; no quotient
    /// underflows in the domain, `DoubleWordTier.softcapCrossEntropy`).
    let epsA: Double

    init(softcap c: Double, max xm: Double, _ tab: DoubleWordExpTable) {
        (self.c, self.xm, self.tab) = (c, xm, tab)
        cw = DoubleWord(c, 0)
        let aM = DoubleWord.quotient(DoubleWord(xm, 0), cw)
        absAM = DoubleWord(aM.hi.magnitude, aM.hi < 0 ? -aM.lo : aM.lo)
        eq = DoubleWordExp.exp(-2 * absAM.hi, -2 * absAM.lo, tab)
        tanhM = DoubleWordTier.tanhOfNonNegative(absAM, tab)
        twoC = ScaledDoubleWord(2 * c)
        threshold = Self.threshold(softcap: c)
        epsA = DoubleWordTier.softcapQuotientError(c)
    }

    /// c·T/2 rounded up (see the file's notes): logits at least this large in magnitude are
    /// saturated, within 2^-110 relative of their sign's shared term.
    static func threshold(softcap c: Double) -> Double {
        let n = Swift.max(1, 112 + Int(c.exponent))
        return (c * (Double(n) * 0.6931471805599453 * (1 + 0x1p-48))) * 0.5
    }

    /// d_j for the logit v ≠ x_M as a negative ScaledDoubleWord with its relative bound
    /// (`DoubleWordTier.softcapCrossEntropy`'s cases), or nil when x_M − v is below 2^-900·c
    /// (which sets `outOfDomain`).
    @inline(__always)
    func difference(_ v: Double, _ outOfDomain: inout Bool) -> (ScaledDoubleWord, Double)? {
        let u2 = unitRoundoffSquared
        let a = DoubleWord.quotient(DoubleWord(v, 0), cw)
        if v >= 0 || xm <= 0 {
            // p = the smaller |a|, q = the larger.
            let (p, eQ) = v >= 0 ? (a, eq) : (absAM, DoubleWordExp.exp(2 * a.hi, 2 * a.lo, tab))
            let ep = v >= 0 ? DoubleWordExp.exp(-2 * a.hi, -2 * a.lo, tab) : eq
            let qMag = v >= 0 ? absAM.hi : -a.hi
            let epsEp = roundedUp(DoubleWordExp.relativeError + 2 * p.hi.magnitude * (1 + 0x1p-50) * epsA)
            let epsEq = roundedUp(DoubleWordExp.relativeError + 2 * qMag * (1 + 0x1p-50) * epsA)
            let sp = ScaledDoubleWord(ep.m, exponent: ep.k), sq = ScaledDoubleWord(eQ.m, exponent: eQ.k)
            let minP = ep.k < 0 ? powerOfTwo(Swift.max(ep.k + 1, -1000)) : 1.0
            let minQ = eQ.k < 0 ? powerOfTwo(Swift.max(eQ.k + 1, -1000)) : 1.0
            let den = (ScaledDoubleWord.one + sp) * (ScaledDoubleWord.one + sq)
            if eQ.k <= ep.k - 3 {
                // r = E_q/E_p <= 2^(k_q − k_p + 1)(1 + 2^-16) <= 1/4·(1 + 2^-16): E_q − E_p directly
                // (see the file's notes).
                let r = powerOfTwo(Swift.max(eQ.k - ep.k + 1, -1000)) * (1 + 0x1p-16)
                let num = (sq - sp) * twoC
                let eps = roundedUp(1.3336 * (epsEp + r * epsEq) + 5.2 * u2 + 0x1p-995 + epsEp * minP + epsEq * minQ
                                    + 3 * 8.1 * u2 + 2 * 3.1 * u2 + 14 * u2 + 0x1p-996)
                return ((num / den).normalized(), eps)
            }
            let gap = twoSum(xm, -v)
            guard gap.hi >= 0x1p-900 * c else {
                outOfDomain = true
                return nil
            }
            let delta = DoubleWord.quotient(gap, cw)
            let (xx, epsX) = DoubleWordTier.expm1OfNegative(DoubleWord(2 * delta.hi, 2 * delta.lo), tab)
            let num = sp * ScaledDoubleWord(xx) * twoC
            let eps = roundedUp(epsEp + epsX + 1.6 * epsA + epsEp * minP + epsEq * minQ
                                + 3 * 8.1 * u2 + 2 * 3.1 * u2 + 14 * u2 + 0x1p-996)
            return ((num / den).normalized(), eps)
        }
        let absA = DoubleWord(-a.hi, -a.lo)
        let tj = DoubleWordTier.tanhOfNonNegative(absA, tab)
        let sum = DoubleWord.sameSignSum(tj.0, tanhM.0)
        let eps = roundedUp(Swift.max(tj.1, tanhM.1) + 2.2 * epsA + 3.02 * u2 + 8.1 * u2)
        return ((-(ScaledDoubleWord(sum) * ScaledDoubleWord(c))).normalized(), eps)
    }

    /// d₋ = −c − z_M, the saturated negative logits' shared difference, negative, with its
    /// relative bound (the file's notes).
    func saturatedNegative() -> (ScaledDoubleWord, Double) {
        let u2 = unitRoundoffSquared
        if xm == 0 { return (ScaledDoubleWord(-c), 0) }
        if xm > 0 {
            let sum = DoubleWord.sameSignSum(DoubleWord(1, 0), tanhM.0)
            let eps = roundedUp(tanhM.1 + 2.2 * epsA + 3.02 * u2 + 8.1 * u2)
            return ((-(ScaledDoubleWord(sum) * ScaledDoubleWord(c))).normalized(), eps)
        }
        let e = ScaledDoubleWord(eq.m, exponent: eq.k)
        let epsE = roundedUp(DoubleWordExp.relativeError + 2 * absAM.hi * (1 + 0x1p-50) * epsA)
        let d = (twoC * (e / (ScaledDoubleWord.one + e))).normalized()
        return (-d, roundedUp(epsE + 3.1 * u2 + 14 * u2 + 8.1 * u2 + 0x1p-996))
    }
}
