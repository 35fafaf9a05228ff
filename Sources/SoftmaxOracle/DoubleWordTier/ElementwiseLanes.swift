import DoubleWordArithmetic

// The elementwise outputs of one range of logits, with the expensive part on SIMD lanes.
//
// Every output is `ElementwiseOutputs.output(i, x_i)`; what is shared is only how E = e^(−|x|)
// and T = log1p(E) are computed. Logits with |x| <= 2^20 are taken four at a time: E on four
// lanes (`DoubleWordExp.exp` on lanes, then `normalizedLanes`: bit for bit `negativeExp`).
// sigmoid then finishes each output from its E. The others sort each E by the regime
// `DoubleWordLog1p.logOnePlus` would take: regime (i) (E < 2^-60, cheap) finishes at once with
// the scalar routine; regimes (ii) and (iii) wait in a queue of four per regime, and a full queue
// computes T on four lanes (`logOnePlusMiddle`, `logOnePlusHigh`: bit for bit the scalar
// routine's value and bound) before finishing those four outputs. When a lane routine declines
// (a guard of the scalar routine fails on some lane), its four outputs are computed by the
// scalar path alone, which declines where it declines. Left-overs at the end of the range, and
// all other logits (non-finite, |x| > 2^20), take the scalar path. So the outputs are those of
// the scalar path, whatever the order in which they are finished.

extension ElementwiseOutputs {
    /// Up to four logits waiting for the same lane computation: indices, logits, and for the
    /// T queues E's plain parts (sh, sl) = (hi, lo)·2^exponent. Kept in plain memory (written
    /// one scalar at a time, read as vectors once full: inserting into a SIMD value lane by
    /// lane went through the stack and stalled on every insertion).
    struct LaneQueue {
        let index: UnsafeMutablePointer<Int>, values: UnsafeMutablePointer<Double>
        var count = 0

        init(_ index: UnsafeMutablePointer<Int>, _ values: UnsafeMutablePointer<Double>) {
            self.index = index
            self.values = values
        }

        @inline(__always)
        mutating func append(_ i: Int, _ xi: Double, _ h: Double = 0, _ l: Double = 0) {
            index[count] = i
            values[count] = xi
            values[4 + count] = h
            values[8 + count] = l
            count += 1
        }

        @inline(__always) func lanes(_ k: Int) -> OutputLanes {
            UnsafeRawPointer(values + 4 * k).loadUnaligned(as: OutputLanes.self)
        }
        @inline(__always) var x: OutputLanes { lanes(0) }
        @inline(__always) var sh: OutputLanes { lanes(1) }
        @inline(__always) var sl: OutputLanes { lanes(2) }
    }

    /// Writes output i of every i in `range` to out[i], or a placeholder for those that do not
    /// certify here, whose indices it returns in ascending order.
    func fill(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, into out: UnsafeMutablePointer<OracleValue>,
              placeholder: OracleValue) -> [Int] {
        var failed: [Int] = []
        @inline(__always) func emit(_ i: Int, _ v: OracleValue?) {
            if let v {
                (out + i).initialize(to: v)
            } else {
                (out + i).initialize(to: placeholder)
                failed.append(i)
            }
        }
        let width = OutputLanes.scalarCount
        let indices = UnsafeMutablePointer<Int>.allocate(capacity: 3 * width)
        let values = UnsafeMutablePointer<Double>.allocate(capacity: 9 * width)
        defer {
            indices.deallocate()
            values.deallocate()
        }
        var group = LaneQueue(indices, values), middle = LaneQueue(indices + width, values + 3 * width)
        var high = LaneQueue(indices + 2 * width, values + 6 * width)
        @inline(__always) func finishLog(_ q: inout LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>?) {
            if let t, finishOnLanes(q, t, into: out) {
                q.count = 0
                return
            }
            for j in 0..<width {
                let i = q.index[j]
                guard let t else {
                    emit(i, output(i, q.values[j]))
                    continue
                }
                let l = DoubleWordTier.logPart(ScaledDoubleWord(hi: t.hi[j], lo: t.lo[j], exponent: Int(t.exponent[j])),
                                               relativeError: t.relativeError[j])
                emit(i, output(i, q.values[j], log: l))
            }
            q.count = 0
        }
        for i in range {
            let xi = x[i]
            guard xi.magnitude <= 0x1p20 else {  // NaN, ±inf, |x| > 2^20
                emit(i, output(i, xi))
                continue
            }
            group.append(i, xi)
            guard group.count == width else { continue }
            group.count = 0
            let e = DoubleWordExp.exp(-magnitudeLanes(group.x), OutputLanes(), table)
            let n = normalizedLanes(e.hi, e.lo, e.k)
            for j in 0..<width {
                let k = group.index[j], xk = group.values[j]
                let ej = ScaledDoubleWord(hi: n.hi[j], lo: n.lo[j], exponent: Int(n.exponent[j]))
                if kind == .sigmoid {
                    emit(k, output(k, xk, exponential: ej))
                } else if ej.exponent < -60 {
                    // logOnePlus's regime (i), scalar (what `logTerm` computes from this E).
                    emit(k, output(k, xk, log: logTerm(exponential: ej)))
                } else {
                    let p = powerOfTwo(ej.exponent)  // exponent in [−60, 0]: exact scalings
                    let sh = ej.hi * p, sl = ej.lo * p
                    if sh <= 0.75 {
                        middle.append(k, xk, sh, sl)
                        if middle.count == width {
                            finishLog(&middle, DoubleWordLog1p.logOnePlusMiddle(middle.sh, middle.sl, relativeError: DoubleWordExp.relativeError, table))
                        }
                    } else {
                        high.append(k, xk, sh, sl)
                        if high.count == width {
                            finishLog(&high, DoubleWordLog1p.logOnePlusHigh(high.sh, high.sl, relativeError: DoubleWordExp.relativeError, table))
                        }
                    }
                }
            }
        }
        for q in [group, middle, high] {
            for j in 0..<q.count { emit(q.index[j], output(q.index[j], q.values[j])) }
        }
        failed.sort()
        return failed
    }
}

extension ElementwiseOutputs {
    /// softplus or log_sigmoid for a full queue of logits with |x| <= 41.6 (E >= 2^-60) from T on
    /// lanes: `DoubleWordTier.negativeLogSoftmax` with d = −max(x, 0) (softplus) or min(x, 0)
    /// (log_sigmoid, negated) on every lane, its two cases selected lane by lane: d = 0 (T
    /// itself, `certifyTiny`, which for T >= 2^-62 is `certify`) and d ≠ 0 ((−d) + T in plain
    /// double words by `sameSignSum`, with `logPart`'s plain form: T's exponent is in [−62, 0],
    /// so the scalings are exact where the low part stays normal or zero, which is checked).
    /// The same operations and the same certification test (`DoubleWordCertifier.test`) as the
    /// scalar path, so the same outputs; writes out[index_j] and returns true only when every
    /// lane certifies (else nothing is written, and the scalar path finishes them).
    @inline(__always)
    func finishOnLanes(_ q: LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>, into out: UnsafeMutablePointer<OracleValue>) -> Bool {
        guard kind == .softplus || kind == .logSigmoid else { return false }
        typealias V = OutputLanes
        let negate = kind == .logSigmoid
        let x = q.x
        guard all((t.exponent .>= -62) .& (t.exponent .<= 0)) else { return false }
        // d = 0 lanes: softplus at x <= 0, log_sigmoid at x >= 0 (±0 included).
        let isTerm = negate ? x .>= 0 : x .<= 0
        // LogPart's plain form of T and its absolute bound.
        let p: V = powerOfTwoLanes(t.exponent)
        let ph: V = t.hi * p, pl: V = t.lo * p
        guard all((pl .== 0) .| (magnitudeLanes(pl) .>= 0x1p-1022)) else { return false }
        let plainError: V = (t.relativeError * (2 * p) + 0x1p-1074) * (1 + 0x1p-40)
        // (−d) + T: −d = (x, −0) for softplus, (−x, −0) for log_sigmoid.
        let w = DoubleWord.sameSignSum(negate ? -x : x, V(repeating: -0.0), ph, pl)
        let absolute: V = (plainError + 3.03 * unitRoundoffSquared * magnitudeLanes(w.hi)) * (1 + 0x1p-40)
        let termError: V = (t.relativeError * magnitudeLanes(t.hi)) * (1 + 0x1p-50)
        let h = w.hi.replacing(with: t.hi, where: isTerm), l = w.lo.replacing(with: t.lo, where: isTerm)
        let k = V.MaskStorage(repeating: 0).replacing(with: t.exponent, where: isTerm)
        let err = absolute.replacing(with: termError, where: isTerm)
        let test = certifier.test(lanes: negate ? -h : h, negate ? -l : l, scale: k, error: err)
        guard all(test.inRange .& test.narrow .& test.certified) else { return false }
        for j in 0..<V.scalarCount { (out + q.index[j]).initialize(to: test.output(j)) }
        return true
    }
}
