import DoubleWordArithmetic
import ParallelExecution

// cross_entropy on the double-word tier: a hard target (−log_softmax_t), or probability targets
// (A + P·L, the MPFR path's formulation); no class weights, no label smoothing.

extension DoubleWordTier {
    /// cross_entropy with a hard target t: −log_softmax_t (`negativeLogSoftmax`); +inf when
    /// x_t = −inf (as on the MPFR path, unless a NaN or +inf in the row decides first). Nil (the
    /// MPFR path) for t outside [0, K), rows outside the tier, or an output that does not certify.
    static func crossEntropy(_ x: UnsafeBufferPointer<Double>, target t: Int, _ format: Format, threads: Int) -> OracleValue? {
        guard t >= 0 && t < x.count else { return nil }
        if x[t] == -.infinity {
            // The MPFR path: a -inf logit with a positive weight makes the loss +inf exactly
            // (unless the row has a NaN or +inf, which decide first).
            let scan = RowScan.of(x, 0..<x.count)
            guard !scan.special, scan.maxIndex >= 0 else { return nil }
            return OracleValue(rounded: format.round(Double.infinity), exact: ExactValue(Double.infinity))
        }
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24) else { return nil }
        return crossEntropy(x, target: t, row: row, format)
    }

    /// cross_entropy with a hard target t (0 <= t < K) from the row's sum: +inf when x_t = −inf
    /// (the row has a finite maximum and no NaN or +inf, as `row` implies), else −log_softmax_t;
    /// nil when it does not certify or x_t − m overflows.
    static func crossEntropy(_ x: UnsafeBufferPointer<Double>, target t: Int, row: RowSum, _ format: Format) -> OracleValue? {
        if x[t] == -.infinity { return OracleValue(rounded: format.round(Double.infinity), exact: ExactValue(Double.infinity)) }
        guard let lp = logPart(row) else { return nil }
        let d = t == row.maxIndex ? DoubleWord(0, 0) : twoSum(x[t], -row.m)
        guard d.hi.isFinite else { return nil }
        return negativeLogSoftmax(d, lp, DoubleWordCertifier(format), negate: false)
    }

    /// Cross-entropy with probability targets p (no class weights, no smoothing: the weights of
    /// `TargetWeights` are then p itself, D = 1):
    ///
    ///     loss = A + P·L,   A = Σ_c p_c·(m − x_c) >= 0,   P = Σ_c p_c,
    ///
    /// the MPFR path's formulation (CrossEntropy.swift): both terms >= 0, no cancellation.
    /// A: each term p_c ⊗ (−d_c) by `DoubleWord.product` (3.02u² relative, all terms >= 0), added exactly in a
    /// `FixedPointSum` relative to 2^top, top > every term's binade (2^-126·2^top per double, two
    /// per term, plus the conversion's 2^-104.9 relative). P: the p_c added exactly the same way.
    /// P·L: `DoubleWord.product` (8.1u²) on P's and L's relative errors. The final same-sign addition: 3.02u².
    /// A −inf logit with p_c > 0 makes the loss +inf (0·inf counts as 0), as on the MPFR path;
    /// P = 0 (an exact 0), subnormal or huge targets (p_c >= 2^995), logits 2^995 or more below
    /// the maximum (both outside `twoProduct`'s domain), products p_c·|d_c| outside
    /// [2^-960, 2^1000) (an overflow, or an underflowing TwoProd) and rows outside the
    /// double-word tier go to the MPFR path.
    static func crossEntropy(_ x: UnsafeBufferPointer<Double>, probabilities p: UnsafeBufferPointer<Double>,
                             _ format: Format, threads: Int) -> OracleValue? {
        switch probabilityLoss(x, probabilities: p, compact: format.precision <= 24, threads: threads) {
        case .infinity?: return exactOutput(.infinity, format)
        case .value(let v, let eps)?: return DoubleWordCertifier(format).certify(v, relativeError: eps)
        case nil: return nil
        }
    }

    /// A row's loss on the tier: +inf exactly, or a positive value (normalized) with a relative
    /// error bound.
    enum RowLossValue {
        case infinity
        case value(ScaledDoubleWord, relativeError: Double)
    }

    /// The loss A + P·L of `crossEntropy(_:probabilities:)` before certification (nil: the MPFR
    /// path), from the row's sum and L when `known` gives them. The bounds are stated there; the relative error returned is the absolute bound
    /// divided by the value's lower end, |v.hi|·(1 − 2^-50).
    static func probabilityLoss(_ x: UnsafeBufferPointer<Double>, probabilities p: UnsafeBufferPointer<Double>,
                                compact: Bool, threads: Int, row known: (RowSum, LogPart)? = nil) -> RowLossValue? {
        let n = x.count
        guard p.count == n, n > 0 else { return nil }
        // The scans below run on the same chunks as the sums (max, min and "some" do not depend
        // on the split).
        let split = StageSplit(threads: threads, count: n)
        let targets = split.run(count: n) { range -> (top: Int, infinite: Bool, normal: Bool) in
            var top = Int.min, infinite = false, normal = true
            for c in range {
                if p[c] != 0 && !p[c].isNormal { normal = false }
                guard p[c] > 0 else { continue }
                if x[c] == -.infinity { infinite = true }
                top = Swift.max(top, binade(p[c]) + 1)
            }
            return (top, infinite, normal)
        }
        let topP = targets.map(\.top).max()!
        let infinite = targets.contains(where: \.infinite)
        // P = 0 (exact), subnormal or huge targets (p_c >= 2^995, beyond `twoProduct`'s domain):
        // the MPFR path.
        guard topP > Int.min, topP <= 995, targets.allSatisfy(\.normal) else { return nil }
        if infinite {
            let scan = RowScan.of(x, 0..<n)
            guard !scan.special, scan.maxIndex >= 0 else { return nil }
            return .infinity
        }
        guard let (row, lp) = known ?? rowSum(x, threads: threads, store: nil, compact: compact).flatMap({ r in logPart(r).map { (r, $0) } }),
              !row.overflow else { return nil }
        let m = row.m
        // top for A: p_c·|d_c| < 2^(binade(p_c) + 1 + binade(d_c) + 1).
        let ranges = split.run(count: n) { range -> (top: Int, low: Int, inDomain: Bool) in
            var top = Int.min, low = Int.max
            for c in range where p[c] > 0 && x[c] != m {
                let d = twoSum(x[c], -m)
                // |d_c| >= 2^995 is beyond `twoProduct`'s domain (Dekker's split overflows): the
                // MPFR path. (Before this guard such a row certified a wrong loss; see
                // DoubleWordTierAgreementTests, "operands beyond twoProduct's domain".)
                guard d.hi.isNormal, binade(d.hi) < 995 else { return (top, low, false) }
                let b = binade(p[c]) + binade(d.hi)
                top = Swift.max(top, b + 2)
                low = Swift.min(low, b)
            }
            return (top, low, true)
        }
        guard ranges.allSatisfy(\.inDomain) else { return nil }
        let topA = ranges.map(\.top).max()!, lowA = ranges.map(\.low).min()!
        // Every product p_c·|d_c| ∈ [2^lowA, 2^topA) finite, and >= 2^-960 so that `DoubleWord.product`'s
        // TwoProd does not underflow; else the MPFR path.
        guard topA == Int.min || (topA < 1000 && lowA >= -960) else { return nil }
        let sums = split.run(count: n) { range -> (FixedPointSum, FixedPointSum) in
            var a = FixedPointSum(), total = FixedPointSum()
            for c in range where p[c] > 0 {
                total.add(p[c], scale: -topP)
                if x[c] == m { continue }
                let d = twoSum(x[c], -m)
                let t = DoubleWord.product(DoubleWord(-d.hi, -d.lo), p[c])
                a.add(t.hi, scale: -topA)
                a.add(t.lo, scale: -topA)
            }
            return (a, total)
        }
        var aSum = FixedPointSum(), pSum = FixedPointSum()
        for (a, t) in sums {
            aSum = aSum + a
            pSum = pSum + t
        }
        guard let pv = pSum.value() else { return nil }
        let u2 = unitRoundoffSquared
        // P, relative: n truncations of < 2^(topP−126) against P >= 2^(topP−1) (the largest p_c),
        // and the conversion.
        let epsP = roundedUp(Double(n) * 0x1p-125 + FixedPointSum.conversionError * 1.0001)
        // P·L as a ScaledDoubleWord.
        let pl = DoubleWord.product(DoubleWord(pv.hi, pv.lo), DoubleWord(lp.value.hi, lp.value.lo))
        let plScaled = ScaledDoubleWord(hi: pl.hi, lo: pl.lo, exponent: pv.exponent + topP + lp.value.exponent).normalized()
        let epsPL = roundedUp(epsP + lp.epsL + 8.1 * u2)
        guard let av = aSum.value() else {
            return .value(plScaled, relativeError: epsPL)  // A = 0: every p_c on a maximum
        }
        // A, relative: 2n truncations of < 2^(topA−126) against A >= 2^(topA−3) (the largest term
        // p_c·|d_c| >= 2^(binade(p) + binade(d)) = 2^(topA−2) lost at most 3.02u²), the
        // conversion, and DoubleWord.product's 3.02u² on every term.
        let epsA = roundedUp(Double(2 * n) * 0x1p-123 + FixedPointSum.conversionError * 1.0001 + 3.02 * u2)
        let aScaled = ScaledDoubleWord(hi: av.hi, lo: av.lo, exponent: av.exponent + topA)
        // loss = A + P·L: bring P·L to A's scale (exact, or below 2^-1000 of A: dropped and bounded).
        let shift = plScaled.exponent - aScaled.exponent
        var loss: DoubleWord
        var absolute: Double  // in units of 2^aScaled.exponent
        if shift >= -1000 {
            let b = DoubleWord(scaled(plScaled.hi, by: shift), scaled(plScaled.lo, by: shift))
            loss = DoubleWord.sameSignSum(DoubleWord(aScaled.hi, aScaled.lo), b)
            absolute = roundedUp(epsA * aScaled.hi + epsPL * abs(b.hi) * 1.0001 + 3.03 * u2 * loss.hi + 0x1p-1070)
        } else {
            loss = DoubleWord(aScaled.hi, aScaled.lo)
            absolute = roundedUp(epsA * aScaled.hi + 0x1p-998)
        }
        let v = ScaledDoubleWord(hi: loss.hi, lo: loss.lo, exponent: aScaled.exponent).normalized()
        let error = scaled(absolute, by: aScaled.exponent - v.exponent) * (1 + 0x1p-50)
        return .value(v, relativeError: roundedUp(error / (v.hi.magnitude * (1 - 0x1p-50))))
    }
}
