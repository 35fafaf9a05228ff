import DoubleWordArithmetic

// softmax_backward on the double-word tier (notation: ErrorFreeTransforms.swift, u = 2^-53; the
// MPFR path: Backward.swift). With softmax's stored exponentials ê_j = 2^(k_j)·(h_j + l_j)
// (|ê_j − e_j| <= ε_e·e_j, ε_e = 2^-101, `DoubleWordExp.exp`; e_M = 1 exactly at the maximum's
// index), S = 1 + s, T = Σ_j e_j·dy_j and D = T/S = ⟨dy, y⟩,
//
//     softmax_backward_i = y_i·(dy_i − D) = y_i·N_i.
//
// Let M = max_j |dy_j| (declined unless 2^-900 <= M <= 2^900) and 2^top > 2M (top = binade(M) + 2).
//
// **T.** Each term ê_j·dy_j is split exactly where nothing underflows: h_j·dy_j = a_j + b_j
// (`twoProduct`), and c_j = RN(l_j·dy_j) errs by <= 2^-53|l_j·dy_j| <= 2^-106|h_j·dy_j| (|l_j| <=
// 2^-53|h_j|, a normalized pair), plus 2^-1074 for each part that underflows. a_j, b_j, c_j
// (times 2^(k_j), k_j <= 0) are added to a `FixedPointSum` relative to 2^top (every part < 2M <
// 2^top in magnitude: ê_j <= 1 + 2^-100), each truncated by less than 2^(top−126) <= M·2^-124;
// at the maximum dy_M itself. So the accumulator V = W·2^(top−126) satisfies, with Σ ê_j|dy_j| <=
// (1 + ε_e)·M·S and |Σ ê_j·dy_j − T| <= ε_e·Σ e_j|dy_j| <= ε_e·M·S (S >= 1, n·2^-1072 <=
// n·2^-172·M),
//
//     |V − T| <= M·S·(ε_e + 2^-105.9 + 3.01·n·2^-124) =: A_T.
//
// Its conversion T̂ (`FixedPointSum.value`, of W or of the accumulator of the negated parts, which
// is −W exactly: truncation toward zero is odd) errs by c = `conversionError` relative to |V|.
//
// **D.** D̂ = T̂ ⊗ (1/Ŝ) (8.1u²), with |1/Ŝ − 1/S| <= ε_inv/S (`inverseOfSum`). Since |D| <= M (a
// mean of the dy_j with the weights y_j) and S >= 1,
//
//     |D̂ − D| <= 8.1u²|T̂/Ŝ| + |T̂ − T|(1 + ε_inv)/S + ε_inv|D|
//             <= (M·(ε_e + ε_inv + 2^-105.9 + 3.01·n·2^-124) + |D̂|(c + 8.2u²))·(1 + 2^-40) =: E_D,
//
// the products of the small relative bounds (c, ε_inv, 8.1u², all below 2^-99) inside the
// 2^-40 margin.
//
// **N_i and the output.** N̂_i = dy_i − D̂ (`ScaledDoubleWord`'s difference: 3.1u²(|dy_i| + |D̂|),
// or 2^-997 of the larger operand when it drops the other), so |N̂_i − N_i| <= E_N = E_D +
// (3.1u² + 2^-997)(|dy_i| + |D̂|) =: ρ_N·|N̂_i|. ŷ_i = ê_i ⊗ (1/Ŝ) errs by ε_y·y_i (softmax's
// bound, ε_e + ε_inv + 8.1u²; at the maximum 1/Ŝ itself). With ẑ_i = ŷ_i ⊗ N̂_i (8.1u²),
// ŷ = y(1 + α), N = N̂(1 + γ), ẑ = ŷN̂(1 + δ):
//
//     |ẑ_i − y_i·N_i| = |ŷN̂|·|(1 + δ) − (1 + γ)/(1 + α)| <= |ẑ_i|·(8.2u² + (ε_y + ρ_N)(1 + 2^-90)),
//
// the relative bound `certify(_:relativeError:)` takes (rounded up: `roundedUp`'s 2^-40 covers
// the floating evaluation of these few terms). An output with ρ_N > 2^-30, |N̂_i| outside the
// normal range, N̂_i = 0, or that does not certify (the exponentials' 2^-101 is about 2^-100·M
// on D: outputs with |dy_i − D| below about 2^-8·M, a few in a hundred on ordinary rows), is
// recomputed alone in MPFR intervals (`RefinedOutputs`), certified as the MPFR path
// certifies; an e4m3fn NaN (overflow) too (see `LogSoftmaxBackwardOutputs`).
//
// Declined (nil, the MPFR path answers): an output whose N_i enclosure holds 0 (perhaps an
// exact zero: the MPFR path proves those, without the refinement's work), what `rowSum` declines, a finite logit whose exponential
// the store omits (d_j < −2^20), M outside [2^-900, 2^900] (dy = 0 included: every output is then
// an exact 0), an output 0 exactly (the MPFR path proves those) or not certified at 384 bits. A
// −inf logit's output is +0 exactly (y_i = 0), as on the MPFR path.

extension DoubleWordTier {
    /// softmax_backward of a row x and its upstream gradient dy (see SoftmaxBackwardOutputs.swift),
    /// or nil when the MPFR path must answer. `refine` false (for tests): an output that does not
    /// certify in double words declines the row.
    static func softmaxBackward(_ x: UnsafeBufferPointer<Double>, _ dy: UnsafeBufferPointer<Double>, _ format: Format,
                                threads: Int, refine: Bool = true) -> [OracleValue]? {
        let n = x.count
        guard n > 0, dy.count == n, let scan = sumScan(x, threads: threads) else { return nil }
        var largest: UInt64 = 0
        for t in dy { largest = Swift.max(largest, t.bitPattern & 0x7FFF_FFFF_FFFF_FFFF) }
        let maxGrad = Double(bitPattern: largest)
        guard maxGrad >= 0x1p-900 && maxGrad <= 0x1p900 else { return nil }
        return withOutputs(count: n) { slots in
            let store = ExpStore(slots: slots)
            guard let row = rowSum(x, threads: threads, store: store, compact: false, scan: scan),
                  let t = weightedTotal(x, dy, store, maxIndex: row.maxIndex, top: binade(maxGrad) + 2) else { return false }
            let (inverse, epsInverse) = inverseOfSum(row)
            let outputs = SoftmaxBackwardOutputs(x: x, dy: dy, store: store, row: row, inverse: inverse, epsInverse: epsInverse,
                                                 weighted: t, maxGrad: maxGrad, marked: refine, certifier: DoubleWordCertifier(format))
            return fillRefining(slots, count: n, threads: threads, outputs, limit: refinedLimit(n)) {
                RefinedOutputs(.softmaxBackward, x: x, targets: dy, maxIndex: row.maxIndex, format: format)
            }
        }
    }

    /// T̂ = Σ_j ê_j·dy_j from the stored exponentials (e = 1 at `maxIndex`), the sum V of the
    /// file's notes converted (relative error `FixedPointSum.conversionError` against V; 0 when
    /// V = 0); nil when a finite logit has no stored exponential. 2^top > 2·max|dy_j|.
    static func weightedTotal(_ x: UnsafeBufferPointer<Double>, _ dy: UnsafeBufferPointer<Double>, _ store: ExpStore,
                              maxIndex: Int, top: Int) -> ScaledDoubleWord? {
        func accumulate(_ sign: Double) -> FixedPointSum? {
            var sum = FixedPointSum()
            for j in 0..<x.count where x[j] > -.infinity {
                let g = sign * dy[j]
                if j == maxIndex {
                    sum.add(g, scale: -top)
                    continue
                }
                let e = store.load(j)
                guard e.k != Int32.min else { return nil }
                let scale = Int(e.k) - top
                let p = twoProduct(e.hi, g)
                sum.add(p.hi, scale: scale)
                sum.add(p.lo, scale: scale)
                sum.add(e.lo * g, scale: scale)
            }
            return sum
        }
        guard let w = accumulate(1) else { return nil }
        if let v = w.value() { return ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + top) }
        guard let v = accumulate(-1)!.value() else { return .zero }  // W = 0
        return ScaledDoubleWord(hi: -v.hi, lo: -v.lo, exponent: v.exponent + top)
    }
}

/// softmax_backward_i = ŷ_i ⊗ (dy_i − D̂) with the bound of SoftmaxBackwardOutputs.swift.
struct SoftmaxBackwardOutputs: RowOutputs {
    let x: UnsafeBufferPointer<Double>, dy: UnsafeBufferPointer<Double>
    let store: DoubleWordTier.ExpStore
    let maxIndex: Int
    let inverse: ScaledDoubleWord
    /// D̂ = T̂ ⊗ (1/Ŝ) and the magnitude bound |D̂| <= dMagnitude.
    let mean: ScaledDoubleWord, meanMagnitude: Double
    /// E_D (absolute), and ε_y.
    let meanError: Double, epsY: Double
    let marked: Bool
    let zero: OracleValue
    let certifier: DoubleWordCertifier

    init(x: UnsafeBufferPointer<Double>, dy: UnsafeBufferPointer<Double>, store: DoubleWordTier.ExpStore,
         row: DoubleWordTier.RowSum, inverse: DoubleWord, epsInverse: Double, weighted: ScaledDoubleWord,
         maxGrad: Double, marked: Bool, certifier: DoubleWordCertifier) {
        let u2 = unitRoundoffSquared
        (self.x, self.dy, self.store, maxIndex, self.marked, self.certifier) = (x, dy, store, row.maxIndex, marked, certifier)
        self.inverse = ScaledDoubleWord(inverse)
        mean = (weighted * self.inverse).normalized()
        // |D̂| <= |hi|(1 + 2^-52)·2^exponent; below binary64's range, under 2^-1070.
        meanMagnitude = mean.isZero ? 0 : scaled(mean.hi.magnitude * (1 + 0x1p-50), by: mean.exponent) + 0x1p-1070
        let n = Double(x.count)
        let epsE = DoubleWordExp.relativeError
        meanError = roundedUp((maxGrad * (epsE + epsInverse + 0x1.07p-106 + 3.01 * n * 0x1p-124)
                               + meanMagnitude * (FixedPointSum.conversionError + 8.2 * u2)) * (1 + 0x1p-40))
        epsY = roundedUp(epsE + epsInverse + 8.1 * u2)
        zero = OracleValue(rounded: certifier.format.round(0.0), exact: ExactValue(0.0))
    }

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        if x[i] == -.infinity { return zero }  // y_i = 0: +0 exactly, as on the MPFR path
        guard let (z, rho) = enclosure(i) else { return marked ? MarkedGradientOutputs.mark : nil }
        // N_i's enclosure holds 0: perhaps an exact zero (a constant dy, say), which no
        // enclosure certifies; the MPFR path proves those, and refining the row first cost
        // more than the MPFR path itself on such rows.
        if rho.isInfinite { return nil }
        if let v = certifier.certify(z, relativeError: rho), !v.rounded.isNaN { return v }
        return marked ? MarkedGradientOutputs.mark : nil
    }

    /// ẑ_i and ρ with |ẑ_i − softmax_backward_i| <= ρ·|ẑ_i| (see the file's notes); ρ = +inf
    /// (and ẑ_i = 0) when N_i's enclosure holds 0; nil when it does not but ρ_N > 2^-30.
    @inline(__always)
    func enclosure(_ i: Int) -> (ScaledDoubleWord, Double)? {
        let u2 = unitRoundoffSquared
        let g = ScaledDoubleWord(dy[i])
        let difference = (g - mean).normalized()
        guard difference.hi != 0 else { return (.zero, .infinity) }
        let errorN = meanError + (3.1 * u2 + 0x1p-997) * (dy[i].magnitude + meanMagnitude)
        let nLow = scaled(difference.hi.magnitude, by: difference.exponent) * (1 - 0x1p-50)  // <= |N̂|
        // |N̂| below 2^-1022 <= errorN (>= max|dy|·2^-101 >= 2^-1001): the enclosure holds 0.
        guard nLow.isNormal else { return (.zero, .infinity) }
        let rhoN = roundedUp(errorN / nLow)
        if rhoN >= 1 { return (.zero, .infinity) }
        guard rhoN <= 0x1p-30 else { return nil }
        var y = inverse
        if i != maxIndex {
            let e = store.load(i)  // read before slot i is overwritten with output i
            guard e.k != Int32.min else { return nil }
            y = (ScaledDoubleWord(DoubleWord(e.hi, e.lo), exponent: Int(e.k)) * inverse).normalized()
        }
        let z = (y * difference).normalized()
        return (z, roundedUp(8.2 * u2 + (epsY + rhoN) * (1 + 0x1p-90)))
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}
