import DoubleWordArithmetic
// logsumexp on the double-word tier.

extension DoubleWordTier {
    /// logsumexp = m + L. For m ≠ 0 an any-sign addition (cancellation when m < 0 and L ≈ −m:
    /// then the error bound, absolute, is large relative to the result, and the narrowness rule
    /// sends the request to the MPFR path).
    static func logsumexp(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> OracleValue? {
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24),
              let lp = logPart(row) else { return nil }
        let certifier = DoubleWordCertifier(format)
        if row.m == 0 {
            return certifier.certify(lp.value, relativeError: lp.epsL)
        }
        let w = DoubleWord.anySignSum(DoubleWord(row.m, 0), lp.plain)
        let absolute = roundedUp(3.1 * unitRoundoffSquared * (row.m.magnitude + lp.plain.hi.magnitude) * 1.0001
                                 + lp.plainAbsoluteError)
        if let v = certifier.certify(w, absoluteError: absolute) { return v }
        return nearTie(DoubleWord(row.m, 0), plus: true, w, absoluteError: absolute, lp, certifier)
    }
}
