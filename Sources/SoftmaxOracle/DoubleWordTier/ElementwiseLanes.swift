import DoubleWordArithmetic

// The elementwise outputs of one range of logits, with the expensive part on SIMD lanes.
//
// Every output is `ElementwiseOutputs.output(i, x_i)`; what is shared is only how E = e^(−|x|)
// and T = log1p(E) are computed. Logits with |x| <= 2^20 are taken four at a time: E on four
// lanes (`DoubleWordExp.exp` on lanes, then `normalizedLanes`: bit for bit `negativeExp`).
// sigmoid then finishes each output from its E. The others sort each E by the regime
// `DoubleWordLog1p.logOnePlus` would take, (i) E < 2^-60, (ii) or (iii): each regime has a queue
// of four, and a full queue computes T on four lanes (`logOnePlusLow`, `logOnePlusMiddle`,
// `logOnePlusHigh`: bit for bit the scalar routine's value and bound) before finishing those
// four outputs. The certification runs on the lanes too (`DoubleWordCertifier.test`, and
// `certifyBelowNormals` for outputs below binary64's normals), with the scalar path's
// arguments. When a lane routine declines (a guard of the scalar routine fails on some lane),
// its four outputs are computed by the scalar path alone, which declines where it declines; a
// lane that the lane tests do not decide is certified by the scalar path from its lane values.
// Tiny logits (|x| <= 2^-60) of sigmoid, log_sigmoid and softplus are written at once, and
// outputs beyond 2^20 that do not depend on x are copied (ElementwiseShortcuts.swift, the scalar
// path's first steps); bce's tiny logits take T from `tinyLogLanes`, through a queue of four,
// into `bceOnLanes`, and its finite logits beyond 2^20 go four at a time to `bceHugeOnLanes`.
// Left-overs at the end of the range, and all other logits (non-finite, |x| > 2^20), take the
// scalar path. So the outputs are
// those of the scalar path, whatever the order in which they are finished.

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

        /// Four consecutive logits x[i ..< i + 4] as a full queue (whole vectors written).
        @inline(__always)
        mutating func setLanes(_ i: Int, _ x: OutputLanes) {
            UnsafeMutableRawPointer(index).storeBytes(of: SIMD4<Int>(i, i + 1, i + 2, i + 3), as: SIMD4<Int>.self)
            UnsafeMutableRawPointer(values).storeBytes(of: x, as: OutputLanes.self)
            count = 4
        }

        /// Whether the queue holds the four neighbouring slots i, i + 1, i + 2, i + 3 in that
        /// order (then its outputs may be written as one block). Every index is compared: a
        /// regime queue fills from whole groups and from logits taken one at a time, so its
        /// indices need not be ascending, and index[3] − index[0] = 3 alone does not mean
        /// neighbours (indices 20, 21, 11, 23).
        @inline(__always) var holdsNeighbouringSlots: Bool {
            let v = UnsafeRawPointer(index).loadUnaligned(as: SIMD4<Int>.self)
            return v == SIMD4(repeating: v[0]) &+ SIMD4(0, 1, 2, 3)
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
    /// `sharedCache`, when given, is bce's `bceWeightCache()` of an `ElementwiseOutputs` with the
    /// same kind of pos_weight and weight (one number or none; per logit), kept across calls
    /// (its slots are keyed by the triples' bit patterns); else each call makes its own.
    func fill(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, into out: UnsafeMutablePointer<OracleValue>,
              placeholder: OracleValue, sharedCache: UnsafeMutablePointer<BceWeightCache>? = nil) -> [Int] {
        var failed: [Int] = []
        let own = sharedCache == nil
        let cache = sharedCache ?? UnsafeMutablePointer<BceWeightCache>.allocate(capacity: 1)
        if own { cache.initialize(to: kind == .bce ? bceWeightCache() : BceWeightCache()) }
        defer {
            if own {
                cache.deinitialize(count: 1)
                cache.deallocate()
            }
        }
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
        let indices = UnsafeMutablePointer<Int>.allocate(capacity: 7 * width)
        let values = UnsafeMutablePointer<Double>.allocate(capacity: 28 * width)
        let scratch = UnsafeMutablePointer<OracleValue>.allocate(capacity: width)
        let enclosures = UnsafeMutablePointer<Double>.allocate(capacity: 4 * width)
        defer {
            enclosures.deallocate()
            indices.deallocate()
            values.deallocate()
            scratch.deallocate()
        }
        var group = LaneQueue(indices, values), middle = LaneQueue(indices + width, values + 4 * width)
        var high = LaneQueue(indices + 2 * width, values + 8 * width), low = LaneQueue(indices + 3 * width, values + 12 * width)
        @inline(__always) func finishLog(_ q: inout LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>?) {
            let done = t.map { kind == .bce ? bceOnLanes(q, $0, cache: cache, scratch: scratch, into: out) : finishOnLanes(q, $0, scratch: scratch, into: out) } ?? SIMDMask()
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
        /// The outputs of a full queue of logits with |x| <= 2^20, from E on lanes.
        @inline(__always) func groupOnLanes(_ group: inout LaneQueue) {
            group.count = 0
            let e = DoubleWordExp.exp(-magnitudeLanes(group.x), OutputLanes(), table)
            let n = normalizedLanes(e.hi, e.lo, e.k)
            if kind == .sigmoid {
                let done = sigmoidOnLanes(group, n, enclosures: enclosures, scratch: scratch, into: out)
                for j in 0..<width where !done[j] {  // (h, l, k, err) of lane j at enclosures[j + 4·field]
                    emit(group.index[j], certifier.certifyTiny(enclosures[j], enclosures[4 + j],
                                                               scale: Int(Int64(bitPattern: enclosures[8 + j].bitPattern)),
                                                               error: enclosures[12 + j]))
                }
                return
            }
            // T's regime lane by lane: (i) exponent < −60; else ŝ = E's plain value (exponent in
            // [−60, 0]: exact scalings), (ii) ŝ <= 0.75, (iii) above. Four of one regime go on
            // at once (`group` keeps its logits and indices), mixed ones through the queues.
            let lowLanes = n.exponent .< -60
            let p: OutputLanes = powerOfTwoLanes(n.exponent.replacing(with: 0, where: lowLanes))
            let sh = n.hi * p, sl = n.lo * p
            let middleLanes = .!lowLanes .& (sh .<= 0.75)
            if all(lowLanes) {
                finishLog(&group, DoubleWordLog1p.logOnePlusLow(n.hi, n.lo, exponent: n.exponent, relativeError: DoubleWordExp.relativeError))
                return
            }
            if all(middleLanes) {
                finishLog(&group, DoubleWordLog1p.logOnePlusMiddle(sh, sl, relativeError: DoubleWordExp.relativeError, table))
                return
            }
            if !any(lowLanes .| middleLanes) {
                finishLog(&group, DoubleWordLog1p.logOnePlusHigh(sh, sl, relativeError: DoubleWordExp.relativeError, table))
                return
            }
            for j in 0..<width {
                let k = group.index[j], xk = group.values[j]
                if lowLanes[j] {
                    low.append(k, xk, ScaledDoubleWord(hi: n.hi[j], lo: n.lo[j], exponent: Int(n.exponent[j])))
                    if low.count == width {
                        finishLog(&low, DoubleWordLog1p.logOnePlusLow(low.sh, low.sl, exponent: low.exponent,
                                                                      relativeError: DoubleWordExp.relativeError))
                    }
                } else if middleLanes[j] {
                    middle.append(k, xk, sh[j], sl[j])
                    if middle.count == width {
                        finishLog(&middle, DoubleWordLog1p.logOnePlusMiddle(middle.sh, middle.sl, relativeError: DoubleWordExp.relativeError, table))
                    }
                } else {
                    high.append(k, xk, sh[j], sl[j])
                    if high.count == width {
                        finishLog(&high, DoubleWordLog1p.logOnePlusHigh(high.sh, high.sl, relativeError: DoubleWordExp.relativeError, table))
                    }
                }
            }
        }
        // Four consecutive logits with |x| <= 2^20 go to the lanes straight from x (the `direct`
        // queue, written as whole vectors); the others one at a time through `group`. Tiny
        // logits (|x| <= 2^-60, when the regime applies: ElementwiseShortcuts.swift) never go to
        // the lanes: their outputs are written at once, four at a time where four are tiny.
        // bce's tiny logits take T from `tinyLogLanes` (ElementwiseShortcuts.swift) through
        // `tiny`, or four at once where four are tiny.
        var direct = LaneQueue(indices + 4 * width, values + 16 * width), tiny = LaneQueue(indices + 5 * width, values + 20 * width)
        // bce's finite logits with |x| > 2^20 go to `bceHugeOnLanes` through `huge`.
        var huge = LaneQueue(indices + 6 * width, values + 24 * width)
        let tinyRounded = tinyLogitRounded ?? 0, tinyRegime = tinyLogitRounded != nil, isBce = kind == .bce
        let tinyBound = tinyRegime || isBce ? Self.tinyLogitBound : -1
        /// bce at a tiny logit: through `tiny` (`bceOnLanes` writes softplus(±x)'s output where
        /// the loss is that, `bceTinyOutput`).
        @inline(__always) func tinyBce(_ k: Int, _ xk: Double) {
            tiny.append(k, xk)
            if tiny.count == width { finishLog(&tiny, Self.tinyLogLanes(tiny.x)) }
        }
        var i = range.lowerBound
        while i < range.upperBound {
            if i + width <= range.upperBound {
                let xv = UnsafeRawPointer(x.baseAddress! + i).loadUnaligned(as: OutputLanes.self)
                let m = magnitudeLanes(xv)
                let tinyLanes = m .<= tinyBound
                if all(tinyLanes) {
                    if isBce {
                        direct.setLanes(i, xv)
                        finishLog(&direct, Self.tinyLogLanes(xv))
                    } else {
                        for j in 0..<width { (out + i + j).initialize(to: tinyLogitOutput(xv[j], rounded: tinyRounded)) }
                    }
                    i += width
                    continue
                }
                if all(m .<= 0x1p20) && !any(tinyLanes) {
                    direct.setLanes(i, xv)
                    groupOnLanes(&direct)
                    i += width
                    continue
                }
            }
            let xi = x[i]
            if xi.magnitude <= tinyBound {
                if isBce {
                    tinyBce(i, xi)
                } else {
                    (out + i).initialize(to: tinyLogitOutput(xi, rounded: tinyRounded))
                }
            } else if xi.magnitude <= 0x1p20 {
                group.append(i, xi)
                if group.count == width { groupOnLanes(&group) }
            } else if isBce && xi.magnitude < .infinity {
                huge.append(i, xi)
                if huge.count == width {
                    let done = bceHugeOnLanes(huge, cache: cache, into: out)
                    for j in 0..<width where !done[j] { emit(huge.index[j], output(huge.index[j], huge.values[j])) }
                    huge.count = 0
                }
            } else if isBce && !(xi.magnitude < .infinity) {
                (out + i).initialize(to: bceSpecialOutput(i, xi))  // NaN, ±inf: a constant (`bce`'s first steps)
            } else if xi.magnitude < .infinity, let v = (xi > 0 ? hugePositive : hugeNegative) ?? hugeLogitOutput(xi) {
                (out + i).initialize(to: v)  // |x| > 2^20: an output that does not depend on x, or x itself
            } else {  // NaN, ±inf, |x| > 2^20
                emit(i, output(i, xi))
            }
            i += 1
        }
        for q in [group, middle, high, low, tiny, huge] {
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
    /// itself: `certifyTiny`, which is `certify` wherever the lane test applies, and
    /// `certifyBelowNormals` on the lanes below binary64's normals) and d ≠ 0 ((−d)
    /// + T in plain double words by `sameSignSum`, with `logPart`'s plain form: T·2^e for
    /// e >= −1000, each part one multiplication by the normal 2^e (RN, gradual underflow: the
    /// value `Double(sign:exponent:significand:)` gives for an exponent in binary64's normal
    /// range), and 0 with absolute error 2^-999 below). The same operations and the same certification test
    /// (`DoubleWordCertifier.test`) as the scalar path, so the same outputs. Writes
    /// out[index_j] for the lanes that are in range, narrow and certified and returns them; the
    /// scalar path finishes the others.
    @inline(__always)
    func finishOnLanes(_ q: LaneQueue, _ t: DoubleWordLog1p.Lanes<OutputLanes>, scratch: UnsafeMutablePointer<OracleValue>,
                       into out: UnsafeMutablePointer<OracleValue>) -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = OutputLanes
        guard kind == .softplus || kind == .logSigmoid else { return SIMDMask() }
        let negate = kind == .logSigmoid
        let x = q.x
        // d = 0 lanes: softplus at x <= 0, log_sigmoid at x >= 0 (±0 included).
        let isTerm = negate ? x .>= 0 : x .<= 0
        // LogPart's plain form of T and its absolute bound.
        let plainLanes = t.exponent .>= -1000
        let p: V = powerOfTwoLanes(t.exponent.replacing(with: 0, where: .!plainLanes))
        let ph: V = (t.hi * p).replacing(with: 0, where: .!plainLanes), pl: V = (t.lo * p).replacing(with: 0, where: .!plainLanes)
        let plainError: V = ((t.relativeError * (2 * p) + 0x1p-1074) * (1 + 0x1p-40)).replacing(with: 0x1p-999, where: .!plainLanes)
        // (−d) + T: −d = (x, −0) for softplus, (−x, −0) for log_sigmoid.
        let w = DoubleWord.sameSignSum(negate ? -x : x, V(repeating: -0.0), ph, pl)
        let absolute: V = (plainError + 3.03 * unitRoundoffSquared * magnitudeLanes(w.hi)) * (1 + 0x1p-40)
        let termError: V = (t.relativeError * magnitudeLanes(t.hi)) * (1 + 0x1p-50)
        if all(isTerm .& belowTestRange(t.hi, scale: t.exponent)) {
            return certifyBelowNormals(negate ? -t.hi : t.hi, negate ? -t.lo : t.lo, scale: t.exponent, error: termError,
                                       candidates: .init(repeating: true), q.index, scratch: scratch, into: out)
        }
        let h = w.hi.replacing(with: t.hi, where: isTerm), l = w.lo.replacing(with: t.lo, where: isTerm)
        // (The test's scale must lie in [−1000, 1000] to apply: a tiny T's lane is out of range.)
        let k = V.MaskStorage(repeating: 0).replacing(with: t.exponent.clamped(lowerBound: .init(repeating: -2000), upperBound: .init(repeating: 2000)), where: isTerm)
        let err = absolute.replacing(with: termError, where: isTerm)
        let test = certifier.test(lanes: negate ? -h : h, negate ? -l : l, scale: k, error: err)
        let done = test.inRange .& test.narrow .& test.certified
        for j in 0..<V.scalarCount where done[j] { (out + q.index[j]).initialize(to: test.output(j)) }
        // d = 0 lanes below binary64's normals (a tiny T): `certifyTiny`'s arguments, unclamped.
        let rest = isTerm .& .!done
        guard any(rest) else { return done }
        return done .| certifyBelowNormals(negate ? -t.hi : t.hi, negate ? -t.lo : t.lo, scale: t.exponent, error: termError,
                                           candidates: rest, q.index, scratch: scratch, into: out)
    }
}

extension ElementwiseOutputs {
    /// sigmoid for a full group of logits from E = e^(−|x|) on lanes (normalized (hi, lo)·2^k):
    /// `sigmoidEnclosure` and `DoubleWordTier.inverseOfOnePlus` on every lane, the case
    /// x >= 0 or x < 0 selected lane by lane, then the certification test (`certifyTiny` is
    /// `certify` wherever the lane test applies). `inverseOfOnePlus`'s two cases lane by lane:
    /// k >= −1000, the plain sum (`scaled` by 2^k is then one multiplication); k < −1000, S = 1
    /// with εS = 2^(k+1) + 2^-1074, where RN(2^(k+1)) = RN(2^(k+101)·2^-100) (one rounding; k + 1
    /// clamped at −1122, below which both round to 0) and 1/S = `DoubleWord.quotient`'s (1, 0).
    /// The scalar operations in the scalar order, so the same enclosures. Writes out[index_j]
    /// for the lanes that are in range, narrow and certified, and for those that
    /// `certifyBelowNormals` decides; the others' enclosures go to `certifyTiny` (the scalar
    /// path's last step, with the same arguments). The enclosures go to `enclosures` (h, l, k,
    /// err: four lanes each, in that order: output j lies within err_j of (h_j + l_j)·2^(k_j),
    /// `sigmoidEnclosure`'s); returns the lanes written.
    @inline(__always)
    func sigmoidOnLanes(_ q: LaneQueue, _ e: (hi: OutputLanes, lo: OutputLanes, exponent: OutputLanes.MaskStorage),
                        enclosures: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<OracleValue>,
                        into out: UnsafeMutablePointer<OracleValue>) -> SIMDMask<OutputLanes.MaskStorage> {
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
        let raw = UnsafeMutableRawPointer(enclosures)
        raw.storeBytes(of: h, as: V.self)
        raw.storeBytes(of: l, toByteOffset: 32, as: V.self)
        raw.storeBytes(of: k, toByteOffset: 64, as: V.MaskStorage.self)
        raw.storeBytes(of: err, toByteOffset: 96, as: V.self)
        return certifyEnclosures(q, enclosures, scratch: scratch, into: out)
    }

    /// The certification of a group of sigmoid enclosures (h, l, k, err: four lanes each, in
    /// that order at `enclosures`): the lane test, or `certifyBelowNormals` alone when every lane
    /// lies below the test's range (`belowTestRange`: the test passes none of them), then
    /// `certifyBelowNormals` for the lanes the test did not pass. Writes out[index_j] for the
    /// lanes decided and returns them. (Not inlined, and the enclosures passed in memory: a
    /// call with vector arguments made the compiler compute everything before it on 2-lane
    /// halves, in the AVX build too.)
    @inline(never)
    func certifyEnclosures(_ q: LaneQueue, _ enclosures: UnsafeMutablePointer<Double>,
                           scratch: UnsafeMutablePointer<OracleValue>, into out: UnsafeMutablePointer<OracleValue>)
        -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = OutputLanes
        let raw = UnsafeRawPointer(enclosures)
        let h = raw.loadUnaligned(as: V.self), l = raw.loadUnaligned(fromByteOffset: 32, as: V.self)
        let k = raw.loadUnaligned(fromByteOffset: 64, as: V.MaskStorage.self), err = raw.loadUnaligned(fromByteOffset: 96, as: V.self)
        if all(belowTestRange(h, scale: k)) {
            return certifyBelowNormals(h, l, scale: k, error: err, candidates: .init(repeating: true), q.index, scratch: scratch, into: out)
        }
        let test = certifier.test(lanes: h, l, scale: k.clamped(lowerBound: .init(repeating: -2000), upperBound: .init(repeating: 0)), error: err)
        let done = test.inRange .& test.narrow .& test.certified
        if all(done) && q.holdsNeighbouringSlots {
            test.writeOutputs(to: out + q.index[0])
            return done
        }
        for j in 0..<V.scalarCount where done[j] { (out + q.index[j]).initialize(to: test.output(j)) }
        guard !all(done) else { return done }
        return done .| certifyBelowNormals(h, l, scale: k, error: err, candidates: .!done, q.index, scratch: scratch, into: out)
    }
}

extension ElementwiseOutputs {
    /// The lanes with b + k < −900, b the biased exponent field of h minus 1023 (⌊log₂|h|⌋ for a
    /// normal h), which `DoubleWordCertifier.test` never passes, with k or any clamping of k to
    /// [−2000, 2000] beyond it: a normal h gives |h·2^k| < 2^(b+k+1) <= 2^-900, below the test's
    /// range; a zero or subnormal h is below its |h| >= 2^-999; an infinite or NaN h (b = 1024)
    /// needs k < −1924, out of its |k| <= 1000. (A caller whose lanes are all such skips the
    /// test.)
    @inline(__always)
    func belowTestRange(_ h: OutputLanes, scale k: OutputLanes.MaskStorage) -> SIMDMask<OutputLanes.MaskStorage> {
        ((unsafeBitCast(h, to: OutputLanes.MaskStorage.self) &>> 52) & 0x7FF) &- 1023 &+ k .< -900
    }

    /// `certifier.certifyTiny(h_j, l_j, scale: k_j, error: err_j)` on the lanes in `candidates`
    /// whose output lies below binary64's normals and is decided there without the exact
    /// rounding, as the scalar path decides it:
    /// - `certifyTiny`'s own early case (h normal, |k| < 2^40, e = ⌊log₂|h|⌋ + k <=
    ///   min(minSubnormal − 44, −905), |l| <= |h|, 0 <= err <= |h|/2): ±0 with h's sign;
    /// - else, for e < −900 (out of the test's range, so `certify` goes to `certifyOther`) with
    ///   finite l and err: `certifyOther`'s first way, `DoubleWordCertifier.certifyBelowNormals`
    ///   with no lane passed, lane by lane (`DoubleWordCertifier.belowNormals`: f64's `band`
    ///   test, its rounding, else `belowSubnormals`, ±0 with h's sign).
    /// The exact value is (h + l)·2^k (`DoubleWordCertifier.writeOutputs`, which is
    /// `ExactValue(scaledHi:lo:scale:)` of the normalized (h, l, k), `certifyTiny`'s and
    /// `certifyOther`'s; it needs |h| < 2^1023, required here). The same lane tests as the scalar
    /// calls, whose results do not depend on the lane count, so the same outputs. Writes
    /// out[index[j]] for the lanes decided and returns them; the caller's scalar path takes the
    /// others (and every lane not in `candidates`).
    @inline(__always)
    func certifyBelowNormals(_ h: OutputLanes, _ l: OutputLanes, scale k: OutputLanes.MaskStorage, error err: OutputLanes,
                             candidates: SIMDMask<OutputLanes.MaskStorage>, _ index: UnsafeMutablePointer<Int>,
                             scratch: UnsafeMutablePointer<OracleValue>, into out: UnsafeMutablePointer<OracleValue>)
        -> SIMDMask<OutputLanes.MaskStorage> {
        typealias V = OutputLanes
        let hBits = unsafeBitCast(h, to: V.MaskStorage.self)
        let biased = (hBits &>> 52) & 0x7FF
        let e = biased &- 1023 &+ k
        let hMagnitude = magnitudeLanes(h), lMagnitude = magnitudeLanes(l)
        let usable = candidates .& (biased .>= 1) .& (biased .<= 2045) .& (k .> -(1 << 40)) .& (k .< 1 << 40)
            .& (lMagnitude .< .infinity) .& (err .>= 0) .& (err .< .infinity)
        let tiny = (e .<= Int64(Swift.min(certifier.subnormalQuantum - 44, -905))) .& (lMagnitude .<= hMagnitude)
            .& (err .<= 0.5 * hMagnitude)
        let other = .!tiny .& (e .< -900)
        let below = certifier.belowNormals(h, l, scale: k, error: err)  // certifyOther's first two ways
        let decided = usable .& (tiny .| (other .& below.decided))
        let signedZero = unsafeBitCast(hBits & Int64.min, to: V.self)
        let rounded = signedZero.replacing(with: below.rounded, where: other)
        guard any(decided) else { return decided }
        DoubleWordCertifier.writeOutputs(rounded: rounded, h, l, scale: k, to: scratch)
        for j in 0..<V.scalarCount where decided[j] { (out + index[j]).initialize(to: scratch[j]) }
        return decided
    }
}
