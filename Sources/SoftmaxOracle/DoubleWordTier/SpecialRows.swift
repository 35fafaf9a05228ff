// Cross-entropy rows whose answer is a special value decided by the row alone (a NaN, a +inf
// logit, no finite logit): the MPFR path answers them exactly, without arithmetic, and so does
// the tier, by the same rules, without a pass of MPFR set-up per logit.

extension DoubleWordTier {
    /// The value every output of a cross-entropy row takes when the row alone decides it, else
    /// nil. The MPFR path's rules (`RowFacts.special(forLogsumexp: false)`, and
    /// `TransformedRow.special` with loss options): NaN for a NaN logit; without soft-capping
    /// also NaN for a +inf logit (inf/inf) and for a row with no finite logit (0/0). Under
    /// soft-capping ±inf logits take the limits ±c: only NaN is special. Exact: no rounding.
    static func specialRowValue(_ x: UnsafeBufferPointer<Double>, softcap: Bool) -> Double? {
        var finite = false, positiveInfinity = false
        for v in x {
            if v.isNaN { return .nan }
            if v == .infinity { positiveInfinity = true } else if v.isFinite { finite = true }
        }
        if softcap || x.isEmpty { return nil }
        return positiveInfinity || !finite ? .nan : nil
    }

    /// An output whose exact value v is known (a special value, or an exact number): v rounded
    /// into the format, exact value v, as the MPFR path's `.exact` enclosures give.
    static func exactOutput(_ v: Double, _ format: Format) -> OracleValue {
        OracleValue(rounded: format.round(v), exact: ExactValue(v))
    }

    /// cross_entropy or cross_entropy_grad of a special row (every output the row's special
    /// value, for any target, class weights, smoothing or loss options), else nil.
    static func specialRow(_ q: OracleRequest) -> [OracleValue]? {
        guard q.function == .crossEntropy || q.function == .crossEntropyGrad,
              let v = q.logits.withUnsafeBufferPointer({ specialRowValue($0, softcap: q.softcap != nil) }) else { return nil }
        let out = exactOutput(v, q.format)
        return [OracleValue](repeating: out, count: q.function == .crossEntropy ? 1 : q.logits.count)
    }
}
