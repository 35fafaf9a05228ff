import DoubleWordArithmetic

// log_softmax_backward on the double-word tier (notation: ErrorFreeTransforms.swift, u = 2^-53).
// With y_i = e_i/S (softmax's stored exponentials e_i = e^(x_i − m) and S = 1 + s) and
// G = Σ_j dy_j,
//
//     log_softmax_backward_i = dy_i − y_i·G = −(e_i·G/S − dy_i),
//
// the negation of cross_entropy_grad's probability-target form e_c·P/S − p_c
// (ProbabilityGradient.swift) with p = dy and P = G: the same computation, q_i = e_i ⊗ (G/S) and
// the exact input dy_i, whose only error is q_i's, relative to q_i. Nothing in that bound needs
// p_c >= 0 or P > 0 (its sum and difference bounds take magnitudes; `ScaledDoubleWord`'s
// products and sums hold for either sign), so `ProbabilityGradientOutputs` gives the enclosure
// of −dx_i; negated (exactly) it is dx_i's, certified by the tier's one test. The one new part is
// G, a sum of doubles of either sign (`signedTotal`), whose relative error is bounded at run time.
//
// The exponentials' 2^-101 makes q_i's error about 2^-100·|q_i|, too wide for the certifier's
// narrowness (2^-40 of an ulp) where dy_i − q_i cancels by more than about 2^7: on a row of 10^5
// with dy ~ N(0, 1) one or two outputs in a row on average (Σ|q_i| = |G|). Those outputs alone
// are recomputed in MPFR intervals (`RefinedOutputs`, RefinedOutputs.swift: [G/S] at 128, then
// 384 bits, from a sum of every term that holds a chunk of them at a time, `backwardSums`),
// certified as the MPFR path certifies, so a row is not declined for them.
//
// Declined (nil: the MPFR path answers the whole request, so the tier never gives a different
// answer): whatever `rowSum` declines (NaN, +inf, no finite logit besides the maximum, a spread
// over 2^19), an exponential the store omits, G = 0 or too small against the dy_j for its bound
// (`signedTotal`), an output whose double-word enclosure holds 0 (perhaps an exact zero) or
// that does not certify in MPFR either. A −inf logit
// has y_i = 0: its output is dy_i exactly (+0 for a zero), as on the MPFR path. Every format
// takes the full exponentials (`rowSum(compact: false)`): the compact ones' 2^-68.5 would send
// many more outputs to MPFR.

extension DoubleWordTier {
    /// G = Σ v_j for doubles of either sign, as a normalized ScaledDoubleWord Ĝ with a bound ε,
    /// |Ĝ − G| <= ε·|G|; nil when every v_j is 0, the largest |v_j| is not a normal number, or ε
    /// would pass 2^-80 (G tiny against the v_j).
    ///
    /// Bound: with 2^top > every |v_j| (top = binade(max|v_j|) + 1), `FixedPointSum` adds each
    /// v_j·2^-top truncated toward zero to a multiple of 2^-126: the accumulator W·2^(top−126)
    /// is within a = n·2^(top−126) of G (each truncation < 2^(top−126)). Truncation toward zero
    /// is odd (trunc(−v) = −trunc(v)), so when W <= 0 the sum of the −v_j is exactly −W. Its
    /// conversion (`FixedPointSum.value`) errs by c = `conversionError` relative to W·2^(top−126)
    /// =: V, giving Ĝ = ±(h + l)·2^E, h ∈ [1, 2), |l| <= 2^-52 (so |Ĝ| >= 2^E(1 − 2^-52)). Then
    ///
    ///     |Ĝ − G| <= c|V| + a <= c(|G| + a) + a,   |G| >= |V| − a >= |Ĝ|/(1 + c) − a,
    ///
    /// and with A = a/2^E = n·2^(−126 − E + top) <= 2^-90 (else nil), |G| >= 2^E(1 − 2^-51), so
    ///
    ///     ε = c + (1 + c)·A/(1 − 2^-51) <= c + A·(1 + 2^-49).
    ///
    /// The bound's few floating operations are covered by `roundedUp` (2^-40 of ε >= 2^-145); A
    /// is n scaled by a power of two, exact unless it underflows (then below 2^-1074, also
    /// covered by that margin).
    static func signedTotal(_ v: UnsafeBufferPointer<Double>) -> (total: ScaledDoubleWord, error: Double)? {
        var largest: UInt64 = 0
        for t in v { largest = Swift.max(largest, t.bitPattern & 0x7FFF_FFFF_FFFF_FFFF) }
        let maxMagnitude = Double(bitPattern: largest)
        guard maxMagnitude.isNormal else { return nil }  // all zeros, a subnormal largest, inf or NaN
        let top = binade(maxMagnitude) + 1
        var sum = FixedPointSum()
        for t in v { sum.add(t, scale: -top) }
        var negative = false
        var value = sum.value()
        if value == nil {  // W <= 0: the sum of the −v_j is −W exactly
            var opposite = FixedPointSum()
            for t in v { opposite.add(-t, scale: -top) }
            guard let w = opposite.value() else { return nil }  // W = 0
            value = w
            negative = true
        }
        let (h, l, e) = value!
        let exponent = e + top
        let a = scaled(Double(v.count), by: top - FixedPointSum.unitExponent - exponent)
        guard a <= 0x1p-90 else { return nil }
        let eps = roundedUp(FixedPointSum.conversionError + a * (1 + 0x1p-49))
        guard eps <= 0x1p-80 else { return nil }
        let total = ScaledDoubleWord(hi: negative ? -h : h, lo: negative ? -l : l, exponent: exponent)
        return (total, eps)
    }

    /// log_softmax_backward of a row x and its upstream gradient dy (see BackwardOutputs.swift),
    /// or nil when the MPFR path must answer. `refine` false (for tests): no output refined in
    /// MPFR, an output that does not certify in double words declines the row.
    static func logSoftmaxBackward(_ x: UnsafeBufferPointer<Double>, _ dy: UnsafeBufferPointer<Double>, _ format: Format,
                                   threads: Int, refine: Bool = true) -> [OracleValue]? {
        let n = x.count
        guard n > 0, dy.count == n, let scan = sumScan(x, threads: threads),
              let (total, epsTotal) = signedTotal(dy) else { return nil }
        return withOutputs(count: n) { slots in
            let store = ExpStore(slots: slots)
            guard let row = rowSum(x, threads: threads, store: store, compact: false, scan: scan) else { return false }
            let (inverse, epsInverse) = inverseOfSum(row)
            let g = ProbabilityGradientOutputs(x: x, p: dy, store: store, row: row, inverse: inverse, epsInverse: epsInverse,
                                               total: total, epsTotal: epsTotal, certifier: DoubleWordCertifier(format))
            return fillRefining(slots, count: n, threads: threads, LogSoftmaxBackwardOutputs(gradient: g, marked: refine),
                                limit: refinedLimit(n)) {
                RefinedOutputs(.logSoftmaxBackward, x: x, targets: dy, maxIndex: row.maxIndex, format: format)
            }
        }
    }

    /// The most outputs of a row of n that `fillRefining` recomputes alone in MPFR before it
    /// declines the row to the MPFR path: n/8 + 64. Each refined output costs an exponential and
    /// a certification in MPFR intervals, about what the MPFR path spends on one output of the
    /// whole row, on top of the double-word pass; a row where every output cancels (dy the
    /// rounded softmax of x, say) took 1.76x the MPFR path's time when all were refined
    /// (log_softmax_backward, K = 10^5: 1323 ms against 750). Declining gives the same values:
    /// the refinement certifies as the MPFR path does.
    static func refinedLimit(_ n: Int) -> Int { n / 8 + 64 }
}

/// log_softmax_backward_i = −(e_i·G/S − dy_i), from `ProbabilityGradientOutputs` with p = dy and
/// P = G (see BackwardOutputs.swift).
struct LogSoftmaxBackwardOutputs: RowOutputs {
    let gradient: ProbabilityGradientOutputs
    /// `MarkedGradientOutputs.mark` in place of an output that does not certify (for
    /// `RefinedOutputs`), instead of nil.
    let marked: Bool

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        let g = gradient
        if g.x[i] == -.infinity {  // y_i = 0: dy_i exactly, +0 for a zero (the MPFR path's `dy_i + 0.0`)
            let v = g.p[i] + 0.0
            return OracleValue(rounded: g.certifier.format.round(v), exact: ExactValue(v))
        }
        // [v − err, v + err] holds e_i·G/S − dy_i, so [−v − err, −v + err] holds dx_i. An
        // enclosure that may hold 0 (|v| >= |hi|(1 − 2^-52)·2^scale) declines the row: perhaps
        // an exact zero, which the MPFR path proves (refining first cost more than that). An
        // e4m3fn overflow (NaN) is left to MPFR: the certifier gives it the sign of the value
        // (−NaN for a negative output), the MPFR path `Format.round`'s NaN (+NaN).
        guard let v = g.enclosure(i), v.error < v.hi.magnitude * (1 - 0x1p-50) else { return nil }
        if let r = g.certifier.certify(-v.hi, -v.lo, scale: v.scale, error: v.error), !r.rounded.isNaN { return r }
        return marked ? MarkedGradientOutputs.mark : nil
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}

extension RefinedOutputs {
    /// [S] and [G/S] (log_softmax_backward, `log`) or [T/S] (softmax_backward) at the
    /// arithmetic's precision, dy the `targets` (in the caller's widest exponent range; `sums`
    /// keeps them): S = 1 + Σ_{j≠M} [e^(x_j − m)] and T = Σ_j [e_j]·dy_j (every term,
    /// `ProbabilityTerms`: outward rounded; e_M = 1), each summed with one outward rounding per
    /// end (`StreamedIntervalSum`: a chunk of terms held at a time, not an interval per logit),
    /// G = Σ dy_j (`exactSum`, one outward rounding per end); every step rounds outward, so
    /// each interval holds its value. One thread.
    func backwardSums(_ a: IntervalArithmetic, log: Bool) -> (s: Interval, ratio: Interval) {
        let dy = targets
        let terms = ProbabilityTerms(precision: a.precision, max: x[maxIndex])
        var s = StreamedIntervalSum(a), t = StreamedIntervalSum(a)
        s.add(a.one)  // the maximum's e^0
        if !log && dy[maxIndex] != 0 { t.add(a.point(dy[maxIndex])) }
        for j in 0..<x.count where j != maxIndex && x[j] > -.infinity {
            let e = terms.term(x[j])
            s.add(e)
            if !log && dy[j] != 0 { t.add(a.mul(e, a.point(dy[j]))) }
        }
        let total = s.total()
        return (total, a.div(log ? a.exactSum(dy) : t.total(), total))
    }
}
