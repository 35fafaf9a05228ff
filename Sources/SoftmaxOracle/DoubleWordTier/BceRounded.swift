import DoubleWordArithmetic

// bce_with_logits' rounded values alone in f64 (`Oracle.evaluateRounded`, what `eval` writes),
// for the logits whose loss needs neither E = e^(−|x|) nor T = log1p(E) (notation:
// ErrorFreeTransforms.swift; loss = A·max(−x, 0) + B·max(x, 0) + C·T, BinaryCrossEntropy.swift):
//
// - x NaN: NaN; x = ±inf: `infiniteLoss` (0 or ±inf, any finite z, pw, w): `bce`'s first steps.
// - |x| >= 2^11, finite, with (z, pw, w) "plain": z ∈ [0, 1], pw, w >= 0, A = (z·pw)·w and
//   B = (1 − z)·w exact doubles, each step checked exact (0 or in [2^-960, 2^1000)), and
//   0 < C <= 2^1000 (C as `bceWeights` encloses it).
//   With a = A (x < 0) or B (x > 0): the loss is P + t, P = a·|x|, t = C·T with
//   0 < t <= C·e^(−|x|) < 2^1000·2^-2954 = 2^-1954 (log1p(E) <= E; e^-2048 < 2^-2954).
//   * a = 0: the loss is t, below half of f64's least subnormal 2^-1074: +0.
//   * a > 0: hi = RN(a·|x|), lo = fma(a, |x|, −hi) (TwoProd), taken when 2^-900 <= hi < 2^1000
//     (then a·|x| − hi, a multiple of 2^(lsb(a) + lsb(|x|)) >= 2^-1010, is a double: lo is
//     exact). P and every rounding boundary of f64 near it (hi ± half a spacing) are multiples
//     of g = min(2^(lsb(a) + lsb(|x|)), spacing/2) >= hi·2^-106 >= 2^-1006 (lsb(a) + lsb(|x|)
//     >= ⌊log₂a⌋ + ⌊log₂|x|⌋ − 104 and hi < 2^(⌊log₂a⌋ + ⌊log₂|x|⌋ + 2); the spacing is >= hi·2^-53).
//     So t < g: P + t rounds as P unless P is a boundary, and then to the double above it.
//     hi = RN(P); P is the boundary above hi exactly when lo = spacing(hi)/2 = ulp(hi)/2 (hi
//     rounded it down to even): the output is hi.nextUp; a boundary below hi (lo < 0) rounds,
//     plus t, to hi; anywhere else, hi.
//   * a an exact double word a + aLo (aLo ≠ 0: z·pw or 1 − z not a double, weight 1; or an
//     exact first step times a weight), hi = RN(a·|x|) in [2^-800, 2^1000): P = hi + e1 + p2 + e2
//     (TwoProducts of a and of aLo by |x|: exact, or, where aLo·|x|'s remainder falls below
//     2^-1074, off by less than 2^-1074, far inside the room below),
//     with |e1| <= 2^-53·hi, |p2| <= |aLo|·|x| <= 2^-53·P, |e2| <= 2^-53|p2|. s2 = RN(RN(e1 + p2)
//     + e2), h = RN(hi + s2), l = RN((hi − h) + s2) (hi − h exact: h is within a few ulps of
//     hi): |P − (h + l)| <= (2^-105 + 2^-104.9 + 2^-104)·hi < 2^-102·h, so P + t lies within
//     room = 2^-100·h of h + l. When [l − room, l + room] lies strictly inside h's rounding cell
//     (−spacing below/2, ulp(h)/2), the spacing below halved at a power of two, the output is h;
//     else (P within 2^-100 of a boundary) the logit is gathered.
// - 2^9 <= |x| < 2^11, finite, with (z, pw, w) plain as above, a ≠ 0 and ⌊log₂a⌋ >= ⌊log₂C̃⌋ − 637
//   (C̃ = C's enclosure's head, normalized to [1, 2)·2^e; `aMid`, `bMid`): both outputs of the
//   regime above, by the same operations. a >= 2^⌊log₂a⌋·(1 − 2^-53) (a + aLo, |aLo| <= ulp/2)
//   and C <= 2^(e+1)·(1 + 2^-90), so C < a·2^639; T = log1p(E) <= E = e^(−|x|) <= e^-512 <
//   2^-738 (512·log₂e = 738.66). So 0 < t = C·T < a·2^-99 <= P·2^-108 (P = a·|x| >= a·2^9):
//   below g (> hi·2^-106 >= P·2^-106·(1 − 2^-53)) in the plain case, and below 2^-101·h
//   (within the room the double-word case leaves: P + t within 2^-102·h + t < 2^-100·h of
//   h + l). a = 0 is not taken here (the loss is then t itself, which need not round to 0).
// - |x| <= 2^-60, with (z, pw, w) as above but A, B any (C > 0, C <= 2^1000): the loss L(x)
//   lies within 1.5·C·|x| of C·ln 2 (a·|x| <= C·|x| as A, B >= 0; |T(x) − ln 2| <= |x|/2 as
//   |T'| <= 1/2), so within C·ln 2·1.0821·2^-59 < C·ln 2·0x1.2p-59 of it (1.5·2^-60/ln 2). V =
//   C·T(0) is computed as `bce` computes term 2 at x = 0 (`bceTerm2` of `tinyLogTerm(0)`,
//   relative bound ε2); with ε = roundedUp(ε2 + 0x1.2p-59), every L(x) of the regime lies in
//   V's enclosure of relative width ε, and when `DoubleWordCertifier.test` finds that every
//   value of that enclosure rounds to one r (its `certified`; its narrowness, which asks for
//   an enclosure that stands for one exact value, is not needed for "every value rounds to r"),
//   every output of the regime with that (z, pw, w) is r. Computed once per triple.
//
// Every such value is the correct rounding of the loss, which is what `fill` certifies (or the
// MPFR path gives) for it, so the same bits. The other logits (2^-60 < |x| < 2^11, triples not
// plain, undecided ones) are gathered with their labels and weights and `fill`ed as before.

extension ElementwiseOutputs {
    /// What the rounded path needs of one (z, pw, w) (see the file's notes): A and B as exact
    /// double words a + aLo, b + bLo (a, b NaN: not plain: the huge regime does not apply), and `tiny`, the output at every
    /// |x| <= 2^-60 (NaN: undecided, or the triple is not taken).
    struct BceRoundedCoefficients {
        var a: Double, aLo: Double, b: Double, bLo: Double, tiny: Double
        /// a and b where the regime 2^9 <= |x| < 2^11 applies to that side (the file's notes),
        /// else NaN.
        var aMid: Double = .nan, bMid: Double = .nan
    }

    /// A table of `BceRoundedCoefficients`, two slots per hash, keyed by (z, pw, w)'s bit patterns (an
    /// empty slot's z is a NaN pattern, never a label of a taken triple, which lies in [0, 1]).
    struct BceRoundedTable {
        static let slots = 256
        let keys: UnsafeMutablePointer<(UInt64, UInt64, UInt64)>
        let values: UnsafeMutablePointer<BceRoundedCoefficients>

        init() {
            keys = .allocate(capacity: Self.slots)
            keys.initialize(repeating: (UInt64.max, 0, 0), count: Self.slots)
            values = .allocate(capacity: Self.slots)
            values.initialize(repeating: BceRoundedCoefficients(a: .nan, aLo: 0, b: .nan, bLo: 0, tiny: .nan), count: Self.slots)
        }

        func deallocate() {
            keys.deallocate()
            values.deallocate()
        }
    }

    /// `BceRoundedCoefficients` of (z, pw, w) (see the file's notes).
    func bceRoundedCoefficients(label z: Double, posWeight pw: Double, weight w: Double) -> BceRoundedCoefficients {
        let none = BceRoundedCoefficients(a: .nan, aLo: 0, b: .nan, bLo: 0, tiny: .nan)
        guard z >= 0, z <= 1, pw >= 0, w >= 0, pw.isFinite, w.isFinite else { return none }
        let weights = Self.bceWeights(label: z, posWeight: pw, weight: w)
        let c = weights.c.normalized()
        // 0 < C <= 2^1000 (its enclosure: relative bound εC < 2^-90).
        guard c.hi >= 1, c.hi < 2, c.exponent < 1000, c.exponent > -1000 else { return none }
        // A = (z·pw)·w and B = (1 − z)·w as doubles, each step checked exact: u·v is 0 exactly
        // when u or v is; else p = RN(u·v) is u·v exactly when p is in [2^-960, 2^1000) and
        // fma(u, v, −p) = 0 (the remainder u·v − p is a multiple of 2^(lsb(u) + lsb(v)) >=
        // 2^-1066, a double, so the fma gives it exactly); 1 − z is exact when TwoSum's error is 0.
        // Or as an exact double word (hi, lo), |lo| <= ulp(hi)/2: TwoProduct(u, v) (its
        // remainder exact under the same conditions), when the other factor is 1 or the first
        // step was exact; TwoSum(1, −z) for 1 − z.
        @inline(__always) func exactProduct(_ u: Double, _ v: Double) -> (hi: Double, lo: Double) {
            if u == 0 || v == 0 { return (0, 0) }
            let p = u * v
            guard p.magnitude >= 0x1p-960, p.magnitude < 0x1p1000 else { return (.nan, .nan) }
            return (p, (-p).addingProduct(u, v))
        }
        @inline(__always) func weighted(_ u: (hi: Double, lo: Double), _ v: Double) -> (hi: Double, lo: Double) {
            if v == 1 { return u }
            return u.lo == 0 ? exactProduct(u.hi, v) : (.nan, .nan)
        }
        let a = weighted(exactProduct(z, pw), w)
        let oneMinus = twoSum(1, -z)
        let b = weighted((oneMinus.hi, oneMinus.lo), w)
        var result = BceRoundedCoefficients(a: a.hi, aLo: a.lo, b: b.hi, bLo: b.lo, tiny: .nan)
        if a.hi.isNaN || b.hi.isNaN || !(b.hi.magnitude < 0x1p1000) || !(b.hi == 0 || b.hi.magnitude >= 0x1p-960) {
            (result.a, result.b) = (.nan, .nan)
        }
        // 2^9 <= |x| < 2^11: a ≠ 0, ⌊log₂a⌋ >= ⌊log₂C̃⌋ − 637 (the file's notes; c.hi ∈ [1, 2)).
        @inline(__always) func mid(_ a: Double) -> Double { a > 0 && a.exponent >= c.exponent - 637 ? a : .nan }
        (result.aMid, result.bMid) = (mid(result.a), mid(result.b))
        // The tiny-logit regime: V = C·T(0) and its bound, widened by 0x1.2p-59.
        let (v, eps2) = Self.bceTerm2(c, weights.epsC, Self.tinyLogTerm(0))
        let n = v.normalized()
        let eps = roundedUp(eps2 + 0x1.2p-59)
        let t = certifier.test(SIMD2(repeating: n.hi), SIMD2(repeating: n.lo), scale: SIMD2(repeating: Int64(n.exponent)),
                               error: SIMD2(repeating: eps * n.hi.magnitude * (1 + 0x1p-50)))
        if t.inRange[0] && t.certified[0] { result.tiny = t.rounded[0] }
        return result
    }

    /// `fillRounded` for bce in f64, with the labels at `zs` (`self.labels` is not read): the
    /// outputs of the file's notes written at once (labels k/16 on lanes, BceLabelLanes.swift),
    /// the others gathered and `fill`ed (with their labels, pos_weights and weights) once a
    /// block's worth is waiting; returns the indices that failed, ascending, whose slots hold
    /// their labels.
    ///
    /// `out` may be `zs` itself (`DoubleWordTier.bceRoundedInPlace`: the outputs written over the
    /// labels). That is safe because every label is read before its slot is written, and a slot
    /// whose output is not written yet holds its label: `one(i, label:)` is given label i (read
    /// from zs[i], or by the lanes before they store the vector of i: `restLabels`) and writes
    /// slot i once, with the output, or with the label again for a logit it gathers; the
    /// gathering copies the label from the slot (`gz`) before it writes the output there, and a
    /// failed output's slot gets that copy back, for the MPFR path. Every read and write is of a
    /// slot in `range`, so chunks on other threads touch other slots.
    func fillRoundedBce(_ x: UnsafeBufferPointer<Double>, labels zs: UnsafePointer<Double>, _ range: Range<Int>,
                        into out: UnsafeMutablePointer<Double>) -> [Int] {
        let onePosWeight: Double? = posWeight.map { $0.count == 1 ? $0[0] : nil } ?? 1
        let table = BceRoundedTable()
        defer { table.deallocate() }
        let special = bceSpecial.unsafelyUnwrapped, nanRounded = special.nan.rounded
        // The gathered logits of several blocks are `fill`ed together, once `block` or more are
        // waiting (and at the end): a block adds at most `block`, so 2·block slots suffice. (One
        // `fill` per block left up to 3 logits in each of its lane queues, which the scalar path
        // then finished one at a time: most of them where a block gathers a few dozen.)
        let block = DoubleWordTier.roundedBlock, capacity = 2 * block
        let buffer = UnsafeMutablePointer<OracleValue>.allocate(capacity: capacity)
        let indices = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
        defer {
            buffer.deallocate()
            indices.deallocate()
        }
        var gx: [Double] = [], gz: [Double] = [], gpw: [Double] = [], gw: [Double] = []
        gx.reserveCapacity(capacity)
        gz.reserveCapacity(capacity)
        let perPosWeight = onePosWeight == nil, hasWeight = weight != nil
        if perPosWeight { gpw.reserveCapacity(capacity) }
        if hasWeight { gw.reserveCapacity(capacity) }
        let placeholder = OracleValue(rounded: 0, exact: ExactValue(0.0))
        var failed: [Int] = []
        // One weight cache for every block's gathered logits (their pos_weights and weights have
        // this request's kind: one number or none, or per logit).
        let cache = UnsafeMutablePointer<BceWeightCache>.allocate(capacity: 1)
        cache.initialize(to: bceWeightCache())
        defer {
            cache.deinitialize(count: 1)
            cache.deallocate()
        }
        (posWeight ?? []).withUnsafeBufferPointer { pws in
            (weight ?? []).withUnsafeBufferPointer { ws in
                @inline(__always) func coefficients(_ z: Double, _ pw: Double, _ w: Double) -> BceRoundedCoefficients {
                    let key = (z.bitPattern, pw.bitPattern, w.bitPattern)
                    // (SplitMix64's finalizer: labels k/16 differ in their top bits only.)
                    var h = key.0 ^ ((key.1 << 21) | (key.1 >> 43)) ^ ((key.2 << 42) | (key.2 >> 22))
                    h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
                    let s = Int(truncatingIfNeeded: (h ^ (h >> 31)) >> 56)
                    if table.keys[s] == key { return table.values[s] }
                    if table.keys[s ^ 1] == key { return table.values[s ^ 1] }
                    // Two slots per hash: the newest triple in s, the one it displaces in s ^ 1.
                    let v = bceRoundedCoefficients(label: z, posWeight: pw, weight: w)
                    (table.keys[s ^ 1], table.values[s ^ 1]) = (table.keys[s], table.values[s])
                    table.keys[s] = key
                    table.values[s] = v
                    return v
                }
                var count = 0
                /// Output i (label z) written at once (the file's notes), or its index queued for
                /// `fill` and its label written to its slot (where the gathering reads it).
                @inline(__always) func one(_ i: Int, label z: Double) {
                    let xi = x[i], m = xi.magnitude
                    let pw = onePosWeight ?? pws[i], w = hasWeight ? ws[i] : 1
                    /// P + 0⁺ for a·|x| (file's notes: |x| >= 2^9, a ≠ 0), or nil (gathered).
                    @inline(__always) func termOne(_ a: Double, _ aLo: Double, _ m: Double) -> Double? {
                        let hi = a * m
                        if aLo == 0 && hi >= 0x1p-900 && hi < 0x1p1000 {  // (false for a NaN a: not plain)
                            let lo = (-hi).addingProduct(a, m)
                            return lo > 0 && lo == 0.5 * hi.ulp ? hi.nextUp : hi
                        }
                        if hi >= 0x1p-800 && hi < 0x1p1000 {  // a = a + aLo, a double word (file's notes)
                            let e1 = (-hi).addingProduct(a, m), p2 = aLo * m
                            let s2 = (e1 + p2) + (-p2).addingProduct(aLo, m)
                            let h = hi + s2, l = (hi - h) + s2
                            let room = 0x1p-100 * h, half = 0.5 * h.ulp
                            if l + room < half && l - room > (h.significandBitPattern == 0 ? -0.5 * half : -half) { return h }
                        }
                        return nil
                    }
                    if m >= 0x1p11 {
                        if m < .infinity {
                            let k = coefficients(z, pw, w)
                            let a = xi < 0 ? k.a : k.b, aLo = xi < 0 ? k.aLo : k.bLo
                            if a == 0 {
                                (out + i).initialize(to: 0)
                                return
                            }
                            if let v = termOne(a, aLo, m) {
                                (out + i).initialize(to: v)
                                return
                            }
                        } else {
                            let v = Self.infiniteLoss(negative: xi < 0, label: z, posWeight: pw, weight: w)
                            (out + i).initialize(to: v == 0 ? special.zero.rounded : (v > 0 ? special.plus.rounded : special.minus.rounded))
                            return
                        }
                    } else if m >= 0x1p9 {
                        // A cheap look first: a side whose coefficient is 0, or far below C
                        // (binades below ⌊log₂C⌋ − 630: the regime needs − 637 at most, and
                        // these rough products are within a few ulps), is gathered at once,
                        // as before the regime: per-logit weights miss the table, and making
                        // the coefficients only to decline cost up to +53% (the review).
                        // Gathering is always right; this only skips work. (Exponents are
                        // compared only for finite nonzero numbers: 0 and ±inf have Int.min and
                        // Int.max, and c = 0, inf or NaN makes the coefficients as before.)
                        let side = xi < 0 ? z * pw * w : (1 - z) * w, c = w * (pw * z + (1 - z))
                        if side > 0, !(side.isFinite && c.isFinite && c != 0 && side.exponent < c.exponent - 630) {
                            let k = coefficients(z, pw, w)
                            let a = xi < 0 ? k.aMid : k.bMid, aLo = xi < 0 ? k.aLo : k.bLo
                            if !a.isNaN, let v = termOne(a, aLo, m) {
                                (out + i).initialize(to: v)
                                return
                            }
                        }
                    } else if m <= Self.tinyLogitBound {
                        let r = coefficients(z, pw, w).tiny
                        if !r.isNaN {
                            (out + i).initialize(to: r)
                            return
                        }
                    } else if xi.isNaN {
                        (out + i).initialize(to: nanRounded)
                        return
                    }
                    (out + i).initialize(to: z)
                    indices[count] = i
                    count += 1
                }
                let tiny = UnsafeMutablePointer<Double>.allocate(capacity: 17), rest = UnsafeMutablePointer<Int>.allocate(capacity: block)
                let restLabels = UnsafeMutablePointer<Double>.allocate(capacity: block)
                defer {
                    tiny.deallocate()
                    rest.deallocate()
                    restLabels.deallocate()
                }
                let lanes = range.count >= Self.labelLanesMinimum
                    ? labelLanes(onePosWeight: hasWeight ? nil : onePosWeight, tiny: tiny, coefficients: coefficients) : nil
                var start = range.lowerBound
                while start < range.upperBound {
                    let end = Swift.min(start + block, range.upperBound)
                    var i = start
                    if let lanes {
                        let (next, left) = lanes.fill(x.baseAddress!, zs, into: out, from: i, to: end, rest: rest, restLabels: restLabels)
                        for j in 0..<left { one(rest[j], label: restLabels[j]) }
                        i = next
                    }
                    while i < end {
                        one(i, label: zs[i])
                        i += 1
                    }
                    if count >= block || (count > 0 && end == range.upperBound) {
                        gx.removeAll(keepingCapacity: true)
                        gz.removeAll(keepingCapacity: true)
                        gpw.removeAll(keepingCapacity: true)
                        gw.removeAll(keepingCapacity: true)
                        for j in 0..<count {
                            let i = indices[j]
                            gx.append(x[i])
                            gz.append(out[i])  // (its label: `one` wrote it there)
                            if perPosWeight { gpw.append(pws[i]) }
                            if hasWeight { gw.append(ws[i]) }
                        }
                        let part = ElementwiseOutputs(self, labels: gz, posWeight: perPosWeight ? gpw : posWeight, weight: hasWeight ? gw : nil)
                        let left = gx.withUnsafeBufferPointer {
                            part.fill($0, 0..<count, into: buffer, placeholder: placeholder, sharedCache: cache)
                        }
                        for j in 0..<count { (out + indices[j]).initialize(to: buffer[j].rounded) }
                        for j in left {
                            failed.append(indices[j])
                            out[indices[j]] = gz[j]  // its label (the MPFR path's input when `out` is `zs`)
                        }
                        count = 0
                    }
                    start = end
                }
            }
        }
        failed.sort()
        return failed
    }
}
