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

        /// `append` for regime (i): E's (hi, lo) and its exponent (its bits kept in a Double slot).
        @inline(__always)
        mutating func append(_ i: Int, _ xi: Double, _ e: ScaledDoubleWord) {
            values[12 + count] = Double(bitPattern: UInt64(bitPattern: Int64(e.exponent)))
            append(i, xi, e.hi, e.lo)
        }

        @inline(__always) func lanes(_ k: Int) -> OutputLanes {
            UnsafeRawPointer(values + 4 * k).loadUnaligned(as: OutputLanes.self)
        }
        @inline(__always) var x: OutputLanes { lanes(0) }
        @inline(__always) var sh: OutputLanes { lanes(1) }
        @inline(__always) var sl: OutputLanes { lanes(2) }
        @inline(__always) var exponent: OutputLanes.MaskStorage { unsafeBitCast(lanes(3), to: OutputLanes.MaskStorage.self) }
    }

    /// Writes output i of every i in `range` to out[i], or a placeholder for those that do not
    /// certify here, whose indices it returns in ascending order.
    func fill(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, into out: UnsafeMutablePointer<OracleValue>,
              placeholder: OracleValue) -> [Int] {
        var failed: [Int] = []
        let cache = UnsafeMutablePointer<BceWeightCache>.allocate(capacity: 1)
        cache.initialize(to: BceWeightCache())
        defer { cache.deinitialize(count: 1); cache.deallocate() }
        @inline(__always) func output(_ i: Int, _ x: Double, exponential: ScaledDoubleWord? = nil, log: DoubleWordTier.LogPart? = nil) -> OracleValue? {
            self.output(i, x, exponential: exponential, log: log, cache: cache)
        }
        @inline(__always) func emit(_ i: Int, _ v: OracleValue?) {
            if let v {
                (out + i).initialize(to: v)
            } else {
                (out + i).initialize(to: placeholder)
                failed.append(i)
            }
        }
        let width = OutputLanes.scalarCount
        let indices = UnsafeMutablePointer<Int>.allocate(capacity: 4 * width)
        let values = UnsafeMutablePointer<Double>.allocate(capacity: 16 * width)
        defer {
            indices.deallocate()
            values.deallocate()
        }
        var group = LaneQueue(indices, values), middle = LaneQueue(indices + width, values + 4 * width)
        var high = LaneQueue(indices + 2 * width, values + 8 * width), low = LaneQueue(indices + 3 * width, values + 12 * width)
        @inline(__always) func finishLog(_ q: inout LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>?) {
            let done = t.map { kind == .bce ? bceOnLanes(q, $0, cache: cache, into: out) : finishOnLanes(q, $0, into: out) } ?? SIMDMask()
            for j in 0..<width where !done[j] {
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
            if kind == .sigmoid {
                let v = sigmoidOnLanes(group, n, into: out)
                for j in 0..<width where !v.done[j] {
                    emit(group.index[j], certifier.certifyTiny(v.h[j], v.l[j], scale: Int(v.k[j]), error: v.err[j]))
                }
                continue
            }
            for j in 0..<width {
                let k = group.index[j], xk = group.values[j]
                let ej = ScaledDoubleWord(hi: n.hi[j], lo: n.lo[j], exponent: Int(n.exponent[j]))
                if ej.exponent < -60 && ej.exponent > -1100 && ej.exponent < -1021 {
                    // Regime (i) with a subnormal ŝ_hi/2, which `logOnePlusLow` leaves to the
                    // scalar routine: T from this E at once.
                    emit(k, output(k, xk, log: logTerm(exponential: ej)))
                } else if ej.exponent < -60 {
                    low.append(k, xk, ej)
                    if low.count == width {
                        finishLog(&low, DoubleWordLog1p.logOnePlusLow(low.sh, low.sl, exponent: low.exponent,
                                                                      relativeError: DoubleWordExp.relativeError))
                    }
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
        for q in [group, middle, high, low] {
            for j in 0..<q.count { emit(q.index[j], output(q.index[j], q.values[j])) }
        }
        failed.sort()
        return failed
    }
}

extension ElementwiseOutputs {
    /// softplus or log_sigmoid for a full queue of logits from T on lanes:
    /// `DoubleWordTier.negativeLogSoftmax` with d = −max(x, 0) (softplus) or min(x, 0)
    /// (log_sigmoid, negated) on every lane, its two cases selected lane by lane: d = 0 (T
    /// itself: `certifyTiny`, which is `certify` wherever the lane test applies) and d ≠ 0 ((−d)
    /// + T in plain double words by `sameSignSum`, with `logPart`'s plain form: T·2^e for
    /// e >= −1000, each part one multiplication by the normal 2^e (RN, gradual underflow: the
    /// value `Double(sign:exponent:significand:)` gives for an exponent in binary64's normal
    /// range), and 0 with absolute error 2^-999 below). The same operations and the same certification test
    /// (`DoubleWordCertifier.test`) as the scalar path, so the same outputs. Writes
    /// out[index_j] for the lanes that are in range, narrow and certified and returns them; the
    /// scalar path finishes the others.
    @inline(__always)
    func finishOnLanes(_ q: LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>,
                       into out: UnsafeMutablePointer<OracleValue>) -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = OutputLanes
        guard kind == .softplus || kind == .logSigmoid else { return SIMDMask() }
        let negate = kind == .logSigmoid
        let x = q.x
        // d = 0 lanes: softplus at x <= 0, log_sigmoid at x >= 0 (±0 included).
        let isTerm = negate ? x .>= 0 : x .<= 0
        // Tiny T (outside the lane test's range): `negativeLogSoftmax`'s d = 0 case itself,
        // `certifyTiny` on ±T, whose early branch settles it without rounding.
        let tinyTerm = isTerm .& (t.exponent .< -900)
        @inline(__always) func tiny(_ j: Int) -> OracleValue? {
            let v = ScaledDoubleWord(hi: negate ? -t.hi[j] : t.hi[j], lo: negate ? -t.lo[j] : t.lo[j], exponent: Int(t.exponent[j]))
            return certifier.certifyTiny(v, relativeError: t.relativeError[j])
        }
        if all(tinyTerm) {
            var done = SIMDMask<V.MaskStorage>()
            for j in 0..<V.scalarCount {
                if let value = tiny(j) {
                    (out + q.index[j]).initialize(to: value)
                    done[j] = true
                }
            }
            return done
        }
        // LogPart's plain form of T and its absolute bound.
        let plainLanes = t.exponent .>= -1000
        let p: V = powerOfTwoLanes(t.exponent.replacing(with: 0, where: .!plainLanes))
        let ph: V = (t.hi * p).replacing(with: 0, where: .!plainLanes), pl: V = (t.lo * p).replacing(with: 0, where: .!plainLanes)
        let plainError: V = ((t.relativeError * (2 * p) + 0x1p-1074) * (1 + 0x1p-40)).replacing(with: 0x1p-999, where: .!plainLanes)
        // (−d) + T: −d = (x, −0) for softplus, (−x, −0) for log_sigmoid.
        let w = DoubleWord.sameSignSum(negate ? -x : x, V(repeating: -0.0), ph, pl)
        let absolute: V = (plainError + 3.03 * unitRoundoffSquared * magnitudeLanes(w.hi)) * (1 + 0x1p-40)
        let termError: V = (t.relativeError * magnitudeLanes(t.hi)) * (1 + 0x1p-50)
        let h = w.hi.replacing(with: t.hi, where: isTerm), l = w.lo.replacing(with: t.lo, where: isTerm)
        // (The test's scale must lie in [−1000, 1000] to apply: a tiny T's lane is out of range.)
        let k = V.MaskStorage(repeating: 0).replacing(with: t.exponent.clamped(lowerBound: .init(repeating: -2000), upperBound: .init(repeating: 2000)), where: isTerm)
        let err = absolute.replacing(with: termError, where: isTerm)
        let test = certifier.test(lanes: negate ? -h : h, negate ? -l : l, scale: k, error: err)
        var done = test.inRange .& test.narrow .& test.certified
        for j in 0..<V.scalarCount {
            if done[j] {
                (out + q.index[j]).initialize(to: test.output(j))
            } else if tinyTerm[j] {
                if let value = tiny(j) {
                    (out + q.index[j]).initialize(to: value)
                    done[j] = true
                }
            }
        }
        return done
    }
}

extension ElementwiseOutputs {
    /// The enclosures of a group of sigmoid outputs, lane by lane: output j lies within err_j of
    /// (h_j + l_j)·2^(k_j) (`sigmoidEnclosure`'s), and `done` marks the lanes already written.
    typealias SigmoidLanes = (done: SIMDMask<OutputLanes.MaskStorage>, h: OutputLanes, l: OutputLanes,
                              k: OutputLanes.MaskStorage, err: OutputLanes)

    /// sigmoid for a full group of logits from E = e^(−|x|) on lanes (normalized (hi, lo)·2^k):
    /// `sigmoidEnclosure` and `DoubleWordTier.inverseOfOnePlus` on every lane, the case
    /// x >= 0 or x < 0 selected lane by lane, then the certification test (`certifyTiny` is
    /// `certify` wherever the lane test applies). `inverseOfOnePlus`'s two cases lane by lane:
    /// k >= −1000, the plain sum (`scaled` by 2^k is then one multiplication); k < −1000, S = 1
    /// with εS = 2^(k+1) + 2^-1074, where RN(2^(k+1)) = RN(2^(k+101)·2^-100) (one rounding; k + 1
    /// clamped at −1122, below which both round to 0) and 1/S = `DoubleWord.quotient`'s (1, 0).
    /// The scalar operations in the scalar order, so the same enclosures. Writes out[index_j]
    /// for the lanes that are in range, narrow and certified; the others' enclosures go to
    /// `certifyTiny` (the scalar path's last step, with the same arguments).
    @inline(__always)
    func sigmoidOnLanes(_ q: LaneQueue, _ e: (hi: OutputLanes, lo: OutputLanes, exponent: OutputLanes.MaskStorage),
                        into out: UnsafeMutablePointer<OracleValue>) -> SigmoidLanes {
        typealias V = OutputLanes
        let u2 = unitRoundoffSquared
        let plainLanes = e.exponent .>= -1000
        let scale: V = powerOfTwoLanes(e.exponent.replacing(with: 0, where: .!plainLanes))
        let ph: V = e.hi * scale, pl: V = e.lo * scale
        // S = DoubleWord.sum(plain, 1) and its bound, or S = 1.
        let s1 = twoSum(ph, V(repeating: 1))
        var sum = fastTwoSum(s1.hi, pl + s1.lo)
        sum.hi.replace(with: 1, where: .!plainLanes)
        sum.lo.replace(with: 0, where: .!plainLanes)
        var epsSum: V = DoubleWordExp.relativeError * (ph / sum.hi) * 1.0001 + 2.01 * u2
        let tinyE: V = powerOfTwoLanes((e.exponent &+ 1).clamped(lowerBound: .init(repeating: -1122), upperBound: .init(repeating: 0)) &+ 100) * 0x1p-100
        epsSum.replace(with: tinyE, where: .!plainLanes)
        epsSum = epsSum + 0x1p-1074
        // 1/S = DoubleWord.quotient((1, 0), S).
        let qh: V = 1 / sum.hi
        let pr = twoProduct(qh, split: veltkampSplit(qh), sum.hi, split: veltkampSplit(sum.hi))
        let r1: V = 1 - pr.hi
        let r2: V = r1 - pr.lo
        let r3: V = r2 + 0
        let r4: V = r3 - qh * sum.lo
        let inverse = fastTwoSum(qh, r4 / sum.hi)
        let epsInverse: V = (epsSum * (1 + 2 * epsSum) + 14 * u2) * (1 + 0x1p-40)
        // x >= 0: 1/S; x < 0: E·(1/S), scale k.
        let positive = q.x .>= 0
        let p = DoubleWord.product(e.hi, e.lo, inverse.hi, inverse.lo)
        let eps: V = ((DoubleWordExp.relativeError + epsInverse) + 8.1 * u2) * (1 + 0x1p-40)
        let h = p.hi.replacing(with: inverse.hi, where: positive), l = p.lo.replacing(with: inverse.lo, where: positive)
        let k = e.exponent.replacing(with: 0, where: positive)
        let err = ((eps * (1 + 0x1p-50)) * p.hi).replacing(with: (epsInverse * inverse.hi) * (1 + 0x1p-50), where: positive)
        let test = certifier.test(lanes: h, l, scale: k.clamped(lowerBound: .init(repeating: -2000), upperBound: .init(repeating: 0)), error: err)
        let done = test.inRange .& test.narrow .& test.certified
        if all(done) && q.index[V.scalarCount - 1] - q.index[0] == V.scalarCount - 1 {  // consecutive slots
            test.writeOutputs(to: out + q.index[0])
        } else {
            for j in 0..<V.scalarCount where done[j] { (out + q.index[j]).initialize(to: test.output(j)) }
        }
        return (done, h, l, k, err)
    }
}
