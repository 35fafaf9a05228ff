import DoubleWordArithmetic
import ParallelExecution

// cross_entropy_grad with probability targets p (no class weights, no smoothing) on the
// double-word tier (notation: ErrorFreeTransforms.swift, u = 2^-53). With r_c = p_c and P = Σ p_c,
// the MPFR path's (e_c·A_c − p_c·B_c)/S (CrossEntropy.swift) is, as B_c = S − e_c and
// A_c = P − p_c,
//
//     grad_c = e_c·P/S − p_c,
//
// a product q_c = e_c ⊗ (P/S) and the exact input p_c: the only error is q_c's, relative to q_c,
// so where the two cancel (the gradient is small) the bound is as small as it can be. Where
// cancellation still leaves the enclosure too wide, those outputs alone are recomputed in MPFR
// (RefinedProbabilityGradient.swift).

extension DoubleWordTier {
    /// P = Σ p_c exactly in a `FixedPointSum` relative to 2^top (top > every p_c's binade), as a
    /// normalized ScaledDoubleWord with its relative error: n truncations below 2^(top−126)
    /// against P >= 2^(top−1), and the conversion's 2^-104.9. Nil when every p_c is 0, or some
    /// p_c is subnormal (zeros and normal numbers only, as in `crossEntropy(probabilities:)`).
    /// Rows of `parallelThreshold` targets or more run on 2·threads chunks (a max, and exact
    /// sums: the same result).
    ///
    /// The first pass also adds the positive p_c in binary64 on four lanes, each addition checked
    /// by TwoSum: when every error is 0 (targets such as j/16, whose bits all fit in 53 below P's
    /// top) that sum is P exactly, and the fixed-point pass is skipped. It gives the same
    /// result: every p_c's bits then lie at or above 2^(binade(P) − 52) > 2^(top − 126), so the
    /// fixed-point sum truncates nothing and converts P (53 bits) to (P, +0) exactly.
    static func probabilityTotal(_ p: UnsafeBufferPointer<Double>, threads: Int = 1) -> (ScaledDoubleWord, Double)? {
        probabilitySum(p, threads: threads).map { ($0.total, $0.error) }
    }

    /// `probabilityTotal`, and P itself as a binary64 number when the first pass found it
    /// exact (every TwoSum error 0: `exact` is then P exactly, and `total` is (P, +0)
    /// normalized), else `exact` nil.
    static func probabilitySum(_ p: UnsafeBufferPointer<Double>, threads: Int = 1) -> (total: ScaledDoubleWord, error: Double, exact: Double?)? {
        let split = StageSplit(threads: threads, count: p.count)
        // top: the largest positive p_c's bit pattern (positive doubles order as their patterns),
        // four at a time; a positive p_c that is not normal (exponent field 0 or 0x7FF) declines.
        // NaN and negative entries take no part, as nothing else here reads them.
        let tops = split.run(count: p.count) { range -> (top: Int, sum: Double, exact: Bool)? in
            // On integer lanes, without a mask kept across iterations (those compiled to mask
            // conversions that cost most of the pass): the bit pattern b of a p_c read as an
            // unsigned number is at most +inf's exactly when p_c is +0 or positive (negatives have
            // the sign bit, NaNs a larger pattern), so c = (b <= +inf's pattern ? b : 0) is the
            // positive p_c's pattern and 0 for every other p_c, and Double(bitPattern: c) the
            // addend (p_c or +0). The positive ones that are not normal: c = +inf's pattern (the
            // largest c), or 0 < c < 2^52 (c − 1 < 2^52 − 1 unsigned, with 0 − 1 wrapping to the
            // largest number): tracked as the largest c and the least c − 1. A TwoSum error is
            // nonzero (or NaN) exactly when its bits without the sign are.
            typealias Bits = SIMD4<UInt64>
            let infinityBits = Bits(repeating: 0x7FF0_0000_0000_0000), magnitudeMask = Bits(repeating: 0x7FFF_FFFF_FFFF_FFFF)
            var largest = Bits(repeating: 0), lowest = Bits(repeating: .max), errors = Bits(repeating: 0)
            var sum = SIMD4<Double>(repeating: 0)
            @inline(__always) func take(_ v: SIMD4<Double>) {
                let b = unsafeBitCast(v, to: Bits.self)
                let c = b.replacing(with: 0, where: b .> infinityBits)
                largest = largest.replacing(with: c, where: c .> largest)  // pointwiseMax, inlined
                let below = c &- 1
                lowest = lowest.replacing(with: below, where: below .< lowest)
                let (total, error) = twoSum(sum, unsafeBitCast(c, to: SIMD4<Double>.self))
                errors |= unsafeBitCast(error, to: Bits.self) & magnitudeMask
                sum = total
            }
            var c = range.lowerBound
            while c + 4 <= range.upperBound {
                take(UnsafeRawPointer(p.baseAddress! + c).loadUnaligned(as: SIMD4<Double>.self))
                c += 4
            }
            var tail = SIMD4<Double>(repeating: 0)
            for j in c..<range.upperBound { tail[j - c] = p[j] }
            take(tail)
            let best = largest.max()
            guard best != 0x7FF0_0000_0000_0000, lowest.min() >= 0x000F_FFFF_FFFF_FFFF else { return nil }
            let a = twoSum(sum[0], sum[1]), b = twoSum(sum[2], sum[3]), t = twoSum(a.hi, b.hi)
            return (best > 0 ? binade(Double(bitPattern: best)) + 1 : Int.min, t.hi,
                    errors == Bits(repeating: 0) && a.lo == 0 && b.lo == 0 && t.lo == 0)
        }
        guard !tops.contains(where: { $0 == nil }), let top = tops.map({ $0!.top }).max(), top > Int.min else { return nil }
        let eps = roundedUp(Double(p.count) * 0x1p-125 + FixedPointSum.conversionError * 1.0001)
        var exact = tops.allSatisfy { $0!.exact }, total = 0.0
        for part in tops where exact {
            let t = twoSum(total, part!.sum)
            (total, exact) = (t.hi, t.lo == 0)
        }
        if exact { return (ScaledDoubleWord(total).normalized(), eps, total) }
        // Each positive p_c added (others as 0, which adds nothing), alternately into two
        // accumulators (independent carry chains; the sums are exact, so the split changes nothing).
        let sums = split.run(count: p.count) { range -> FixedPointSum in
            var even = FixedPointSum(), odd = FixedPointSum()
            var c = range.lowerBound
            while c + 2 <= range.upperBound {
                even.addNonNegative(p[c] > 0 ? p[c] : 0, scale: -top)
                odd.addNonNegative(p[c + 1] > 0 ? p[c + 1] : 0, scale: -top)
                c += 2
            }
            if c < range.upperBound { even.addNonNegative(p[c] > 0 ? p[c] : 0, scale: -top) }
            return even + odd
        }
        var sum = FixedPointSum()
        for part in sums { sum = sum + part }
        guard let t = sum.value() else { return nil }
        return (ScaledDoubleWord(hi: t.hi, lo: t.lo, exponent: t.exponent + top).normalized(), eps, nil)
    }
}

/// grad_c for probability targets (see ProbabilityGradient.swift), from softmax's stored
/// exponentials, 1/Ŝ and P̂.
struct ProbabilityGradientOutputs: RowOutputs {
    let x: UnsafeBufferPointer<Double>, p: UnsafeBufferPointer<Double>
    let store: DoubleWordTier.ExpStore
    let maxIndex: Int
    /// P/S = P̂ ⊗ (1/Ŝ) (normalized) and its relative error.
    let ratio: ScaledDoubleWord, epsRatio: Double
    /// The relative error of q_c = ê_c ⊗ (P/S) off the maximum.
    let epsQ: Double
    let certifier: DoubleWordCertifier

    /// The outputs for the row's sum, 1/Ŝ (relative error εInv) and P̂ (relative error εP).
    /// P/S: εP + εInv + 8.1u² (`ScaledDoubleWord`'s product); q_c: that, the exponential's bound
    /// εe and another 8.1u² (q_M = P/S itself: e_M = 1 exactly). The products of these small
    /// bounds lie below `roundedUp`'s 2^-40 margin.
    init(x: UnsafeBufferPointer<Double>, p: UnsafeBufferPointer<Double>, store: DoubleWordTier.ExpStore,
         row: DoubleWordTier.RowSum, inverse: DoubleWord, epsInverse: Double, total: ScaledDoubleWord, epsTotal: Double,
         certifier: DoubleWordCertifier) {
        let u2 = unitRoundoffSquared
        (self.x, self.p, self.store, maxIndex) = (x, p, store, row.maxIndex)
        ratio = (total * ScaledDoubleWord(inverse)).normalized()
        epsRatio = roundedUp(epsTotal + epsInverse + 8.1 * u2)
        epsQ = roundedUp((row.compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError) + epsRatio + 8.1 * u2)
        self.certifier = certifier
    }

    /// The enclosure of grad_c = q_c − p_c: (hi + lo)·2^scale within error·2^scale, or nil (an
    /// omitted exponential, or a zero difference).
    ///
    /// Bound: |q̂_c − q_c| <= εq·|q̂_c|(1 + 2^-49); the any-sign sum (`ScaledDoubleWord`'s)
    /// adds 3.1u²(|q̂_c| + p_c), or 2^-997 of the larger operand when it drops the other. In units
    /// of 2^E, E = max(exp q̂, exp p_c) + 1 (every |hi| < 2: both operands < 2^E), then brought to
    /// the result's exponent (nil when cancellation leaves a shift of 900 or more).
    func enclosure(_ i: Int) -> (hi: Double, lo: Double, scale: Int, error: Double)? {
        var q = ratio, eps = epsRatio
        if i != maxIndex {
            let e = store.load(i)
            guard e.k != Int32.min else { return nil }
            q = ScaledDoubleWord(DoubleWord(e.hi, e.lo), exponent: Int(e.k)) * ratio
            eps = epsQ
        }
        return Self.difference(q, eps, p[i])
    }

    /// q − p for q̂ with relative bound eps and an exact double p (see `enclosure`).
    static func difference(_ q: ScaledDoubleWord, _ eps: Double, _ p: Double) -> (hi: Double, lo: Double, scale: Int, error: Double)? {
        let u2 = unitRoundoffSquared
        let pc = ScaledDoubleWord(p)
        let result = (q - pc).normalized()
        guard result.hi != 0 else { return nil }
        let e0 = Swift.max(q.exponent, pc.hi == 0 ? q.exponent : pc.exponent) + 1
        // |q̂| and p_c in units of 2^E (a part more than 2^1000 below counts as 2^-1000).
        func inUnits(_ v: ScaledDoubleWord) -> Double {
            v.hi == 0 ? 0 : v.exponent - e0 < -1000 ? 0x1p-1000 : scaled(v.hi.magnitude * (1 + 0x1p-49), by: v.exponent - e0)
        }
        let qUnits = inUnits(q)
        let units = roundedUp((qUnits * eps + 3.1 * u2 * (qUnits + inUnits(pc)) + 0x1p-996 + 0x1p-1060) * (1 + 0x1p-40))
        let shift = e0 - result.exponent
        guard shift < 900 else { return nil }
        return (result.hi, result.lo, result.exponent, roundedUp(scaled(units, by: shift)) + 0x1p-1070)
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
