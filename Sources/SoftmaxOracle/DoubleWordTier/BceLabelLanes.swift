import DoubleWordArithmetic

// Labels k/16 on lanes (`fillRoundedBce`, BceRounded.swift). When pos_weight is one number and
// there is no weight, the labels z = k/16, k = 0 ... 16 (hard labels +0 and 1 among them) each
// have one `BceRoundedCoefficients` for the whole row. For those the lanes compute the
// coefficients themselves, instead of loading them per lane from a table (which took most of
// this kernel's time): with w = 1, `bceRoundedCoefficients` makes
//
//     A = z·pw as the exact double word (a, aLo) = (RN(z·pw), fma(z, pw, −RN(z·pw)))
//         (`exactProduct`; (+0, +0) when z or pw is 0, which the two operations also give for
//         z, pw >= +0; a pos_weight −0 gives −0 on the lanes, other bits: no label is taken),
//     B = 1 − z as (RN(1 − z), TwoSum's error) = (1 − z, +0) for z = k/16 (exact),
//
// or NaN for both (the label is not "plain": a product out of [2^-960, 2^1000), C out of its
// range). Once per fill, `labelLanes` computes the lanes' operations for each k on scalars
// (IEEE operations round alike on lanes and scalars, and fma is exact either way) and compares
// their bit patterns with the table's: the labels whose a, aLo, b, bLo are the same bits, and whose
// outputs at ±inf are what the lanes write (+0 where the side's coefficient is 0, +inf else: the
// sign rule of `infiniteLoss` for factors >= 0), are marked in `plain`; only those are taken. So
// a lane that is taken computes each output from the very operands the scalar loop (`one`) uses,
// by the same operations, and writes the same value. The 2^9 <= |x| < 2^11 regime uses a
// coefficient where `aMid`/`bMid` take it; the lanes take that regime only when, for every plain
// label and both sides, the table takes exactly the nonzero coefficients (`middle`: always when
// C's binade is within 637 of every nonzero coefficient's, e.g. pw <= 2^600), else they leave it
// to the scalar loop. The tiny-logit outputs (a function of C, not computed here) are read from a
// table of 17, on the lanes where a logit is tiny.
//
// A lane is taken (its output written, `done`) only where its label is k/16 with k in `plain`:
// 16·z is an integer in [0, 16] (exact: a power-of-two scaling) and z's sign bit is clear (so
// −0, k/16 ± an ulp and labels outside [0, 1] are not), and where its logit falls in a regime of
// BceRounded.swift's notes, with the scalar loop's operations:
// - |x| >= 2^11, finite: a = A (x's sign bit set) or B, aLo likewise; a = 0: +0; aLo = 0 and
//   hi = RN(a·|x|) ∈ [2^-900, 2^1000): lo = fma(a, |x|, −hi), and hi.nextUp where lo > 0 and
//   lo = ulp(hi)/2, else hi. For such hi (positive, normal, below the largest double) ulp(hi)/2
//   is 2^(⌊log₂hi⌋ − 53), whose bits are hi's exponent field minus 53 (no underflow: ⌊log₂hi⌋
//   >= −900), and hi.nextUp is hi's bit pattern plus one. A double word a + aLo (aLo ≠ 0) with
//   hi ∈ [2^-800, 2^1000): e1, p2, s2, h, l, room as `one` computes them, and h where l ± room
//   lies strictly inside h's rounding cell; ulp(h)/2 from h's exponent field as above (h is
//   normal: within a few ulps of hi >= 2^-800), the cell's lower end halved where h's significand
//   bits are 0. Other lanes (undecided) go to the scalar loop.
// - 2^9 <= |x| < 2^11 (with `middle`): the same with a where a > 0, NaN (never taken) where a = 0.
// - |x| <= 2^-60: the label's `tiny` where it is not NaN.
// - x = ±inf: +0 where the side's coefficient is 0, else +inf (checked against `infiniteLoss`).
// - x NaN: the NaN output, whatever the label.
// The side is x's sign bit, as `one`'s x < 0 except at −0 and negative NaNs, where only the
// label's tiny output and the NaN output are used, which do not depend on the side. Every other
// lane (another label, 2^-60 < |x| < 2^9, undecided) goes to the scalar loop, lane by lane.
// Arithmetic on subnormal operands is avoided (x86 takes it through a slow microcode assist):
// lanes outside the huge and middle regimes multiply 2^11 instead of |x|; only a label that is
// itself subnormal (never k/16 ≠ 0) is multiplied.

extension ElementwiseOutputs {
    /// The shortest range that makes the label table (17 labels' coefficients) worth its making.
    static let labelLanesMinimum = 256

    /// The row's labels k/16 on lanes (see the notes above), `OutputLanes` (four) logits at a time.
    struct BceLabelLanes {
        /// (Four lanes, not `DoubleWordLanes`' eight: at eight, LLVM split this loop's selections
        /// (`replacing`, generic SIMD code: a loop over the lanes) into 4 + 2 + 2 lanes with
        /// extractions between them, and called `SIMD.min` for `any`; at four every step is one
        /// instruction. bce near_ties: this loop ~20% of the process at eight.)
        typealias V = OutputLanes
        typealias I = V.MaskStorage
        /// The request's one pos_weight.
        let pw: Double
        /// Bit k set: label k/16 is taken (its coefficients are the lanes', the notes).
        let plain: Int64
        /// Every label k/16 is taken (`plain` has all 17 bits).
        var allPlain: Bool { plain == 0x1FFFF }
        /// Every taken label's A is a double (aLo = 0, so is B's low part: the double-word
        /// case never arises).
        let exactProducts: Bool
        /// Whether the lanes take 2^9 <= |x| < 2^11 (the notes).
        let middle: Bool
        /// The tiny-logit output of label k/16 (NaN: undecided), k = 0 ... 16.
        let tiny: UnsafePointer<Double>
        /// Every label's tiny-logit output has the same bits, not a NaN (pos_weight 1: C = 1 for
        /// every label): the lanes take tiny[0] instead of reading the table lane by lane.
        let sameTiny: Bool
        /// The outputs 0, +inf and NaN, rounded.
        let zero: Double, plus: Double, nan: Double

        /// Writes out[i] for the logits x[i] (labels z[i]) of whole vectors from `start` up to
        /// `end`, and the indices of the lanes it does not take to `rest`, their labels to
        /// `restLabels` (their slots hold anything; `out` may be `z`: each label is read before
        /// its vector is stored); returns where the vectors ended and how many indices it wrote
        /// (at most end − start). (One loop in its own function: `outputs` inlined, its vectors
        /// in registers.)
        @inline(never)
        func fill(_ x: UnsafePointer<Double>, _ z: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                  from start: Int, to end: Int, rest: UnsafeMutablePointer<Int>, restLabels: UnsafeMutablePointer<Double>) -> (end: Int, rest: Int) {
            let width = V.scalarCount
            let c = Constants(self)
            // (Wrapping arithmetic: i + width <= end and count <= i − start, no overflow to check.)
            var i = start, count = 0
            while i &+ width <= end {
                let (v, done) = outputs(UnsafeRawPointer(x + i).loadUnaligned(as: V.self), UnsafeRawPointer(z + i).loadUnaligned(as: V.self), c)
                if Self.some(.!done) {
                    for j in 0..<width where !done[j] {
                        restLabels[count] = z[i &+ j]  // (before the store below: `out` may be `z`)
                        rest[count] = i &+ j
                        count &+= 1
                    }
                }
                UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: V.self)
                i &+= width
            }
            return (i, count)
        }

        /// Whether some lane of `m` is set: `any(m)`, written as the OR of the lanes, which LLVM
        /// makes one `vptest`. (`any` is a minimum over the lanes: an extract, two minimums, a
        /// shuffle and a move before the branch; `fill` runs three or four such tests per
        /// vector, and perf annotate put ~27% of its samples on that chain, bce uniform_wide.)
        @inline(__always)
        static func some(_ m: SIMDMask<I>) -> Bool {
            let lanes = unsafeBitCast(m, to: I.self)
            var bits: Int64 = 0
            for j in 0..<I.scalarCount { bits |= lanes[j] }
            return bits != 0
        }

        /// The vectors `outputs` uses, made once per `fill` (every operation of `outputs` is
        /// between whole vectors: an operation with a scalar is a loop over the lanes in Swift's
        /// generic SIMD code, which LLVM may leave as a loop or split into pieces).
        struct Constants {
            let zeroBits = I(), one = I(repeating: 1), magnitude = I(repeating: Int64.max), sign = I(repeating: Int64.min)
            let plain: I
            let sixteen = V(repeating: 16), shift = V(repeating: 0x1p52), shiftBits = I(repeating: Int64(bitPattern: (0x1p52).bitPattern))
            let tinyBound = I(repeating: Int64(bitPattern: ElementwiseOutputs.tinyLogitBound.bitPattern))
            let infBits = I(repeating: Int64(bitPattern: Double.infinity.bitPattern))
            let hugeBits = I(repeating: Int64(bitPattern: (0x1p11).bitPattern)), middleBits = I(repeating: Int64(bitPattern: (0x1p9).bitPattern))
            let pw: V, zero = V(), oneValue = V(repeating: 1), big = V(repeating: 0x1p11), nan = V(repeating: .nan)
            let exponentField = I(repeating: 0x7FF0_0000_0000_0000), halfShift = I(repeating: 53 << 52)
            let significandField = I(repeating: 0x000F_FFFF_FFFF_FFFF)
            let lowest = V(repeating: 0x1p-900), lowestWord = V(repeating: 0x1p-800), highest = V(repeating: 0x1p1000)
            let roomFactor = V(repeating: 0x1p-100), halfValue = V(repeating: -0.5)
            let zeroOutput: V, plusOutput: V, nanOutput: V
            /// tiny[0] on every lane.
            let tinyOutput: V

            init(_ lanes: BceLabelLanes) {
                plain = I(repeating: lanes.plain)
                tinyOutput = V(repeating: lanes.tiny[0])
                pw = V(repeating: lanes.pw)
                (zeroOutput, plusOutput, nanOutput) = (V(repeating: lanes.zero), V(repeating: lanes.plus), V(repeating: lanes.nan))
            }
        }

        /// The outputs of the lanes `done` marks (the others hold anything).
        @inline(__always)
        func outputs(_ x: V, _ z: V, _ c: Constants) -> (V, SIMDMask<I>) {
            /// −v on every lane (IEEE negation: the sign bit flipped, as `labelLanes`' scalar −v;
            /// Swift's SIMD prefix minus is 0 − v, which differs only at +0 and NaN: every use
            /// below is an fma's addend, where ±0 give the same sum (an exact product plus ±0,
            /// or +0 + −0 = +0), and a NaN addend makes the lane's result NaN either way, on lanes
            /// that are never taken).
            @inline(__always) func negated(_ v: V) -> V { unsafeBitCast(unsafeBitCast(v, to: I.self) ^ c.sign, to: V.self) }
            let xBits = unsafeBitCast(x, to: I.self), zBits = unsafeBitCast(z, to: I.self)
            // The label: 16·z an integer k in [0, 16] (16·z + 2^52 rounds it to binary64's
            // spacing 1 there, its low bits k), z's sign bit clear, k in `plain`.
            let sixteen = z * c.sixteen, shifted = sixteen + c.shift
            let k = unsafeBitCast(shifted, to: I.self) &- c.shiftBits
            // (16·z >= 0 follows: z is +0 or positive, or NaN, which is not an integer.)
            var known = (sixteen .<= c.sixteen) .& (shifted - c.shift .== sixteen) .& (zBits .>= c.zeroBits)
            if !allPlain { known .&= (c.plain &>> k) & c.one .!= c.zeroBits }  // (&>>: k masked to 0 ... 63 on the others)
            let mb = xBits & c.magnitude
            // |x| <= 2^-60: the label's tiny-logit output (read only where some lane needs it).
            let tinyLanes = known .& (mb .<= c.tinyBound)
            @inline(__always) func tinyOutputs() -> (t: V, done: SIMDMask<I>) {
                // (One value for every label: the table's, without a gather; ~12% of perf's
                // samples in this loop on bce wide_spread, a quarter of its logits ±0.)
                if sameTiny { return (c.tinyOutput, tinyLanes .& (c.tinyOutput .== c.tinyOutput)) }
                let index = k.replacing(with: c.zeroBits, where: .!known)
                var t = V()
                for j in 0..<V.scalarCount { t[j] = tiny[Int(truncatingIfNeeded: index[j])] }
                return (t, tinyLanes .& (t .== t))
            }
            // Every lane tiny (and known): those outputs alone, what the steps below give them.
            if !Self.some(.!tinyLanes) { return tinyOutputs() }
            // The coefficient of the lane's side: A = z·pw (aLo its remainder), B = 1 − z.
            let negative = xBits .< c.zeroBits
            let aNegative = z * c.pw
            let a = (c.oneValue - z).replacing(with: aNegative, where: negative)
            let zeroCoefficient = a .== c.zero
            // Every lane ±inf (a masked row): those outputs alone, what the steps below give them
            // (no lane is tiny, huge, middle or NaN: `done` is `known`).
            let infinite = mb .== c.infBits
            if !Self.some(.!infinite) { return (c.plusOutput.replacing(with: c.zeroOutput, where: zeroCoefficient), known) }
            let aLo = exactProducts ? c.zero : c.zero.replacing(with: negated(aNegative).addingProduct(z, c.pw), where: negative)
            // The regimes from |x|'s bit pattern (for doubles >= +0 their order is the values'
            // order; NaN patterns lie above +inf's): no floating-point comparison of a subnormal x.
            let nanLanes = mb .> c.infBits
            let huge = (mb .>= c.hugeBits) .& (mb .< c.infBits)
            let midLanes = middle ? (mb .>= c.middleBits) .& (mb .< c.hugeBits) : SIMDMask(repeating: false)
            let termLanes = huge .| midLanes
            let mh = c.big.replacing(with: unsafeBitCast(mb, to: V.self), where: termLanes)
            let coefficient = a.replacing(with: c.nan, where: midLanes .& .!(a .> c.zero))
            let hi = coefficient * mh
            let lo = negated(hi).addingProduct(coefficient, mh)
            let hiBits = unsafeBitCast(hi, to: I.self)
            let halfUlp = unsafeBitCast((hiBits & c.exponentField) &- c.halfShift, to: V.self)
            let up = (lo .> c.zero) .& (lo .== halfUlp)
            var v = hi.replacing(with: unsafeBitCast(hiBits &+ c.one, to: V.self), where: up)
            let plainLo = aLo .== c.zero
            var termDone = plainLo .& (hi .>= c.lowest) .& (hi .< c.highest)
            // (On every vector with a lane in these regimes, not only where a lane needs the
            // double word: that branch was unpredictable.)
            if !exactProducts && Self.some(termLanes) {
                // The double word a + aLo (`one`'s operations, lane by lane).
                let wordLanes = termLanes .& .!plainLo .& (hi .>= c.lowestWord) .& (hi .< c.highest)
                let p2 = aLo * mh
                let s2 = (lo + p2) + negated(p2).addingProduct(aLo, mh)
                let h = hi + s2, l = (hi - h) + s2
                let room = c.roomFactor * h
                let hBits = unsafeBitCast(h, to: I.self)
                let half = unsafeBitCast((hBits & c.exponentField) &- c.halfShift, to: V.self)
                let atPower = (hBits & c.significandField) .== c.zeroBits
                let below = negated(half).replacing(with: c.halfValue * half, where: atPower)
                let wordDone = wordLanes .& (l + room .< half) .& (l - room .> below)
                v.replace(with: h, where: wordDone)
                termDone .|= wordDone
            }
            let zeroA = huge .& zeroCoefficient
            v.replace(with: c.zero, where: zeroA)
            var done = termLanes .& (zeroA .| termDone)
            if sameTiny {
                // (One tiny output, not NaN: a selection on every vector, every tiny lane done.
                // The test whether some lane is tiny was a branch taken at random on rows with
                // many ±0 logits.)
                v.replace(with: c.tinyOutput, where: tinyLanes)
                done .|= tinyLanes
            } else if Self.some(tinyLanes) {
                let (t, tinyDone) = tinyOutputs()
                v.replace(with: t, where: tinyDone)
                done .|= tinyDone
            }
            // ±inf, NaN.
            v.replace(with: c.plusOutput.replacing(with: c.zeroOutput, where: zeroCoefficient), where: infinite)
            v.replace(with: c.nanOutput, where: nanLanes)
            done = (done .| infinite) .& known
            done .|= nanLanes
            return (v, done)
        }
    }

    /// The label lanes when pos_weight is one number and there is no weight (`onePosWeight`
    /// given), else nil: `plain`, `middle` and `tiny` (17 entries at `tiny`) from the table's
    /// coefficients (`coefficients` gives a triple's `BceRoundedCoefficients`), as the notes say.
    @inline(__always)
    func labelLanes(onePosWeight: Double?, tiny: UnsafeMutablePointer<Double>,
                    coefficients: (Double, Double, Double) -> BceRoundedCoefficients) -> BceLabelLanes? {
        guard let pw = onePosWeight else { return nil }
        let s = bceSpecial.unsafelyUnwrapped
        let (zero, plus) = (s.zero.rounded, s.plus.rounded)
        var plain: Int64 = 0, middle = true, exactProducts = true
        for k in 0...16 {
            let z = Double(k) / 16
            let c = coefficients(z, pw, 1)
            tiny[k] = c.tiny
            // The lanes' operations on this label (`BceLabelLanes.outputs`).
            let aNegative = z * pw, aNegativeLo = (-aNegative).addingProduct(z, pw), b = 1 - z
            let same = c.a.bitPattern == aNegative.bitPattern && c.aLo.bitPattern == aNegativeLo.bitPattern
                && c.b.bitPattern == b.bitPattern && c.bLo.bitPattern == (0.0).bitPattern
            @inline(__always) func infinity(negative: Bool, _ a: Double) -> Bool {
                let v = Self.infiniteLoss(negative: negative, label: z, posWeight: pw, weight: 1)
                let rounded = v == 0 ? zero : (v > 0 ? plus : s.minus.rounded)
                return rounded.bitPattern == (a == 0 ? zero : plus).bitPattern
            }
            guard same, infinity(negative: true, aNegative), infinity(negative: false, b) else { continue }
            plain |= 1 << k
            if aNegativeLo != 0 { exactProducts = false }
            @inline(__always) func takesMiddle(_ mid: Double, _ a: Double) -> Bool { a > 0 ? mid.bitPattern == a.bitPattern : mid.isNaN }
            if !takesMiddle(c.aMid, aNegative) || !takesMiddle(c.bMid, b) { middle = false }
        }
        let sameTiny = !tiny[0].isNaN && (1...16).allSatisfy { tiny[$0].bitPattern == tiny[0].bitPattern }
        return BceLabelLanes(pw: pw, plain: plain, exactProducts: exactProducts, middle: middle, tiny: UnsafePointer(tiny), sameTiny: sameTiny,
                             zero: zero, plus: plus, nan: s.nan.rounded)
    }
}
