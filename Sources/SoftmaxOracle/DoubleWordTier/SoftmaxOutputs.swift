import DoubleWordArithmetic
// softmax on the double-word tier: every output from the row's stored exponentials and 1/(1 + s).

extension DoubleWordTier {
    /// 1/S for S = 1 + ŝ with its relative error bound (softmax's, the outputs built on softmax's,
    /// and sigmoid's 1/(1 + e^(−|x|))), from ŝ with |ŝ − s| <= εs·s: S = `DoubleWord.sum`(ŝ, 1)
    /// (2.01u²; ŝ's error scaled by ŝ/S; 2^-1074 for an underflowing low part; S = 1 with error s
    /// when s < 2^-1000), then `DoubleWord.quotient` (14u²): |1/Ŝ − 1/S| <= (εS(1 + 2εS) + 14u²)/S.
    @inline(__always)
    static func inverseOfOnePlus(_ s: ScaledDoubleWord, relativeError epsS: Double) -> (DoubleWord, Double) {
        var sum = DoubleWord(1, 0)
        var epsSum = Double(sign: .plus, exponent: s.exponent + 1, significand: 1) + 0x1p-1074
        if s.exponent >= -1000 {
            let plain = DoubleWord(scaled(s.hi, by: s.exponent), scaled(s.lo, by: s.exponent))
            sum = DoubleWord.sum(plain, 1.0)
            epsSum = epsS * (plain.hi / sum.hi) * 1.0001 + 2.01 * unitRoundoffSquared + 0x1p-1074
        }
        return (DoubleWord.quotient(DoubleWord(1, 0), sum), roundedUp(epsSum * (1 + 2 * epsSum) + 14 * unitRoundoffSquared))
    }

    /// 1/(1 + ŝ) of a row's sum, with its relative error bound (`inverseOfOnePlus`).
    static func inverseOfSum(_ row: RowSum) -> (DoubleWord, Double) { inverseOfOnePlus(row.s, relativeError: row.epsS) }

    /// softmax_i = 2^(k_i)·M_i ⊗ (1/S), S = 1 + s.
    ///
    /// S = DoubleWord.sameSignSum(ŝ, 1) (2.01u²) has relative error epsS·s/S + 2.01u² (+2^-1074 when ŝ's
    /// low part underflows; when s < 2^-1000, S = 1 with error s). 1/S: `DoubleWord.quotient`, 14u², so
    /// |1/Ŝ − 1/S| <= (ε_S(1 + 2ε_S) + 14u²)/S. Each output adds the exponential's 2^-101 and
    /// one `DoubleWord.product` (8.1u²); the products of these small relative errors are covered by
    /// `roundedUp`. At the maximum the output is 1/S itself.
    ///
    /// `gradientTarget` t: cross_entropy_grad with the hard target t instead (no class weights, no
    /// smoothing): softmax_c for c ≠ t, and output t replaced by `targetGradient`.
    /// `probabilities` p: cross_entropy_grad with probability targets instead
    /// (`ProbabilityGradientOutputs`).
    /// `scan`: the row's `sumScan` when the caller has it. The row is scanned before the output
    /// array is allocated: a row the sum declines allocates nothing (4 MB of fresh memory for
    /// 10^5 outputs, which glibc may then serve from the heap, touched as huge pages).
    static func softmax(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int,
                        gradientTarget: Int? = nil, probabilities: UnsafeBufferPointer<Double>? = nil,
                        scan known: RowScan? = nil) -> [OracleValue]? {
        let n = x.count
        guard n > 0 else { return nil }  // the MPFR path answers the empty row, as before
        guard let scan = known ?? sumScan(x, threads: threads) else { return nil }
        return withOutputs(count: n) { slots in
            let store = ExpStore(slots: slots)
            guard let row = rowSum(x, threads: threads, store: store, compact: format.precision <= 24, scan: scan) else { return false }
            let (inverse, epsInverse) = inverseOfSum(row)
            let eps = roundedUp((row.compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError) + epsInverse + 8.1 * unitRoundoffSquared)
            let certifier = DoubleWordCertifier(format)
            let outputs = SoftmaxOutputs(
                x: x, store: store, maxIndex: row.maxIndex, inverse: inverse,
                inverseError: epsInverse * inverse.hi * (1 + 0x1p-50), epsUp: eps * (1 + 0x1p-50),
                zero: OracleValue(rounded: format.round(0.0), exact: ExactValue(0.0)),
                certifier: certifier)
            if let p = probabilities {
                guard p.count == n, let (total, epsTotal) = probabilityTotal(p, threads: threads) else { return false }
                let g = ProbabilityGradientOutputs(x: x, p: p, store: store, row: row, inverse: inverse, epsInverse: epsInverse,
                                                   total: total, epsTotal: epsTotal, certifier: certifier)
                return fillProbabilityGradient(slots, count: n, threads: threads, g, compact: row.compact)
            }
            // Formats with p <= 24: the same outputs, most of them by a shorter test (NarrowSoftmaxOutputs.swift).
            let narrow = narrowOutputsApply(format, epsUp: outputs.epsUp)
            @inline(__always) func fill() -> Bool {
                narrow ? fillOutputs(slots, count: n, threads: threads, NarrowSoftmaxOutputs(outputs))
                       : fillOutputs(slots, count: n, threads: threads, outputs)
            }
            guard let t = gradientTarget else { return fill() }
            // Output t's inputs are read before the fill overwrites slot t.
            guard let g = targetGradient(x, target: t, row: row, exponential: store.load(t), inverse: inverse,
                                         epsInverse: epsInverse, certifier),
                  fill() else { return false }
            slots[t] = g
            return true
        }
    }
}

/// softmax_i from the stored exponential e^(d_i) = 2^(k_i)·M_i and 1/S (relative error epsUp
/// after the product); at the maximum 1/S itself (absolute error `inverseError`); 0 for a −inf
/// logit. Groups (`OutputLanes`) and pairs of ordinary outputs on SIMD lanes (`DoubleWord.product`, `certifyPair`: the same operations
/// and the same certification test as `single`, so the same outputs whichever way an index is
/// taken).
struct SoftmaxOutputs: RowOutputs {
    let x: UnsafeBufferPointer<Double>, store: DoubleWordTier.ExpStore, maxIndex: Int
    /// 1/S with its absolute error bound; epsUp bounds the other outputs' relative error.
    let inverse: DoubleWord, inverseError: Double, epsUp: Double
    let zero: OracleValue, certifier: DoubleWordCertifier

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        if i == maxIndex {
            return certifier.certify(inverse.hi, inverse.lo, scale: 0, error: inverseError)
        }
        if x[i] == -.infinity { return zero }
        let e = store.load(i)  // read before slot i is overwritten with output i
        // Omitted from the sum (d_i < −2^20, or x_i − m overflowed): softmax_i < e^(−2^20) <
        // 2^-1512775, a tiny number (`tinyOutput`: +0, exact value the midpoint 2^-1512776).
        if e.k == Int32.min {
            return DoubleWordTier.tinyOutput(negative: false, exponent: ElementwiseOutputs.tinyExponent, certifier.format)
        }
        let p = DoubleWord.product(DoubleWord(e.hi, e.lo), inverse)
        return certifier.certify(p.hi, p.lo, scale: Int(e.k), error: epsUp * p.hi)
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        guard i != maxIndex && i + 1 != maxIndex && x[i] > -.infinity && x[i + 1] > -.infinity else { return false }
        let a = store.load(i), b = store.load(i + 1)
        guard a.k != Int32.min && b.k != Int32.min else { return false }
        let p = DoubleWord.product(SIMD2(a.hi, b.hi), SIMD2(a.lo, b.lo), inverse)
        return certifier.certifyPair(p.hi, p.lo, scale: SIMD2(Int64(a.k), Int64(b.k)), error: p.hi * epsUp, into: out)
    }

    /// `pair` on `OutputLanes`: the same operations on every lane.
    @inline(__always)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        let width = OutputLanes.scalarCount
        guard maxIndex < i || maxIndex >= i + width else { return false }
        // A −inf logit's slot is marked absent (k = Int32.min, `SumPart.difference`), so the
        // check on k below declines it too: x need not be read.
        var h = OutputLanes(), l = OutputLanes()
        var k = OutputLanes.MaskStorage()
        for j in 0..<width {
            let e = store.load(i + j)
            h[j] = e.hi
            l[j] = e.lo
            k[j] = Int64(e.k)
        }
        guard all(k .!= Int64(Int32.min)) else { return false }
        let p = DoubleWord.product(h, l, inverse)
        return certifier.certifyLanes(p.hi, p.lo, scale: k, error: p.hi * epsUp, into: out)
    }
}
