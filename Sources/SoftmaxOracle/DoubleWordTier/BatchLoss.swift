import DoubleWordArithmetic
import ParallelExecution

// The batch loss on the double-word tier: PyTorch's CrossEntropyLoss with hard targets (class
// weights allowed) or probability targets (no class weights), no label smoothing; reductions
// none, sum and mean; rows with NaN or +inf, and +inf losses, by the MPFR path's rules. With
// `softcap` alone (no z_loss or temperature): hard targets, each row's loss `softcapLoss`
// (SoftcapLoss.swift; finite logits, only NaN rows special), times its class weight.

extension DoubleWordTier {
    /// One row of the batch on the tier: its loss as a normalized ScaledDoubleWord with a relative
    /// error bound (relative error 1: a wide row's tiny L, see `wideRowLoss`), an exact value
    /// (ignored rows, zero weights, +inf, the NaN of a special row), or nil (the MPFR path).
    enum BatchRow: Sendable {
        case ignored
        case exact(Double)
        case value(ScaledDoubleWord, relativeError: Double)
    }

    /// Each row's loss (`batchRow`); reduction "none" certifies each; "sum" adds them exactly in a
    /// `FixedPointSum` relative to the largest binade (2^-126 per double of it, plus the
    /// conversion's 2^-104.9), with the rows' absolute errors summed alongside; "mean" divides that
    /// by the mean's divisor (`meanDivisor`) with `ScaledDoubleWord`'s quotient (14u²). All
    /// losses are >= 0, so relative bounds add. Special values follow `CrossEntropy.batch`: mean
    /// with a zero divisor is NaN, then any NaN row makes NaN, then any +inf row +inf. A row the
    /// tier cannot take sends the whole request to the MPFR path. Long batches are split by rows
    /// over threads; the sum adds exactly, so the thread count does not change the result.
    static func batchLoss(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        guard let rows = q.batch, let targets = q.batchTargets, q.labelSmoothing == 0, !rows.isEmpty else { return nil }
        if case .probabilities = targets, q.weight != nil { return nil }
        let n = rows.count
        let k = rows[0].count
        // By rows (four pieces a thread) when there are enough of them; else each row's stages split.
        let processors = n * k >= parallelThreshold ? StageSplit.processors(threads) : 1
        let byRows = processors > 1 && n >= 2 * processors
        let split = byRows ? StageSplit(threads: threads, count: n, minimum: 0, perThread: 4) : .none
        let innerThreads = byRows ? 1 : threads
        let compact = q.format.precision <= 24
        let losses: [BatchRow?] = split.run(count: n) { range -> [BatchRow?] in
            range.map { i in batchRow(q, i, compact: compact, threads: innerThreads) }
        }.flatMap { $0 }
        guard losses.allSatisfy({ $0 != nil }) else { return nil }
        let rowLosses = losses.map { $0! }
        let certifier = DoubleWordCertifier(q.format)
        if q.reduction == .none {
            var out: [OracleValue] = []
            out.reserveCapacity(n)
            for r in rowLosses {
                switch r {
                case .ignored: out.append(exactOutput(0, q.format))
                case .exact(let v): out.append(exactOutput(v, q.format))
                case .value(let v, let eps) where eps >= 1:
                    // A wide row's L alone, in (0, 2^(ts+1)): +0, exact value its midpoint.
                    out.append(tinyOutput(negative: false, coefficient: ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: 0),
                                          exponent: v.exponent, q.format))
                case .value(let v, let eps):
                    guard let c = certifier.certify(v, relativeError: eps) else { return nil }
                    out.append(c)
                }
            }
            return out
        }
        var divisor: (ScaledDoubleWord, Double)?
        if q.reduction == .mean {
            guard let d = meanDivisor(q) else { return nil }
            if d.0.isZero { return [exactOutput(.nan, q.format)] }  // 0/0: nothing kept
            divisor = d
        }
        var special: Double?
        var kept: [(value: ScaledDoubleWord, relativeError: Double)] = []
        for r in rowLosses {
            switch r {
            case .ignored: continue
            case .exact(let v):
                if v.isNaN { special = .nan } else if v.isInfinite, special == nil { special = v }
            case .value(let v, let eps): kept.append((v, eps))
            }
        }
        if let v = special { return [exactOutput(v, q.format)] }
        guard !kept.isEmpty else { return nil }  // a sum of exact zeros: the MPFR path
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
        guard let (d, epsD) = divisor else {
            return certifier.certify(total, relativeError: relative).map { [$0] }
        }
        // mean = total/D: the quotient's 14u², and D's relative error (|1/D̂ − 1/D| <= εD(1 + 2εD)/D).
        let mean = (total / d).normalized()
        let eps = roundedUp(relative + epsD * (1 + 2 * epsD) + 14 * unitRoundoffSquared)
        return certifier.certify(mean, relativeError: eps).map { [$0] }
    }

    /// Row i of a batch request on the tier (see `BatchRow`), or nil.
    ///
    /// A special row (`specialRowValue`) is NaN; an ignored row contributes nothing. Hard target t
    /// with weight w = weight[t] (1 without weights): the loss w·(−log_softmax_t); w = 0 is an
    /// exact 0 (the MPFR path: no term, 0·L); x_t = −inf with w > 0 is +inf; otherwise
    /// −log_softmax_t (`hardTargetLoss`, or `wideRowLoss`) times w (`ScaledDoubleWord`'s product,
    /// 8.1u², exact exponents: subnormal weights too). Probability targets (no weights):
    /// `probabilityLoss` (D = 1, as for `cross_entropy`).
    static func batchRow(_ q: OracleRequest, _ i: Int, compact: Bool, threads: Int) -> BatchRow? {
        let x = q.batch![i]
        return x.withUnsafeBufferPointer { xb -> BatchRow? in
            if let v = specialRowValue(xb, softcap: q.softcap != nil) {
                if case .indices(let t)? = q.batchTargets, t[i] == q.ignoreIndex { return .ignored }
                return .exact(v)
            }
            switch q.batchTargets! {
            case .indices(let targets):
                let t = targets[i]
                if t == q.ignoreIndex { return .ignored }
                guard t >= 0 && t < xb.count else { return nil }
                let w = q.weight?[t] ?? 1
                if w == 0 { return .exact(0) }
                if let c = q.softcap {  // softcap alone (`optionLoss`): SoftcapLoss.swift, finite logits
                    guard let (v, eps) = softcapLoss(xb, target: t, softcap: c) else { return nil }
                    return .value(w == 1 ? v : (v * ScaledDoubleWord(w)).normalized(),
                                  relativeError: w == 1 ? eps : roundedUp(eps + 8.1 * unitRoundoffSquared))
                }
                if xb[t] == -.infinity { return .exact(.infinity) }
                guard let (v, eps) = hardTargetLoss(xb, target: t, compact: compact, threads: threads) else { return nil }
                if w == 1 || eps >= 1 {
                    // eps = 1: a wide row's L at the maximum, a midpoint 2^ts of (0, 2^(ts+1)): w·L
                    // is as tiny (+0 in every format): only its exponent matters, w·2^ts.
                    return .value(eps >= 1 ? (v * ScaledDoubleWord(w)).normalized() : v, relativeError: eps)
                }
                return .value((v * ScaledDoubleWord(w)).normalized(), relativeError: roundedUp(eps + 8.1 * unitRoundoffSquared))
            case .probabilities(let p):
                if q.softcap != nil { return nil }
                return p[i].withUnsafeBufferPointer { pb -> BatchRow? in
                    switch probabilityLoss(xb, probabilities: pb, compact: compact, threads: threads) {
                    case .infinity?: return .exact(.infinity)
                    case .value(let v, let eps)?: return .value(v, relativeError: eps)
                    case nil: return nil
                    }
                }
            }
        }
    }

    /// −log_softmax_t = (m − x_t) + L for a finite x_t, as a normalized ScaledDoubleWord with a
    /// relative error bound (`hardTargetLoss(_:_:)`, or `wideRowLoss` for wide rows), or nil.
    static func hardTargetLoss(_ xb: UnsafeBufferPointer<Double>, target t: Int, compact: Bool, threads: Int)
        -> (ScaledDoubleWord, Double)? {
        guard let row = rowSum(xb, threads: threads, store: nil, compact: compact) else {
            return wideRowLoss(xb, target: t, threads: threads).map { ($0.value, $0.relativeError) }
        }
        guard let lp = logPart(row) else { return nil }
        let d = t == row.maxIndex ? DoubleWord(0, 0) : twoSum(xb[t], -row.m)
        guard d.hi.isFinite else { return nil }
        return hardTargetLoss(d, lp)
    }

    /// The divisor of reduction "mean" as a ScaledDoubleWord with its relative error (0 when no
    /// row is kept or the kept rows' weights are all 0: the mean is then NaN), or nil.
    /// PyTorch's rule: the number of rows for probability targets (exact); the sum of weight[t_i]
    /// over the kept rows for class indices (1 each without weights), added exactly in a
    /// `FixedPointSum` relative to 2^top, top above every weight's binade: n truncations below
    /// 2^(top−126) against a sum >= 2^(top−1), and the conversion's 2^-104.9. Subnormal weights:
    /// nil (the MPFR path).
    static func meanDivisor(_ q: OracleRequest) -> (ScaledDoubleWord, Double)? {
        switch q.batchTargets! {
        case .probabilities(let p):
            return (ScaledDoubleWord(Double(p.count)), 0)
        case .indices(let t):
            let kept = t.filter { $0 != q.ignoreIndex }
            guard let weight = q.weight else { return (ScaledDoubleWord(Double(kept.count)), 0) }
            let w = kept.map { weight[$0] }.filter { $0 != 0 }
            guard w.allSatisfy(\.isNormal) else { return nil }
            guard let top = w.map({ binade($0) + 1 }).max() else { return (.zero, 0) }
            var sum = FixedPointSum()
            for v in w { sum.add(v, scale: -top) }
            guard let s = sum.value() else { return nil }
            let eps = roundedUp(Double(w.count) * 0x1p-125 + FixedPointSum.conversionError * 1.0001)
            return (ScaledDoubleWord(hi: s.hi, lo: s.lo, exponent: s.exponent + top).normalized(), eps)
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
