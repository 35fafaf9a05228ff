import DoubleWordArithmetic

// cross_entropy_grad on the double-word tier, for a hard target t without class weights or
// label smoothing (notation: ErrorFreeTransforms.swift, u = 2^-53): grad_c = softmax_c − [c = t].
// Every entry but t is softmax's own output (SoftmaxOutputs.swift); entry t is
//
//     softmax_t − 1 = −B_t/S,   B_t = Σ_{j≠t} e^(d_j),
//
// the MPFR path's formulation (CrossEntropy.swift): B_t = s at the maximum (t = M), else
// 1 + (s − e_t), which is >= 1 and >= s (e_t <= 1), so no cancellation reaches the result.

extension DoubleWordTier {
    /// cross_entropy_grad with a hard target t: `softmax` with entry t replaced (nil: the MPFR path).
    static func crossEntropyGradient(_ x: UnsafeBufferPointer<Double>, target t: Int, _ format: Format,
                                     threads: Int) -> [OracleValue]? {
        guard t >= 0 && t < x.count else { return nil }
        return softmax(x, format, threads: threads, gradientTarget: t)
    }

    /// Entry t = −B_t/S of the gradient, from the row's sum, its stored exponential e_t
    /// (k = Int32.min: x_t = −inf, the entry is −1 exactly, as on the MPFR path; or an omitted
    /// term, −(1 − tiny)) and 1/Ŝ with its relative error εInv.
    ///
    /// Bounds. t = M: B = ŝ (εS), so −ŝ ⊗ (1/Ŝ) errs by εS + εInv + 8.1u² relative
    /// (`DoubleWord.product` on the mantissas, exponent added exactly). t ≠ M: D = ŝ − ê_t
    /// (ScaledDoubleWord's any-sign sum: 3.1u²(ŝ + ê_t) <= 6.3u²·ŝ) errs by <= (εS + εe + 6.3u²)·ŝ
    /// in all, εe the exponential's bound (ê_t <= ŝ(1 + εS)); B̂ = `DoubleWord.sum`(D̂, 1) adds
    /// 2.01u²·B̂ and, when D̂'s parts underflow in binary64, <= 2^-1074; an ê_t more than 2^1000
    /// below ŝ is dropped from D (<= 2^-997·ŝ); relative to B >= max(1, s):
    /// εB = (εS + εe + 6.3u²)(1 + 2^-50) + 2^-996 + 2.01u² + 2^-1073. The entry: εB + εInv + 8.1u².
    static func targetGradient(_ x: UnsafeBufferPointer<Double>, target t: Int, row: RowSum,
                               exponential e: (hi: Double, lo: Double, k: Int32), inverse: DoubleWord,
                               epsInverse: Double, _ certifier: DoubleWordCertifier) -> OracleValue? {
        let u2 = unitRoundoffSquared
        if x[t] == -.infinity {
            return OracleValue(rounded: certifier.format.round(-1.0), exact: ExactValue(-1.0))
        }
        if t == row.maxIndex {
            let p = DoubleWord.product(row.s.mantissa, inverse)
            let eps = roundedUp(row.epsS + epsInverse + 8.1 * u2)
            return certifier.certify(-p.hi, -p.lo, scale: row.s.exponent, error: eps * (1 + 0x1p-50) * p.hi)
        }
        // x_t omitted from the sum (d_t < −2^20, or x_t − m overflowed binary64): softmax_t <
        // e^(−2^20) < 2^-1512775, and the entry −(1 − softmax_t) is −1 in every format.
        if e.k == Int32.min { return oneMinusTinyOutput(negative: true, certifier.format) }
        let (b, epsB) = othersSum(row, e)
        let p = DoubleWord.product(b, inverse)
        let eps = roundedUp(epsB + epsInverse + 8.1 * u2)
        return certifier.certify(-p.hi, -p.lo, scale: 0, error: eps * (1 + 0x1p-50) * p.hi)
    }

    /// B_c = Σ_{j≠c} e^(d_j) = 1 + (s − e_c) for c ≠ M with its relative bound εB (see
    /// `targetGradient`), from the stored exponential e_c (present).
    @inline(__always)
    static func othersSum(_ row: RowSum, _ e: (hi: Double, lo: Double, k: Int32)) -> (DoubleWord, Double) {
        let u2 = unitRoundoffSquared
        let epsE = row.compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError
        let d = row.s - ScaledDoubleWord(DoubleWord(e.hi, e.lo), exponent: Int(e.k))
        let b = DoubleWord.sum(d.unscaled, 1.0)
        return (b, roundedUp((row.epsS + epsE + 6.3 * u2) * (1 + 0x1p-50) + 0x1p-996 + 2.01 * u2 + 0x1p-1073))
    }
}
