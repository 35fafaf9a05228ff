import DoubleWordArithmetic
import ParallelExecution

// Rows whose finite logits all lie within 2^-110 of one another ("tiny spread": the harness's
// subnormal_logits rows, every logit within ±2^-1021; a row of equal logits). No exponential is
// computed: with m the maximum, n >= 2 finite logits and d_j = x_j − m ∈ (−2^-110, 0],
//
//     e^(d_j) ∈ (1 − 2^-110, 1],   s = Σ_{j≠M} e^(d_j) ∈ ((n − 1)(1 − 2^-110), n − 1],
//
// so ŝ = n − 1 (exact: n < 2^53) has |ŝ − s| < ŝ·2^-110 < s·2^-109 (εs = 2^-109), and every output
// of a function lies within a stated distance of one value computed once per row (the bounds
// next to each function below). That value is certified once with that distance as its error;
// where it certifies, every value of the enclosure rounds alike, so each output is that rounding
// (the same as the general path's, which certifies the same exact values), and the exact value
// reported is the common value (within the bound: the general path's double-words differ from it
// below their last bit). Where it does not certify, nil: the general path answers the row.
// The scan stops at the first logit that leaves the window, so other rows cost a few reads.

extension DoubleWordTier {
    /// A tiny-spread row: its maximum m and how many finite logits it has (>= 2), and whether
    /// some logit is −inf (the others are finite: a NaN or +inf ends the scan).
    struct TinySpread {
        var m: Double
        var finite: Int
        var negativeInfinity: Bool

        /// L = log1p(ŝ), ŝ = n − 1 with εs = 2^-109 (see the file's notes), or nil.
        var logPart: LogPart? {
            let s = ScaledDoubleWord(Double(finite - 1)).normalized()
            guard let (l, epsL) = DoubleWordLog1p.logOnePlus(s, relativeError: 0x1p-109, DoubleWordExpTable.shared) else { return nil }
            return DoubleWordTier.logPart(l, relativeError: epsL)
        }
    }

    /// The scan of a tiny-spread row, or nil (as soon as a logit is NaN or +inf, or lies 2^-111
    /// or more from the first finite logit a: then the row is not one). Every finite x_j has
    /// RN(x_j − a) < 2^-111 in magnitude, hence |x_j − a| < 2^-111 (RN is monotone and 2^-111 a
    /// double), so m − x_j < 2^-110.
    static func tinySpreadScan(_ x: UnsafeBufferPointer<Double>) -> TinySpread? {
        let n = x.count
        var j = 0
        while j < n && x[j] == -.infinity { j += 1 }
        guard j < n, x[j].isFinite else { return nil }
        let a = x[j], window = 0x1p-111
        var m = a, negatives = j
        var top = SIMD4<Double>(repeating: a)
        @inline(__always) func step(_ v: Double) -> Bool {
            if v == -.infinity {
                negatives += 1
                return true
            }
            guard (v - a).magnitude < window else { return false }  // NaN and +inf fail
            m = Swift.max(m, v)
            return true
        }
        while j + 4 <= n {
            let v = UnsafeRawPointer(x.baseAddress! + j).loadUnaligned(as: SIMD4<Double>.self)
            if all(magnitudeLanes(v - a) .< window) {
                top = v.replacing(with: top, where: top .> v)  // pointwiseMax(top, v) (no NaN here), inlined
            } else {
                for i in j..<(j + 4) where !step(x[i]) { return nil }
            }
            j += 4
        }
        while j < n {
            guard step(x[j]) else { return nil }
            j += 1
        }
        m = Swift.max(m, top.max())
        guard n - negatives >= 2 else { return nil }
        return TinySpread(m: m, finite: n - negatives, negativeInfinity: negatives > 0)
    }

    /// The tier's answer for a tiny-spread row of logsumexp, softmax, log_softmax, cross_entropy
    /// or cross_entropy_grad (hard or probability targets; no class weights, no smoothing), or
    /// nil (not such a row, or an output that does not certify here: the general path then).
    static func tinySpreadRow(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        guard case .certified(let values)? = tinySpreadRow(q, threads: threads, rounded: false) else { return nil }
        return values
    }

    /// `tinySpreadRow`, or with `rounded` the rounded values alone of its row outputs (softmax,
    /// log_softmax, cross_entropy_grad: 8 bytes an output instead of an `OracleValue`'s 32; the
    /// single outputs as they are).
    static func tinySpreadRow(_ q: OracleRequest, threads: Int, rounded: Bool) -> RoundedResult.Values? {
        switch q.function {
        case .logsumexp, .softmax, .logSoftmax: break
        case .crossEntropy, .crossEntropyGrad:
            guard q.weight == nil, q.labelSmoothing == 0, q.target != nil else { return nil }
        default: return nil
        }
        return q.logits.withUnsafeBufferPointer { x -> RoundedResult.Values? in
            guard let row = tinySpreadScan(x), let lp = row.logPart else { return nil }
            let certifier = DoubleWordCertifier(q.format)
            switch (q.function, q.target) {
            case (.logsumexp, _):
                return logsumexpOutput(m: row.m, lp, certifier).map { .certified([$0]) }
            case (.crossEntropy, .index(let t)?):
                // (−d_t) + L ∈ [L, L + 2^-110); a −inf x_t (+inf) is the general path's. |plain −
                // L| <= plainAbsoluteError, and −d_t moves the output by < 2^-110.
                guard t >= 0, t < x.count, x[t] > -.infinity else { return nil }
                let logError = roundedUp(lp.plainAbsoluteError + 0x1p-110)
                return certifier.certify(lp.plain, absoluteError: logError).map { .certified([$0]) }
            case (.softmax, .probabilities(let p)?), (.crossEntropyGrad, .probabilities(let p)?):
                let (inverse, epsInverse) = inverseOfOnePlus(ScaledDoubleWord(Double(row.finite - 1)).normalized(), relativeError: 0x1p-109)
                return p.withUnsafeBufferPointer {
                    tinyProbabilityGradient(x, $0, row, inverse: inverse, epsInverse: epsInverse, certifier, threads: threads, rounded: rounded)
                }
            case (.softmax, _), (.logSoftmax, _), (.crossEntropyGrad, _):
                guard let fill = tinySpreadFill(q, x, row, lp, certifier) else { return nil }
                if rounded {
                    return .rounded([Double](unsafeUninitializedCapacity: x.count) { buffer, count in
                        fillRow(buffer.baseAddress!, x, fill.value.rounded, negativeInfinity: fill.negativeInfinity.rounded, row, threads: threads)
                        if let (t, g) = fill.target { buffer[t] = g.rounded }
                        count = x.count
                    })
                }
                return withOutputs(count: x.count) { slots in
                    fillRow(slots, x, fill.value, negativeInfinity: fill.negativeInfinity, row, threads: threads)
                    if let (t, g) = fill.target { slots[t] = g }
                    return true
                }.map { .certified($0) }
            default:
                return nil
            }
        }
    }

    /// The outputs of a tiny-spread row of softmax, log_softmax or cross_entropy_grad (a hard
    /// target or none; probability targets are `tinyProbabilityGradient`'s): `value` at every
    /// finite logit, `negativeInfinity` at the −inf logits, and for cross_entropy_grad the
    /// target's output. Nil when an output does not certify here.
    struct TinySpreadFill {
        var value: OracleValue
        var negativeInfinity: OracleValue
        var target: (index: Int, value: OracleValue)?
    }

    /// The certified outputs of `TinySpreadFill` for the row x (its scan `row`, L = `lp`).
    static func tinySpreadFill(_ q: OracleRequest, _ x: UnsafeBufferPointer<Double>, _ row: TinySpread, _ lp: LogPart,
                               _ certifier: DoubleWordCertifier) -> TinySpreadFill? {
        let format = q.format
        if q.function == .logSoftmax {
            // d_i − L ∈ (−L − 2^-110, −L]: |plain − L| <= plainAbsoluteError, and ±d_j moves an
            // output by < 2^-110.
            let logError = roundedUp(lp.plainAbsoluteError + 0x1p-110)
            guard let v = certifier.certify(DoubleWord(-lp.plain.hi, -lp.plain.lo), absoluteError: logError) else { return nil }
            return TinySpreadFill(value: v, negativeInfinity: exactOutput(-.infinity, format))
        }
        let (inverse, epsInverse) = inverseOfOnePlus(ScaledDoubleWord(Double(row.finite - 1)).normalized(), relativeError: 0x1p-109)
        // e^(d_i)/S with e^(d_i) ∈ (1 − 2^-110, 1] and |1/Ŝ − 1/S| <= εInv/S, 1/S <=
        // 1/Ŝ_hi·(1 + 2^-50): within (2^-110 + εInv)·Ŝ_hi·(1 + 2^-50) of 1/Ŝ.
        let error = roundedUp((0x1p-110 + epsInverse) * inverse.hi * (1 + 0x1p-50))
        guard let v = certifier.certify(inverse.hi, inverse.lo, scale: 0, error: error) else { return nil }
        var fill = TinySpreadFill(value: v, negativeInfinity: exactOutput(0, format))
        guard case .index(let t)? = q.target else { return fill }
        guard t >= 0, t < x.count else { return nil }
        if x[t] == -.infinity {
            fill.target = (t, exactOutput(-1, format))  // softmax_t = 0
            return fill
        }
        // softmax_t − 1 = −B_t/S, B_t = Σ_{j≠t} e^(d_j) ∈ ((n − 1)(1 − 2^-110), n − 1] (t = M:
        // B = s; else 1 + the n − 2 others): B̂ = n − 1 within 2^-109·B, the quotient's
        // εInv, one `DoubleWord.product` (8.1u²).
        let b = DoubleWord.product(DoubleWord(Double(row.finite - 1), 0), inverse)
        let eps = roundedUp(0x1p-109 + epsInverse + 8.1 * unitRoundoffSquared)
        guard let g = certifier.certify(-b.hi, -b.lo, scale: 0, error: eps * (1 + 0x1p-50) * b.hi) else { return nil }
        fill.target = (t, g)
        return fill
    }

    /// Initializes out[0..<n] (n = x.count) with `negativeInfinity` where x_i = −inf and v
    /// elsewhere (chunks on up to 2·threads threads for a long row).
    static func fillRow<Value>(_ slots: UnsafeMutablePointer<Value>, _ x: UnsafeBufferPointer<Double>, _ v: Value,
                               negativeInfinity: Value, _ row: TinySpread, threads: Int) {
        let n = x.count
        let split = StageSplit(threads: threads, count: n)
        let base = UncheckedSendable(value: slots), values = UncheckedSendable(value: (v, negativeInfinity))
        _ = split.run(count: n) { range in
            let out = base.value
            if !row.negativeInfinity {
                (out + range.lowerBound).initialize(repeating: values.value.0, count: range.count)
                return
            }
            for i in range { (out + i).initialize(to: x[i] == -.infinity ? values.value.1 : values.value.0) }
        }
    }

    /// cross_entropy_grad with probability targets p on a tiny-spread row: grad_c = e_c·P/S − p_c
    /// (ProbabilityGradient.swift) with e_c ∈ (1 − 2^-110, 1], so q_c = e_c·P/S lies within
    /// (2^-110 + εR)·R of R̂ = P̂ ⊗ (1/Ŝ) (εR: P's, 1/Ŝ's and the product's 8.1u²), R̂ the
    /// same for every c: q̂ = R̂ with εq = εR + 2^-109 (`ProbabilityGradientOutputs.difference`'s
    /// bound |q̂ − q| <= εq·|q̂|(1 + 2^-49), R <= R̂(1 + εR)). Each output depends on p_c alone,
    /// so a chunk keeps the last outputs by p_c's bits (the same value as recomputing it).
    /// −p_c exactly (+0 for p_c = 0) where x_c = −inf. Nil when an output does not certify.
    static func tinyProbabilityGradient(_ x: UnsafeBufferPointer<Double>, _ p: UnsafeBufferPointer<Double>, _ row: TinySpread,
                                        inverse: DoubleWord, epsInverse: Double, _ certifier: DoubleWordCertifier,
                                        threads: Int, rounded: Bool) -> RoundedResult.Values? {
        let n = x.count
        guard p.count == n, let (total, epsTotal) = probabilityTotal(p, threads: threads) else { return nil }
        let ratio = (total * ScaledDoubleWord(inverse)).normalized()
        let epsQ = roundedUp(epsTotal + epsInverse + 8.1 * unitRoundoffSquared + 0x1p-109)
        let split = StageSplit(threads: threads, count: n)
        let format = certifier.format
        // The outputs into `slots` (`Value`: the whole outputs or their rounded values).
        func fill<Value: OutputSlot>(_ slots: UnsafeMutablePointer<Value>) -> Bool {
            let base = UncheckedSendable(value: slots)
            let failures = split.run(count: n) { range -> Bool in
                let out = base.value
                // 64 slots of (p_c's bits, its output as `Value`). An empty slot s holds a key
                // whose own slot is not s: a lookup of bits b reads slot(b) only, and an empty
                // slot(b)'s key k has slot(k) ≠ slot(b), so k ≠ b: no lookup finds an empty slot
                // (no separate bit per slot to test).
                let size = 64
                @inline(__always) func slot(_ bits: UInt64) -> Int {
                    Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> 58)  // size = 64 slots
                }
                let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: size)
                let values = UnsafeMutablePointer<Value>.allocate(capacity: size)
                for s in 0..<size {
                    var k: UInt64 = 0
                    while slot(k) == s { k += 1 }
                    (keys + s).initialize(to: k)
                }
                values.initialize(repeating: Value(slot: exactOutput(0, format)), count: size)
                defer {
                    values.deinitialize(count: size)
                    keys.deallocate()
                    values.deallocate()
                }
                // Output i from p_c = p[i] (x_i finite): the slot's output, made on a miss.
                @inline(__always) func output(_ i: Int, _ pc: Double) -> Bool {
                    let bits = pc.bitPattern
                    let s = slot(bits)
                    if keys[s] != bits {
                        guard let e = ProbabilityGradientOutputs.difference(ratio, epsQ, pc),
                              let v = certifier.certify(e.hi, e.lo, scale: e.scale, error: e.error) else { return false }
                        (keys[s], values[s]) = (bits, Value(slot: v))
                    }
                    (out + i).initialize(to: values[s])
                    return true
                }
                if !row.negativeInfinity {
                    for i in range where !output(i, p[i]) { return true }
                    return false
                }
                for i in range {
                    let pc = p[i]
                    if x[i] == -.infinity {  // softmax_c = 0
                        (out + i).initialize(to: Value(slot: exactOutput(pc == 0 ? 0 : -pc, format)))
                        continue
                    }
                    if !output(i, pc) { return true }
                }
                return false
            }
            return !failures.contains(true)
        }
        if rounded {
            var ok = false
            let values = [Double](unsafeUninitializedCapacity: n) { buffer, count in
                ok = n == 0 || fill(buffer.baseAddress!)
                count = ok ? n : 0
            }
            return ok ? .rounded(values) : nil
        }
        return withOutputs(count: n) { fill($0) }.map { .certified($0) }
    }
}
