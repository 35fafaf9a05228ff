import DoubleWordArithmetic
import ParallelExecution

// The batch loss on the double-word tier: PyTorch's CrossEntropyLoss with hard targets, no class
// weights, no label smoothing; reductions none, sum and mean.

extension DoubleWordTier {
    /// Each kept row's loss −log_softmax_t is computed as for `crossEntropy`, as a normalized
    /// ScaledDoubleWord with a relative error bound; reduction "none" certifies each; "sum" adds them
    /// exactly in a `FixedPointSum` relative to the largest binade (2^-126 per double of it,
    /// plus the conversion's 2^-104.9), with the rows' absolute errors summed alongside; "mean"
    /// divides that by the number of kept rows (an integer, exact as a double) with `DoubleWord.quotient`
    /// (14u²). All losses are >= 0, so relative bounds add. A row the double-word tier cannot take
    /// (NaN, ±inf in a kept row's target, ...) sends the whole request to the MPFR path.
    /// Long batches are split by rows over threads; the sum adds exactly, so the thread count does
    /// not change the result.
    static func batchLoss(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        guard let rows = q.batch, case .indices(let targets)? = q.batchTargets,
              q.weight == nil, q.labelSmoothing == 0, !rows.isEmpty else { return nil }
        let n = rows.count
        let k = rows[0].count
        struct RowLoss: Sendable { var value: ScaledDoubleWord; var relativeError: Double; var ignored: Bool; var ok: Bool }
        let failed = RowLoss(value: ScaledDoubleWord(hi: 0, lo: 0, exponent: 0), relativeError: 0, ignored: false, ok: false)
        let perRowThreads = (threads > 1 && n * k >= parallelThreshold && n >= 2 * threads) ? threads : 1
        let innerThreads = perRowThreads == 1 ? threads : 1
        let chunks = perRowThreads > 1 ? perRowThreads * 4 : 1
        let compact = q.format.precision <= 24
        let losses: [RowLoss] = Parallel.forEachChunk(count: n, chunks: chunks) { range -> [RowLoss] in
            range.map { i -> RowLoss in
                let t = targets[i]
                if t == q.ignoreIndex { return RowLoss(value: ScaledDoubleWord(hi: 0, lo: 0, exponent: 0), relativeError: 0, ignored: true, ok: true) }
                let x = rows[i]
                guard t >= 0 && t < x.count, x[t] != -.infinity else { return failed }
                return x.withUnsafeBufferPointer { xb -> RowLoss in
                    guard let row = rowSum(xb, threads: innerThreads, store: nil, compact: compact) else {
                        return wideRowLoss(xb, target: t, threads: innerThreads).map {
                            RowLoss(value: $0.value, relativeError: $0.relativeError, ignored: false, ok: true)
                        } ?? failed
                    }
                    guard let lp = logPart(row) else { return failed }
                    let d = t == row.maxIndex ? DoubleWord(0, 0) : twoSum(xb[t], -row.m)
                    guard d.hi.isFinite else { return failed }
                    if d.hi == 0 { return RowLoss(value: lp.value, relativeError: lp.epsL, ignored: false, ok: true) }
                    let w = DoubleWord.sameSignSum(DoubleWord(-d.hi, -d.lo), lp.plain)
                    let err = roundedUp(lp.plainAbsoluteError + 3.03 * unitRoundoffSquared * w.hi)
                    let v = ScaledDoubleWord(hi: w.hi, lo: w.lo, exponent: 0).normalized()
                    return RowLoss(value: v, relativeError: roundedUp(err / (w.hi * (1 - 0x1p-50))), ignored: false, ok: true)
                }
            }
        }.flatMap { $0 }
        guard losses.allSatisfy(\.ok) else { return nil }
        let certifier = DoubleWordCertifier(q.format)
        switch q.reduction {
        case .none:
            var out: [OracleValue] = []
            out.reserveCapacity(n)
            for r in losses {
                if r.ignored {
                    out.append(OracleValue(rounded: q.format.round(0.0), exact: ExactValue(0.0)))
                } else if r.relativeError >= 1 {
                    // A wide row's L alone, in (0, 2^(ts+1)): +0, exact value its midpoint.
                    out.append(tinyOutput(negative: false, exponent: wideRowSumExponent, q.format))
                } else {
                    guard let v = certifier.certify(r.value, relativeError: r.relativeError) else { return nil }
                    out.append(v)
                }
            }
            return out
        case .sum, .mean:
            let kept = losses.filter { !$0.ignored }
            guard !kept.isEmpty else { return nil }  // mean of nothing: NaN, the MPFR path says so
            let top = kept.map(\.value.exponent).max()! + 1  // every |loss| < 2^top
            var acc = FixedPointSum()
            var errorSum = 0.0  // in units of 2^top
            for r in kept {
                let scale = r.value.exponent - top
                acc.add(r.value.hi, scale: scale)
                acc.add(r.value.lo, scale: scale)
                errorSum += scaled(r.relativeError * 2, by: Swift.max(scale, -1060)) + 0x1p-1000
            }
            guard let v = acc.value() else { return nil }
            // Truncation: two doubles per row, < 2^-126 each (units of 2^top); the error terms'
            // own sum, rounded up (n roundings, and a 2^-1000 floor per row for underflow).
            let units = roundedUp((errorSum * (1 + Double(2 * kept.count) * unitRoundoff)
                                   + Double(2 * kept.count) * 0x1p-126) * 1.0001)
            let total = ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + top)  // hi ∈ [1, 2)
            let valueUnits = scaled(v.hi, by: v.exponent) * (1 - 0x1p-50)  // total / 2^top, from below
            let relative = roundedUp(units / valueUnits + FixedPointSum.conversionError * 1.0001)
            if q.reduction == .sum {
                return certifier.certify(total, relativeError: relative).map { [$0] }
            }
            let quotient = DoubleWord.quotient(DoubleWord(total.hi, total.lo), DoubleWord(Double(kept.count), 0))
            let mean = ScaledDoubleWord(hi: quotient.hi, lo: quotient.lo, exponent: total.exponent).normalized()
            return certifier.certify(mean, relativeError: roundedUp(relative + 14 * unitRoundoffSquared)).map { [$0] }
        }
    }

    /// The loss −log_softmax_t of a wide row (WideRow.swift) as a normalized ScaledDoubleWord
    /// with a relative error bound, or nil when x is not a wide row: at the maximum L itself,
    /// known only as the midpoint 2^ts of (0, 2^(ts+1)) (relative error 1); elsewhere
    /// (m − x_t) + L with m − x_t exact (a TwoSum, or 2·(m/2 − x_t/2) when it overflows) and
    /// L < 2^ts far below it: m − x_t >= 2^-1074, so L/(m − x_t) < 2^(ts + 1074) < 2^-700.
    static func wideRowLoss(_ x: UnsafeBufferPointer<Double>, target t: Int, threads: Int)
        -> (value: ScaledDoubleWord, relativeError: Double)? {
        guard let scan = wideRowScan(x, threads: threads) else { return nil }
        if t == scan.maxIndex { return (ScaledDoubleWord(hi: 1, lo: 0, exponent: wideRowSumExponent), 1) }
        let d = twoSum(scan.max, -x[t])
        if d.hi.isFinite { return (ScaledDoubleWord(d), 0x1p-700) }
        return (ScaledDoubleWord(twoSum(0.5 * scan.max, -0.5 * x[t]), exponent: 1), 0x1p-700)
    }
}
