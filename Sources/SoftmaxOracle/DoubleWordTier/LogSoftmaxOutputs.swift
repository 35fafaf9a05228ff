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
        let v = negate ? -w : w
        // `certifier.certify(v, absoluteError:)`, then `nearTie`, in the order that spares the exact
        // rounding of both ends (`certifyOther`) to the near-ties (x_i − m often lies exactly on a
        // midpoint of the format's grid: a quarter of normal_huge's outputs): the inline test; where
        // it does not certify, the near-tie; then `certifyOther` (which `certify` would call, unless
        // the test found v in range but not narrow). Where both the near-tie and `certifyOther`
        // give an output, they are the same: each rounds the exact value correctly (the near-tie's
        // proof in `roundNearTie`), and the exact values agree (`ExactValue(scaledHi:lo:scale:)`
        // of w at scale 0 and of its normalized form).
        let t = certifier.test(SIMD2(repeating: v.hi), SIMD2(repeating: v.lo), scale: SIMD2(repeating: 0),
                               error: SIMD2(repeating: absolute))
        if t.inRange[0] && t.narrow[0] && t.certified[0] { return t.output(0) }
        // −d_i + L with L negligible next to d_i's bits: an exact near-tie (see `roundNearTie`).
        func tie() -> OracleValue? {
            negate ? nearTie(d, plus: false, -w, absoluteError: absolute, lp, certifier)
                   : nearTie(-d, plus: true, w, absoluteError: absolute, lp, certifier)
        }
        if t.inRange[0] { return tie() ?? (t.narrow[0] ? certifier.certifyOther(v.hi, v.lo, scale: 0, error: absolute) : nil) }
        // Out of the test's binades (where `certifyOther` decides at little cost): as before.
        if let high = certifier.certifyHighBinade(v.hi, v.lo, error: absolute) { return high }
        return (v.hi == 0 ? nil : certifier.certifyOther(v.hi, v.lo, scale: 0, error: absolute)) ?? tie()
    }

    /// log_softmax_i = d_i − L for every i: `negativeLogSoftmax` negated, pairs on SIMD lanes;
    /// −inf where x_i = −inf. Nil (the MPFR path) when some x_i − m overflows or an output does
    /// not certify.
    static func logSoftmax(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> [OracleValue]? {
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24), !row.overflow,
              let lp = logPart(row) else { return nil }
        // The output of every x_i = m (d_i = 0: −L), decided once (near_ties rows: a fifth of the
        // outputs); nil: the maximum's own output does not certify, so neither did the row.
        guard let top = negativeLogSoftmax(DoubleWord(0, 0), lp, DoubleWordCertifier(format), negate: true) else { return nil }
        let outputs = LogSoftmaxOutputs(
            x: x, m: row.m, maxIndex: row.maxIndex, lp: lp, top: top,
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
    let lp: DoubleWordTier.LogPart
    /// The output where x_i = m (TwoSum(m, −m) = (0, 0): `negativeLogSoftmax` of d = 0, −L).
    let top: OracleValue
    let negativeInfinity: OracleValue, certifier: DoubleWordCertifier

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        let xi = x[i]
        if xi == -.infinity { return negativeInfinity }
        if xi == m { return top }
        let d = twoSum(xi, -m)
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
        // f64 outputs at 2^901 and above (logits about 1e300): `certifyHighBinades`, the same outputs
        // as `single`'s `certifyOther`.
        if magnitudeLanes(wh)[0] >= 0x1p901 && certifier.certifyHighBinades(-wh, -wl, error: absolute, into: out) { return true }
        if certifier.precision == 53 {
            // f64: the test, and where a lane does not pass, the exact near-tie on lanes
            // (`DoubleWordTier.nearTieLanes`: `single`'s `nearTie`, which it would reach).
            let t = certifier.test(lanes: -wh, -wl, scale: V.MaskStorage(repeating: 0), error: absolute)
            let passed = t.inRange .& t.narrow .& t.certified
            if all(passed) {
                t.writeOutputs(to: out)
                return true
            }
            let tie = DoubleWordTier.nearTieLanes(dh, dl, output: wh, absoluteError: absolute, upper: lp.upperBound)
            if all(passed .| tie.taken) {
                DoubleWordCertifier.writeOutputs(rounded: t.rounded.replacing(with: tie.rounded, where: .!passed), -wh, -wl,
                                                 scale: V.MaskStorage(repeating: 0), to: out)
                return true
            }
            // The rest of `certifyLanes`, from this test.
            guard all(passed .| .!t.inRange) else { return false }
            return certifier.certifyBelowNormals(-wh, -wl, scale: V.MaskStorage(repeating: 0), error: absolute, t, passed, into: out)
        }
        return certifier.certifyLanes(-wh, -wl, scale: V.MaskStorage(repeating: 0), error: absolute, into: out)
    }
}
