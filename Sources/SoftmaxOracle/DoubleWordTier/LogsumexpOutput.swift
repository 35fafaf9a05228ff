import DoubleWordArithmetic
// logsumexp on the double-word tier.

extension DoubleWordTier {
    /// logsumexp = m + L (`logsumexpOutput`), from the row's sum.
    static func logsumexp(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> OracleValue? {
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24),
              let lp = logPart(row) else { return nil }
        return logsumexpOutput(m: row.m, lp, DoubleWordCertifier(format))
    }

    /// m + L, certified. For m ≠ 0 an any-sign addition (cancellation when m < 0 and L ≈ −m:
    /// then the error bound, absolute, is large relative to the result, and the narrowness rule
    /// sends the request to the MPFR path).
    static func logsumexpOutput(m: Double, _ lp: LogPart, _ certifier: DoubleWordCertifier) -> OracleValue? {
        if m == 0 {
            return certifier.certify(lp.value, relativeError: lp.epsL)
        }
        let w = DoubleWord.anySignSum(DoubleWord(m, 0), lp.plain)
        let absolute = roundedUp(3.1 * unitRoundoffSquared * (m.magnitude + lp.plain.hi.magnitude) * 1.0001
                                 + lp.plainAbsoluteError)
        if let v = certifier.certify(w, absoluteError: absolute) { return v }
        return nearTie(DoubleWord(m, 0), plus: true, w, absoluteError: absolute, lp, certifier)
    }
}
