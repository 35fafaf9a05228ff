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
    /// (so the quotients a_j = x_j ⊘ c and Δ, `DoubleWord.quotient` 14.1u², stay within
    /// [2^-900, 2^18] — no underflow — and e^(−2|a|) in `DoubleWordExp.exp`'s domain), K >= 2.
    ///
    /// d_j (j ≠ M, x_j < x_M; `SoftcapDifferences`), the MPFR path's two cases, with εA the
    /// quotients' bound (14.1u², or 0 when c is a power of two: then they are exact):
    /// - same side of 0 (p <= q the two |a|'s, Δ = (x_M − x_j) ⊘ c):
    ///   d = 2c·E_p·X/((1 + E_p)(1 + E_q)), E = e^(−2|a|) (2^-101 and the argument's error
    ///   2|a|·εA), X = e^(−2Δ) − 1 (εX, and 1.5·εA for Δ's error, e^y − 1 having
    ///   relative condition <= 1 + y <= 1.5 where the expm1 branch is taken, and absolute
    ///   condition e^(−2Δ) <= 1 elsewhere, 2Δ·εA·e^(−2Δ)/(1 − e^(−2Δ)) <= 1.6·εA);
    ///   1 + E errs by εE·E/(1 + E) <= εE·min(E, 1). Products 8.1u² each (three), the sums 2.01u²,
    ///   the quotient 14u². When E_q <= E_p/4, E_p·X = E_q − E_p directly (SoftcapDifferences.swift).
    /// - opposite sides (x_j < 0 < x_M): d = −c·(tanh|a_j| + tanh a_M) (`tanhOfNonNegative` with
    ///   the arguments' εA doubled by its condition <= 2·(1 + …) <= 2.2), a same-sign sum
    ///   (3.02u²) and a product (8.1u²).
    /// e_j = e^(d̂_j): 2^-101 and |d_j|·εd_j·1.01 (plus 2^-1070 for underflowing low parts; d_j
    /// below −2^20: omitted, as in `rowSum`, < 2^-1512775 each). Saturated logits take their
    /// sign's shared term (SoftcapDifferences.swift). s: `softcapSum`, a sum of positive parts
    /// whose bound is their weighted bound, plus the fixed-point sum's truncations and
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
        /// e_j = 2^k·m for every j (1 at the maximum and at ties; nil: omitted, below e^(−2^20));
        /// empty unless `softcapSum` was asked to keep them.
        var exps: [(m: DoubleWord, k: Int)?]
        /// A relative bound for every e_j.
        var epsE: Double
        /// The largest logit, `SoftcapDifferences.threshold`, and the bounds of the computed
        /// terms and of the saturated negative logits' shared term (`termBound`).
        var xMax = 0.0, threshold = 0.0, epsComputed = 0.0, epsSaturatedNegative = 0.0

        /// The computed terms' own bounds, rounded up to Float (0 elsewhere), when kept.
        var termBounds: [Float] = []
        /// When `softcapSum` was given a store: where e_j and its bound are kept instead of `exps`
        /// and `termBounds` (slot j of the caller's outputs, until output j overwrites it).
        var store: ExpStore?

        /// e_j (`exps`' element j, or the store's slot j).
        @inline(__always)
        func exp(_ j: Int) -> (m: DoubleWord, k: Int)? {
            guard let store else { return exps[j] }
            let e = store.load(j)
            return e.k == Int32.min ? nil : (DoubleWord(e.hi, e.lo), Int(e.k))
        }

        /// The relative bound of the kept e_j for the logit v = x_j (a tighter one than `epsE`):
        /// 0 for v = x_M (e_j = 1 exactly), 2^-110(1 + 2^-50) for a saturated v > 0, the shared
        /// term's for a saturated v < 0, else the term's own (or the computed terms' largest).
        func termBound(_ v: Double, at j: Int) -> Double {
            if v == xMax { return 0 }
            if v.magnitude >= threshold { return v > 0 ? DoubleWordTier.softcapSaturatedBound : epsSaturatedNegative }
            if let store { return Swift.min(Double(store.loadBound(j)), epsComputed) }  // both bound it
            return termBounds.isEmpty ? epsComputed : Swift.min(Double(termBounds[j]), epsComputed)
        }
        /// s, and its relative bound.
        var s: ScaledDoubleWord, epsS: Double
        /// d_t with its relative bound (nil: d_t = 0).
        var dT: (ScaledDoubleWord, Double)?
    }

    /// One chunk's share of `softcapSum`: its computed terms' largest bound, count and exact
    /// fixed-point sum, its omitted terms, its ties and saturated logits, and whether some
    /// x_M − x_j fell below 2^-900·c.
    struct SoftcapPart {
        var epsTerms = DoubleWordExp.relativeError
        /// Σ ê_j·ε_j·2^90 over the computed terms (relative to 2^σ), exact but for truncations;
        /// `wide` when some ε_j >= 2^-90, or for the loss alone, which does not keep the terms
        /// and needs no tighter bound (then the largest bound is taken instead).
        var errors = FixedPointSum()
        var wide = false
        var computed = 0
        var omitted = 0
        var ones = 0, saturatedPositive = 0, saturatedNegative = 0
        var sum = FixedPointSum()
        var outOfDomain = false
    }

    /// `softcapCrossEntropy`'s row (t = −1: no target): the bounds are stated there and in
    /// SoftcapDifferences.swift. Logits equal to x_M add exactly 1 each; saturated ones
    /// (|x_j| >= `SoftcapDifferences.threshold`) add 1 (x_j > 0) or the shared e^(d₋) (x_j < 0),
    /// each within 2^-110 relative; the others are computed one by one into an exact fixed-point
    /// sum whose scale 2^σ is the largest of them, known before the loop: the term of the largest
    /// unsaturated logit below x_M (d_j increases with x_j, and every computed term is within
    /// 2^-90 relative of its exact value, so each stays below 2^(σ+1)(1 + 2^-88) < 4·2^σ, the
    /// sum's precondition). Rows of `parallelThreshold` logits or more are split into
    /// 2·threads chunks: each term is computed alone, the bound is a maximum, the counts and the
    /// fixed-point sums add exactly, so the result does not depend on the split. The e_j are
    /// kept (`exps`) only when `keepingTerms`.
    ///
    /// s = s_c + N₁ + n₋·e^(d₋) (N₁ ties and positive saturated logits, n₋ negative saturated
    /// ones), all parts positive: its absolute error is at most Σ part·(its relative bound)
    /// (s_c: its terms' largest bound, plus its truncations, 2 per term below 2^(σ−126) each,
    /// and the conversion; N₁: 2^-110 per saturated logit; n₋e^(d₋): its bound, 2^-110 and the
    /// product's 8.1u²), plus the two sums' 3.1u² each (s_c's terms' bound, when the terms are
    /// kept, is their weighted one, Σ ê_j·ε_j kept exactly in a second fixed-point sum, or the
    /// largest ε_j when smaller; else the largest);
    /// omitted terms (< 2^-1512775 each) count 2^-126 relative each when s > 2^-700000. The bound, taken relative to ŝ(1 − 2^-40)
    /// (valid as it is below 2^-60, else nil), is that weighted sum, not the largest term's.
    ///
    /// With a `store` (and `keepingTerms`), e_j and its bound go to slot j of the store (the
    /// caller's output array: no other array of n terms), 1 with bound 0 at the maximum, at ties
    /// and at saturated x_j > 0, as `exps` would hold them.
    static func softcapSum(_ x: UnsafeBufferPointer<Double>, target t: Int, softcap c: Double, threads: Int = 1,
                           keepingTerms: Bool = false, store: ExpStore? = nil) -> SoftcapSum? {
        let n = x.count
        let u2 = unitRoundoffSquared
        guard n >= 2, t >= -1, t < n, c.isNormal, c >= 0x1p-400, c <= 0x1p400 else { return nil }
        let threshold = SoftcapDifferences.threshold(softcap: c)
        // The maximum, and the two largest distinct unsaturated logits.
        var mIndex = 0
        var top = -Double.infinity, second = -Double.infinity
        for j in 0..<n {
            let v = x[j]
            guard v.isFinite, v == 0 || (v.magnitude >= 0x1p-900 * Swift.max(1, c) && v.magnitude <= 0x1p900),
                  v.magnitude < 0x1p18 * c else { return nil }
            if v > x[mIndex] { mIndex = j }
            if v.magnitude < threshold {
                if v > top { (top, second) = (v, top) } else if v > second && v < top { second = v }
            }
        }
        let tab = DoubleWordExpTable.shared
        let xm = x[mIndex]
        let row = SoftcapDifferences(softcap: c, max: xm, tab)
        var outOfDomain = false
        // σ: the exponent of the largest computed term (0 when there is none or it is omitted).
        let largest = top < xm ? top : second
        var sigma = 0
        if largest > -.infinity, let (d, _) = row.difference(largest, &outOfDomain), d.exponent < 20 {
            let plain = d.unscaled
            sigma = DoubleWordExp.exp(plain.hi, plain.lo, tab).k
        }
        let (dMinus, epsDMinus) = row.saturatedNegative()
        var eMinus: ScaledExp?
        var epsMinus = 0.0
        if dMinus.exponent < 20 {
            let plain = dMinus.unscaled
            eMinus = DoubleWordExp.exp(plain.hi, plain.lo, tab)
            let magnitude = scaled(dMinus.hi.magnitude, by: dMinus.exponent) * (1 + 0x1p-49)
            epsMinus = roundedUp(DoubleWordExp.relativeError + magnitude * epsDMinus * 1.01 + 0x1p-1070 + 0x1p-110 * 1.01)
        }
        let saturatedBound = softcapSaturatedBound
        let inArrays = keepingTerms && store == nil, inStore = keepingTerms && store != nil
        var terms: [(m: DoubleWord, k: Int)?] = inArrays ? .init(repeating: (DoubleWord(1, 0), 0), count: n) : []
        let split = StageSplit(threads: threads, count: n)
        var termBounds: [Float] = inArrays ? .init(repeating: 0, count: n) : []
        if inStore { store!.storeOne(mIndex) }
        let parts = terms.withUnsafeMutableBufferPointer { buffer -> [SoftcapPart] in
          termBounds.withUnsafeMutableBufferPointer { boundBuffer -> [SoftcapPart] in
            let slots = UncheckedSendable(value: buffer)  // each chunk writes its own indices
            let boundSlots = UncheckedSendable(value: boundBuffer)
            return split.run(count: n) { range -> SoftcapPart in
                var part = SoftcapPart()
                for j in range where j != mIndex {
                    let v = x[j]
                    if v == xm {  // d_j = 0 exactly: e_j = 1
                        part.ones += 1
                        if inStore { store!.storeOne(j) }
                        continue
                    }
                    if v.magnitude >= threshold {
                        if v > 0 {
                            part.saturatedPositive += 1
                            if inStore { store!.storeOne(j) }
                        } else {
                            part.saturatedNegative += 1
                            if inArrays { slots.value[j] = eMinus.map { ($0.m, $0.k) } }
                            if inStore { store!.storeTerm(j, eMinus, bound: 0) }
                        }
                        continue
                    }
                    guard let (d, epsD) = row.difference(v, &part.outOfDomain) else { continue }
                    guard d.exponent < 20 else {  // d_j <= −2^20: omitted
                        part.omitted += 1
                        if inArrays { slots.value[j] = nil }
                        if inStore { store!.storeTerm(j, nil, bound: 0) }
                        continue
                    }
                    let plain = d.unscaled
                    let e = DoubleWordExp.exp(plain.hi, plain.lo, tab)
                    let magnitude = scaled(d.hi.magnitude, by: d.exponent) * (1 + 0x1p-49)
                    let epsE = roundedUp(DoubleWordExp.relativeError + magnitude * epsD * 1.01 + 0x1p-1070)
                    part.epsTerms = Swift.max(part.epsTerms, epsE)
                    if keepingTerms && epsE < 0x1p-90 {  // ê_j·2^-σ < 2(1 + 2^-88): the addend is below 4
                        part.errors.addNonNegative(e.m.hi * (epsE * 0x1p90) * (1 + 0x1p-50), scale: e.k - sigma)
                    } else {
                        part.wide = true
                    }
                    part.computed += 1
                    part.sum.add(e.m.hi, scale: e.k - sigma)
                    part.sum.add(e.m.lo, scale: e.k - sigma)
                    if inArrays {
                        slots.value[j] = (e.m, e.k)
                        boundSlots.value[j] = Float(epsE).nextUp  // >= epsE (Float's normal range, or +inf)
                    }
                    if inStore { store!.storeTerm(j, e, bound: Float(epsE).nextUp) }
                }
                return part
            }
          }
        }
        var sum = FixedPointSum()
        var epsC = DoubleWordExp.relativeError
        var errors = FixedPointSum(), wide = false
        var computed = 0, omitted = 0, ones = 0, positive = 0, negative = 0
        for part in parts {
            guard !part.outOfDomain else { return nil }
            sum = sum + part.sum
            epsC = Swift.max(epsC, part.epsTerms)
            errors = errors + part.errors
            wide = wide || part.wide
            computed += part.computed
            omitted += part.omitted
            ones += part.ones
            positive += part.saturatedPositive
            negative += part.saturatedNegative
        }
        let dT = t >= 0 && t != mIndex && x[t] != xm ? row.difference(x[t], &outOfDomain) : nil
        guard !outOfDomain else { return nil }
        // The parts of s (each positive), each with its relative bound.
        var s: ScaledDoubleWord
        var parts3: [(ScaledDoubleWord, Double)] = []
        if let v = sum.value() {
            let sc = ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + sigma)
            // Truncations: 2·computed units of 2^(σ−126), against s_c >= 2^σ(1 − 2^-17.5).
            // The terms' errors: Σ e_j·ε_j <= 2^(σ−90)·(Σ ê_j·ε_j·2^90 (1 + 2^-50) + one unit 2^-126
            // per truncated addition), against s_c >= ŝ_c(1 − 2^-40); or the largest ε_j.
            var epsTerms = epsC
            if !wide, let w = errors.value() {
                let weighted = scaled(scaled(w.hi * (1 + 0x1p-50), by: w.exponent) + Double(computed) * 0x1p-126, by: -90)
                    / (scaled(sc.hi, by: sc.exponent - sigma) * (1 - 0x1p-40))
                epsTerms = Swift.min(epsC, roundedUp(weighted))
            }
            parts3.append((sc, roundedUp(epsTerms * 1.0001 + Double(2 * computed) * 0x1p-126 * 1.0001 + FixedPointSum.conversionError * 1.0001)))
        } else {  // every computed term truncated to 0: all below e^(−2^20)(1 + 2^-88), as omitted ones
            omitted += computed
        }
        if ones + positive > 0 {
            parts3.append((ScaledDoubleWord(Double(ones + positive)), positive > 0 ? saturatedBound : 0))
        }
        if negative > 0 {
            if let e = eMinus {
                parts3.append(((ScaledDoubleWord(e.m, exponent: e.k) * ScaledDoubleWord(Double(negative))).normalized(),
                               roundedUp(epsMinus + 8.1 * u2)))
            } else {
                omitted += negative
            }
        }
        guard let first = parts3.first?.0 else { return nil }
        s = first
        for (part, _) in parts3.dropFirst() { s = (s + part).normalized() }
        guard s.hi > 0, s.exponent > -700_000 else { return nil }
        // Each sum: 3.1u², or 2^-997 for a dropped operand; each part's share of ŝ rounded up.
        var error = Double(parts3.count - 1) * (3.1 * u2 + 0x1p-996) + Double(omitted) * 0x1p-126
        for (part, eps) in parts3 {
            error += scaled(part.hi * (1 + 0x1p-49), by: part.exponent - s.exponent) / s.hi * eps + 0x1p-1000
        }
        let epsS = roundedUp(error / (1 - 0x1p-40))
        guard epsS < 0x1p-60 else { return nil }
        var epsE = epsC
        if positive > 0 { epsE = Swift.max(epsE, saturatedBound) }
        if negative > 0 && eMinus != nil { epsE = Swift.max(epsE, epsMinus) }
        return SoftcapSum(maxIndex: mIndex, exps: terms, epsE: epsE, xMax: xm, threshold: threshold, epsComputed: epsC,
                          epsSaturatedNegative: epsMinus, termBounds: termBounds, store: inStore ? store : nil, s: s, epsS: epsS, dT: dT)
    }

    /// The relative bound of a saturated positive logit's term taken as 1 (SoftcapDifferences.swift).
    static let softcapSaturatedBound = 0x1p-110 * (1 + 0x1p-50)
}

extension DoubleWordTier.ExpStore {
    /// e_j = 2^k·m (nil: absent) with its relative bound (a Float, after k, in slot j's bytes
    /// 20 ..< 24: `OracleValue`'s stride is at least 24).
    @inline(__always)
    func storeTerm(_ j: Int, _ e: ScaledExp?, bound: Float) {
        precondition(MemoryLayout<OracleValue>.stride >= 24)
        if let e { store(j, hi: e.m.hi, lo: e.m.lo, k: Int32(e.k)) } else { markAbsent(j) }
        (base + j &* stride + 20).storeBytes(of: bound, as: Float.self)
    }

    /// e_j = 1 exactly, bound 0.
    @inline(__always)
    func storeOne(_ j: Int) { storeTerm(j, ScaledExp(k: 0, m: DoubleWord(1, 0)), bound: 0) }

    /// Slot j's bound (`storeTerm`).
    @inline(__always)
    func loadBound(_ j: Int) -> Float { (base + j &* stride + 20).load(as: Float.self) }
}
