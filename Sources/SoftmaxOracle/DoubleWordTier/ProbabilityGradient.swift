import DoubleWordArithmetic

// cross_entropy_grad with probability targets p (no class weights, no smoothing) on the
// double-word tier (notation: ErrorFreeTransforms.swift, u = 2^-53). The MPFR path's
// formulation (CrossEntropy.swift), with r_c = p_c and P = Σ p_c:
//
//     grad_c = e_c·A_c/S − p_c·B_c/S,   A_c = P − p_c >= 0,   B_c = Σ_{j≠c} e_j,
//
// two non-negative terms whose difference can cancel only where the gradient is small; each is
// computed as a ScaledDoubleWord (no underflow or overflow before the certification) with an
// absolute error bound, and the difference is certified with the sum of both bounds. Where
// cancellation leaves the enclosure too wide, the request goes to the MPFR path.

extension DoubleWordTier {
    /// P = Σ p_c exactly in a `FixedPointSum` relative to 2^top (top > every p_c's binade), as a
    /// normalized ScaledDoubleWord with its relative error: n truncations below 2^(top−126)
    /// against P >= 2^(top−1), and the conversion's 2^-104.9. Nil when every p_c is 0, or some
    /// p_c is subnormal (zeros and normal numbers only, as in `crossEntropy(probabilities:)`).
    static func probabilityTotal(_ p: UnsafeBufferPointer<Double>) -> (ScaledDoubleWord, Double)? {
        var top = Int.min
        for v in p where v > 0 {
            guard v.isNormal else { return nil }
            top = Swift.max(top, binade(v) + 1)
        }
        guard top > Int.min else { return nil }
        var sum = FixedPointSum()
        for v in p where v > 0 { sum.add(v, scale: -top) }
        guard let t = sum.value() else { return nil }
        let eps = roundedUp(Double(p.count) * 0x1p-125 + FixedPointSum.conversionError * 1.0001)
        return (ScaledDoubleWord(hi: t.hi, lo: t.lo, exponent: t.exponent + top).normalized(), eps)
    }
}

/// grad_c for probability targets (see ProbabilityGradient.swift), from softmax's stored
/// exponentials, 1/Ŝ and P̂.
struct ProbabilityGradientOutputs: RowOutputs {
    let x: UnsafeBufferPointer<Double>, p: UnsafeBufferPointer<Double>
    let store: DoubleWordTier.ExpStore, row: DoubleWordTier.RowSum
    let inverse: DoubleWord, epsInverse: Double
    /// P̂ and its relative error.
    let total: ScaledDoubleWord, epsTotal: Double
    let certifier: DoubleWordCertifier

    /// The enclosure of grad_c: (hi + lo)·2^scale within error·2^scale, or nil (an omitted
    /// exponential, or a zero difference).
    ///
    /// Bounds (ε's relative, "abs" absolute; every ScaledDoubleWord product 8.1u²):
    /// - q = e_c ⊗ (1/Ŝ) (softmax_c; at the maximum 1/Ŝ): εq = εe + εInv + 8.1u².
    /// - Â = P̂ − p_c (any-sign sum): abs <= εP·P̂ + 3.1u²(P̂ + p_c) + 2^-997·P̂ (a dropped
    ///   operand), and p_c <= P(1 + εP): in units of 2^exp(P̂) (|P̂.hi| < 2), <= 2εP + 3.1u²·6.1
    ///   + 2^-996 =: a.
    /// - t1 = q ⊗ Â: abs <= q(1 + εq)·a·2^exp(P̂) + |t̂1|(εq + 8.1u²)(1 + 2^-40).
    /// - t2 = p_c ⊗ B̂ ⊗ (1/Ŝ), B̂ = ŝ (εS) at the maximum, else `othersSum` (εB): relative
    ///   εB + εInv + 2·8.1u².
    /// - t1 − t2 (any-sign sum): 3.1u²(|t̂1| + |t̂2|) + 2^-997 of the larger (a dropped operand).
    /// The bounds are brought to the largest exponent E0 among them (a part more than 2^1000
    /// below counts as 2^-1000 there), rounded up, then to the result's exponent.
    func enclosure(_ i: Int) -> (hi: Double, lo: Double, scale: Int, error: Double)? {
        let u2 = unitRoundoffSquared
        let pc = p[i]
        var q: ScaledDoubleWord, epsQ: Double, b: ScaledDoubleWord, epsB: Double
        if i == row.maxIndex {
            q = ScaledDoubleWord(inverse)
            epsQ = epsInverse
            b = row.s
            epsB = row.epsS
        } else {
            let e = store.load(i)
            guard e.k != Int32.min else { return nil }
            let epsE = row.compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError
            q = ScaledDoubleWord(DoubleWord(e.hi, e.lo), exponent: Int(e.k)) * ScaledDoubleWord(inverse)
            epsQ = roundedUp(epsE + epsInverse + 8.1 * u2)
            let (bb, eb) = DoubleWordTier.othersSum(row, e)
            b = ScaledDoubleWord(bb)
            epsB = eb
        }
        let a = total - ScaledDoubleWord(pc)
        let aUnits = roundedUp(2 * epsTotal + 3.1 * u2 * 6.1 + 0x1p-996)
        let t1 = q * a
        let t2 = ScaledDoubleWord(pc) * b * ScaledDoubleWord(inverse)
        let eps2 = roundedUp(epsB + epsInverse + 16.2 * u2)
        let result = t1 - t2
        guard result.hi != 0 else { return nil }
        // Error parts as (mantissa-sized bound, exponent); a zero term (exponent 0 by
        // convention) has none, and does not set the scale of the sum's.
        let larger = [t1, t2].filter { $0.hi != 0 }.map(\.exponent).max()!
        let parts: [(Double, Int)] = [
            (q.hi.magnitude * (1 + epsQ) * aUnits, q.exponent + total.exponent),
            (t1.hi.magnitude * (epsQ + 8.1 * u2) * (1 + 0x1p-40), t1.exponent),
            (t2.hi.magnitude * eps2, t2.exponent),
            ((t1.hi.magnitude + t2.hi.magnitude) * 3.2 * u2 + 0x1p-996, larger + 1),
        ].filter { $0.0 != 0 }
        let e0 = parts.map(\.1).max()!
        var units = 0.0
        for (v, e) in parts {
            units += e - e0 < -1000 ? 0x1p-1000 : scaled(v, by: e - e0) + 0x1p-1060
        }
        units = roundedUp(units * (1 + 0x1p-50))
        let shift = e0 - result.exponent
        guard shift < 900 else { return nil }
        return (result.hi, result.lo, result.exponent, shift < -1000 ? 0x1p-1000 : roundedUp(scaled(units, by: shift)) + 0x1p-1070)
    }

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        if x[i] == -.infinity {  // softmax_c = 0: the entry is −p_c exactly
            let v = p[i] == 0 ? 0.0 : -p[i]  // +0 when p_c = 0, as on the MPFR path
            return OracleValue(rounded: certifier.format.round(v), exact: ExactValue(v))
        }
        guard let v = enclosure(i) else { return nil }
        return certifier.certify(v.hi, v.lo, scale: v.scale, error: v.error)
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}
