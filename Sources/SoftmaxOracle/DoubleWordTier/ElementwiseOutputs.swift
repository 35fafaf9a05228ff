import DoubleWordArithmetic

// One output of sigmoid, log_sigmoid, softplus or bce_with_logits on the double-word tier, with
// its error bound (notation: DoubleWordArithmetic's ErrorFreeTransforms.swift, u = 2^-53). The
// formulas are the MPFR path's (Elementwise.swift), written around
//
//     E = e^a, a = −|x|  (`DoubleWordExp.exp`: relative error 2^-101, any a in [−2^20, 0]),
//     T = log1p(E)       (`DoubleWordLog1p.logOnePlus`: its run-time relative bound εT),
//
// and every output is certified by `DoubleWordCertifier` (or, for exact near-ties P ± T with T
// below P's last bit, by `roundNearTie`). Beyond |x| > 2^20, E < e^(−2^20) < 2^(−1512775.16):
// T and E are then only bounded, T, E ∈ (0, 2^tinyExponent·2), and an output that is such a
// tiny number rounds to ±0 in every format; its reported exact value is the midpoint
// 2^tinyExponent of that enclosure (times the coefficient for bce), as the MPFR path reports
// values it can only enclose below every format's least subnormal (ExactValue's note). An output
// that is such a tiny number plus a nonzero P is P ± 0⁺ (`roundNearTie`), exact value P.

/// The per-output computation of the elementwise functions on the double-word tier.
struct ElementwiseOutputs {
    enum Kind { case sigmoid, logSigmoid, softplus, bce }
    let kind: Kind
    let certifier: DoubleWordCertifier
    let labels: [Double]?, posWeight: [Double]?, weight: [Double]?
    let table = DoubleWordExpTable.shared

    /// 2^tinyExponent·2 > e^(−2^20) (e^(−2^20) = 2^(−1512775.16...)).
    static let tinyExponent = -1_512_776
    /// T (or E) for |x| > 2^20 as a `LogPart`: the value 2^tinyExponent, relative error 1 (the
    /// enclosure (0, 2^(tinyExponent+1))); its plain form is 0 with absolute error 2^-999.
    static let tinyLog = DoubleWordTier.logPart(ScaledDoubleWord(hi: 1, lo: 0, exponent: tinyExponent), relativeError: 1)

    /// bce's `bceWeights` for the labels +0 and 1 when pos_weight is one number >= 0 (or
    /// absent) and there is no weight: the same for every output with such a label.
    let hardLabelWeights: (zero: BceWeights, one: BceWeights)?
    /// Every output's rounding at |x| <= 2^-60 (`tinyLogitRounding`), or nil: no such regime.
    let tinyLogitRounded: Double?
    /// bce: softplus's `tinyLogitRounded`, for the outputs that are softplus(±x) (`bceTinyOutput`).
    let tinySoftplusRounded: Double?
    /// The outputs at x > 2^20 and x < −2^20 when they do not depend on x (`hugeOutputs`).
    let hugePositive: OracleValue?, hugeNegative: OracleValue?
    /// bce: `exactOutput` of 0, +inf, −inf and NaN, its outputs at NaN and infinite logits
    /// (`bce`'s first steps: NaN, and `infiniteLoss`, which is one of the other three), made once.
    let bceSpecial: (zero: OracleValue, plus: OracleValue, minus: OracleValue, nan: OracleValue)?

    init(kind: Kind, format: Format, labels: [Double]?, posWeight: [Double]?, weight: [Double]?) {
        self.kind = kind
        certifier = DoubleWordCertifier(format)
        self.labels = labels
        self.posWeight = posWeight
        self.weight = weight
        hardLabelWeights = Self.hardLabelWeights(kind, posWeight: posWeight, weight: weight)
        tinyLogitRounded = Self.tinyLogitRounding(kind, format)
        tinySoftplusRounded = kind == .bce ? Self.tinyLogitRounding(.softplus, format) : nil
        (hugePositive, hugeNegative) = Self.hugeOutputs(kind, format)
        let exact = { (v: Double) in OracleValue(rounded: format.round(v), exact: ExactValue(v)) }
        bceSpecial = kind == .bce ? (exact(0), exact(.infinity), exact(-.infinity), exact(.nan)) : nil
    }

    /// `hardLabelWeights` for these pos_weights and weights.
    static func hardLabelWeights(_ kind: Kind, posWeight: [Double]?, weight: [Double]?) -> (zero: BceWeights, one: BceWeights)? {
        let pw = posWeight.map { $0.count == 1 ? $0[0] : -1 } ?? 1
        return kind == .bce && weight == nil && pw >= 0 && pw.isFinite
            ? (bceWeights(label: 0, posWeight: pw, weight: 1), bceWeights(label: 1, posWeight: pw, weight: 1)) : nil
    }

    /// `base` for other labels, pos_weights and weights (bce's gathered logits, BceRounded.swift):
    /// what `init` computes, with the parts that depend on the format alone (the tiny-logit and
    /// huge-logit outputs, `bceSpecial`) taken from `base` instead of computed again.
    init(_ base: ElementwiseOutputs, labels: [Double]?, posWeight: [Double]?, weight: [Double]?) {
        kind = base.kind
        certifier = base.certifier
        self.labels = labels
        self.posWeight = posWeight
        self.weight = weight
        hardLabelWeights = Self.hardLabelWeights(kind, posWeight: posWeight, weight: weight)
        tinyLogitRounded = base.tinyLogitRounded
        tinySoftplusRounded = base.tinySoftplusRounded
        (hugePositive, hugeNegative) = (base.hugePositive, base.hugeNegative)
        bceSpecial = base.bceSpecial
    }

    /// Output i (logit x), or nil when it does not certify here (the MPFR path then answers it).
    /// `exponential` (sigmoid) and `log` (the others), when given, are `negativeExp(x)` and
    /// `logTerm(x)` computed elsewhere (on SIMD lanes, bit for bit the same): they are then not
    /// recomputed. Given only for |x| <= 2^20. sigmoid, softplus and log_sigmoid at |x| <= 2^-60
    /// take the tiny-logit regime first (ElementwiseShortcuts.swift).
    /// `cache`: bce's coefficients for the (label, pos_weight, weight) triples seen last.
    @inline(__always)
    func output(_ i: Int, _ x: Double, exponential: ScaledDoubleWord? = nil, log: DoubleWordTier.LogPart? = nil,
                cache: UnsafeMutablePointer<BceWeightCache>? = nil) -> OracleValue? {
        if let r = tinyLogitRounded, x.magnitude <= Self.tinyLogitBound { return tinyLogitOutput(x, rounded: r) }  // nil for bce
        switch kind {
        case .softplus: return softplus(x, log)
        case .logSigmoid: return logSigmoid(x, log)
        case .sigmoid: return sigmoid(x, exponential)
        case .bce:
            let pw = posWeight.map { $0.count == 1 ? $0[0] : $0[i] } ?? 1
            let z = labels![i], w = weight?[i] ?? 1
            // (The weights matter only for z ∈ [0, 1], pw, w >= 0 and finite x: `bce`'s checks.)
            let known: BceWeights?
            if let hard = hardLabelWeights, z.bitPattern == 0 || z == 1 {  // +0 or 1: the bit patterns bceWeights saw
                known = x.isFinite ? (z == 1 ? hard.one : hard.zero) : nil
            } else {
                known = cache.flatMap { c in
                    x.isFinite && z >= 0 && z <= 1 && pw >= 0 && w >= 0 ? c.pointee.weights(label: z, posWeight: pw, weight: w) : nil
                }
            }
            return bce(x, label: z, posWeight: pw, weight: w, log, weights: known)
        }
    }

    /// bce's output i at a NaN or infinite logit x (`bce`'s first steps), from `bceSpecial`.
    @inline(__always)
    func bceSpecialOutput(_ i: Int, _ x: Double) -> OracleValue {
        let s = bceSpecial.unsafelyUnwrapped
        if x.isNaN { return s.nan }
        let pw = posWeight.map { $0.count == 1 ? $0[0] : $0[i] } ?? 1
        let v = Self.infiniteLoss(negative: x < 0, label: labels.unsafelyUnwrapped[i], posWeight: pw, weight: weight?[i] ?? 1)
        return v == 0 ? s.zero : (v > 0 ? s.plus : s.minus)
    }

    /// A value the MPFR path gives without arithmetic (`Enclosure.exact`), rounded as it rounds it.
    func exactOutput(_ v: Double) -> OracleValue {
        OracleValue(rounded: certifier.format.round(v), exact: ExactValue(v))
    }

    /// A number in (0, c·2^(tinyExponent+1)) (negated when `negative`): ±0 in every format (its
    /// magnitude is below half of every least subnormal), exact value ±c·2^tinyExponent.
    func tinyOutput(negative: Bool, coefficient c: ScaledDoubleWord = .one) -> OracleValue {
        DoubleWordTier.tinyOutput(negative: negative, coefficient: c, exponent: Self.tinyExponent, certifier.format)
    }

    /// T = log1p(e^(−|x|)) for |x| <= 2^20: E by `DoubleWordExp.exp` (2^-101), then
    /// `DoubleWordLog1p` (its bound includes E's); nil when `DoubleWordLog1p` declines.
    @inline(__always)
    func logTerm(_ x: Double) -> DoubleWordTier.LogPart? { logTerm(exponential: negativeExp(x)) }

    /// T = log1p(E) from E = `negativeExp(x)`.
    @inline(__always)
    func logTerm(exponential e: ScaledDoubleWord) -> DoubleWordTier.LogPart? {
        guard let (t, eps) = DoubleWordLog1p.logOnePlus(e, relativeError: DoubleWordExp.relativeError, table)
        else { return nil }
        return DoubleWordTier.logPart(t, relativeError: eps)
    }

    /// E = e^(−|x|) for |x| <= 2^20, normalized, relative error 2^-101 (`DoubleWordExp.exp`: its
    /// domain is a = −|x| ∈ [−2^20, 0], dl = 0).
    @inline(__always)
    func negativeExp(_ x: Double) -> ScaledDoubleWord {
        let e = DoubleWordExp.exp(-x.magnitude, 0, table)
        return ScaledDoubleWord(hi: e.m.hi, lo: e.m.lo, exponent: e.k).normalized()
    }

    /// softplus(x) = max(x, 0) + T, as (−d) + T with d = −max(x, 0) (`negativeLogSoftmax`: a
    /// same-sign sum, relative error εT plus 3.03u² and T's conversion; T alone for x <= 0).
    func softplus(_ x: Double, _ log: DoubleWordTier.LogPart? = nil) -> OracleValue? {
        if !x.isFinite { return exactOutput(x.isNaN ? .nan : (x > 0 ? .infinity : 0)) }
        if x.magnitude > 0x1p20 {
            if x < 0 { return hugeNegative }
            return hugeLogitOutput(x) ?? DoubleWordTier.negativeLogSoftmax(DoubleWord(-x, 0), Self.tinyLog, certifier, negate: false)
        }
        guard let t = log ?? logTerm(x) else { return nil }
        return DoubleWordTier.negativeLogSoftmax(DoubleWord(-Swift.max(x, 0), 0), t, certifier, negate: false)
    }

    /// log_sigmoid(x) = −(max(−x, 0) + T) = −((−d) + T) with d = min(x, 0): `softplus`'s sum,
    /// negated.
    func logSigmoid(_ x: Double, _ log: DoubleWordTier.LogPart? = nil) -> OracleValue? {
        if !x.isFinite { return exactOutput(x.isNaN ? .nan : (x > 0 ? -0.0 : -.infinity)) }
        if x.magnitude > 0x1p20 {
            if x > 0 { return hugePositive }
            return hugeLogitOutput(x) ?? DoubleWordTier.negativeLogSoftmax(DoubleWord(x, 0), Self.tinyLog, certifier, negate: true)
        }
        guard let t = log ?? logTerm(x) else { return nil }
        return DoubleWordTier.negativeLogSoftmax(DoubleWord(Swift.min(x, 0), 0), t, certifier, negate: true)
    }

    /// sigmoid(x) = 1/S for x >= 0 and E/S for x < 0, S = 1 + E (softmax's operations on the
    /// two-term row {0, −|x|}).
    ///
    /// S = `DoubleWord.sum`(E, 1) (2.01u²) errs by εE·E + 2.01u²·S, plus <= 2^-1075 when E's low
    /// part underflows, relative to S >= 1: εS = εE·Ê/Ŝ·1.0001 + 2.01u² + 2^-1074; when E <
    /// 2^-1000, S = 1 with error E < 2^(e+1)(1 + εE) <= 2^(e+1) + 2^-1074. 1/S:
    /// `DoubleWord.quotient` (14u²): |1/Ŝ − 1/S| <= (εS(1 + 2εS) + 14u²)/S. E/S adds εE and
    /// one `DoubleWord.product` (8.1u²; E's mantissa in [1, 2) and 1/S in [1/2, 1]: no
    /// underflow; the exponent is added exactly). Products of these small errors are covered by
    /// `roundedUp`. Beyond |x| > 2^20: 1 − 0⁺ (rounds to 1 in every format: the spacing below 1
    /// is >= 2^-53) or a tiny number (±0).
    func sigmoid(_ x: Double, _ exponential: ScaledDoubleWord? = nil) -> OracleValue? {
        if !x.isFinite { return exactOutput(x.isNaN ? .nan : (x > 0 ? 1 : 0)) }
        // 1 − t with 0 < t < 2^(tinyExponent+1): below 1 by far less than 2^-106, so ⌊log₂⌋ = −1
        // and |v|/2^-1 = 2 − 2t, kept as head 2 (ExactValue's note); or t itself.
        if x.magnitude > 0x1p20 { return x < 0 ? hugeNegative : hugePositive }
        let v = sigmoidEnclosure(x, exponential)
        return certifier.certifyTiny(v.hi, v.lo, scale: v.scale, error: v.error)
    }

    /// sigmoid(x) for |x| <= 2^20 (see `sigmoid`): the exact value lies within `error` of
    /// (hi + lo), in units of 2^scale.
    @inline(__always)
    func sigmoidEnclosure(_ x: Double, _ exponential: ScaledDoubleWord? = nil) -> (hi: Double, lo: Double, scale: Int, error: Double) {
        let u2 = unitRoundoffSquared
        let e = exponential ?? negativeExp(x)
        let epsE = DoubleWordExp.relativeError
        let (inverse, epsInverse) = DoubleWordTier.inverseOfOnePlus(e, relativeError: epsE)
        if x >= 0 { return (inverse.hi, inverse.lo, 0, epsInverse * inverse.hi * (1 + 0x1p-50)) }
        let p = DoubleWord.product(e.mantissa, inverse)
        let eps = roundedUp(epsE + epsInverse + 8.1 * u2)
        return (p.hi, p.lo, e.exponent, eps * (1 + 0x1p-50) * p.hi)
    }
}

extension DoubleWordCertifier {
    /// `certify(h, l, scale: k, error: err)` with outputs far below the format's least subnormal
    /// decided at once. With e = ⌊log₂|h|⌋ + k <= min(minSubnormal − 44, −905), |l| <= |h| and
    /// err <= |h|/2 (h normal): every value of the enclosure has magnitude below
    /// 2.5·|h|·2^k < 2^(e+3) <= 2^(minSubnormal−41), under half the least subnormal, so it
    /// rounds to zero with the sign of h; the width 2·err·2^k < 2^(e+1) <= 2^(minSubnormal−43)
    /// meets the narrowness rule. These are outputs the inline test never takes (it needs
    /// e > −901), for which `certifyOther` would round both ends exactly to the same ±0 and report
    /// (h, l, k) normalized as the exact value: the same result, without the exact rounding
    /// (bce's C·T, softplus' T, log_sigmoid's −T and sigmoid's E/S at |x| up to 2^20).
    @inline(__always)
    func certifyTiny(_ h: Double, _ l: Double, scale k: Int, error err: Double) -> OracleValue? {
        if h.isNormal, k > -(1 << 40), k < 1 << 40, binade(h) + k <= Swift.min(subnormalQuantum - 44, -905),
           l.magnitude <= h.magnitude, err >= 0, err <= 0.5 * h.magnitude {
            let v = ScaledDoubleWord(hi: h, lo: l, exponent: k).normalized()
            return OracleValue(rounded: h < 0 ? -0.0 : 0.0, exact: ExactValue(scaledHi: v.hi, lo: v.lo, scale: v.exponent))
        }
        return certify(h, l, scale: k, error: err)
    }

    /// `certify(v, relativeError: eps)` through `certifyTiny`.
    @inline(__always)
    func certifyTiny(_ v: ScaledDoubleWord, relativeError eps: Double) -> OracleValue? {
        certifyTiny(v.hi, v.lo, scale: v.exponent, error: eps * v.hi.magnitude * (1 + 0x1p-50))
    }
}

