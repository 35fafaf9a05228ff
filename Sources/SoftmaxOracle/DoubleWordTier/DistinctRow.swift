import DoubleWordArithmetic
import ParallelExecution

// Long rows with few distinct logits (the harness's near_ties rows: 10^5 logits within ±2 ulps of
// one offset, five distinct values): the row is compressed to its distinct logits v_k with their
// counts c_k, the sum takes each exponential once, times its count, and each distinct output is
// computed once and written to every index that holds its logit.
//
// Why the outputs are the general path's: every output of softmax, log_softmax and
// cross_entropy_grad (hard target) off the maximum's own index M and the target is a function of
// its logit's bits and of the row's m, s and L alone (`SoftmaxOutputs.single`,
// `LogSoftmaxOutputs.single` on the stored exponential e^(x_i − m), which `DoubleWordExp.exp`
// computes from x_i − m alone); here those functions run on a row of the distinct logits, and the
// outputs at M and at the target are computed as the general path computes them. The sum ŝ below
// has its own error bound (`distinctRowSum`); every output is certified from it as from the
// general path's, so where both certify they give the same rounding (the correct one); where an
// output does not certify here, nil: the general path answers the row. The exact values reported
// are the enclosures' midpoints from this ŝ, which may differ from the general path's below the
// bound, as the tiny-spread rows' do.
//
// Cost: one pass over the row for the keys (a 64-slot hash table on the bit patterns; it stops at
// the (limit + 1)-th distinct value, so an ordinary row costs a few reads; groups of logits that
// are all known values are coded on SIMD lanes, a comparison per known value), a handful of
// exponentials, and one pass writing the outputs; 1 byte per logit for the keys.

extension DoubleWordTier {
    /// The most distinct logits a row may have here. At most 8: `distinctLogits` counts each
    /// value in one byte of a 64-bit lane (`tally`), eight values to a lane.
    static let distinctLimit = 8
    /// Shorter rows take the general path (the compressed row pays off on long rows only, and
    /// short rows keep the path they have always had).
    static let distinctMinimumCount = 256

    /// A row's distinct logits (distinct bit patterns, in order of first appearance), each with
    /// its count and first index, and for every logit the index of its value (`codes`).
    struct DistinctLogits {
        var values: [Double]
        var counts: [Int]
        var first: [Int]
        var codes: [UInt8]
    }

    /// The distinct logits of x, or nil when x has more than `distinctLimit` of them or fewer
    /// than `distinctMinimumCount` logits.
    static func distinctLogits(_ x: UnsafeBufferPointer<Double>) -> DistinctLogits? {
        let n = x.count
        guard n >= distinctMinimumCount else { return nil }
        // A look at the first 64 logits first: most rows have more than `distinctLimit` values
        // there, and leave before the key array is allocated.
        var seen = [UInt64]()
        for j in 0..<64 where !seen.contains(x[j].bitPattern) {
            if seen.count == distinctLimit { return nil }
            seen.append(x[j].bitPattern)
        }
        let slots = 64  // a power of two, well above distinctLimit: few collisions
        var keys = [UInt64](repeating: 0, count: slots)
        var slotCode = [UInt8](repeating: UInt8.max, count: slots)  // UInt8.max: empty
        var values = [Double](), first = [Int]()
        var counts = [Int](repeating: 0, count: distinctLimit)
        var ok = true
        let codes = [UInt8](unsafeUninitializedCapacity: n) { codes, count in
            keys.withUnsafeMutableBufferPointer { keys in
                slotCode.withUnsafeMutableBufferPointer { slotCode in
                    counts.withUnsafeMutableBufferPointer { counts in
                        typealias Lanes = DoubleWordLaneBits
                        let width = Lanes.scalarCount
                        precondition(distinctLimit == 8, "one byte counter per value in a 64-bit lane; eight slots compared")
                        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: distinctLimit) { lanes in
                            // known[c]: value c's bits on every lane (for c >= size, value 0's
                            // once there is one). tally: per lane, 8 byte
                            // counters, byte c counting the lane's logits of value c in the groups
                            // below (added to `counts` every 255 groups, before a byte can wrap).
                            let known = lanes.baseAddress!
                            var tally = Lanes(), pending = 0
                            @inline(__always) func flush() {
                                for l in 0..<width {
                                    for c in 0..<distinctLimit { counts[c] += Int((tally[l] >> (8 * UInt64(c))) & 255) }
                                }
                                tally = Lanes()
                                pending = 0
                            }
                            var size = 0
                            var j = 0
                            while j < n {
                                // A group of `width` logits whose every bit pattern is a known
                                // value: the codes and counts the step below would give, on lanes.
                                //
                                // All eight slots are compared, in straight-line code (no mask
                                // carried through a loop, which compiled to a vector and a
                                // reduction): a slot c >= size holds value 0's bits, so value 0's
                                // lanes match it too, and their code is set to 0 last.
                                if j + width <= n && size > 0 {
                                    let v = UnsafeRawPointer(x.baseAddress! + j).loadUnaligned(as: Lanes.self)
                                    let m0 = v .== known[0], m1 = v .== known[1], m2 = v .== known[2], m3 = v .== known[3]
                                    let m4 = v .== known[4], m5 = v .== known[5], m6 = v .== known[6], m7 = v .== known[7]
                                    if all((m0 .| m1) .| (m2 .| m3) .| ((m4 .| m5) .| (m6 .| m7))) {
                                        var code = Lanes(repeating: 7)
                                        code.replace(with: Lanes(repeating: 6), where: m6)
                                        code.replace(with: Lanes(repeating: 5), where: m5)
                                        code.replace(with: Lanes(repeating: 4), where: m4)
                                        code.replace(with: Lanes(repeating: 3), where: m3)
                                        code.replace(with: Lanes(repeating: 2), where: m2)
                                        code.replace(with: Lanes(repeating: 1), where: m1)
                                        code.replace(with: Lanes(repeating: 0), where: m0)
                                        storeBytes(code, at: codes.baseAddress! + j)
                                        tally &+= Lanes(repeating: 1) &<< (code &* 8)  // code < 8
                                        pending += 1
                                        if pending == 255 { flush() }
                                        j += width
                                        continue
                                    }
                                }
                                let bits = x[j].bitPattern
                                var s = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) &>> 58)  // 64 slots
                                while true {
                                    let c = slotCode[s]
                                    if c == UInt8.max {  // a new value
                                        guard size < distinctLimit else {
                                            ok = false
                                            return
                                        }
                                        keys[s] = bits
                                        slotCode[s] = UInt8(size)
                                        if size == 0 {  // every slot value 0's, until a later value takes it
                                            for c in 0..<distinctLimit { known[c] = Lanes(repeating: bits) }
                                        }
                                        known[size] = Lanes(repeating: bits)
                                        values.append(x[j])
                                        first.append(j)
                                        codes[j] = UInt8(size)
                                        counts[size] = 1
                                        size += 1
                                        break
                                    }
                                    if keys[s] == bits {
                                        codes[j] = c
                                        counts[Int(c)] += 1
                                        break
                                    }
                                    s = (s + 1) & (slots - 1)
                                }
                                j += 1
                            }
                            flush()
                        }
                    }
                }
            }
            count = ok ? n : 0
        }
        guard ok else { return nil }
        return DistinctLogits(values: values, counts: Array(counts.prefix(values.count)), first: first, codes: codes)
    }

    /// Each lane's low byte, stored at p[0 ..< 8] (one narrowing store; the loop over lanes it
    /// replaces compiled to a store and an overflow check per lane).
    @inline(__always)
    static func storeBytes(_ v: SIMD8<UInt64>, at p: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: v), as: SIMD8<UInt8>.self)
    }

    /// Each lane's low byte, stored at p[0 ..< 4].
    @inline(__always)
    static func storeBytes(_ v: SIMD4<UInt64>, at p: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: SIMD4<UInt8>(truncatingIfNeeded: v), as: SIMD4<UInt8>.self)
    }

    /// A compressed row: its distinct logits, the row's sum, and each distinct logit's
    /// exponential e^(v_k − m) as `ExpStore` keeps it (k = Int32.min: none, a −inf logit or one
    /// omitted from the sum).
    struct DistinctRow {
        var keys: DistinctLogits
        var row: RowSum
        var exps: [(hi: Double, lo: Double, k: Int32)]
    }

    /// The row's sum from its distinct logits, or nil where `rowSum` gives nil (a NaN or +inf,
    /// no finite logit, no finite logit besides the maximum, the second largest more than 2^19
    /// below the maximum: those rows are the special and wide rows' and the general path's).
    ///
    /// m and its index M are `RowScan`'s (the first index of the largest value). With c_k the
    /// count of v_k (less one for the maximum's own, which s leaves out), s = Σ_k c_k·e^(d_k),
    /// d_k = v_k − m (TwoSum, exact). Each e^(d_k) = 2^(k_k)·(hi + lo) by `DoubleWordExp.exp`
    /// (relative error 2^-101; hi ∈ [1 − 2^-17.5, 2), |lo| <= u·hi); a d_k below the exponential's
    /// domain (or an overflowed difference) is omitted, as in `SumPart.difference`. Each term is
    /// added exactly in a `FixedPointSum` relative to 2^top, top = max_k (k_k + bits(c_k) + 1)
    /// (c_k < 2^bits(c_k), hi < 2: every added double times 2^(k_k − top) is below 1 in
    /// magnitude, the accumulator's precondition), as three doubles: c·hi = TwoProd(c, hi)
    /// (exact: c < 2^53, c·hi >= 2^-969) and RN(c·lo), which errs by <= u·c·|lo| <= u²·c·hi <=
    /// 2^-106(1 + 2^-50) of the term (2^-1074 more if it underflows). The bound, relative to s:
    /// - the exponentials, 2^-101 (all terms positive);
    /// - RN(c·lo): 2^-106·1.0001 + 2^-1073;
    /// - each truncation < 2^(top − 126), and s >= c_k·e^(d_k) >= 2^(bits − 1)·2^(k_k − 1) =
    ///   2^(top − 3) for the key that sets top: 2^-123 per double; each omitted term is below
    ///   e^(−2^20) < 2^-123·e^(d_2) <= 2^-123·s (d_2 >= −2^19), counted the same;
    /// - the conversion, `FixedPointSum.conversionError`.
    static func distinctRowSum(_ x: UnsafeBufferPointer<Double>, _ keys: DistinctLogits) -> DistinctRow? {
        let count = keys.values.count
        var maxValue = -Double.infinity
        for v in keys.values {
            if v.isNaN || v == .infinity { return nil }
            maxValue = Swift.max(maxValue, v)
        }
        guard maxValue > -.infinity else { return nil }
        var maxIndex = Int.max
        for k in 0..<count where keys.values[k] == maxValue { maxIndex = Swift.min(maxIndex, keys.first[k]) }
        let m = x[maxIndex]
        let maxKey = Int(keys.codes[maxIndex])
        let tab = DoubleWordExpTable.shared
        var exps = [(hi: Double, lo: Double, k: Int32)](repeating: (0, 0, Int32.min), count: count)
        var second = -Double.infinity
        var omitted = 0
        var overflow = false
        var top = Int.min
        for k in 0..<count {
            let c = keys.counts[k] - (k == maxKey ? 1 : 0)
            let v = keys.values[k]
            if v == -.infinity { continue }
            if c > 0 { second = Swift.max(second, v) }
            let d = twoSum(v, -m)
            guard d.hi >= DoubleWordExp.lowestArgument else {  // omitted, as `SumPart.difference`
                omitted += c
                if !d.hi.isFinite { overflow = true }
                continue
            }
            let e = DoubleWordExp.exp(d.hi, d.lo, tab)
            exps[k] = (e.m.hi, e.m.lo, Int32(truncatingIfNeeded: e.k))
            if c > 0 { top = Swift.max(top, e.k + (Int.bitWidth - c.leadingZeroBitCount) + 1) }
        }
        guard second > -.infinity, second - m >= -0x1p19, top > Int.min else { return nil }
        var sum = FixedPointSum()
        var truncations = 0
        for k in 0..<count {
            let c = keys.counts[k] - (k == maxKey ? 1 : 0)
            let e = exps[k]
            guard c > 0, e.k != Int32.min else { continue }
            let scale = Int(e.k) - top
            let p = twoProduct(Double(c), e.hi)
            sum.add(p.hi, scale: scale)
            sum.add(p.lo, scale: scale)
            sum.add(Double(c) * e.lo, scale: scale)
            truncations += 3
        }
        guard let v = sum.value() else { return nil }
        let epsS = roundedUp(DoubleWordExp.relativeError * 1.0001 + 0x1p-106 * 1.0001 + 0x1p-1073
                             + Double(truncations + omitted) * 0x1p-123 * 1.0001 + FixedPointSum.conversionError * 1.0001)
        let row = RowSum(m: m, maxIndex: maxIndex, s: ScaledDoubleWord(hi: v.hi, lo: v.lo, exponent: v.exponent + top),
                         epsS: epsS, overflow: overflow, omitted: omitted, compact: false)
        return DistinctRow(keys: keys, row: row, exps: exps)
    }

    /// The tier's answer for a long row with few distinct logits (see the file's notes) of
    /// logsumexp, softmax, log_softmax, cross_entropy or cross_entropy_grad (a hard target, no
    /// class weights, no smoothing), or nil (not such a row, or an output that does not certify
    /// here). With `rounded`, the row functions' rounded values alone.
    static func distinctRow(_ q: OracleRequest, threads: Int, rounded: Bool) -> RoundedResult.Values? {
        var target = -1
        switch q.function {
        case .logsumexp, .softmax, .logSoftmax: break
        case .crossEntropy, .crossEntropyGrad:
            guard q.weight == nil, q.labelSmoothing == 0, case .index(let t)? = q.target, t >= 0, t < q.logits.count else { return nil }
            target = t
        default: return nil
        }
        return q.logits.withUnsafeBufferPointer { x -> RoundedResult.Values? in
            guard let keys = distinctLogits(x), let d = distinctRowSum(x, keys) else { return nil }
            let certifier = DoubleWordCertifier(q.format)
            let row = d.row
            switch q.function {
            case .logsumexp:
                guard let lp = logPart(row) else { return nil }
                return logsumexpOutput(m: row.m, lp, certifier).map { .certified([$0]) }
            case .crossEntropy:
                return crossEntropy(x, target: target, row: row, q.format).map { .certified([$0]) }
            case .logSoftmax:
                guard let table = distinctLogSoftmax(d, certifier) else { return nil }
                return distinctFill(x, d, table: table, at: [], threads: threads, rounded: rounded)
            default:  // softmax, cross_entropy_grad
                guard let s = distinctSoftmax(d, certifier) else { return nil }
                var at = [(row.maxIndex, s.atMaximum)]
                if target >= 0 {
                    // Entry t as `softmax(_:gradientTarget:)` computes it, from e^(x_t − m).
                    guard let g = targetGradient(x, target: target, row: row, exponential: d.exps[Int(keys.codes[target])],
                                                 inverse: s.inverse, epsInverse: s.epsInverse, certifier) else { return nil }
                    at.append((target, g))
                }
                return distinctFill(x, d, table: s.table, at: at, threads: threads, rounded: rounded)
            }
        }
    }

    /// softmax's output for each distinct logit at an index other than M (`SoftmaxOutputs.single`
    /// on a row of the distinct logits, with their stored exponentials), and the output at M with
    /// 1/S and its bound (`softmax`'s, full exponentials); nil when one does not certify.
    static func distinctSoftmax(_ d: DistinctRow, _ certifier: DoubleWordCertifier)
        -> (table: [OracleValue], atMaximum: OracleValue, inverse: DoubleWord, epsInverse: Double)? {
        let count = d.keys.values.count
        let (inverse, epsInverse) = inverseOfSum(d.row)
        let eps = roundedUp(DoubleWordExp.relativeError + epsInverse + 8.1 * unitRoundoffSquared)
        let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: count + 1)
        defer { slots.deallocate() }
        let store = ExpStore(slots: slots)
        for (k, e) in d.exps.enumerated() {
            if e.k == Int32.min { store.markAbsent(k) } else { store.store(k, hi: e.hi, lo: e.lo, k: e.k) }
        }
        // The distinct logits, then m at index `count`, the maximum's own index.
        let x = d.keys.values + [d.row.m]
        return x.withUnsafeBufferPointer { x -> (table: [OracleValue], atMaximum: OracleValue, inverse: DoubleWord, epsInverse: Double)? in
            let outputs = SoftmaxOutputs(
                x: x, store: store, maxIndex: count, inverse: inverse,
                inverseError: epsInverse * inverse.hi * (1 + 0x1p-50), epsUp: eps * (1 + 0x1p-50),
                zero: exactOutput(0, certifier.format), certifier: certifier)
            var table = [OracleValue]()
            table.reserveCapacity(count)
            for k in 0..<count {
                guard let v = outputs.single(k) else { return nil }
                table.append(v)
            }
            guard let top = outputs.single(count) else { return nil }
            return (table, top, inverse, epsInverse)
        }
    }

    /// log_softmax's output for each distinct logit (`LogSoftmaxOutputs.single` on a row of the
    /// distinct logits; `logSoftmax`'s conditions), or nil.
    static func distinctLogSoftmax(_ d: DistinctRow, _ certifier: DoubleWordCertifier) -> [OracleValue]? {
        let row = d.row
        guard !row.overflow, let lp = logPart(row),
              let top = negativeLogSoftmax(DoubleWord(0, 0), lp, certifier, negate: true) else { return nil }
        return d.keys.values.withUnsafeBufferPointer { x -> [OracleValue]? in
            // (`single` reads no index of the maximum; x.count: none.)
            let outputs = LogSoftmaxOutputs(x: x, m: row.m, maxIndex: x.count, lp: lp, top: top,
                                            negativeInfinity: exactOutput(-.infinity, certifier.format), certifier: certifier)
            var table = [OracleValue]()
            table.reserveCapacity(x.count)
            for k in 0..<x.count {
                guard let v = outputs.single(k) else { return nil }
                table.append(v)
            }
            return table
        }
    }

    /// The row's outputs: table[code of x_i] at every index i, then the given outputs at their
    /// indices (the maximum's own, the target's); rounded values alone with `rounded`.
    static func distinctFill(_ x: UnsafeBufferPointer<Double>, _ d: DistinctRow, table: [OracleValue],
                             at: [(Int, OracleValue)], threads: Int, rounded: Bool) -> RoundedResult.Values {
        let n = x.count
        let split = StageSplit(threads: threads, count: n)
        func fill<Value>(_ slots: UnsafeMutablePointer<Value>, _ table: [Value], _ at: [(Int, Value)]) {
            let base = UncheckedSendable(value: slots), values = UncheckedSendable(value: table)
            d.keys.codes.withUnsafeBufferPointer { keyCodes in
                let shared = UncheckedSendable(value: keyCodes)
                _ = split.run(count: n) { range in
                    let out = base.value, codes = shared.value
                    values.value.withUnsafeBufferPointer { table in
                        for i in range { (out + i).initialize(to: table[Int(codes[i])]) }
                    }
                }
            }
            for (i, v) in at { slots[i] = v }
        }
        if rounded {
            return .rounded([Double](unsafeUninitializedCapacity: n) { buffer, count in
                fill(buffer.baseAddress!, table.map(\.rounded), at.map { ($0.0, $0.1.rounded) })
                count = n
            })
        }
        return .certified(withOutputs(count: n) { slots in
            fill(slots, table, at)
            return true
        }!)
    }
}
