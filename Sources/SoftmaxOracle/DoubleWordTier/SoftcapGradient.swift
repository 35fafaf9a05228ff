import DoubleWordArithmetic
import ParallelExecution

// cross_entropy_grad with `softcap` c on the double-word tier (hard target, no temperature, no
// z_loss; SoftcapLoss.swift has the row; u = 2^-53). The MPFR path's chain rule
// (`TransformedRow.chain`): ∂z_j/∂x_j = 4E_j/(1 + E_j)², E_j = e^(−2|a_j|), so
//
//     grad_j = 4E_j/(1 + E_j)² · (softmax_j − [j = t]),   softmax_t − 1 = −B_t/S,
//
// B_t = s at the maximum and 1 + (s − e_t) elsewhere (>= max(1, s): no cancellation). Every
// output is a product, certified with its relative bound.

extension DoubleWordTier {
    /// The gradient's outputs, or nil (the MPFR path). Domain: `softcapCrossEntropy`'s. `threads`:
    /// the row's sum (`softcapSum`), P, the outputs (chunks of indices; the ones to refine are
    /// taken afterwards, in order, on the caller's thread) and the refined outputs' row
    /// (`RefinedSoftcapGradient`), each independent of the split.
    ///
    /// Bounds (relative). a_j = x_j ⊘ c: exact when c is a power of two (no underflow in the
    /// domain), else 14.1u²; E_j: 2^-101 and 2|a_j| times that. The chain factor: E ↦ 4E/(1 + E)²
    /// has relative condition |1 − 2E/(1 + E)| <= 1; 1 + E (`DoubleWord.sum`, 2.01u²) errs by
    /// εE·min(E, 1) + 3.1u² + 2^-996, twice in the square; the square 8.1u², the quotient 14u²
    /// (for Ê = m·2^k, k < −110: 4Ê, εE and 2^(k+2) >= 2E, `softcapChain`). The kept e_j's
    /// bounds are `SoftcapSum.termBound`'s (0 at ties, 2^-110 for saturated x_j > 0, a computed
    /// term's own).
    /// 1/S: S = 1 + ŝ (εS·s/S + 3.1u² + 2^-996), the quotient 14u², |1/Ŝ − 1/S| <=
    /// (εS'(1 + 2εS') + 14u²)/S. softmax_j = e_j ⊗ (1/Ŝ) (e_j's bound εe), 8.1u²; B_t: (εS + εe +
    /// 6.3u²)(1 + 2^-50) + 2^-996 + 3.1u² (as `othersSum`). The output's product: 8.1u². An
    /// omitted e_j (< e^(−2^20)): softmax_j is tiny (+0, `tinyOutput`), B_t = 1 + s − tiny.
    ///
    /// Probability targets p (`probabilities`): softmax_j − p_j = e_j·P/S − p_j (as in
    /// ProbabilityGradient.swift: q_j = ê_j ⊗ (P̂ ⊗ 1/Ŝ), εq = εe + εP + εInv + 2·8.1u², minus the
    /// exact p_j, `ProbabilityGradientOutputs.difference`), then times the chain factor (its
    /// bound, and 8.1u²). An omitted e_j: −p_j·(1 − 0⁺) (relative 2^-996), or tiny for p_j = 0.
    ///
    /// The row's terms are kept in the output array's slots (`ExpStore`), each read by its own
    /// output before that output overwrites it: no second array of n terms.
    static func softcapGradient(_ x: UnsafeBufferPointer<Double>, target t: Int, softcap c: Double,
                                _ format: Format, probabilities p: UnsafeBufferPointer<Double>? = nil,
                                threads: Int = 1) -> [OracleValue]? {
        guard x.count >= 2 else { return nil }  // `softcapSum`'s own condition, before the array
        return withOutputs(count: x.count) { base in
            if let p, let answered = fixedPointSoftcapGradient(into: base, x, p, softcap: c, format, threads: threads) { return answered }
            guard let row = softcapSum(x, target: p == nil ? t : -1, softcap: c, threads: threads, keepingTerms: true,
                                       store: ExpStore(slots: base)) else { return false }
            return softcapGradient(into: base, row, x, target: t, softcap: c, format, probabilities: p, threads: threads)
        }
    }

    /// `softcapGradient`'s outputs into base[0 ..< n] from the row's sum (false: the MPFR path).
    private static func softcapGradient(into base: UnsafeMutablePointer<OracleValue>, _ row: SoftcapSum,
                                        _ x: UnsafeBufferPointer<Double>, target t: Int, softcap c: Double,
                                        _ format: Format, probabilities p: UnsafeBufferPointer<Double>?, threads: Int) -> Bool {
        let u2 = unitRoundoffSquared
        let tab = DoubleWordExpTable.shared
        let certifier = DoubleWordCertifier(format)
        let bigS = (ScaledDoubleWord.one + row.s).normalized()
        let epsSum = roundedUp(row.epsS + 3.1 * u2 + 0x1p-996)
        let inverse = (ScaledDoubleWord.one / bigS).normalized()
        let epsInverse = roundedUp(epsSum * (1 + 2 * epsSum) + 14 * u2)
        let epsA = softcapQuotientError(c)
        let cw = DoubleWord(c, 0)
        // The outputs whose cancelling difference is too wide, in MPFR (RefinedProbabilityGradient.swift).
        var ratioAndBound = (ScaledDoubleWord.zero, 0.0)
        var exactTotal: Double?
        if let p {
            guard p.count == x.count, let (total, epsTotal, exact) = probabilitySum(p, threads: threads) else { return false }
            ratioAndBound = ((total * inverse).normalized(), roundedUp(epsTotal + epsInverse + 8.1 * u2))
            exactTotal = exact
        }
        let refined = p.map { RefinedSoftcapGradient(x: x, p: $0, softcap: c, format: format, threads: threads, exactTotal: exactTotal) }
        let (ratio, epsRatio) = ratioAndBound
        // Output j: certified, or `refine` (the refined row's, taken afterwards on this thread:
        // RefinedSoftcapGradient keeps its row), or neither (the request goes to the MPFR path).
        func single(_ j: Int) -> (value: OracleValue?, refine: Bool) {
            let (chain, epsChain) = softcapChain(x[j], cw, epsA: epsA, tab)
            var factor: ScaledDoubleWord, epsFactor: Double, negative = false
            if let p {
                let pj = p[j]
                guard let ej = j == row.maxIndex ? (DoubleWord(1, 0), 0) : row.exp(j) else {
                    if pj == 0 { return (tinyOutput(negative: false, exponent: ElementwiseOutputs.tinyExponent, format), false) }
                    let v = (chain * ScaledDoubleWord(-pj)).normalized()
                    return (certifier.certify(v, relativeError: roundedUp(epsChain + 8.1 * u2 + 0x1p-996)), false)
                }
                let q = (ScaledDoubleWord(ej.m, exponent: ej.k) * ratio).normalized()
                let epsQ = roundedUp(row.termBound(x[j], at: j) + epsRatio + 8.1 * u2)
                guard let d = ProbabilityGradientOutputs.difference(q, epsQ, pj) else { return (nil, true) }
                let diff = ScaledDoubleWord(hi: d.hi, lo: d.lo, exponent: d.scale)
                let epsDiff = roundedUp(d.error / (d.hi.magnitude * (1 - 0x1p-50)))
                let v = (chain * diff).normalized()
                guard epsDiff < 0x1p-60, let r = certifier.certify(v, relativeError: roundedUp(epsDiff + epsChain + 8.1 * u2)) else {
                    return (nil, true)
                }
                return (r, false)
            }
            if j == t {
                negative = true
                if j == row.maxIndex {
                    (factor, epsFactor) = (row.s, row.epsS)
                } else {
                    let et = row.exp(j).map { ScaledDoubleWord($0.m, exponent: $0.k) } ?? .zero
                    factor = (ScaledDoubleWord.one + (row.s - et)).normalized()
                    epsFactor = roundedUp((row.epsS + row.termBound(x[j], at: j) + 6.3 * u2) * (1 + 0x1p-50) + 0x1p-996 + 3.1 * u2)
                }
            } else if let ej = row.exp(j) {
                (factor, epsFactor) = (ScaledDoubleWord(ej.m, exponent: ej.k), row.termBound(x[j], at: j))
            } else {
                return (tinyOutput(negative: false, exponent: ElementwiseOutputs.tinyExponent, format), false)
            }
            let v = (chain * factor * inverse).normalized()
            let eps = roundedUp(epsChain + epsFactor + epsInverse + 2 * 8.1 * u2)
            return (certifier.certify(negative ? -v : v, relativeError: eps), false)
        }
        // Rows of `parallelThreshold` logits or more: 2·threads chunks, each output computed alone.
        let n = x.count
        let split = StageSplit(threads: threads, count: n)
        let out = UncheckedSendable(value: base)  // each chunk writes its own indices
        let parts = split.run(count: n) { range -> (ok: Bool, refine: [Int]) in
            var refine: [Int] = []
            for j in range {
                let (value, later) = single(j)
                if let value {
                    (out.value + j).initialize(to: value)
                } else if later && refined != nil {
                    refine.append(j)
                } else {
                    return (false, [])
                }
            }
            return (true, refine)
        }
        guard parts.allSatisfy(\.ok), let refined else { return parts.allSatisfy(\.ok) }
        // The refined outputs: first from the fixed-point row (its row made once, here; then
        // each output alone, pure, by chunks), the rest in order on this thread (the MPFR rows
        // are kept by `refined`). The same outputs on any split.
        let indices = parts.flatMap(\.refine)
        if indices.isEmpty { return true }
        _ = refined.scaledRatio()
        let refineSplit = StageSplit(threads: threads, count: indices.count, minimum: 256)
        let left = indices.withUnsafeBufferPointer { indices in
            refineSplit.run(count: indices.count) { range -> [Int] in
                var left: [Int] = []
                for i in range {
                    let j = indices[i]
                    if let r = refined.fixedOutput(j, chain: softcapChain(x[j], cw, epsA: epsA, tab)) {
                        (out.value + j).initialize(to: r)
                    } else {
                        left.append(j)
                    }
                }
                return left
            }
        }
        for j in left.joined() {
            guard let r = refined.output(j, chain: softcapChain(x[j], cw, epsA: epsA, tab)) else { return false }
            (out.value + j).initialize(to: r)
        }
        return true
    }

    /// Probability targets and c = 2^s, 2^-400 <= c <= 2: every output from the fixed-point row
    /// (SoftcapFixedPoint.swift), as `RefinedSoftcapGradient.fixedOutput` gives the refined ones
    /// of `softcapGradient`: ê_j·R − p_j in Q4.124 with an absolute bound (ê_j within
    /// (6.6 + 28.4c)·2^-124, R = P/S from the row's exact sum at 128 bits), times the chain
    /// factor (`softcapChain`, exact quotient), certified by the tier's certifier; the outputs it
    /// leaves (|ê_j·R − p_j| below 2^-60 of its scale, or uncertified) from the MPFR terms
    /// (`RefinedSoftcapGradient.output`), in index order on this thread. One pass of fixed-point
    /// terms instead of the double-word row (`softcapSum`) and, for the outputs that cancel, the
    /// fixed-point row made again: on a softcap_saturation row (c = 1, K = 10^5) about 1/60 of the
    /// outputs cancel too far for the double words, and one is enough to need the row. The
    /// terms are kept in the output array's slots (`FixedTermStore`) until their outputs
    /// overwrite them.
    ///
    /// Nil (the caller's double-word path) outside that domain or `softcapSum`'s domain for the
    /// logits (the chain factor's quotient and exponential need it: x_j = 0 or 2^-900·max(1, c)
    /// <= |x_j| < 2^18·c), or when the row or R is not made; false (the MPFR path) when P is not
    /// summed (`probabilitySum`: the double-word path's condition) or an output is not certified.
    private static func fixedPointSoftcapGradient(into base: UnsafeMutablePointer<OracleValue>, _ x: UnsafeBufferPointer<Double>,
                                                  _ p: UnsafeBufferPointer<Double>, softcap c: Double, _ format: Format,
                                                  threads: Int) -> Bool? {
        let n = x.count
        guard n >= 2, p.count == n, c.isNormal, c.significandBitPattern == 0, c >= 0x1p-400, c <= 2 else { return nil }
        guard let (_, _, exactTotal) = probabilitySum(p, threads: threads) else { return false }
        let store = FixedTermStore(slots: base)
        guard let row = SoftcapFixedRow(x, softcap: c, threads: threads, store: store),
              row.largestMagnitude < 0x1p18 * c, row.smallestMagnitude >= 0x1p-900 * Swift.max(1, c) else { return nil }
        let refined = RefinedSoftcapGradient(x: x, p: p, softcap: c, format: format, threads: threads, exactTotal: exactTotal, fixedRow: row)
        guard let (_, m, k, errR) = refined.scaledRatio() else { return nil }
        let tab = DoubleWordExpTable.shared
        let certifier = DoubleWordCertifier(format)
        let cw = DoubleWord(c, 0), xMax = row.xMax, termError = row.termError
        let split = StageSplit(threads: threads, count: n)
        let out = UncheckedSendable(value: base)  // each chunk writes its own indices
        let left = split.run(count: n) { range -> [Int] in
            var left: [Int] = []
            for j in range {
                let v = x[j]
                let term = (store.load(j), v == xMax ? 0 : termError)  // `row.term(v)`
                let chain = softcapChain(v, cw, epsA: 0, tab)
                if let r = RefinedSoftcapGradient.fixedOutput(target: p[j], term: term, ratio: (m, k, errR), chain: chain, certifier) {
                    (out.value + j).initialize(to: r)
                } else {
                    left.append(j)
                }
            }
            return left
        }
        for j in left.joined() {
            guard let r = refined.output(j, chain: softcapChain(x[j], cw, epsA: 0, tab)) else { return false }
            (out.value + j).initialize(to: r)
        }
        return true
    }

    /// The relative bound of a_j = x_j ⊘ c (`softcapGradient`'s notes): 0 when c is a power of two.
    static func softcapQuotientError(_ c: Double) -> Double { c.significandBitPattern == 0 ? 0 : 14.1 * unitRoundoffSquared }

    /// The chain factor 4E/(1 + E)², E = e^(−2|x/c|), as a normalized ScaledDoubleWord with its
    /// relative bound (`softcapGradient`'s notes; cw = c, epsA = `softcapQuotientError(c)`).
    @inline(__always)
    static func softcapChain(_ x: Double, _ cw: DoubleWord, epsA: Double, _ tab: DoubleWordExpTable) -> (ScaledDoubleWord, Double) {
        let u2 = unitRoundoffSquared
        // For c a power of two (epsA = 0) the quotient is x/c exactly: `DoubleWord.quotient`'s
        // residuals are then 0 and it gives (x/c, 0) (up to the sign of a zero, which nothing
        // below reads), without its division and product.
        let a = epsA == 0 ? DoubleWord(x / cw.hi, 0) : DoubleWord.quotient(DoubleWord(x, 0), cw)
        let e = DoubleWordExp.exp(-2 * a.hi.magnitude, a.hi < 0 ? 2 * a.lo : -2 * a.lo, tab)
        let epsBig = roundedUp(DoubleWordExp.relativeError + 2 * a.hi.magnitude * (1 + 0x1p-50) * epsA)
        if e.k < -110 {
            // E < 2^(k+1) <= 2^-110: 4E/(1 + E)² = 4E·(1 + E)^-2, (1 + E)^-2 ∈ [1 − 2E, 1], so
            // 4Ê errs by εE and 2E <= 2^(k+2) more (4Ê is exact).
            return (ScaledDoubleWord(e.m, exponent: e.k + 2), roundedUp(epsBig + powerOfTwo(Swift.max(e.k + 2, -1000)) + 0x1p-1000))
        }
        // E ∈ [2^-111, 1] (k in [−110, 0]): plain double words, inlined. E·2^k is exact but for
        // a low part below 2^-912 (at most 2^-1075 lost, under 2^-960·E: inside the second
        // 8.1u², which 4E, exact, does not need); 1 + E by `DoubleWord.sum` (2.01u² <= 3.1u²),
        // the square 8.1u², the quotient 14u².
        let plain = DoubleWord(scaled(e.m.hi, by: e.k), scaled(e.m.lo, by: e.k))
        let onePlus = DoubleWord.sum(plain, 1)
        let epsOnePlus = epsBig * (e.k < 0 ? powerOfTwo(Swift.max(e.k + 1, -1000)) : 1) + 3.1 * u2 + 0x1p-996
        let chain = DoubleWord.quotient(DoubleWord(4 * plain.hi, 4 * plain.lo), DoubleWord.product(onePlus, onePlus))
        return (ScaledDoubleWord(chain).normalized(), roundedUp(epsBig + 2 * epsOnePlus + 8.1 * u2 + 14 * u2 + 8.1 * u2))
    }
}
