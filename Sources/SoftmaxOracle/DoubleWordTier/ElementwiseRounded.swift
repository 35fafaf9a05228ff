import DoubleWordArithmetic
import ParallelExecution

// The elementwise functions' rounded values alone (`Oracle.evaluateRounded`): 8 bytes of fresh
// memory an output instead of an `OracleValue`'s 32, and the outputs that are a constant or the
// logit itself written without certifying them one by one.
//
// Outputs that do not depend on x, or are x (sigmoid, softplus, log_sigmoid; the scalar path's
// regimes, ElementwiseShortcuts.swift and ElementwiseOutputs.swift):
// - |x| <= 2^-60: `tinyLogitRounded` (when the format has that regime);
// - x > 2^20, finite: `hugePositive` (sigmoid 1 − 0⁺, log_sigmoid −0⁺), else (softplus) x ± 0⁺,
//   which `hugeLogitOutput` rounds to x when x is a value of the format: always in f64, whose
//   values every finite logit is; in other formats these outputs take the general path;
// - x < −2^20, finite: `hugeNegative` (sigmoid and softplus 0⁺), else (log_sigmoid) x as above.
// - 2^9 < |x| <= 2^20 on the side where that output is 1 or x (sigmoid and softplus above,
//   log_sigmoid below): the same output. There e^(−|x|) < e^-512 < 2^-738 (512·log₂e = 738.66):
//   * sigmoid, x > 2^9: 0 < 1 − σ(x) = 1/(1 + e^x) < e^-x < 2^-738, while every format's rounding
//     boundary below 1 is 1 − 2^-(p+1) <= 1 − 2^-54 (p <= 53): σ(x) rounds to 1, `hugePositive`'s
//     rounding (1 − 0⁺);
//   * softplus, x > 2^9, f64: x < softplus(x) = x + log1p(e^-x) < x + e^-x < x + 2^-738, and the
//     boundary above the double x is x + ulp(x)/2 >= x + 2^-44: it rounds to x;
//   * log_sigmoid, x < −2^9, f64: x > log_sigmoid(x) = x − log1p(e^x) > x − 2^-738, and the
//     boundary below x is at least 2^-45 away (half the spacing below |x| >= 2^9, halved at a
//     power of two): it rounds to x.
//   (The other sides' outputs there, e^(−|x|) and its like, are not constants: `fill`.)
// - x = +inf, −inf, NaN: the scalar path's `exactOutput` of a constant (sigmoid 1, 0; softplus
//   +inf, 0; log_sigmoid −0, −inf; NaN for any NaN, whatever its sign or payload), made once per
//   fill from that very path (`output` at ±inf and NaN).
// These are selected on SIMD lanes; the other logits of a block (2^-60 < |x| <= 2^20 off those sides,
// or any logit outside those regimes) are gathered and certified by `fill` (lanes and scalar path).
// Each output depends on its own logit alone (bce's also on its label, weights: bce keeps
// whole blocks in `fill`), so gathering changes no output.

extension DoubleWordTier {
    /// `elementwise`'s rounded values alone (nil for other functions): `rounded[i]` is output
    /// i's rounding unless i is in `pending` (ascending; the slot holds 0, bce's in f64 its
    /// label), the same outputs as `elementwise` leaves (`ElementwiseOutputs.fillRounded`).
    static func elementwiseRounded(_ q: OracleRequest, threads: Int) -> (rounded: [Double], pending: [Int])? {
        guard let outputs = elementwiseOutputs(q) else { return nil }
        let n = q.logits.count
        var pending: [Int] = []
        let rounded = q.logits.withUnsafeBufferPointer { x in
            [Double](unsafeUninitializedCapacity: n) { buffer, count in
                guard n > 0 else { return }
                pending = fillRoundedChunks(n, threads: threads, into: buffer.baseAddress!) { range, out in
                    outputs.fillRounded(x, range, into: out)
                }
                count = n
            }
        }
        return (rounded, pending)
    }

    /// `elementwiseRounded` of a validated bce_with_logits request in f64 whose labels were
    /// taken out of it (`q.labels` nil) and given as `labels`: the same rounded values, written
    /// over the labels' storage, which the result then is (no third array of n doubles beside
    /// the logits and labels). A slot in `pending` holds its output's label (the MPFR path's
    /// input), not 0.
    ///
    /// Why it is safe: `labels` is owned here (consuming). When its storage is not shared, it
    /// is written in place; when it is (a caller that keeps its request, or its labels), the
    /// mutable access makes a copy first (Swift's copy-on-write), so the caller's array is
    /// never written. Output i depends on label i alone (and logit i, pos_weight, weight), and
    /// `fillRoundedBce` reads label i before it writes output i (its notes); the slots of a
    /// pending output keep their labels, which `Oracle.evaluateRounded(consuming:)` gives the
    /// MPFR path, so those outputs are computed from their original labels.
    static func bceRoundedInPlace(_ q: OracleRequest, labels: consuming [Double], threads: Int) -> (rounded: [Double], pending: [Int]) {
        let outputs = elementwiseOutputs(q).unsafelyUnwrapped  // (bce: never nil)
        let n = q.logits.count
        var pending: [Int] = []
        q.logits.withUnsafeBufferPointer { x in
            labels.withUnsafeMutableBufferPointer { z in
                guard n > 0 else { return }
                let zs = UncheckedSendable(value: UnsafePointer(z.baseAddress!))
                pending = fillRoundedChunks(n, threads: threads, into: z.baseAddress!) { range, out in
                    outputs.fillRoundedBce(x, labels: zs.value, range, into: out)
                }
            }
        }
        return (labels, pending)
    }

    /// `fill(range, out)` over 0..<n, in chunks on `threads` threads when n is large enough;
    /// the indices it returns, ascending.
    private static func fillRoundedChunks(_ n: Int, threads: Int, into out: UnsafeMutablePointer<Double>,
                                          _ fill: (Range<Int>, UnsafeMutablePointer<Double>) -> [Int]) -> [Int] {
        let base = UncheckedSendable(value: out)
        let split = StageSplit(threads: threads, count: n, minimum: elementwiseParallelThreshold)
        return split.run(count: n) { range -> [Int] in fill(range, base.value) }.flatMap { $0 }
    }
}

extension ElementwiseOutputs {
    /// The rounded outputs of the regimes that need no certification (see the file's notes), or
    /// nil (bce): tiny logits' value (NaN: no such regime), and for each side of its regime (beyond ±2^20, or ±2^9) a constant
    /// or, where `identity`, x itself (`usable` false: that side takes the general path).
    struct RoundedShortcuts {
        var tiny: Double, tinyBound: Double
        var positive: Double, positiveIdentity: Bool, positiveUsable: Bool
        var negative: Double, negativeIdentity: Bool, negativeUsable: Bool
        /// The sides' regimes: x > positiveFrom, x < −negativeFrom (2^20, or 2^9 where the
        /// output is 1 or x: the file's notes).
        var positiveFrom: Double, negativeFrom: Double
        /// The rounded outputs at x = +inf, −inf and NaN (`output`'s, which do not depend on i).
        var plusInfinity: Double, minusInfinity: Double, nan: Double
    }

    /// This function's `RoundedShortcuts`, or nil for bce.
    var roundedShortcuts: RoundedShortcuts? {
        guard kind != .bce else { return nil }
        let f64 = certifier.format == .f64  // every finite logit is a value of the format
        return RoundedShortcuts(tiny: tinyLogitRounded ?? 0, tinyBound: tinyLogitRounded == nil ? -1 : Self.tinyLogitBound,
                                positive: hugePositive?.rounded ?? 0, positiveIdentity: hugePositive == nil,
                                positiveUsable: hugePositive != nil || f64,
                                negative: hugeNegative?.rounded ?? 0, negativeIdentity: hugeNegative == nil,
                                negativeUsable: hugeNegative != nil || f64,
                                positiveFrom: kind == .sigmoid || kind == .softplus ? 0x1p9 : 0x1p20,
                                negativeFrom: kind == .logSigmoid ? 0x1p9 : 0x1p20,
                                plusInfinity: output(0, .infinity)!.rounded, minusInfinity: output(0, -.infinity)!.rounded,
                                nan: output(0, .nan)!.rounded)
    }

    /// Initializes out[i] for i in `range` with the rounded value of output i (`fill`'s; where
    /// it fails 0, or bce's label in f64) and returns the indices that failed, ascending. A block of
    /// `DoubleWordTier.roundedBlock` logits at a time: the shortcut outputs on lanes, the others
    /// gathered and `fill`ed into one reused buffer, their rounded values scattered back (bce:
    /// the whole block `fill`ed, at the buffer's address minus the block's start: `fill` writes
    /// output i at `out + i`, only for i in the block).
    func fillRounded(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, into out: UnsafeMutablePointer<Double>) -> [Int] {
        // bce in f64: its own shortcuts (BceRounded.swift).
        if kind == .bce && certifier.format == .f64 {
            return labels.unsafelyUnwrapped.withUnsafeBufferPointer { fillRoundedBce(x, labels: $0.baseAddress!, range, into: out) }
        }
        let block = DoubleWordTier.roundedBlock
        let buffer = UnsafeMutablePointer<OracleValue>.allocate(capacity: block)
        let gathered = UnsafeMutablePointer<Double>.allocate(capacity: block), indices = UnsafeMutablePointer<Int>.allocate(capacity: block)
        defer {
            buffer.deallocate()
            gathered.deallocate()
            indices.deallocate()
        }
        let placeholder = OracleValue(rounded: 0, exact: ExactValue(0.0))
        // One weight cache for every block's `fill` (`fill` made one per call: its table of 128
        // slots, for sigmoid too, where it is never read, cost more than a block's few gathered
        // logits on wide_spread rows). The same kind for every block: this request's.
        let cache = UnsafeMutablePointer<BceWeightCache>.allocate(capacity: 1)
        cache.initialize(to: kind == .bce ? bceWeightCache() : BceWeightCache())
        defer {
            cache.deinitialize(count: 1)
            cache.deallocate()
        }
        var failed: [Int] = []
        var start = range.lowerBound
        let shortcuts = roundedShortcuts
        while start < range.upperBound {
            let end = Swift.min(start + block, range.upperBound)
            guard let s = shortcuts else {
                failed += fill(x, start..<end, into: buffer - start, placeholder: placeholder, sharedCache: cache)
                for i in start..<end { (out + i).initialize(to: buffer[i - start].rounded) }
                start = end
                continue
            }
            var count = 0
            var i = start
            // `DoubleWordLanes` (8 lanes where AVX-512 is built), every operation between whole
            // vectors (a scalar operand makes Swift's generic SIMD code a loop over the lanes,
            // which LLVM splits at 8 lanes): the same comparisons and selections as one lane at
            // a time, so the same outputs.
            typealias V = DoubleWordLanes
            let width = V.scalarCount
            let tinyValue = V(repeating: s.tiny), tinyBound = V(repeating: s.tinyBound)
            let positiveValue = V(repeating: s.positive), negativeValue = V(repeating: s.negative)
            let plusValue = V(repeating: s.plusInfinity), minusValue = V(repeating: s.minusInfinity), nanValue = V(repeating: s.nan)
            let plusInfinity = V(repeating: .infinity), minusInfinity = V(repeating: -.infinity)
            let above = V(repeating: s.positiveFrom), below = V(repeating: -s.negativeFrom)
            let none = SIMDMask<V.MaskStorage>(repeating: false), magnitudeBits = V.MaskStorage(repeating: Int64.max)
            while i + width <= end {
                let xv = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: V.self)
                let tiny = unsafeBitCast(unsafeBitCast(xv, to: V.MaskStorage.self) & magnitudeBits, to: V.self) .<= tinyBound
                // (x > positiveFrom and finite; x < −negativeFrom and finite.)
                let positive = (xv .> above) .& (xv .< plusInfinity), negative = (xv .< below) .& (xv .> minusInfinity)
                var v = tinyValue
                v.replace(with: s.positiveIdentity ? xv : positiveValue, where: positive)
                v.replace(with: s.negativeIdentity ? xv : negativeValue, where: negative)
                // ±inf and NaN: constants (the file's notes). NaN fails every comparison.
                let plusInf = xv .== plusInfinity, minusInf = xv .== minusInfinity, nan = xv .!= xv
                v.replace(with: plusValue, where: plusInf)
                v.replace(with: minusValue, where: minusInf)
                v.replace(with: nanValue, where: nan)
                let fast = tiny .| plusInf .| minusInf .| nan .| (s.positiveUsable ? positive : none) .| (s.negativeUsable ? negative : none)
                UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: V.self)  // the others are overwritten below
                if any(.!fast) {
                    for j in 0..<width where !fast[j] {
                        (gathered[count], indices[count]) = (xv[j], i + j)
                        count += 1
                    }
                }
                i += width
            }
            while i < end {
                (gathered[count], indices[count]) = (x[i], i)
                count += 1
                i += 1
            }
            if count > 0 {
                let part = UnsafeBufferPointer(start: gathered, count: count)
                for j in fill(part, 0..<count, into: buffer, placeholder: placeholder, sharedCache: cache) { failed.append(indices[j]) }
                for j in 0..<count { (out + indices[j]).initialize(to: buffer[j].rounded) }
            }
            start = end
        }
        failed.sort()
        return failed
    }
}
