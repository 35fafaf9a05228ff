import DoubleWordArithmetic

// cross_entropy_grad with a z-loss and a hard target t on the double-word tier (ZLoss.swift has
// the semantics; u = 2^-53): grad_c = softmax_c·F for c ≠ t, F = 1 + G, and
//
//     grad_t = −B_t/S + G·e_t/S,   B_t = Σ_{j≠t} e_j,
//
// the MPFR path's sum (OptionCrossEntropy.rowGradient: the cross-entropy's −B_t/S plus the
// z-loss's 2·coefficient·lse·softmax_t). The entries c ≠ t are softmax's (SoftmaxOutputs) with
// 1/S replaced by |F|/S and the sign of F; entry t is an any-sign sum certified with an absolute
// bound (cancellation there leaves it to the MPFR path).

extension DoubleWordTier {
    /// The z-loss gradient's entries (nil: the MPFR path).
    ///
    /// Bounds. F = 1 + G (`ScaledDoubleWord`'s sum): |F̂ − F| <= εG|G| + 3.11u²(1 + |G|) + 2^-996
    /// max(1, |G|), εF that over |F̂|(1 − 2^-50) (required below 2^-60). |F|/S = |F̂| ⊗ (1/Ŝ):
    /// εF + εInv + 8.1u² (and their products, below `roundedUp`'s 2^-40 margin). The other
    /// entries then carry softmax's bounds with this factor. Entry t: T1 = −B̂ ⊗ (1/Ŝ) with
    /// εB (`othersSum`, or εS at the maximum) + εInv + 8.1u²; T2 = G ⊗ ê_t ⊗ (1/Ŝ) with εG + εe +
    /// εInv + 16.2u² (ê_t = 1 exactly at the maximum); the sum adds 3.1u²(|T1| + |T2|), or
    /// 2^-997 of the larger when one is dropped. x_t = −inf: −1 exactly (softmax_t = 0).
    static func zLossGradient(_ x: UnsafeBufferPointer<Double>, target t: Int, coefficient c: Double,
                              _ format: Format, threads: Int) -> [OracleValue]? {
        let n = x.count
        let u2 = unitRoundoffSquared
        return withOutputs(count: n) { slots in
            let store = ExpStore(slots: slots)
            guard let row = rowSum(x, threads: threads, store: store, compact: format.precision <= 24),
                  let lp = logPart(row), let z = zLossParts(row, lp, coefficient: c),
                  abs(z.g.exponent) < 1000 else { return false }
            let (inverse, epsInverse) = inverseOfSum(row)
            let f = (ScaledDoubleWord.one + z.g).normalized()
            guard f.hi != 0, abs(f.exponent) < 1000 else { return false }
            let gm = scaled(z.g.hi.magnitude, by: z.g.exponent) * (1 + 0x1p-50)
            let fm = scaled(f.hi.magnitude, by: f.exponent) * (1 - 0x1p-50)
            let epsF = roundedUp((z.epsG * gm + 3.11 * u2 * (1 + gm) + 0x1p-996 * Swift.max(1, gm)) / fm)
            guard epsF < 0x1p-60 else { return false }
            let magnitude = DoubleWord(scaled(f.hi.magnitude, by: f.exponent), scaled(f.hi < 0 ? -f.lo : f.lo, by: f.exponent))
            let factor = DoubleWord.product(inverse, magnitude)
            let epsFactor = roundedUp(epsInverse + epsF + 8.1 * u2)
            let epsE = row.compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError
            let certifier = DoubleWordCertifier(format)
            let e = store.load(t)  // read before the fill overwrites slot t
            guard let target = zLossTargetEntry(x, t, row, e, z, inverse, epsInverse, certifier) else { return false }
            let outputs = SoftmaxOutputs(
                x: x, store: store, maxIndex: row.maxIndex, inverse: factor,
                inverseError: epsFactor * factor.hi * (1 + 0x1p-50), epsUp: roundedUp(epsE + epsFactor + 8.1 * u2) * (1 + 0x1p-50),
                zero: exactOutput(0, format), certifier: certifier)
            guard fillOutputs(slots, count: n, threads: threads, SignedOutputs(inner: outputs, negative: f.hi < 0)) else { return false }
            slots[t] = target
            return true
        }
    }

    /// Entry t of the z-loss gradient, −B_t/S + G·e_t/S (see `zLossGradient`).
    static func zLossTargetEntry(_ x: UnsafeBufferPointer<Double>, _ t: Int, _ row: RowSum,
                                 _ e: (hi: Double, lo: Double, k: Int32), _ z: ZLossParts, _ inverse: DoubleWord,
                                 _ epsInverse: Double, _ certifier: DoubleWordCertifier) -> OracleValue? {
        let u2 = unitRoundoffSquared
        if x[t] == -.infinity { return exactOutput(-1, certifier.format) }
        let inv = ScaledDoubleWord(inverse)
        var b: ScaledDoubleWord, epsB: Double, t2: ScaledDoubleWord, eps2: Double
        if t == row.maxIndex {
            (b, epsB) = (row.s, row.epsS)
            t2 = z.g * inv
            eps2 = roundedUp(z.epsG + epsInverse + 8.1 * u2)
        } else {
            guard e.k != Int32.min else { return nil }
            let (bb, eb) = othersSum(row, e)
            (b, epsB) = (ScaledDoubleWord(bb), eb)
            let epsE = row.compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError
            t2 = ScaledDoubleWord(DoubleWord(e.hi, e.lo), exponent: Int(e.k)) * inv * z.g
            eps2 = roundedUp(z.epsG + epsE + epsInverse + 16.2 * u2)
        }
        let t1 = -(b * inv)
        let eps1 = roundedUp(epsB + epsInverse + 8.1 * u2)
        let result = (t1 + t2).normalized()
        guard result.hi != 0 else { return nil }
        // The bounds as (mantissa-sized bound, exponent), brought to the largest exponent (a part
        // more than 2^1000 below counts as 2^-1000 there), then to the result's.
        let parts: [(Double, Int)] = [
            (t1.hi.magnitude * eps1, t1.exponent),
            (t2.hi.magnitude * eps2, t2.exponent),
            ((t1.hi.magnitude + t2.hi.magnitude) * 3.2 * u2 + 0x1p-996, Swift.max(t1.exponent, t2.exponent) + 1),
        ]
        let e0 = parts.map(\.1).max()!
        var units = 0.0
        for (v, ex) in parts { units += ex - e0 < -1000 ? 0x1p-1000 : scaled(v, by: ex - e0) + 0x1p-1060 }
        units = roundedUp(units * (1 + 0x1p-40))
        let shift = e0 - result.exponent
        guard shift < 900 else { return nil }
        return certifier.certify(result.hi, result.lo, scale: result.exponent, error: roundedUp(scaled(units, by: shift)) + 0x1p-1070)
    }
}

/// Outputs of `inner`, negated when `negative`, except exact zeros from −inf logits (the MPFR
/// path's +0 there: no z-loss term). Rounding to nearest-even is symmetric, so −v rounds to
/// −round(v), and the exact value negates with it.
struct SignedOutputs<Inner: RowOutputs>: RowOutputs {
    let inner: Inner
    let negative: Bool

    @inline(__always)
    static func negated(_ v: OracleValue) -> OracleValue {
        let e = v.exact
        return OracleValue(rounded: -v.rounded,
                           exact: ExactValue(kind: e.kind, isNegative: !e.isNegative, exponent: e.exponent, head: e.head, tail: e.tail))
    }

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        guard let v = inner.single(i) else { return nil }
        return negative && v.exact.kind != .zero ? Self.negated(v) : v
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        guard inner.pair(i, into: out) else { return false }
        if negative {
            out[0] = Self.negated(out[0])
            out[1] = Self.negated(out[1])
        }
        return true
    }
}
