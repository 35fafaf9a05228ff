import DoubleWordArithmetic

// cross_entropy and cross_entropy_grad with a z-loss on the double-word tier (no soft-capping,
// temperature absent or 1, no class weights, no label smoothing; notation: ErrorFreeTransforms.swift,
// u = 2^-53). The MPFR path's semantics (LossOptions.swift, OptionCrossEntropy.swift): with the
// row untransformed (z = x), lse = m + L,
//
//     loss = CE + coefficient·lse²,
//     grad_c = softmax_c·F − [c = t],   F = 1 + G,   G = 2·coefficient·lse,
//
// CE the cross-entropy of CrossEntropyOutputs.swift (hard or probability targets). Soft-capping
// alone, for cross_entropy with a hard target: SoftcapLoss.swift. Temperature and the rest go to
// the MPFR path.

extension DoubleWordTier {
    /// The tier's answer for a request with loss options (nil: the MPFR path).
    static func optionLoss(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        if q.function == .crossEntropyLoss {  // BatchLoss.swift: softcap alone, hard targets
            guard q.softcap != nil, q.temperature == nil || q.temperature == 1, q.zLoss == 0 else { return nil }
            return batchLoss(q, threads: threads)
        }
        if let c = q.softcap {  // SoftcapLoss.swift, SoftcapGradient.swift: a hard target, softcap alone
            guard let target = q.target, q.temperature == nil || q.temperature == 1,
                  q.zLoss == 0, q.weight == nil, q.labelSmoothing == 0 else { return nil }
            return q.logits.withUnsafeBufferPointer { x -> [OracleValue]? in
                switch (q.function, target) {
                case (.crossEntropy, .index(let t)): return softcapCrossEntropy(x, target: t, softcap: c, q.format, threads: threads).map { [$0] }
                case (.crossEntropyGrad, .index(let t)): return softcapGradient(x, target: t, softcap: c, q.format, threads: threads)
                case (.crossEntropyGrad, .probabilities(let p)):
                    return p.withUnsafeBufferPointer { softcapGradient(x, target: -1, softcap: c, q.format, probabilities: $0, threads: threads) }
                default: return nil
                }
            }
        }
        guard q.softcap == nil, q.temperature == nil || q.temperature == 1, q.zLoss > 0, q.zLoss.isFinite,
              q.weight == nil, q.labelSmoothing == 0, let target = q.target else { return nil }
        let compact = q.format.precision <= 24
        return q.logits.withUnsafeBufferPointer { x -> [OracleValue]? in
            if q.function == .crossEntropyGrad {
                guard case .index(let t) = target, t >= 0 && t < x.count else { return nil }
                return zLossGradient(x, target: t, coefficient: q.zLoss, q.format, threads: threads)
            }
            guard q.function == .crossEntropy, let row = rowSum(x, threads: threads, store: nil, compact: compact),
                  let lp = logPart(row), let z = zLossParts(row, lp, coefficient: q.zLoss) else { return nil }
            switch target {
            case .index(let t):
                guard t >= 0 && t < x.count else { return nil }
                if x[t] == -.infinity { return [exactOutput(.infinity, q.format)] }  // CE = +inf
                let d = t == row.maxIndex ? DoubleWord(0, 0) : twoSum(x[t], -row.m)
                guard d.hi.isFinite, let ce = hardTargetLoss(d, lp) else { return nil }
                return zLossSum(ce, z, q.format).map { [$0] }
            case .probabilities(let p):
                let ce = p.withUnsafeBufferPointer {
                    probabilityLoss(x, probabilities: $0, compact: compact, threads: threads, row: (row, lp))
                }
                switch ce {
                case .infinity?: return [exactOutput(.infinity, q.format)]
                case .value(let v, let eps)?: return zLossSum((v, eps), z, q.format).map { [$0] }
                case nil: return nil
                }
            }
        }
    }

    /// What the z-loss adds, from the row's m and L.
    struct ZLossParts {
        /// Z = coefficient·lse² (normalized, > 0) and its relative error.
        var z: ScaledDoubleWord, epsZ: Double
        /// G = 2·coefficient·lse and its relative error.
        var g: ScaledDoubleWord, epsG: Double
    }

    /// Z and G for the row (nil when lse = m + L is 0 in double-double, or overflows).
    ///
    /// Bounds. lse = `DoubleWord.sum`(L̂, m) (L̂ the plain form of L, absolute error
    /// `plainAbsoluteError` with L's own): 2.01u²|lse| (Joldes–Muller–Popescu, any signs), so
    /// |lŝe − lse| <= plainAbsoluteError + 2.02u²|lŝe| =: a, relative r = a/|lŝe|(1 − 2^-50).
    /// Z = lse ⊗ lse ⊗ c (`ScaledDoubleWord` products, 8.1u² each): (1 + r)² − 1 = 2r + r², so
    /// εZ = (2r + r²)(1 + 2^-40) + 16.3u². G = lse ⊗ 2c (2c exact): εG = r + 8.2u².
    static func zLossParts(_ row: RowSum, _ lp: LogPart, coefficient c: Double) -> ZLossParts? {
        let u2 = unitRoundoffSquared
        let lse = DoubleWord.sum(lp.plain, row.m)
        guard lse.hi != 0, lse.hi.isFinite, (2 * c).isFinite else { return nil }
        let a = roundedUp(lp.plainAbsoluteError + 2.02 * u2 * lse.hi.magnitude)
        let r = roundedUp(a / (lse.hi.magnitude * (1 - 0x1p-50)))
        guard r < 0x1p-20 else { return nil }
        let l = ScaledDoubleWord(lse)
        return ZLossParts(z: (l * l * ScaledDoubleWord(c)).normalized(), epsZ: roundedUp((2 * r + r * r) * (1 + 0x1p-40) + 16.3 * u2),
                          g: (l * ScaledDoubleWord(2 * c)).normalized(), epsG: roundedUp(r + 8.2 * u2))
    }

    /// −log_softmax_t = (−d) + L for d = x_t − m exact (<= 0), as a normalized ScaledDoubleWord
    /// with a relative error bound: L itself at d = 0; else `sameSignSum` of −d and L's plain form
    /// (3.03u², and `plainAbsoluteError`), relative to the sum.
    static func hardTargetLoss(_ d: DoubleWord, _ lp: LogPart) -> (ScaledDoubleWord, Double)? {
        if d.hi == 0 { return (lp.value, lp.epsL) }
        let w = DoubleWord.sameSignSum(DoubleWord(-d.hi, -d.lo), lp.plain)
        let err = roundedUp(lp.plainAbsoluteError + 3.03 * unitRoundoffSquared * w.hi)
        let v = ScaledDoubleWord(hi: w.hi, lo: w.lo, exponent: 0).normalized()
        return (v, roundedUp(err / (w.hi * (1 - 0x1p-50))))
    }

    /// CE + Z certified: two positive terms, so `ScaledDoubleWord`'s sum (3.1u² relative, or the
    /// smaller operand dropped: < 2^-997 relative) errs by <= max(εCE, εZ) + 3.11u² + 2^-996.
    static func zLossSum(_ ce: (ScaledDoubleWord, Double), _ z: ZLossParts, _ format: Format) -> OracleValue? {
        let sum = (ce.0 + z.z).normalized()
        let eps = roundedUp(Swift.max(ce.1, z.epsZ) + 3.11 * unitRoundoffSquared + 0x1p-996)
        return DoubleWordCertifier(format).certify(sum, relativeError: eps)
    }
}
