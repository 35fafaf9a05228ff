import DoubleWordArithmetic
// The double-word tier's certification: one output v = (h + l)·2^k with an absolute error bound
// err (in the units of h and l), so that the exact value lies in [(h + l − err)·2^k,
// (h + l + err)·2^k]. As on the MPFR path (`Format.certify(_: Interval)`), v is certified when
// both ends of that enclosure round to the same value: rounding is monotone, so everything
// between them rounds alike. And the enclosure must be narrow (2·err·2^k <= 2^-40 ulp) for v to
// stand for the exact value.
//
// One test decides it, `DoubleWordCertifier.test`, written once on two SIMD lanes: the scalar
// path (`certify`) runs it with the output in both lanes and reads lane 0; the paired path
// (`certifyPair`, softmax and log_softmax) runs it on two outputs at once. Where the test does
// not apply (h·2^k outside binary64's normal range or the format's top binade) or cannot decide
// (the enclosure near a rounding boundary), the scalar path falls back to the exact reference,
// `Format.certifyExactly` (ExactRounding.swift), and the paired path to the scalar path.

/// A format's constants for certifying the double-word tier's outputs, looked up once per
/// request, and the certification test.
struct DoubleWordCertifier {
    let format: Format
    let precision: Int
    let minNormalExponent: Int
    /// Binades e < highBinade = min(maxExponent, 901) take the inline test (and e > −901).
    let highBinade: Int
    /// The exponent of the format's least subnormal (its quantum below 2^minNormal).
    let subnormalQuantum: Int
    /// 2^(subnormalQuantum − 41), the narrowness bound below the normals (0 when that is below
    /// binary64's normals: f64, where it never binds in range).
    let narrowFloor: Double
    /// 1.5·2^(minNormal + 53 − p): the rounding constant for values below 2^minNormal.
    let subnormalRounder: Double
    /// 2^(minNormal − p): half the quantum below 2^minNormal (0 for f64, where in range r's own
    /// half quantum is always the larger).
    let subnormalRoom: Double
    /// 0, or (`band`, f64 only) the S with which this certifier tests v·2^S for f64's grid scaled
    /// by 2^S (every exponent constant above moved up by S).
    let shift: Int

    init(_ format: Format) { self.init(format, shift: 0) }

    /// `shift` S ≠ 0 (f64 only, see `band`): the test of f64's grid scaled by 2^S, for values
    /// v·2^S with e + S < S − 900 (`highBinade`).
    private init(_ format: Format, shift: Int) {
        precondition(shift == 0 || format == .f64)
        self.format = format
        self.shift = shift
        precision = format.precision
        minNormalExponent = format.minNormalExponent + shift
        highBinade = shift == 0 ? Swift.min(format.maxExponent, 901) : shift - 900
        subnormalQuantum = format.minSubnormalExponent + shift
        narrowFloor = subnormalQuantum - 41 >= -1022 ? powerOfTwo(subnormalQuantum - 41) : 0
        subnormalRounder = 1.5 * powerOfTwo(Swift.min(minNormalExponent + 53 - format.precision, 1023))
        let roomExponent = minNormalExponent - format.precision
        subnormalRoom = roomExponent >= -1022 ? powerOfTwo(roomExponent) : 0  // f64: never binds in range
    }

    /// f64's outputs whose binade e lies in [−1500, −901]: binary64's subnormals and below, out of
    /// the test's range (e > −901). The same test applies to v·2^S, S = 600, for f64's grid scaled
    /// by 2^S (e + S ∈ [−900, −301]: binary64 normals; minNormal −422, least subnormal 2^-474),
    /// except the rounding r of hs·2^S to that grid, which the test's constant C cannot give for
    /// p = 53: it is binary64's own, RN(hs)·2^S, RN(hs) = (hs·2^S)·2^-S (one rounding into
    /// binary64's subnormals, ties to even, which is f64's; then exact), and RN(hs) is the
    /// rounded output. hs·2^S − r is exact as in the test (r = 0 below half the least subnormal;
    /// else |hs·2^S − r| <= 2^-475 is a multiple of hs·2^S's ulp >= 2^-527). The exact value
    /// reported is (h + l)·2^k from h and l (as `certifyOther`'s), not from the shifted parts.
    static let band = DoubleWordCertifier(.f64, shift: 600)

    /// What `test` found for each lane j (V: the lanes, SIMD2, SIMD4 or SIMD8 of Double).
    struct LaneTests<V: DoubleLanes> {
        /// The test applies: h_j normal with |⌊log₂|h_j|⌋| <= 999, |k_j| <= 1000, and
        /// e_j = ⌊log₂|h_j|⌋ + k_j with −901 < e_j < `highBinade`. Elsewhere it says nothing.
        var inRange: SIMDMask<V.MaskStorage>
        /// The enclosure is narrow enough for v_j to stand for the exact value (in range).
        var narrow: SIMDMask<V.MaskStorage>
        /// Every value of the enclosure rounds to `rounded[j]` (in range).
        var certified: SIMDMask<V.MaskStorage>
        /// The rounding of v_j; a zero has the sign of h_j.
        var rounded: V
        /// h_j·2^(k_j) and l_j·2^(k_j): v_j as a binary64 double-double.
        var hs: V
        var ls: V

        /// Lane j's output (meaningful where in range, narrow and certified).
        @inline(__always) func output(_ j: Int) -> OracleValue {
            OracleValue(rounded: rounded[j], exact: ExactValue(normalHi: hs[j], lo: ls[j]))
        }

        /// Every lane's `output(j)` written to dst[j] (`DoubleWordCertifier.writeOutputs`). Every
        /// lane in range.
        @inline(__always) func writeOutputs(to dst: UnsafeMutablePointer<OracleValue>) {
            DoubleWordCertifier.writeOutputs(rounded: rounded, hs, ls, scale: V.MaskStorage(repeating: 0), to: dst)
        }
    }

    /// OracleValue(rounded: rounded[j], exact: (h_j + l_j)·2^(k_j)) written to dst[j] for every
    /// lane j, the exact values' fields computed on the lanes: `ExactValue(normalHi:lo:)`'s
    /// operations lane by lane (exponent e from h's field, head = h's significand, tail = ±l·2^-e
    /// with h's sign, and (2, 2·tail, e − 1) when head = 1 and tail < 0), then k added to the
    /// exponent: the same values as `ExactValue(normalHi:lo:)` for k = 0, and as
    /// `ExactValue(scaledHi:lo:scale:)` of `ScaledDoubleWord(h, l, k).normalized()`
    /// (`certifyOther`'s) otherwise. Needs 2^-1022 <= |h_j| < 2^1023 (2^-e normal).
    @inline(__always)
    static func writeOutputs<V: DoubleLanes>(rounded: V, _ h: V, _ l: V, scale k: V.MaskStorage,
                                             to dst: UnsafeMutablePointer<OracleValue>) {
        let b = unsafeBitCast(h, to: V.MaskStorage.self)
        let biased = (b &>> 52) & 0x7FF
        var head = unsafeBitCast((b & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000, to: V.self)
        let signedLo = unsafeBitCast(unsafeBitCast(l, to: V.MaskStorage.self) ^ (b & Int64.min), to: V.self)
        var tail = signedLo * unsafeBitCast((2046 &- biased) &<< 52, to: V.self)
        let below = (head .== 1) .& (tail .< 0)
        let exponent = (biased &- 1023).replacing(with: biased &- 1024, where: below) &+ k
        head.replace(with: 2, where: below)
        tail = tail.replacing(with: tail * 2, where: below)
        let negative = h .< 0
        for j in 0..<V.scalarCount {
            (dst + j).initialize(to: OracleValue(
                rounded: rounded[j],
                exact: ExactValue(kind: .finite, isNegative: negative[j], exponent: Int(exponent[j]), head: head[j], tail: tail[j])))
        }
    }

    /// What `test` found on two lanes.
    typealias LaneTest = LaneTests<SIMD2<Double>>

    /// The certification test, for two outputs v_j = (h_j + l_j)·2^(k_j) with error bounds err_j
    /// (h_j ≠ 0 finite, |l_j| <= 2^-50|h_j|, err_j >= 0, in the units of h_j), lane by lane.
    ///
    /// In range (see `LaneTest.inRange`: hs = h·2^k normal in binary64 and below the format's
    /// top binade; the format's subnormals and underflow included):
    /// - hs = h·2^k is exact; ls = l·2^k is exact or, when it underflows, off by <= 2^-1075,
    ///   which the factor (1 + 2^-50) on es = max(err·2^k, 2^(e−110)) covers;
    /// - narrow (`Certifier.isNarrow`) when es <= 2^(max(e − p, Q') − 41), Q' = minNormal − p + 1:
    ///   2·es <= 2^-40·ulp(v), as ulp(v) >= 2^(max(e − p, Q')) (|v| >= 2^e(1 − 2^-50) > 2^(e−1));
    /// - the format's quantum at hs is 2^Q, Q = max(e, minNormal) − p + 1, and r = (hs + C) − C
    ///   with C = ±1.5·2^(Q+52) is hs rounded to it, ties to even (hs + C lies in [2^(Q+52),
    ///   2^(Q+53)), where binary64's spacing is 2^Q; |hs| < 2^(Q+p) <= 2^(Q+51) for p <= 51;
    ///   C is an even multiple of 2^Q; the subtraction is exact). For p = 53, r = hs;
    /// - δ = (hs − r) + ls (hs − r exact: |hs − r| <= 2^(Q−1) is a multiple of hs's ulp; one
    ///   rounding, <= u|δ|) is v's offset from r, and r's rounding cell reaches `room` =
    ///   2^(max(er, minNormal) − p) on both sides (half a quantum), or half that when |r| is a
    ///   power of two above 2^minNormal (the spacing below it halves);
    /// - certified when (|δ|(1 + 2^-50) + es)(1 + 2^-50) < room (every value of the enclosure
    ///   rounds to r), and, when r = 0, (|ls| + es)(1 + 2^-50) < |hs| (the zero then takes the
    ///   sign of hs).
    /// A NaN err is never narrow. Every operation wraps or is IEEE arithmetic, so lanes out of
    /// range compute garbage but never trap.
    @inline(__always)
    func test(_ h: SIMD2<Double>, _ l: SIMD2<Double>, scale k: SIMD2<Int64>, error err: SIMD2<Double>) -> LaneTest {
        test(lanes: h, l, scale: k, error: err)
    }

    /// `test` on any number of lanes (the same operations on every lane, so lane j's result is
    /// the same whatever the vector's width).
    ///
    /// Written with binary64 comparisons and exponent-field arithmetic rather than Int64 lane
    /// comparisons (which SSE2, the portable build's target, lacks: each took about five
    /// instructions). Each quantity equals the one the notes on `test` define, in range:
    /// - in range: |h| ∈ [2^-999, 2^1000) is ⌊log₂|h|⌋ ∈ [−999, 999] (subnormals, 0, inf and
    ///   NaN fail both ways); k ∈ [−1000, 1000] is (k + 1000) & ~2047 = 0 (k ∈ [−1000, 1047]) with
    ///   2^k, built from k's bits, in (0, 2^1000] (k ∈ [1001, 1047] builds a value above 2^1000,
    ///   +inf or a negative number); then hs = h·2^k is exact when e ∈ [−1022, 1023], and
    ///   |hs| ∈ [2^-900, 2^highBinade) is e ∈ (−901, highBinade) (an underflowed or overflowed
    ///   hs fails it);
    /// - for e in range, the powers of two 2^(e − 110), 2^(e − p − 41), 1.5·2^(e + 53 − p) are
    ///   hs's exponent field moved by a constant (all normal: −1011 < e − 110, e + 51 < 953), and
    ///   a max of two powers of two is the power of two of the max exponent, so
    ///   narrowBound = max(2^(e − p − 41), 2^(Q' − 41)) (the second read as 0 when below
    ///   binary64's normals: only f64, whose e − p − 41 > −995 is then the larger anyway) and
    ///   |C| = max(1.5·2^(e + 53 − p), 1.5·2^(minNormal + 53 − p));
    /// - room = max(2^(er − p − [r a power of two]), 2^(minNormal − p)): when er > minNormal the
    ///   first is the larger (and is the rule's), else the second is (and the rule does not halve
    ///   there); r = 0 builds a NaN or negative first term, which the max (taken as "the constant
    ///   unless the other is larger") discards.
    @inline(__always)
    func test<V: DoubleLanes>(lanes h: V, _ l: V, scale k: V.MaskStorage, error err: V) -> LaneTests<V> {
        typealias I = V.MaskStorage
        let exponentField = I(repeating: 0x7FF0_0000_0000_0000)
        let signBit = I(repeating: Int64.min)
        @inline(__always) func bits(_ v: V) -> I { unsafeBitCast(v, to: I.self) }
        @inline(__always) func double(_ i: I) -> V { unsafeBitCast(i, to: V.self) }
        /// b unless a > b (a NaN gives b).
        @inline(__always) func larger(_ a: V, than b: V) -> V { b.replacing(with: a, where: a .> b) }
        let scale: V = powerOfTwoLanes(k)
        let hMagnitude = magnitudeLanes(h)
        let hs = h * scale
        let ls = l * scale
        let hsBits = bits(hs)
        let hsMagnitude = magnitudeLanes(hs)
        let kInRange = ((k &+ 1000) & ~2047) .== 0 .& (scale .> 0) .& (scale .<= 0x1p1000)
        let inRange = kInRange .& (hMagnitude .>= 0x1p-999) .& (hMagnitude .< 0x1p1000)
            .& (hsMagnitude .>= 0x1p-900) .& (hsMagnitude .< V(repeating: powerOfTwo(highBinade)))
        let binadeBits = hsBits & exponentField  // 2^e
        let floorE = double(binadeBits &- (110 << 52))
        let scaledError = err * scale
        // max(err·2^k, 2^(e−110)), NaN when err is NaN.
        let es = scaledError.replacing(with: floorE, where: floorE .>= scaledError) * (1 + 0x1p-50)
        let p = Int64(precision)
        let narrowBound = larger(double(binadeBits &- ((p &+ 41) << 52)), than: V(repeating: narrowFloor))
        var r = hs
        var rounded = hs
        if shift != 0 {  // `band`: binary64's rounding to f64's grid, scaled back by 2^S
            rounded = hs * powerOfTwo(-shift)
            r = rounded * powerOfTwo(shift)
        } else if precision < 53 {
            let c = larger(double((binadeBits &+ ((53 &- p) << 52)) | 0x0008_0000_0000_0000),
                           than: V(repeating: subnormalRounder))
            let signed = double(bits(c) | (hsBits & signBit))
            r = (hs + signed) - signed
            rounded = r
        }
        let rb = bits(r)
        let rBinade = rb & exponentField  // 2^er (0 for r = 0)
        let halving = I(repeating: 0).replacing(with: 1 << 52, where: magnitudeLanes(r) .== double(rBinade))
        let room = larger(double(rBinade &- (p << 52) &- halving), than: V(repeating: subnormalRoom))
        let delta = (hs - r) + ls
        let reach = (magnitudeLanes(delta) * (1 + 0x1p-50) + es) * (1 + 0x1p-50)
        let zeroOK = (r .!= 0) .| ((magnitudeLanes(ls) + es) * (1 + 0x1p-50) .< hsMagnitude)
        let signedZero = double(hsBits & signBit)
        return LaneTests(inRange: inRange, narrow: es .<= narrowBound, certified: (reach .< room) .& zeroOK,
                         rounded: rounded.replacing(with: signedZero, where: r .== 0), hs: hs, ls: ls)
    }

    /// The certified output for v = (h + l)·2^k with |v − exact| <= err·2^k (h ≠ 0 finite,
    /// |l| <= 2^-50|h|, err >= 0 in the units of h), or nil when it does not certify or is not
    /// narrow (the request then goes to the MPFR path).
    ///
    /// `test` with v in both lanes; where it does not apply or cannot decide, `certifyOther`.
    @inline(__always)
    func certify(_ h: Double, _ l: Double, scale k: Int, error err: Double) -> OracleValue? {
        let t = test(SIMD2(repeating: h), SIMD2(repeating: l), scale: SIMD2(repeating: Int64(k)),
                     error: SIMD2(repeating: err))
        if t.inRange[0] {
            guard t.narrow[0] else { return nil }
            if t.certified[0] { return t.output(0) }
        }
        return certifyOther(h, l, scale: k, error: err)
    }

    /// `certify` for two outputs at once, v_j = (h_j + l_j)·2^(k_j) with error bounds err_j: the
    /// same test, on both lanes, with the outputs written to dst[0] and dst[1]. False, with
    /// nothing written, unless both lanes are in range, narrow and certified: the caller then
    /// calls `certify` on each, which gives the same outputs where this would have.
    @inline(__always)
    func certifyPair(_ h: SIMD2<Double>, _ l: SIMD2<Double>, scale k: SIMD2<Int64>, error err: SIMD2<Double>,
                     into dst: UnsafeMutablePointer<OracleValue>) -> Bool {
        let t = test(h, l, scale: k, error: err)
        guard all(t.inRange .& t.narrow .& t.certified) else { return false }
        t.writeOutputs(to: dst)
        return true
    }

    /// `certifyPair` on any number of lanes: true, with the outputs written to dst[0...], when
    /// every lane is in range, narrow and certified, or (`certifyBelowNormals`) decided below
    /// binary64's normals as `certify` decides it; else false with nothing written.
    @inline(__always)
    func certifyLanes<V: DoubleLanes>(_ h: V, _ l: V, scale k: V.MaskStorage, error err: V,
                                      into dst: UnsafeMutablePointer<OracleValue>) -> Bool {
        let t = test(lanes: h, l, scale: k, error: err)
        let passed = t.inRange .& t.narrow .& t.certified
        guard all(passed) else {
            // A lane in range that did not pass cannot pass below either (`band` needs e < −900;
            // what `belowSubnormals` takes passes in range): no more work for it (log_softmax's
            // near-ties on normal_huge rows).
            guard all(passed .| .!t.inRange) else { return false }
            return certifyBelowNormals(h, l, scale: k, error: err, t, passed, into: dst)
        }
        t.writeOutputs(to: dst)
        return true
    }

    /// `certifyLanes` when some lane did not pass `test` (`passed`): true, with every lane's
    /// output written, when each lane that did not pass takes one of `certifyOther`'s first two
    /// ways (the `band` test, else `belowSubnormals`), which give `certifyOther`'s outputs; else
    /// false with nothing written.
    @inline(never)
    func certifyBelowNormals<V: DoubleLanes>(_ h: V, _ l: V, scale k: V.MaskStorage, error err: V, _ t: LaneTests<V>,
                                             _ passed: SIMDMask<V.MaskStorage>, into dst: UnsafeMutablePointer<OracleValue>) -> Bool {
        let below = belowNormals(h, l, scale: k, error: err)
        guard all(passed .| below.decided) else { return false }
        let rounded = below.rounded.replacing(with: t.rounded, where: passed)
        Self.writeOutputs(rounded: rounded, h.replacing(with: t.hs, where: passed), l.replacing(with: t.ls, where: passed),
                          scale: k.replacing(with: 0, where: passed), to: dst)
        return true
    }

    /// `certifyOther`'s first two ways on lanes, which give its outputs without the exact
    /// rounding: for f64, the `band` test (binary64's subnormals, out of the test's range); else
    /// `belowSubnormals` (±0 with h's sign). The lanes decided so, and their rounded values (±0
    /// with h's sign on the others).
    @inline(__always)
    func belowNormals<V: DoubleLanes>(_ h: V, _ l: V, scale k: V.MaskStorage, error err: V)
        -> (decided: SIMDMask<V.MaskStorage>, rounded: V) {
        var decided = belowSubnormals(h, l, scale: k, error: err)
        var rounded = unsafeBitCast(unsafeBitCast(h, to: V.MaskStorage.self) & Int64.min, to: V.self)
        if shift == 0 && precision == 53 {
            let b = Self.band.test(lanes: h, l, scale: k &+ Int64(Self.band.shift), error: err)
            let bandPassed = b.inRange .& b.narrow .& b.certified
            rounded.replace(with: b.rounded, where: bandPassed)
            decided .|= bandPassed
        }
        return (decided, rounded)
    }

    /// The lanes whose output is ±0 with no rounding to do: every value of the enclosure
    /// (h + l ± err)·2^k far below the format's least subnormal 2^Qs. Where h is normal with
    /// |h| < 2^1023, |k| < 2^40, e = ⌊log₂|h|⌋ + k <= Qs − 42 and RN(|l| + err) <= |h|/2 (false
    /// for a NaN or infinite l or err):
    /// - |l| + err <= (|h|/2)(1 + u), so every value of the enclosure has the sign of h and a
    ///   magnitude in [(|h|/2)(1 − u), 1.5·|h|(1 + u)]·2^k, nonzero and below 2^(e+2) <= 2^(Qs−40),
    ///   under half the least subnormal: it rounds to zero with the sign of h;
    /// - the width 2·err·2^k <= |h|(1 + u)·2^k < 2^(e+2) <= 2^(Qs−40) is narrow (2^-40 of the
    ///   least quantum 2^Qs);
    /// - `certifyOther`'s exact path gives the same: its ends (h, RN(l ∓ err')), one step outward,
    ///   err' = err·(1 + 2^-50), lie within 2^-48 (relative) of those values, so they too round to
    ///   that zero, and its narrowness test (err·2^-⌊log₂|h|⌋ <= 2^(minNormal − p − 40 − e),
    ///   the bound >= 2^1) passes; the exact value reported is (h + l)·2^k.
    @inline(__always)
    func belowSubnormals<V: DoubleLanes>(_ h: V, _ l: V, scale k: V.MaskStorage, error err: V) -> SIMDMask<V.MaskStorage> {
        let biased = (unsafeBitCast(h, to: V.MaskStorage.self) &>> 52) & 0x7FF
        let e = biased &- 1023 &+ k
        let kInRange = (k .> -(1 << 40)) .& (k .< 1 << 40)
        let hNormal = (biased .>= 1) .& (biased .<= 2045)
        let small = magnitudeLanes(l) + err .<= 0.5 * magnitudeLanes(h)
        return kInRange .& hNormal .& (e .<= Int64(subnormalQuantum - 42)) .& small
    }

    /// `certify` where the test does not apply or cannot decide: the exact reference
    /// (`Format.certifiedValue`, both ends rounded exactly), or nil for non-finite parts (an
    /// overflowed product, say: never certified from those).
    @inline(never)
    func certifyOther(_ h: Double, _ l: Double, scale k: Int, error err: Double) -> OracleValue? {
        guard h.isFinite, l.isFinite, err.isFinite, h != 0, abs(k) < 1 << 40 else { return nil }
        // Outputs below binary64's normals, far below the format's subnormals (`band`,
        // `belowSubnormals`): decided on lanes, without the exact rounding. Only for binades
        // e < −900, where the test never applies: above, `band` never applies, and in the test's
        // range the test itself certifies what `belowSubnormals` would (δ = hs + ls, |δ| + es <
        // 2^(e+2) <= half the least subnormal, |ls| + es < |hs|); the outputs that reach here from
        // there (near-ties of log_softmax, say), and the rare ones outside both, take the exact
        // path at once.
        if h.isNormal && binade(h) + k < -900 {
            let h2 = SIMD2(repeating: h), l2 = SIMD2(repeating: l), k2 = SIMD2(repeating: Int64(k)), e2 = SIMD2(repeating: err)
            let fails = SIMDMask<SIMD2<Int64>>(repeating: false)
            let decided = withUnsafeTemporaryAllocation(of: OracleValue.self, capacity: 2) { out -> OracleValue? in
                guard certifyBelowNormals(h2, l2, scale: k2, error: e2, test(lanes: h2, l2, scale: k2, error: e2), fails,
                                          into: out.baseAddress!) else { return nil }
                return out[0]
            }
            if let decided { return decided }
        }
        let v = ScaledDoubleWord(hi: h, lo: l, exponent: k).normalized()
        let error = scaled(err, by: k - v.exponent) * (1 + 0x1p-50)
        // f64 above the inline test's binades: its decision without the exact rounding, where it
        // can (OutsideTestBinades.swift; below them, the lanes above decide).
        if precision == 53, v.exponent >= 901, v.exponent <= 1023, v.hi.isNormal {
            switch testOutsideBinades(v, error: error) {
            case .certified(let value): return value
            case .notNarrow: return nil
            case .undecided: break
            }
        }
        return format.certifiedValue(v, error: error)
    }

    /// A plain double-double w with an absolute error bound, certified (nil for w = 0).
    @inline(__always)
    func certify(_ w: DoubleWord, absoluteError: Double) -> OracleValue? {
        if w.hi == 0 { return nil }
        return certify(w.hi, w.lo, scale: 0, error: absoluteError)
    }

    /// A normalized ScaledDoubleWord v with a relative error bound eps (|v − exact| <= eps·|v|), certified.
    @inline(__always)
    func certify(_ v: ScaledDoubleWord, relativeError eps: Double) -> OracleValue? {
        certify(v.hi, v.lo, scale: v.exponent, error: eps * v.hi.magnitude * (1 + 0x1p-50))
    }
}
