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
        let f = rowSpecials(x)
        if f.nan { return .nan }
        if softcap || x.isEmpty { return nil }
        return f.positiveInfinity || !f.finite ? .nan : nil
    }

    /// Whether x holds a NaN, a +inf, a finite value: one pass, four logits at a time.
    static func rowSpecials(_ x: UnsafeBufferPointer<Double>) -> (nan: Bool, positiveInfinity: Bool, finite: Bool) {
        typealias V = SIMD4<Double>
        var nan = SIMDMask<V.MaskStorage>(repeating: false), infinity = nan, finite = nan
        @inline(__always) func take(_ v: V) {
            nan .|= v .!= v
            infinity .|= v .== .infinity
            finite .|= magnitudeLanes(v) .< .infinity
        }
        let n = x.count
        var j = 0
        while j + 4 <= n {
            take(UnsafeRawPointer(x.baseAddress! + j).loadUnaligned(as: V.self))
            j += 4
        }
        var tail = V(repeating: -.infinity)  // adds nothing
        for i in j..<n { tail[i - j] = x[i] }
        take(tail)
        return (any(nan), any(infinity), any(finite))
    }

    /// The value every output of logsumexp, softmax or log_softmax takes when the row alone
    /// decides it, else nil: the MPFR path's `RowFacts.special` (NaN for a NaN; for a +inf NaN,
    /// logsumexp +inf; with no finite logit NaN, logsumexp −inf). Nil for the empty row.
    static func specialRowValue(_ x: UnsafeBufferPointer<Double>, logsumexp: Bool) -> Double? {
        if x.isEmpty { return nil }
        let f = rowSpecials(x)
        if f.nan { return .nan }
        if f.positiveInfinity { return logsumexp ? .infinity : .nan }
        if !f.finite { return logsumexp ? -.infinity : .nan }
        return nil
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

    /// A special row of a request without loss options: logsumexp, softmax and log_softmax
    /// (`specialRowValue(_:logsumexp:)`, as the MPFR path answers them) and cross_entropy(_grad)
    /// (`specialRow`). Every output is the one value, filled without arithmetic; with `rounded`,
    /// the rounded values alone (8 bytes an output).
    static func specialRowValues(_ q: OracleRequest, rounded: Bool) -> RoundedResult.Values? {
        let v: Double
        switch q.function {
        case .logsumexp, .softmax, .logSoftmax:
            guard let s = q.logits.withUnsafeBufferPointer({ specialRowValue($0, logsumexp: q.function == .logsumexp) }) else { return nil }
            v = s
        case .crossEntropy, .crossEntropyGrad:
            guard let s = q.logits.withUnsafeBufferPointer({ specialRowValue($0, softcap: q.softcap != nil) }) else { return nil }
            v = s
        default:
            return nil
        }
        let out = exactOutput(v, q.format)
        let n = q.function == .logsumexp || q.function == .crossEntropy ? 1 : q.logits.count
        return rounded && n > 1 ? .rounded([Double](repeating: out.rounded, count: n)) : .certified([OracleValue](repeating: out, count: n))
    }
}
