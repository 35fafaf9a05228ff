import DoubleWordArithmetic
import ParallelExecution

// Rows whose second largest finite logit lies more than 2^19 below the maximum (the harness's
// wide_spread, bit_patterns, uniform_wide and normal_huge families are mostly such rows): `rowSum`
// declines them, since its fixed-point scale cannot hold such a sum; here the sum is only
// bounded, and every output follows from the bound.
//
// With d_2 = x_2 − m < −2^19 and K < 2^24 logits, s = Σ_{j≠M} e^(d_j) lies in (0, 2^ts) with
// ts = −756363 (K·e^(−2^19) = 2^(24 − 756387.6)), and L = log1p(s) in (0, s]. Every output is
// then one of:
// - a tiny number, in (0, 2^(ts+1)) up to sign: softmax_j (j ≠ M), L itself (logsumexp at
//   m = 0, log_softmax_M, a cross-entropy with the target at the maximum), −s/S (the gradient
//   at the maximum). It rounds to ±0 in every format (half the least subnormal is >= 2^-1075),
//   and its exact value is reported as the midpoint ±2^ts of that enclosure, as the MPFR path
//   reports values it can only enclose below every least subnormal;
// - 1 − tiny (softmax_M, and −(1 − tiny) the gradient's −1 + e_t/S): rounds to ±1 in every
//   format (the spacing below 1 is >= 2^-53); exact value ±2·2^-1 (ExactValue's head 2);
// - P ± L with P = m or −d_i exact (logsumexp, log_softmax_i, cross-entropy): certified with
//   L's bound 2^-999 as an absolute error, or settled as P ± 0⁺ by `roundNearTie`; when x_i − m
//   overflows binary64, P = 2·(x_i/2 − m/2) (halving is exact for such magnitudes) is certified
//   scaled, with L below 2^-999 of its last bit.

extension DoubleWordTier {
    /// The exponent ts with s, L < 2^ts for every wide row.
    static let wideRowSumExponent = -756_363

    /// A number in (0, c·2^(e+1)) (negated when `negative`), e <= −1100: ±0 in every format
    /// (below half of every least subnormal), exact value ±c·2^e, its enclosure's midpoint.
    static func tinyOutput(negative: Bool, coefficient c: ScaledDoubleWord = .one, exponent e: Int, _ format: Format) -> OracleValue {
        let sign = negative ? -1.0 : 1.0
        return OracleValue(rounded: format.round(sign * 0.0), exact: ExactValue(scaledHi: sign * c.hi, lo: sign * c.lo, scale: c.exponent + e))
    }

    /// ±(1 − τ) for a τ in (0, 2^-1000): ±1 in every format (the spacing below 1 is >= 2^-53),
    /// exact value ±2·2^-1 (`ExactValue`'s head 2: just below 1, within 2^-1000 of it).
    static func oneMinusTinyOutput(negative: Bool, _ format: Format) -> OracleValue {
        OracleValue(rounded: format.round(negative ? -1.0 : 1.0),
                    exact: ExactValue(kind: .finite, isNegative: negative, exponent: -1, head: 2, tail: 0))
    }

    /// The scan of x when it is a wide row (finite maximum, another finite logit, no NaN or
    /// +inf, x_2 − m < −2^19, K < 2^24), else nil.
    static func wideRowScan(_ x: UnsafeBufferPointer<Double>, threads: Int) -> RowScan? {
        guard x.count < 1 << 24 else { return nil }
        let split = StageSplit(threads: threads, count: x.count)
        let scan = RowScan.of(x, split: split)
        guard !scan.special, scan.maxIndex >= 0, scan.second > -.infinity, scan.second - scan.max < -0x1p19 else { return nil }
        return scan
    }

    /// `wideRow`'s answer, tried before `plainValues` when the row's first 64 logits already
    /// look wide (their two largest more than 2^19 apart, none NaN or +inf) and the function is one
    /// `wideRow` answers; nil otherwise. On a wide row `plainValues` declines every one of these
    /// functions (its `sumScan` declines the row) but a cross-entropy whose target logit is −inf,
    /// which `wideRow` declines in turn: so the answer is the one `rowValues` gives in its usual
    /// order, without `plainValues`' scan of the whole row (for a row of 10^5 logits, one of its
    /// two). A row that only looks wide costs one scan more and goes on as before.
    static func sampledWideRow(_ q: OracleRequest, threads: Int, rounded: Bool) -> RoundedResult.Values? {
        switch q.function {
        case .logsumexp, .softmax, .logSoftmax, .crossEntropy, .crossEntropyGrad: break
        default: return nil
        }
        guard q.logits.count >= 256, q.weight == nil, q.labelSmoothing == 0 else { return nil }
        // The first 64 logits' scan: a NaN or +inf there sends the row on to `plainValues`
        // (which `wideRow` would do after its own scan of the whole row).
        let start = q.logits.withUnsafeBufferPointer { RowScan.of($0, 0..<64) }
        let looksWide = !start.special && start.second > -.infinity && start.max - start.second > 0x1p19
        return looksWide ? wideRow(q, threads: threads, rounded: rounded) : nil
    }

    /// The tier's answer for a wide row of logsumexp, softmax, log_softmax, cross_entropy
    /// (hard target) or cross_entropy_grad (hard or probability targets), without class weights
    /// or label smoothing (the outputs below compute neither), or nil. With `rounded`, the
    /// rounded values alone of softmax, log_softmax and cross_entropy_grad with a hard target
    /// (`roundedOutputs`; the other functions' values as they are).
    static func wideRow(_ q: OracleRequest, threads: Int, rounded: Bool) -> RoundedResult.Values? {
        guard q.weight == nil, q.labelSmoothing == 0 else { return nil }
        return q.logits.withUnsafeBufferPointer { x -> RoundedResult.Values? in
            guard let scan = wideRowScan(x, threads: threads) else { return nil }
            let outputs = WideRowOutputs(x: x, m: scan.max, maxIndex: scan.maxIndex, certifier: DoubleWordCertifier(q.format))
            switch q.function {
            case .logsumexp:
                return outputs.plusL(DoubleWord(scan.max, 0), scaled: nil, negate: false).map { .certified([$0]) }
            case .crossEntropy:
                guard case .index(let t)? = q.target, t >= 0, t < x.count, x[t] > -.infinity else { return nil }
                return outputs.negativeLogSoftmax(t, negate: false).map { .certified([$0]) }
            case .crossEntropyGrad where q.target.map({ if case .probabilities = $0 { true } else { false } }) ?? false:
                guard case .probabilities(let p)? = q.target else { return nil }
                return p.withUnsafeBufferPointer { wideProbabilityGradient(outputs, $0, threads: threads, rounded: rounded) }
            case .softmax, .logSoftmax, .crossEntropyGrad:
                var target = -1
                if q.function == .crossEntropyGrad {
                    guard case .index(let t)? = q.target, t >= 0, t < x.count else { return nil }
                    target = t
                }
                let kind: WideRowOutputs.Kind = q.function == .logSoftmax ? .logSoftmax : .softmax
                let row = WideRowFill(outputs: outputs, kind: kind, target: target)
                if kind == .logSoftmax {  // its own fill loop (`WideLogSoftmaxFill`), softmax's unchanged
                    let fill = WideLogSoftmaxFill(row: row)
                    if rounded { return roundedOutputs(count: x.count, threads: threads, fill).map { .rounded($0) } }
                    return withOutputs(count: x.count) { fillOutputs($0, count: x.count, threads: threads, fill) }.map { .certified($0) }
                }
                if rounded { return .rounded(row.roundedValues()) }
                return withOutputs(count: x.count) { fillOutputs($0, count: x.count, threads: threads, row) }.map { .certified($0) }
            default:
                return nil
            }
        }
    }

    /// cross_entropy_grad with probability targets p on a wide row (nil: the MPFR path):
    /// grad_c = softmax_c·P − p_c, where softmax_c ∈ (0, 2^(ts+1)) off the maximum and
    /// softmax_M = 1 − τ, τ = s/S ∈ (0, 2^(ts+1)) (see the file's notes), so
    /// - x_c = −inf: −p_c exactly (+0 for p_c = 0), as on the MPFR path;
    /// - c ≠ M, p_c > 0: −p_c + 0⁺: P·softmax_c < 2^(ts+1)·n·2^1024 lies below the distance from
    ///   −p_c to every rounding boundary other than itself (>= 2^-1100), so it rounds as −p_c
    ///   nudged up (`Format.roundExactly`), exact value −p_c; when −p_c is itself a boundary
    ///   (the two nudges round apart: an e5m2 midpoint, say) the MPFR path cannot settle it
    ///   within its precision cap, and the tier declines too;
    /// - c ≠ M, p_c = 0: a number in (0, P·2^(ts+1)): +0, exact value the midpoint P̂·2^ts;
    /// - M: R − τ·P with R = P − p_M = Σ_{c≠M} p_c (the MPFR path's (A_M − p_M·s)/S): R added
    ///   exactly in a `FixedPointSum` (relative error n·2^-125 and the conversion's 2^-104.9, as
    ///   `probabilityTotal`), and τP/R < 2^(ts+1)·2^(24+1024)/2^-1022 < 2^-1000; R = 0 (then p_M > 0):
    ///   −τ·p_M, −0 with exact value −p_M·2^ts.
    ///
    /// The outputs are written by chunks on up to 2·threads threads for a long row; with
    /// `rounded`, their rounded values alone (8 bytes an output: the common output −p_c is then
    /// RN_format(−p_c), −p_c itself in f64, without its exact value).
    static func wideProbabilityGradient(_ o: WideRowOutputs, _ p: UnsafeBufferPointer<Double>, threads: Int,
                                        rounded: Bool) -> RoundedResult.Values? {
        let n = o.x.count
        let format = o.certifier.format
        guard p.count == n, let (total, _, exactTotal) = probabilitySum(p, threads: threads) else { return nil }
        let split = StageSplit(threads: threads, count: n)
        let eps = roundedUp(Double(n) * 0x1p-125 + FixedPointSum.conversionError * 1.0001 + 0x1p-1000)
        // When P is exact in binary64 and so is R = P − p_M (TwoSum's error 0), R is that
        // number: the fixed-point sum below would hold it exactly (its bits lie at or above
        // 2^(binade(R) − 52) > 2^(top − 126)) and convert it to (R, +0), the same certified
        // output; R = 0 exactly when no p_c off the maximum is positive (top = Int.min below).
        if let whole = exactTotal {
            let r = twoSum(whole, p[o.maxIndex] > 0 ? -p[o.maxIndex] : 0)
            if r.lo == 0 {
                let atMaximum: OracleValue
                if r.hi == 0 {
                    atMaximum = tinyOutput(negative: true, coefficient: ScaledDoubleWord(p[o.maxIndex]), exponent: wideRowSumExponent, format)
                } else {
                    guard let out = o.certifier.certify(ScaledDoubleWord(r.hi).normalized(), relativeError: eps) else { return nil }
                    atMaximum = out
                }
                return wideProbabilityGradient(o, p, total: total, atMaximum: atMaximum, threads: threads, rounded: rounded)
            }
        }
        // R's scale and its exact sum by chunks (a max, and exact sums: the same for every split).
        let top = split.run(count: n) { range -> Int in
            var top = Int.min
            for c in range where c != o.maxIndex && p[c] > 0 { top = Swift.max(top, binade(p[c]) + 1) }
            return top
        }.max()!
        let atMaximum: OracleValue
        if top == Int.min {
            atMaximum = tinyOutput(negative: true, coefficient: ScaledDoubleWord(p[o.maxIndex]), exponent: wideRowSumExponent, format)
        } else {
            var r = FixedPointSum()
            for part in split.run(count: n, { range -> FixedPointSum in
                var r = FixedPointSum()
                for c in range where c != o.maxIndex && p[c] > 0 { r.add(p[c], scale: -top) }
                return r
            }) { r = r + part }
            guard let v = r.value() else { return nil }
            guard let out = o.certifier.certify(ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + top).normalized(),
                                                relativeError: eps) else { return nil }
            atMaximum = out
        }
        return wideProbabilityGradient(o, p, total: total, atMaximum: atMaximum, threads: threads, rounded: rounded)
    }

    /// `wideProbabilityGradient`'s outputs, given P̂ (`total`) and the output at the maximum.
    private static func wideProbabilityGradient(_ o: WideRowOutputs, _ p: UnsafeBufferPointer<Double>, total: ScaledDoubleWord,
                                                atMaximum: OracleValue, threads: Int, rounded: Bool) -> RoundedResult.Values? {
        let n = o.x.count
        let format = o.certifier.format
        let split = StageSplit(threads: threads, count: n)
        let positiveTiny = tinyOutput(negative: false, coefficient: total, exponent: wideRowSumExponent, format)
        // −p_c + 0⁺ for c ≠ M, x_c finite, p_c > 0 (see above): −p_c when it is a value of the
        // format (always in f64), else its rounding, nil when that is a rounding boundary.
        let exactTargets = format == .f64
        @inline(__always) func negativeTarget(_ pc: Double) -> Double? {
            if exactTargets || format.round(pc) == pc { return -pc }
            // −p_c is no value of the format: when it is a rounding boundary (−p_c ± 0⁺
            // round apart), the MPFR path cannot settle it at its cap either: decline.
            let r = format.roundExactly(-pc, 0, scale: 0, nudge: 1)
            guard r.bitPattern == format.roundExactly(-pc, 0, scale: 0, nudge: -1).bitPattern else { return nil }
            return r
        }
        // Output c into slots[c] (`Value`: the whole output; `whole` and `common` make it).
        func fill<Value>(_ slots: UnsafeMutablePointer<Value>, _ whole: (OracleValue) -> Value,
                         _ common: (Double, Double) -> Value) -> Bool {
            let base = UncheckedSendable(value: slots)
            let failures = split.run(count: n) { range -> Bool in
                let out = base.value
                for c in range {
                    let pc = p[c]
                    if c == o.maxIndex {
                        (out + c).initialize(to: whole(atMaximum))
                    } else if o.x[c] == -.infinity {
                        (out + c).initialize(to: whole(exactOutput(pc == 0 ? 0 : -pc, format)))
                    } else if pc == 0 {
                        (out + c).initialize(to: whole(positiveTiny))
                    } else {
                        guard let r = negativeTarget(pc) else { return true }
                        (out + c).initialize(to: common(r, -pc))
                    }
                }
                return false
            }
            return !failures.contains(true)
        }
        if rounded {
            // `fill`'s outputs' rounded values, in a loop of its own (no output built, no call
            // through a closure per output): −inf logits as `exactOutput`, RN_format(∓p_c).
            let top = atMaximum.rounded, tiny = positiveTiny.rounded
            var ok = false
            if exactTargets && tiny.bitPattern == 0 {
                // f64 with the tiny output +0: every output but the maximum's is 0 − p_c, which is
                // −p_c for p_c > 0 (`negativeTarget`; also RN(−p_c) at a −inf logit) and +0 for
                // p_c = ±0 (`tiny`; also the −inf logits' exact +0); the targets are finite and
                // >= 0 (validated). A loop without branches (p_c = 0 at random made the one above
                // mispredict).
                let values = [Double](unsafeUninitializedCapacity: n) { buffer, count in
                    let base = UncheckedSendable(value: buffer.baseAddress!)
                    _ = split.run(count: n) { range in
                        let out = base.value
                        for c in range { (out + c).initialize(to: 0 - p[c]) }
                    }
                    buffer[o.maxIndex] = top
                    count = n
                }
                return .rounded(values)
            }
            let values = [Double](unsafeUninitializedCapacity: n) { buffer, count in
                let base = UncheckedSendable(value: buffer.baseAddress!)
                ok = !split.run(count: n) { range -> Bool in
                    let out = base.value
                    for c in range {
                        let pc = p[c]
                        let r: Double
                        if c == o.maxIndex {
                            r = top
                        } else if o.x[c] == -.infinity {
                            r = format.round(pc == 0 ? 0 : -pc)
                        } else if pc == 0 {
                            r = tiny
                        } else {
                            guard let v = negativeTarget(pc) else { return true }
                            r = v
                        }
                        (out + c).initialize(to: r)
                    }
                    return false
                }.contains(true)
                count = ok ? n : 0
            }
            return ok ? .rounded(values) : nil
        }
        return withOutputs(count: n) { fill($0, { $0 }, { r, exact in OracleValue(rounded: r, exact: ExactValue(exact)) }) }
            .map { .certified($0) }
    }
}

/// The outputs of a wide row (see WideRow.swift).
struct WideRowOutputs {
    enum Kind { case softmax, logSoftmax }
    let x: UnsafeBufferPointer<Double>, m: Double, maxIndex: Int
    let certifier: DoubleWordCertifier

    /// ±(0, 2^(ts+1)): ±0, exact value ±2^ts.
    func tiny(negative: Bool) -> OracleValue {
        DoubleWordTier.tinyOutput(negative: negative, exponent: DoubleWordTier.wideRowSumExponent, certifier.format)
    }

    /// ±(1 − tiny): ±1, exact value ±2·2^-1.
    func oneMinusTiny(negative: Bool) -> OracleValue {
        DoubleWordTier.oneMinusTinyOutput(negative: negative, certifier.format)
    }

    /// P + L (negated when `negate`) for an exact P ≠ 0 (or, when `scaled` is given, P =
    /// scaled.hi + scaled.lo times 2), with 0 < L < 2^ts: certified with the absolute error
    /// 2^-999 (> L), else `roundNearTie` (P + 0⁺).
    func plusL(_ p: DoubleWord, scaled: DoubleWord?, negate: Bool) -> OracleValue? {
        let sign = negate ? -1.0 : 1.0
        if let h = scaled {
            // |P| >= 2^1024: L < 2^-999 is far below P's last bit and every half-quantum.
            return certifier.certify(sign * h.hi, sign * h.lo, scale: 1, error: 0x1p-1000)
        }
        if p.hi == 0 { return tiny(negative: negate) }
        let w = DoubleWord(sign * p.hi, sign * p.lo)
        let absolute = 0x1p-999
        if let v = certifier.certify(w, absoluteError: absolute) { return v }
        return DoubleWordTier.nearTie(negate ? -p : p, plus: !negate, w, absoluteError: absolute, upper: 0x1p-999, certifier)
    }

    /// −log_softmax_i = (m − x_i) + L (negated when `negate`), for a finite x_i.
    func negativeLogSoftmax(_ i: Int, negate: Bool) -> OracleValue? {
        if i == maxIndex { return tiny(negative: negate) }
        let d = twoSum(m, -x[i])
        if d.hi.isFinite { return plusL(d, scaled: nil, negate: negate) }
        return plusL(d, scaled: twoSum(0.5 * m, -0.5 * x[i]), negate: negate)
    }
}

/// Whether every lane of m is true: `all(m)`, written so that it is always inlined (the
/// standard library's `all` was a call in the wide log_softmax loop, three per four outputs,
/// each with the vector registers spilled around it: about 40% of that loop's time).
@inline(__always)
func allLanes(_ m: SIMDMask<SIMD4<Int64>>) -> Bool {
    let s = unsafeBitCast(m, to: SIMD4<Int64>.self)  // a true lane is −1, a false one 0
    return (s[0] & s[1] & s[2] & s[3]) != 0
}

extension WideRowOutputs {
    /// log_softmax's outputs i ..< i + 4 (`OutputLanes`) on lanes, as `negativeLogSoftmax(_:negate:
    /// true)` gives them, when none is at the maximum, every x_j is finite, m − x_j does not
    /// overflow, and every output is decided here (else false, nothing written: `single` then
    /// decides). The output is w = −TwoSum(m, −x_j) − L, 0 < L < 2^-999 (the file's notes):
    /// - f64: |w_hi| >= 2^19 (a wide row), and RN(w − L) = w_hi when |w_lo| + 2^-999 is below
    ///   the half-spacing room = 2^(e−53) around w_hi (halved when |w_hi| is a power of two, as
    ///   the spacing below it halves; e = ⌊log₂|w_hi|⌋), which (|w_lo|(1 + 2^-50) + |w_hi|·2^-100)
    ///   (1 + 2^-50) < room ensures (|w_hi|·2^-100 >= 2^-81 covers 2^-999 and the two roundings).
    ///   That is at least as strict as `certify`'s test in its binades (its es = 2^(e−110)(1 + 2^-50)
    ///   in place of |w_hi|·2^-100) and as `testOutsideBinades` above them (the same rule in units
    ///   of 2^e), so `single` decides such a lane the same way: rounded w_hi, exact value w_hi +
    ///   w_lo (`DoubleWordCertifier.writeOutputs` of (w_hi, w_lo, 0), or for e = 1023, where 2^-e
    ///   is subnormal, of (w_hi/2, w_lo/2, 1): w_lo/2 is exact unless |w_lo| < 2^-1022, when
    ///   both tails underflow to the same signed zero). No subnormal operand on the way (each a
    ///   microcode assist on this CPU).
    /// - other formats: the certification test on lanes (`DoubleWordCertifier.test(lanes:)`, the
    ///   scalar `certify`'s own test, lane by lane) with the error 2^-999.
    @inline(__always)
    func logSoftmaxLanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        typealias V = OutputLanes
        typealias I = V.MaskStorage
        guard UInt(bitPattern: maxIndex &- i) >= UInt(V.scalarCount) else { return false }
        let v = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: V.self)
        guard allLanes(v .> -.infinity) else { return false }
        let (dh, dl) = twoSum(V(repeating: m), -v)  // TwoSum(m, −x_j), as `negativeLogSoftmax`
        let wh = -dh, wl = -dl
        let zero = I(repeating: 0)
        let magnitude = magnitudeLanes(wh)
        guard allLanes((magnitude .< .infinity) .& (magnitude .>= 0x1p19)) else { return false }
        guard certifier.precision == 53 else {
            let t = certifier.test(lanes: wh, wl, scale: zero, error: V(repeating: 0x1p-999))
            guard allLanes(t.inRange .& t.narrow .& t.certified) else { return false }
            t.writeOutputs(to: out)
            return true
        }
        guard Self.f64LanesDecided(wh, wl, magnitude) else { return false }
        let bits = unsafeBitCast(wh, to: I.self)
        let top = (bits & 0x7FF0_0000_0000_0000) .== 0x7FE0_0000_0000_0000  // e = 1023
        let h = wh.replacing(with: wh * 0.5, where: top)
        var l = wl.replacing(with: wl * 0.5, where: top)
        // A tail l·2^-e' below 2^-1076 (l's exponent field + 1077 <= h's: |l| < 2^(e' − 1076)) rounds
        // to l's signed zero: written as that zero, the same value, without the multiplication's
        // microcode assist (logits far below the maximum: |w_lo| = |x_j|).
        let lBits = unsafeBitCast(l, to: I.self)
        let vanishing = ((lBits &>> 52) & 0x7FF) &+ 1077 .<= (unsafeBitCast(h, to: I.self) &>> 52) & 0x7FF
        l.replace(with: unsafeBitCast(lBits & Int64.min, to: V.self), where: vanishing)
        DoubleWordCertifier.writeOutputs(rounded: wh, h, l, scale: zero.replacing(with: 1, where: top), to: out)
        return true
    }

    /// The f64 test of `logSoftmaxLanes` on w = (wh, wl), |wh| = `magnitude` (finite, >= 2^19):
    /// |w_lo|(1 + 2^-50) + |w_hi|·2^-100, times (1 + 2^-50), below the half-spacing room
    /// around w_hi (see there). Then RN(w − L) = w_hi on every lane.
    @inline(__always)
    static func f64LanesDecided(_ wh: OutputLanes, _ wl: OutputLanes, _ magnitude: OutputLanes) -> Bool {
        typealias V = OutputLanes
        let bits = unsafeBitCast(wh, to: V.MaskStorage.self)
        let binade = unsafeBitCast(bits & 0x7FF0_0000_0000_0000, to: V.self)  // 2^e
        let powerOfTwo = (bits & 0x000F_FFFF_FFFF_FFFF) .== 0
        let room = binade * 0x1p-53 * V(repeating: 1).replacing(with: 0.5, where: powerOfTwo)
        return allLanes((magnitudeLanes(wl) * (1 + 0x1p-50) + magnitude * 0x1p-100) * (1 + 0x1p-50) .< room)
    }

    /// The rounded values alone of `logSoftmaxLanes` in f64: out[0..<4] = w_hi where it writes
    /// outputs whose rounded value is w_hi (the same lanes, the same test), else false with
    /// nothing written (the other formats: always false).
    @inline(__always)
    func logSoftmaxRoundedLanes(_ i: Int, into out: UnsafeMutablePointer<Double>) -> Bool {
        typealias V = OutputLanes
        guard certifier.precision == 53, UInt(bitPattern: maxIndex &- i) >= UInt(V.scalarCount) else { return false }
        let v = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: V.self)
        guard allLanes(v .> -.infinity) else { return false }
        let (dh, dl) = twoSum(V(repeating: m), -v)
        let wh = -dh, wl = -dl
        let magnitude = magnitudeLanes(wh)
        guard allLanes((magnitude .< .infinity) .& (magnitude .>= 0x1p19)), Self.f64LanesDecided(wh, wl, magnitude) else { return false }
        UnsafeMutableRawPointer(out).storeBytes(of: wh, as: V.self)
        return true
    }
}

/// The fill of softmax, log_softmax or cross_entropy_grad (target ≥ 0) outputs of a wide row.
struct WideRowFill: RowOutputs {
    let outputs: WideRowOutputs, kind: WideRowOutputs.Kind, target: Int
    /// softmax_j for a finite x_j off the maximum and the target, the row's usual output: +tiny
    /// (+0, exact value 2^ts), the same value for every such j, made once per row.
    let offMaximum: OracleValue

    init(outputs: WideRowOutputs, kind: WideRowOutputs.Kind, target: Int) {
        (self.outputs, self.kind, self.target) = (outputs, kind, target)
        offMaximum = outputs.tiny(negative: false)
    }

    /// Outputs i ..< i + 4 of softmax or the gradient when none is at the maximum or the target
    /// and every x_j is finite: `offMaximum` four times, as `single` gives them (log_softmax's:
    /// `WideLogSoftmaxFill`).
    @inline(__always)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        let width = OutputLanes.scalarCount
        guard kind == .softmax, UInt(bitPattern: outputs.maxIndex &- i) >= UInt(width),
              UInt(bitPattern: target &- i) >= UInt(width) else { return false }
        for k in 0..<width where outputs.x[i + k] == -.infinity { return false }
        for k in 0..<width { (out + k).initialize(to: offMaximum) }
        return true
    }

    @inline(__always)
    func single(_ i: Int) -> OracleValue? {
        let o = outputs
        if kind == .logSoftmax {
            if o.x[i] == -.infinity { return OracleValue(rounded: o.certifier.format.round(-.infinity), exact: ExactValue(-Double.infinity)) }
            return o.negativeLogSoftmax(i, negate: true)
        }
        if i == target {  // softmax_t − 1
            if o.x[i] == -.infinity { return OracleValue(rounded: o.certifier.format.round(-1.0), exact: ExactValue(-1.0)) }
            return i == o.maxIndex ? o.tiny(negative: true) : o.oneMinusTiny(negative: true)
        }
        if i == o.maxIndex { return o.oneMinusTiny(negative: false) }
        if o.x[i] == -.infinity { return OracleValue(rounded: o.certifier.format.round(0.0), exact: ExactValue(0.0)) }
        return offMaximum
    }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }

    /// The rounded values of softmax or the gradient (`kind == .softmax`): `single(i).rounded`
    /// for every i, written directly (8 bytes an output, one pass, no `OracleValue` made per
    /// output). Off the maximum and the target, `single(i)` is `offMaximum`, or +0 rounded for
    /// a −inf logit; at those two indices it is `single` itself.
    func roundedValues() -> [Double] {
        precondition(kind == .softmax)
        let x = outputs.x, n = x.count
        let off = offMaximum.rounded, zero = outputs.certifier.format.round(0.0)
        return [Double](unsafeUninitializedCapacity: n) { buffer, count in
            let out = buffer.baseAddress!
            for i in 0..<n { out[i] = x[i] == -.infinity ? zero : off }
            for j in [outputs.maxIndex, target] where j >= 0 && j < n {
                out[j] = single(j)!.rounded  // (`single` of softmax and the gradient is never nil)
            }
            count = n
        }
    }
}

/// The fill of a wide row's log_softmax: `WideRowFill`'s outputs, four at a time by
/// `WideRowOutputs.logSoftmaxLanes` (the same outputs as `single`'s).
struct WideLogSoftmaxFill: RowOutputs {
    let row: WideRowFill

    @inline(__always)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { row.outputs.logSoftmaxLanes(i, into: out) }

    @inline(__always)
    func roundedLanes(_ i: Int, into out: UnsafeMutablePointer<Double>) -> Bool { row.outputs.logSoftmaxRoundedLanes(i, into: out) }

    @inline(__always)
    func single(_ i: Int) -> OracleValue? { row.single(i) }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}
