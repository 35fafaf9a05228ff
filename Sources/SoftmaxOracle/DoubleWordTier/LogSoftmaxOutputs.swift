import DoubleWordArithmetic
// log_softmax on the double-word tier, and −log_softmax_t, which cross_entropy with a hard
// target and the batch loss share.

extension DoubleWordTier {
    /// −log_softmax_i = (−d_i) + L: a same-sign sum (−d_i >= 0, L > 0), so the error is
    /// relative: epsL on L, 3.02u² on the addition, plus L's conversion to a plain DoubleWord.
    /// d_i = 0 (the maximum, or a tie with it): exactly L, kept scaled (it may be tiny).
    @inline(__always)
    static func negativeLogSoftmax(_ d: DoubleWord, _ lp: LogPart, _ certifier: DoubleWordCertifier,
                                   negate: Bool) -> OracleValue? {
        if d.hi == 0 {
            let v = negate ? ScaledDoubleWord(hi: -lp.value.hi, lo: -lp.value.lo, exponent: lp.value.exponent) : lp.value
            return certifier.certifyTiny(v, relativeError: lp.epsL)
        }
        let w = DoubleWord.sameSignSum(DoubleWord(-d.hi, -d.lo), lp.plain)
        let absolute = roundedUp(lp.plainAbsoluteError + 3.03 * unitRoundoffSquared * w.hi.magnitude)
        if let v = certifier.certify(negate ? -w : w, absoluteError: absolute) { return v }
        // −d_i + L with L negligible next to d_i's bits: an exact near-tie (see `roundNearTie`).
        return negate ? nearTie(d, plus: false, -w, absoluteError: absolute, lp, certifier)
                      : nearTie(-d, plus: true, w, absoluteError: absolute, lp, certifier)
    }

    /// log_softmax_i = d_i − L for every i: `negativeLogSoftmax` negated, pairs on SIMD lanes;
    /// −inf where x_i = −inf. Nil (the MPFR path) when some x_i − m overflows or an output does
    /// not certify.
    static func logSoftmax(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> [OracleValue]? {
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24), !row.overflow,
              let lp = logPart(row) else { return nil }
        let outputs = LogSoftmaxOutputs(
            x: x, m: row.m, maxIndex: row.maxIndex, lp: lp,
            negativeInfinity: OracleValue(rounded: format.round(-Double.infinity), exact: ExactValue(-Double.infinity)),
            certifier: DoubleWordCertifier(format))
        return withOutputs(count: x.count) { slots in fillOutputs(slots, count: x.count, threads: threads, outputs) }
    }
}

/// log_softmax_i = −((−d_i) + L) (`negativeLogSoftmax`); −inf for a −inf logit. Groups
/// (`OutputLanes`) and pairs on SIMD lanes: the operations of `single` (TwoSum, `DoubleWord.sameSignSum`, the same error bound, the same
/// certification test via `certifyPair`), so the same outputs either way.
struct LogSoftmaxOutputs: RowOutputs {
    let x: UnsafeBufferPointer<Double>, m: Double, maxIndex: Int
    let lp: DoubleWordTier.LogPart, negativeInfinity: OracleValue, certifier: DoubleWordCertifier

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        let xi = x[i]
        if xi == -.infinity { return negativeInfinity }
        let d = i == maxIndex ? DoubleWord(0, 0) : twoSum(xi, -m)
        return DoubleWordTier.negativeLogSoftmax(d, lp, certifier, negate: true)
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        guard x[i] != m && x[i + 1] != m && x[i] > -.infinity && x[i + 1] > -.infinity else { return false }
        let (dh, dl) = twoSum(SIMD2(x[i], x[i + 1]), SIMD2(repeating: -m))  // TwoSum(x_i, −m)
        guard dh[0].isFinite && dh[1].isFinite else { return false }
        // DoubleWord.sameSignSum((−dh, −dl), L): TwoSum, then the low parts, Fast2Sum.
        let (s, se) = twoSum(-dh, SIMD2(repeating: lp.plain.hi))
        let v = se + (-dl + lp.plain.lo)
        let wh = s + v
        let wl = v - (wh - s)
        let absolute = (lp.plainAbsoluteError + 3.03 * unitRoundoffSquared * wh) * (1 + 0x1p-40)
        return certifier.certifyPair(-wh, -wl, scale: SIMD2(0, 0), error: absolute, into: out)
    }

    /// `pair` on `OutputLanes`: the same operations on every lane (and `certifyLanes`, the same
    /// test), so the same outputs.
    @inline(__always)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        typealias V = OutputLanes
        let v = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: V.self)
        guard all((v .!= m) .& (v .> -.infinity)) else { return false }
        let (dh, dl) = twoSum(v, V(repeating: -m))  // TwoSum(x_i, −m)
        guard all(magnitudeLanes(dh) .< .infinity) else { return false }
        let (s, se) = twoSum(-dh, V(repeating: lp.plain.hi))
        let t: V = se + (-dl + lp.plain.lo)
        let wh: V = s + t
        let wl: V = t - (wh - s)
        let absolute: V = (lp.plainAbsoluteError + 3.03 * unitRoundoffSquared * wh) * (1 + 0x1p-40)
        return certifier.certifyLanes(-wh, -wl, scale: V.MaskStorage(repeating: 0), error: absolute, into: out)
    }
}
