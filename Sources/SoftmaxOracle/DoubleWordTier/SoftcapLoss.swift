import DoubleWordArithmetic
import ParallelExecution

// cross_entropy with `softcap` c on the double-word tier: a hard target, no temperature, no
// z_loss, no class weights or smoothing, finite logits (notation: ErrorFreeTransforms.swift,
// u = 2^-53). The MPFR path's formulation (LossOptions.swift, `TransformedRow`): z_j =
// c·tanh(a_j), a_j = x_j/c, M the first index of the largest x, d_j = z_j − z_M <= 0 built from
// the exact x_M − x_j, s = Σ_{j≠M} e^(d_j), L = log1p(s), loss = −d_t + L. The loss is a sum of
// positive terms, and each e^(d_j) errs by its exponential's 2^-101 and |d_j| times d_j's
// relative bound, so a loss needs no per-term accuracy beyond that (the gradient does: it stays
// on the MPFR path).

extension DoubleWordTier {
    /// e^y − 1 for a double-double y = −v, v >= 0 (`y` is given as v), with its relative error
    /// bound, the argument exact.
    ///
    /// - v >= 0.5: e^(−v) (`DoubleWordExp.exp`, 2^-101; < 2^-1000 counts as 0 with that absolute
    ///   error) minus 1 (`DoubleWord.sum`, 2.01u²): |X| = 1 − e^(−v) >= 0.39, so the
    ///   exponential's error weighs e^(−v)/(1 − e^(−v)) <= 1.55 relative.
    /// - 2^-60 <= v < 0.5: V = e^(v_h) − 1 (`DoubleWordExp.expm1`, its run-time bound εV), then
    ///   V' = V + (1 + V_h)·v_l (e^(v_h + v_l) − 1 = V + e^(v_h)·(e^(v_l) − 1); |v_l| <= u·v_h, so
    ///   the dropped v_l², V_l·v_l and the correction's two roundings are <= 4u²·V'), and
    ///   e^(−v) − 1 = −V'/(1 + V') (`DoubleWord.sum` 2.01u², quotient 14u²; the map V ↦ V/(1 + V)
    ///   has relative condition 1/(1 + V) <= 1).
    /// - v < 2^-60: −v + v_h²/2 (the rest, v³/6, is below 2^-122·v; v_h²/2 rounded and v_l
    ///   dropped from it: <= 1.5u·v² <= 2^-112·v), then `DoubleWord.sum` (2.01u²).
    static func expm1OfNegative(_ v: DoubleWord, _ tab: DoubleWordExpTable) -> (DoubleWord, Double) {
        let u2 = unitRoundoffSquared
        if v.hi >= 0.5 {
            let e = DoubleWordExp.exp(-v.hi, -v.lo, tab)
            guard e.k >= -1000 else { return (DoubleWord(-1, 0), 0x1p-999) }
            let plain = DoubleWord(scaled(e.m.hi, by: e.k), scaled(e.m.lo, by: e.k))
            let x = DoubleWord.sum(plain, -1.0)
            return (x, roundedUp(1.55 * (DoubleWordExp.relativeError + 0x1p-1070) + 2.01 * u2))
        }
        if v.hi < 0x1p-60 {
            return (DoubleWord.sum(DoubleWord(-v.hi, -v.lo), 0.5 * v.hi * v.hi), roundedUp(0x1p-111 + 2.01 * u2))
        }
        let (big, epsV) = DoubleWordExp.expm1(v.hi, tab)
        let corrected = DoubleWord.sum(big, (1 + big.hi) * v.lo)
        let x = DoubleWord.quotient(-corrected, DoubleWord.sum(corrected, 1.0))
        return (x, roundedUp(epsV + 4 * u2 + 2.01 * u2 + 2.01 * u2 + 14 * u2))
    }

    /// tanh(b) for a double-double b >= 0 with its relative bound: −X/(2 + X), X = e^(−2b) − 1
    /// (`expm1OfNegative`, εX; the map X ↦ X/(2 + X) has relative condition 2/(2 + X) <= 2 on
    /// (−1, 0]): 2εX + 2.01u² + 14u².
    static func tanhOfNonNegative(_ b: DoubleWord, _ tab: DoubleWordExpTable) -> (DoubleWord, Double) {
        let (x, epsX) = expm1OfNegative(DoubleWord(2 * b.hi, 2 * b.lo), tab)
        return (DoubleWord.quotient(-x, DoubleWord.sum(x, 2.0)), roundedUp(2 * epsX + 16.1 * unitRoundoffSquared))
    }

    /// cross_entropy with soft-capping c (see the file's notes), or nil (the MPFR path).
    ///
    /// Domain (else nil): c ∈ [2^-400, 2^400], every x_j finite with |x_j| = 0 or in
    /// [2^-900·max(1, c), 2^900] and |x_j| < 2^18·c, and every nonzero x_M − x_j >= 2^-900·c
    /// (so the quotients a_j = x_j ⊘ c and Δ, `DoubleWord.quotient` 14u², stay within
    /// [2^-900, 2^18] — no underflow — and e^(−2|a|) in `DoubleWordExp.exp`'s domain), K >= 2.
    ///
    /// d_j (j ≠ M, x_j < x_M), the MPFR path's two cases:
    /// - same side of 0 (p <= q the two |a|'s, Δ = (x_M − x_j) ⊘ c, 14u²):
    ///   d = 2c·E_p·X/((1 + E_p)(1 + E_q)), E = e^(−2|a|) (2^-101 and the argument's error
    ///   2|a|·14.1u²), X = e^(−2Δ) − 1 (εX, and 1.5·14.1u² for Δ's error, e^y − 1 having
    ///   relative condition <= 1 + y <= 1.5 where the expm1 branch is taken, and absolute
    ///   condition e^(−2Δ) <= 1 elsewhere, 2Δ·14.1u²·e^(−2Δ)/(1 − e^(−2Δ)) <= 14.1u²·1.6);
    ///   1 + E errs by εE·E/(1 + E) <= εE·min(E, 1). Products 8.1u² each (three), the sums 2.01u²,
    ///   the quotient 14u².
    /// - opposite sides (x_j < 0 < x_M): d = −c·(tanh|a_j| + tanh a_M) (`tanhOfNonNegative` with
    ///   the arguments' 14.1u² doubled by its condition <= 2·(1 + …) <= 2.2: 31u² more), a
    ///   same-sign sum (3.02u²) and a product (8.1u²).
    /// e_j = e^(d̂_j): 2^-101 and |d_j|·εd_j·1.01 (plus 2^-1070 for underflowing low parts; d_j
    /// below −2^20: omitted, as in `rowSum`, < 2^-1512775 each). s: every term positive, so its
    /// relative error is the largest term's, plus the fixed-point sum's truncations (two per
    /// term, < 2^(σ−126) each, σ the largest term's exponent, s >= 2^σ(1 − 2^-17.5)) and the
    /// conversion. L: `DoubleWordLog1p`. loss = −d_t + L, two positive terms (`ScaledDoubleWord`'s
    /// sum, 3.1u², or 2^-997 for a dropped operand).
    static func softcapCrossEntropy(_ x: UnsafeBufferPointer<Double>, target t: Int, softcap c: Double,
                                    _ format: Format, threads: Int = 1) -> OracleValue? {
        guard let (loss, eps) = softcapLoss(x, target: t, softcap: c, threads: threads) else { return nil }
        return DoubleWordCertifier(format).certify(loss, relativeError: eps)
    }

    /// `softcapCrossEntropy`'s loss as a normalized ScaledDoubleWord with its relative bound (the
    /// batch loss's rows take it too), or nil.
    static func softcapLoss(_ x: UnsafeBufferPointer<Double>, target t: Int, softcap c: Double,
                            threads: Int = 1) -> (ScaledDoubleWord, Double)? {
        guard let row = softcapSum(x, target: t, softcap: c, threads: threads),
              let (l, epsL) = DoubleWordLog1p.logOnePlus(row.s, relativeError: row.epsS, DoubleWordExpTable.shared) else { return nil }
        guard let (d, epsD) = row.dT else { return (l, epsL) }  // t = M, or x_t = x_M
        return (((-d) + l).normalized(), roundedUp(Swift.max(epsD, epsL) + 3.11 * unitRoundoffSquared + 0x1p-996))
    }

    /// The transformed row's exponentials and sum (see `softcapCrossEntropy`).
    struct SoftcapSum {
        var maxIndex: Int
        /// e_j = 2^k·m for every j (1 at the maximum and at ties; nil: omitted, below e^(−2^20)).
        var exps: [(m: DoubleWord, k: Int)?]
        /// A relative bound for every e_j.
        var epsE: Double
        /// s, and its relative bound.
        var s: ScaledDoubleWord, epsS: Double
        /// d_t with its relative bound (nil: d_t = 0).
        var dT: (ScaledDoubleWord, Double)?
    }

    /// One chunk's share of `softcapSum`: its terms' largest bound and exponent, its omitted
    /// terms, d_t when t lies in it, and whether some x_M − x_j fell below 2^-900·c.
    struct SoftcapPart {
        var epsTerms = DoubleWordExp.relativeError
        var sigma = Int.min
        var omitted = 0
        var dT: (ScaledDoubleWord, Double)?
        var outOfDomain = false
    }

    /// `softcapCrossEntropy`'s row (t = −1: no target): the bounds are stated there. Rows of
    /// `parallelThreshold` logits or more are split into 2·threads chunks: each term is computed
    /// alone, the bound is a maximum and the fixed-point sums add exactly, so the result does not
    /// depend on the split.
    static func softcapSum(_ x: UnsafeBufferPointer<Double>, target t: Int, softcap c: Double, threads: Int = 1) -> SoftcapSum? {
        let n = x.count
        let u2 = unitRoundoffSquared
        guard n >= 2, t >= -1, t < n, c.isNormal, c >= 0x1p-400, c <= 0x1p400 else { return nil }
        var mIndex = 0
        for j in 0..<n {
            let v = x[j]
            guard v.isFinite, v == 0 || (v.magnitude >= 0x1p-900 * Swift.max(1, c) && v.magnitude <= 0x1p900),
                  v.magnitude < 0x1p18 * c else { return nil }
            if v > x[mIndex] { mIndex = j }
        }
        let tab = DoubleWordExpTable.shared
        let cw = DoubleWord(c, 0)
        let xm = x[mIndex]
        let aM = DoubleWord.quotient(DoubleWord(xm, 0), cw)
        let absAM = DoubleWord(aM.hi.magnitude, aM.hi < 0 ? -aM.lo : aM.lo)
        let eq = DoubleWordExp.exp(-2 * absAM.hi, -2 * absAM.lo, tab)
        let tanhM = tanhOfNonNegative(absAM, tab)
        let twoC = ScaledDoubleWord(2 * c)
        // d_j as a negative ScaledDoubleWord with its relative bound (nil: 0, or x_M − x_j below
        // 2^-900·c, which sets `outOfDomain`).
        func difference(_ j: Int, _ outOfDomain: inout Bool) -> (ScaledDoubleWord, Double)? {
            let v = x[j]
            if v == xm { return nil }
            let a = DoubleWord.quotient(DoubleWord(v, 0), cw)
            if v >= 0 || xm <= 0 {
                // p = the smaller |a|, q = the larger.
                let (p, eQ) = v >= 0 ? (a, eq) : (absAM, DoubleWordExp.exp(2 * a.hi, 2 * a.lo, tab))
                let ep = v >= 0 ? DoubleWordExp.exp(-2 * a.hi, -2 * a.lo, tab) : eq
                let qMag = v >= 0 ? absAM.hi : -a.hi
                let gap = twoSum(xm, -v)
                guard gap.hi >= 0x1p-900 * c else {
                    outOfDomain = true
                    return nil
                }
                let delta = DoubleWord.quotient(gap, cw)
                let (xx, epsX) = expm1OfNegative(DoubleWord(2 * delta.hi, 2 * delta.lo), tab)
                let epsEp = roundedUp(DoubleWordExp.relativeError + 2 * p.hi.magnitude * 14.1 * u2)
                let epsEq = roundedUp(DoubleWordExp.relativeError + 2 * qMag * 14.1 * u2)
                let sp = ScaledDoubleWord(ep.m, exponent: ep.k), sq = ScaledDoubleWord(eQ.m, exponent: eQ.k)
                let num = sp * ScaledDoubleWord(xx) * twoC
                let den = (ScaledDoubleWord.one + sp) * (ScaledDoubleWord.one + sq)
                let minP = ep.k < 0 ? powerOfTwo(Swift.max(ep.k + 1, -1000)) : 1.0
                let minQ = eQ.k < 0 ? powerOfTwo(Swift.max(eQ.k + 1, -1000)) : 1.0
                let eps = roundedUp(epsEp + epsX + 1.6 * 14.1 * u2 + epsEp * minP + epsEq * minQ
                                    + 3 * 8.1 * u2 + 2 * 3.1 * u2 + 14 * u2 + 0x1p-996)
                return ((num / den).normalized(), eps)
            }
            let absA = DoubleWord(-a.hi, -a.lo)
            let tj = tanhOfNonNegative(absA, tab)
            let sum = DoubleWord.sameSignSum(tj.0, tanhM.0)
            let eps = roundedUp(Swift.max(tj.1, tanhM.1) + 2.2 * 14.1 * u2 + 3.02 * u2 + 8.1 * u2)
            return ((-(ScaledDoubleWord(sum) * ScaledDoubleWord(c))).normalized(), eps)
        }
        var terms = [(m: DoubleWord, k: Int)?](repeating: (DoubleWord(1, 0), 0), count: n)
        let chunks = (threads > 1 && n >= parallelThreshold) ? threads * 2 : 1
        let parts = terms.withUnsafeMutableBufferPointer { buffer -> [SoftcapPart] in
            let slots = UncheckedSendable(value: buffer)  // each chunk writes its own indices
            return Parallel.forEachChunk(count: n, chunks: chunks) { range -> SoftcapPart in
                var part = SoftcapPart()
                for j in range where j != mIndex {
                    guard let (d, epsD) = difference(j, &part.outOfDomain) else {  // d_j = 0 exactly: e_j = 1
                        part.sigma = Swift.max(part.sigma, 0)
                        continue
                    }
                    if j == t { part.dT = (d, epsD) }
                    guard d.exponent < 20 else {  // d_j <= −2^20: omitted
                        part.omitted += 1
                        slots.value[j] = nil
                        continue
                    }
                    let plain = d.unscaled
                    let e = DoubleWordExp.exp(plain.hi, plain.lo, tab)
                    let magnitude = scaled(d.hi.magnitude, by: d.exponent) * (1 + 0x1p-49)
                    part.epsTerms = Swift.max(part.epsTerms, roundedUp(DoubleWordExp.relativeError + magnitude * epsD * 1.01 + 0x1p-1070))
                    part.sigma = Swift.max(part.sigma, e.k)
                    slots.value[j] = (e.m, e.k)
                }
                return part
            }
        }
        let epsTerms = parts.map(\.epsTerms).max()!
        let sigma = parts.map(\.sigma).max()!
        let omitted = parts.reduce(0) { $0 + $1.omitted }
        let dT = parts.lazy.compactMap(\.dT).first
        // Omitted terms (< 2^-1512775 each) are below one unit 2^(σ−126) when σ > −700000.
        guard !parts.contains(where: \.outOfDomain), sigma > Int.min, omitted == 0 || sigma > -700_000 else { return nil }
        let sums = terms.withUnsafeBufferPointer { terms in
            Parallel.forEachChunk(count: n, chunks: chunks) { range -> FixedPointSum in
                var acc = FixedPointSum()
                for j in range where j != mIndex {
                    guard let term = terms[j] else { continue }
                    acc.add(term.m.hi, scale: term.k - sigma)
                    acc.add(term.m.lo, scale: term.k - sigma)
                }
                return acc
            }
        }
        var total = FixedPointSum()
        for part in sums { total = total + part }
        guard let v = total.value() else { return nil }
        let epsS = roundedUp(epsTerms * 1.0001 + Double(2 * n + omitted) * 0x1p-126 * 1.0001 + FixedPointSum.conversionError * 1.0001)
        return SoftcapSum(maxIndex: mIndex, exps: terms, epsE: epsTerms,
                          s: ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + sigma), epsS: epsS, dT: dT)
    }
}
