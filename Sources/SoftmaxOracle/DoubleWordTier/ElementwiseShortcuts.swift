import DoubleWordArithmetic

// Outputs of sigmoid, log_sigmoid and softplus decided without E = e^(−|x|) or T = log1p(E):
// the regimes where the value is a constant plus a term far below every rounding boundary of the
// format. Both the scalar path (`output`, before `sigmoid`, `softplus`, `logSigmoid`) and the fill over a range
// (ElementwiseLanes.swift) take them first, so the two give the same outputs.
//
// Tiny logits, |x| <= 2^-60 (±0 and the subnormals included):
//
//     sigmoid(x)     = 1/2 + x/4 − x³/48 + …,   |sigmoid(x) − 1/2| <= |x|/4 <= 2^-62  (σ' <= 1/4)
//     softplus(x)    = ln 2 + x/2 + x²/8 − …,   |softplus(x) − ln 2| <= |x|/2 + x²/8 < 2^-60
//     log_sigmoid(x) = −softplus(−x)
//
// 1/2 is a normal value of every format, and the rounding boundaries nearest to it are
// 1/2 − 2^-(p+2) and 1/2 + 2^-(p+1) (p <= 53: at least 2^-55 away, far more than 2^-62): sigmoid
// rounds to 1/2. ln 2 lies in (1/2, 1), where every format is normal with spacing 2^-p; its
// distance to the nearest midpoint of each format's grid (computed from ln 2 to 100 digits):
//
//     f64 2^-54.78   f32 2^-25.10   f16 2^-14.93   bf16 2^-12.20   e5m2 2^-7.47   e4m3fn 2^-5.29
//
// all above 2^-60, so softplus rounds to RN(ln 2) and log_sigmoid to −RN(ln 2). The request's
// format is checked at run time (`tinyLogitRounding`), so a format added later without that room
// simply does not take the regime. The exact values reported are the expansions' first two
// terms (the next one is below 2^-120 relative, far under ExactValue's 2^-104).
//
// bce at tiny logits keeps its certification (the loss depends on the label) but takes T from
// its expansion at 0 instead of e^(−|x|) and log1p (`tinyLogTerm`).
//
// Huge logits, |x| > 2^20 (ElementwiseOutputs.swift's notes): the outputs that do not depend on
// x (sigmoid's 1 − 0⁺ and 0⁺, softplus' 0⁺ at x < −2^20, log_sigmoid's −0⁺ at x > 2^20) are
// built once per request (`hugeOutputs`), the same values the scalar path built for each logit;
// x ± 0⁺ is x where x is a value of the format (`hugeLogitOutput`).

extension ElementwiseOutputs {
    /// The tiny-logit regime: |x| <= tinyLogitBound.
    static let tinyLogitBound = 0x1p-60

    /// ln 2 = ln2Hi + ln2Lo + δ with |δ| < 2^-110 (ln2Hi = RN(ln 2)).
    static let ln2Hi = 0x1.62e42fefa39efp-1, ln2Lo = 0x1.abc9e3b39803fp-56

    /// The rounding into `format` of every output of `kind` at |x| <= 2^-60 (see the notes), or
    /// nil (bce, or a format whose grid passes too close to ln 2).
    ///
    /// softplus: r = RN(ln2Hi) in the format; with h = 2^-(p+1), half the spacing 2^-p of
    /// (1/2, 1), ln 2 − (r − h) = ((ln2Hi − r) + h) + ln2Lo + δ and (r + h) − ln 2 =
    /// ((r − ln2Hi) + h) − ln2Lo − δ. ln2Hi − r is exact (Sterbenz: r ∈ (1/2, 1)), a multiple of
    /// 2^-53 of magnitude <= h, so adding h is exact too; adding ln2Lo rounds once (relative 2^-53).
    /// When both distances exceed 2^-60 + 2^-100 (after the rounding's factor), the interval
    /// ln 2 ± 2^-60 holds no midpoint, so it rounds to r, as every softplus(x) in it does.
    static func tinyLogitRounding(_ kind: Kind, _ format: Format) -> Double? {
        switch kind {
        case .sigmoid: return format.round(0.5)
        case .bce: return nil
        case .softplus, .logSigmoid:
            let r = format.round(ln2Hi)
            guard r > 0.5, r < 1 else { return nil }
            let h = powerOfTwo(-(format.precision + 1))
            let below = ((ln2Hi - r) + h) + ln2Lo, above = ((r - ln2Hi) + h) - ln2Lo
            let room = 0x1p-60 + 0x1p-100
            guard below * (1 - 0x1p-52) > room, above * (1 - 0x1p-52) > room else { return nil }
            return kind == .softplus ? r : -r
        }
    }

    /// The output at a logit |x| <= 2^-60 (`tinyLogitRounded` = r, not nil): r, with the exact
    /// value 2^-1·(1 + x/2) (sigmoid, x >= 0) or 2^-2·(2 + x) (x < 0), relative error below
    /// 2^-180 (x/2 may round below the normals: 2^-1075; the dropped x³/24); or ±2^-1·(2·ln2Hi +
    /// RN(2·ln2Lo ± x)) (softplus, log_sigmoid), relative error below 2^-107 (the rounding of the
    /// low part <= 2^-107 as it lies below 2^-53, ln 2's split 2^-109.4, the dropped x²/4 <=
    /// 2^-122, next to 2 ln 2 > 1.38).
    @inline(__always)
    func tinyLogitOutput(_ x: Double, rounded r: Double) -> OracleValue { Self.tinyLogitOutput(kind, x, rounded: r) }

    /// `tinyLogitOutput` of `kind` (sigmoid, softplus or log_sigmoid).
    @inline(__always)
    static func tinyLogitOutput(_ kind: Kind, _ x: Double, rounded r: Double) -> OracleValue {
        switch kind {
        case .sigmoid:
            // (Below 1/2 as 2^-2·(2 + x), exact, even where x/2 would round to −0. Above, the tail
            // is x/2 − x³/24 rounded to nearest: x/2 where that is a double, else (x subnormal
            // and odd) the double just below the midpoint x/2, as the MPFR path's ExactValue has it.)
            if x < 0 { return OracleValue(rounded: r, exact: ExactValue(kind: .finite, isNegative: false, exponent: -2, head: 2, tail: x)) }
            let half = 0.5 * x
            return OracleValue(rounded: r, exact: ExactValue(kind: .finite, isNegative: false, exponent: -1, head: 1,
                                                             tail: 2 * half > x ? half.nextDown : half))
        case .softplus:
            return OracleValue(rounded: r, exact: ExactValue(kind: .finite, isNegative: false, exponent: -1,
                                                             head: 2 * Self.ln2Hi, tail: 2 * Self.ln2Lo + x))
        default:
            return OracleValue(rounded: r, exact: ExactValue(kind: .finite, isNegative: true, exponent: -1,
                                                             head: 2 * Self.ln2Hi, tail: 2 * Self.ln2Lo - x))
        }
    }

    /// bce at |x| <= 2^-60 (output i), when the loss is softplus(x) or softplus(−x): label +0 and
    /// weight 1 (A = 0, B = C = 1: max(x, 0) + T = softplus(x)), or label 1, pos_weight 1 and
    /// weight 1 (A = C = 1, B = 0: max(−x, 0) + T = softplus(−x)); then softplus's tiny-logit
    /// output (`tinySoftplusRounded`, its rounding in the format). Else nil. `bce` takes it first
    /// too (unless given T, which the fill gives only for the other outputs), and the fill's lanes
    /// write the same outputs (`bceOnLanes`, from the weight cache's σ), so they agree.
    func bceTinyOutput(_ i: Int, _ x: Double) -> OracleValue? {
        guard tinySoftplusRounded != nil else { return nil }
        return bceTinyOutput(x, label: labels.unsafelyUnwrapped[i], posWeight: posWeight.map { $0.count == 1 ? $0[0] : $0[i] } ?? 1,
                             weight: weight?[i] ?? 1)
    }

    /// `bceTinyOutput` for a logit |x| <= 2^-60 and its label, pos_weight and weight.
    @inline(__always)
    func bceTinyOutput(_ x: Double, label z: Double, posWeight pw: Double, weight w: Double) -> OracleValue? {
        guard let r = tinySoftplusRounded, w == 1, pw >= 0 else { return nil }  // (`bce`'s own guard on pw)
        if z.bitPattern == 0 { return Self.tinyLogitOutput(.softplus, x, rounded: r) }
        if z == 1 && pw == 1 { return Self.tinyLogitOutput(.softplus, -x, rounded: r) }
        return nil
    }

    /// bce's T = log1p(e^(−|x|)) at |x| <= 2^-60, without E: T = ln 2 − |x|/2 + x²/8 − …, kept
    /// as 2^-1·(2·ln2Hi + RN(2·ln2Lo − |x|)) (normalized: |2·ln2Lo| < 2^-53.2 is under half an ulp
    /// of 2·ln2Hi). Error in units of 2^-1: the rounding of the low part <= 2^-107 (it lies below
    /// 2^-53), ln 2's split 2δ < 2^-109.4, the dropped x²/4 − … <= 2^-122: below 2^-106.7 next
    /// to 2T > 1.38, so relative error below 2^-107 (`tinyLogError`, 2^-106, states it with room).
    @inline(__always)
    static func tinyLogTerm(_ x: Double) -> DoubleWordTier.LogPart {
        DoubleWordTier.logPart(ScaledDoubleWord(hi: 2 * ln2Hi, lo: 2 * ln2Lo - x.magnitude, exponent: -1), relativeError: tinyLogError)
    }

    /// The relative error bound of `tinyLogTerm`.
    static let tinyLogError = 0x1p-106

    /// `tinyLogTerm` on every lane (the same operation, so the same values), as the lane routines
    /// of DoubleWordLog1pLanes.swift give T.
    @inline(__always)
    static func tinyLogLanes(_ x: OutputLanes) -> DoubleWordLog1p.Lanes<OutputLanes> {
        (OutputLanes(repeating: 2 * ln2Hi), 2 * ln2Lo - magnitudeLanes(x), .init(repeating: -1), OutputLanes(repeating: tinyLogError))
    }

    /// softplus at x > 2^20 and log_sigmoid at x < −2^20, x ± 0⁺ (0⁺ < 2^(tinyExponent+1)), when
    /// x is a value of the format: x itself, exact value x (relative error below 2^-1512750);
    /// else nil (`negativeLogSoftmax` settles the near-tie). x is at least 2^20 and its format's
    /// grid has spacing at least 2^(20 − p) >= 2^-33 around it (half that just below a power of
    /// two), so the nearest rounding boundary is >= 2^-35 away, far beyond 0⁺; at the largest
    /// finite value, the overflow threshold lies half a spacing beyond it.
    /// (The exact value is `ExactValue(x)` of a normal x, its fields read from x's bits.)
    @inline(__always)
    func hugeLogitOutput(_ x: Double) -> OracleValue? {
        guard certifier.format.round(x) == x else { return nil }
        let bits = x.bitPattern
        let head = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
        return OracleValue(rounded: x, exact: ExactValue(kind: .finite, isNegative: x < 0,
                                                         exponent: Int(truncatingIfNeeded: (bits >> 52) & 0x7FF) - 1023, head: head, tail: 0))
    }

    /// The outputs at x > 2^20 and x < −2^20 that do not depend on x (nil where they do): sigmoid
    /// 1 − 0⁺ (rounds to 1 in every format: the spacing below 1 is >= 2^-53) and 0⁺; softplus 0⁺
    /// below; log_sigmoid −0⁺ above (`tinyOutput`: ±0, exact value ±2^tinyExponent).
    static func hugeOutputs(_ kind: Kind, _ format: Format) -> (positive: OracleValue?, negative: OracleValue?) {
        let tiny = { (negative: Bool) in DoubleWordTier.tinyOutput(negative: negative, exponent: tinyExponent, format) }
        switch kind {
        case .sigmoid: return (DoubleWordTier.oneMinusTinyOutput(negative: false, format), tiny(false))
        case .softplus: return (nil, tiny(false))
        case .logSigmoid: return (tiny(true), nil)
        case .bce: return (nil, nil)
        }
    }
}
