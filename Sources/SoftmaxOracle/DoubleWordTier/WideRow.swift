import DoubleWordArithmetic
import ParallelExecution

// Rows whose second largest finite logit lies more than 2^19 below the maximum (the harness's
// wide_spread, bit_patterns, uniform_wide and normal_huge families are mostly such rows): `rowSum`
// declines them, since its fixed-point scale cannot hold such a sum; here the sum is only
// bounded, and every output follows from the bound.
//
// With d_2 = x_2 − m < −2^19 and K < 2^24 logits, s = Σ_{j≠M} e^(d_j) lies in (0, 2^ts) with
// ts = −756363 (K·e^(−2^19) = 2^(24 − 756387.6)), and L = log1p(s) in (0, s]. Every output is
// then one of:
// - a tiny number, in (0, 2^(ts+1)) up to sign: softmax_j (j ≠ M), L itself (logsumexp at
//   m = 0, log_softmax_M, a cross-entropy with the target at the maximum), −s/S (the gradient
//   at the maximum). It rounds to ±0 in every format (half the least subnormal is >= 2^-1075),
//   and its exact value is reported as the midpoint ±2^ts of that enclosure, as the MPFR path
//   reports values it can only enclose below every least subnormal;
// - 1 − tiny (softmax_M, and −(1 − tiny) the gradient's −1 + e_t/S): rounds to ±1 in every
//   format (the spacing below 1 is >= 2^-53); exact value ±2·2^-1 (ExactValue's head 2);
// - P ± L with P = m or −d_i exact (logsumexp, log_softmax_i, cross-entropy): certified with
//   L's bound 2^-999 as an absolute error, or settled as P ± 0⁺ by `roundNearTie`; when x_i − m
//   overflows binary64, P = 2·(x_i/2 − m/2) (halving is exact for such magnitudes) is certified
//   scaled, with L below 2^-999 of its last bit.

extension DoubleWordTier {
    /// The exponent ts with s, L < 2^ts for every wide row.
    static let wideRowSumExponent = -756_363

    /// A number in (0, c·2^(e+1)) (negated when `negative`), e <= −1100: ±0 in every format
    /// (below half of every least subnormal), exact value ±c·2^e, its enclosure's midpoint.
    static func tinyOutput(negative: Bool, coefficient c: ScaledDoubleWord = .one, exponent e: Int, _ format: Format) -> OracleValue {
        let sign = negative ? -1.0 : 1.0
        return OracleValue(rounded: format.round(sign * 0.0), exact: ExactValue(scaledHi: sign * c.hi, lo: sign * c.lo, scale: c.exponent + e))
    }

    /// ±(1 − τ) for a τ in (0, 2^-1000): ±1 in every format (the spacing below 1 is >= 2^-53),
    /// exact value ±2·2^-1 (`ExactValue`'s head 2: just below 1, within 2^-1000 of it).
    static func oneMinusTinyOutput(negative: Bool, _ format: Format) -> OracleValue {
        OracleValue(rounded: format.round(negative ? -1.0 : 1.0),
                    exact: ExactValue(kind: .finite, isNegative: negative, exponent: -1, head: 2, tail: 0))
    }

    /// The scan of x when it is a wide row (finite maximum, another finite logit, no NaN or
    /// +inf, x_2 − m < −2^19, K < 2^24), else nil.
    static func wideRowScan(_ x: UnsafeBufferPointer<Double>, threads: Int) -> RowScan? {
        guard x.count < 1 << 24 else { return nil }
        let chunks = (threads > 1 && x.count >= parallelThreshold) ? threads * 2 : 1
        let scan = RowScan.of(x, chunks: chunks)
        guard !scan.special, scan.maxIndex >= 0, scan.second > -.infinity, scan.second - scan.max < -0x1p19 else { return nil }
        return scan
    }

    /// The tier's answer for a wide row of logsumexp, softmax, log_softmax, cross_entropy
    /// (hard target) or cross_entropy_grad (hard target), or nil.
    static func wideRow(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        q.logits.withUnsafeBufferPointer { x -> [OracleValue]? in
            guard let scan = wideRowScan(x, threads: threads) else { return nil }
            let outputs = WideRowOutputs(x: x, m: scan.max, maxIndex: scan.maxIndex, certifier: DoubleWordCertifier(q.format))
            switch q.function {
            case .logsumexp:
                return outputs.plusL(DoubleWord(scan.max, 0), scaled: nil, negate: false).map { [$0] }
            case .crossEntropy:
                guard case .index(let t)? = q.target, t >= 0, t < x.count, x[t] > -.infinity else { return nil }
                return outputs.negativeLogSoftmax(t, negate: false).map { [$0] }
            case .softmax, .logSoftmax, .crossEntropyGrad:
                var target = -1
                if q.function == .crossEntropyGrad {
                    guard case .index(let t)? = q.target, t >= 0, t < x.count else { return nil }
                    target = t
                }
                let kind: WideRowOutputs.Kind = q.function == .logSoftmax ? .logSoftmax : .softmax
                let row = WideRowFill(outputs: outputs, kind: kind, target: target)
                return withOutputs(count: x.count) { fillOutputs($0, count: x.count, threads: threads, row) }
            default:
                return nil
            }
        }
    }
}

/// The outputs of a wide row (see WideRow.swift).
struct WideRowOutputs {
    enum Kind { case softmax, logSoftmax }
    let x: UnsafeBufferPointer<Double>, m: Double, maxIndex: Int
    let certifier: DoubleWordCertifier

    /// ±(0, 2^(ts+1)): ±0, exact value ±2^ts.
    func tiny(negative: Bool) -> OracleValue {
        DoubleWordTier.tinyOutput(negative: negative, exponent: DoubleWordTier.wideRowSumExponent, certifier.format)
    }

    /// ±(1 − tiny): ±1, exact value ±2·2^-1.
    func oneMinusTiny(negative: Bool) -> OracleValue {
        DoubleWordTier.oneMinusTinyOutput(negative: negative, certifier.format)
    }

    /// P + L (negated when `negate`) for an exact P ≠ 0 (or, when `scaled` is given, P =
    /// scaled.hi + scaled.lo times 2), with 0 < L < 2^ts: certified with the absolute error
    /// 2^-999 (> L), else `roundNearTie` (P + 0⁺).
    func plusL(_ p: DoubleWord, scaled: DoubleWord?, negate: Bool) -> OracleValue? {
        let sign = negate ? -1.0 : 1.0
        if let h = scaled {
            // |P| >= 2^1024: L < 2^-999 is far below P's last bit and every half-quantum.
            return certifier.certify(sign * h.hi, sign * h.lo, scale: 1, error: 0x1p-1000)
        }
        if p.hi == 0 { return tiny(negative: negate) }
        let w = DoubleWord(sign * p.hi, sign * p.lo)
        let absolute = 0x1p-999
        if let v = certifier.certify(w, absoluteError: absolute) { return v }
        return DoubleWordTier.nearTie(negate ? -p : p, plus: !negate, w, absoluteError: absolute, upper: 0x1p-999, certifier)
    }

    /// −log_softmax_i = (m − x_i) + L (negated when `negate`), for a finite x_i.
    func negativeLogSoftmax(_ i: Int, negate: Bool) -> OracleValue? {
        if i == maxIndex { return tiny(negative: negate) }
        let d = twoSum(m, -x[i])
        if d.hi.isFinite { return plusL(d, scaled: nil, negate: negate) }
        return plusL(d, scaled: twoSum(0.5 * m, -0.5 * x[i]), negate: negate)
    }
}

/// The fill of softmax, log_softmax or cross_entropy_grad (target ≥ 0) outputs of a wide row.
struct WideRowFill: RowOutputs {
    let outputs: WideRowOutputs, kind: WideRowOutputs.Kind, target: Int

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        let o = outputs
        if kind == .logSoftmax {
            if o.x[i] == -.infinity { return OracleValue(rounded: o.certifier.format.round(-.infinity), exact: ExactValue(-Double.infinity)) }
            return o.negativeLogSoftmax(i, negate: true)
        }
        if i == target {  // softmax_t − 1
            if o.x[i] == -.infinity { return OracleValue(rounded: o.certifier.format.round(-1.0), exact: ExactValue(-1.0)) }
            return i == o.maxIndex ? o.tiny(negative: true) : o.oneMinusTiny(negative: true)
        }
        if i == o.maxIndex { return o.oneMinusTiny(negative: false) }
        if o.x[i] == -.infinity { return OracleValue(rounded: o.certifier.format.round(0.0), exact: ExactValue(0.0)) }
        return o.tiny(negative: false)
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}
