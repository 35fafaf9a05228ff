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

    init(_ format: Format) {
        self.format = format
        precision = format.precision
        minNormalExponent = format.minNormalExponent
        highBinade = Swift.min(format.maxExponent, 901)
        subnormalQuantum = format.minSubnormalExponent
    }

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

    /// The larger of a and b on every lane (`pointwiseMax`'s result; written out so that it is
    /// always inlined).
    @inline(__always)
    private func lanewiseMax<I: SIMD>(_ a: I, _ b: I) -> I where I.Scalar == Int64, I.MaskStorage == I {
        a.replacing(with: b, where: b .> a)
    }

    /// `test` on any number of lanes (the same operations on every lane, so lane j's result is
    /// the same whatever the vector's width).
    @inline(__always)
    func test<V: DoubleLanes>(lanes h: V, _ l: V, scale k: V.MaskStorage, error err: V) -> LaneTests<V> {
        typealias I = V.MaskStorage
        let one = I(repeating: 1023)
        let emin = I(repeating: Int64(minNormalExponent))
        let hb = unsafeBitCast(h, to: I.self)
        let eh = ((hb &>> 52) & 0x7FF) &- 1023
        let e = eh &+ k
        let inRange = (eh &+ 999) .>= 0 .& (eh &+ 999) .< 1999 .& (k &+ 1000) .>= 0 .& (k &+ 1000) .<= 2000
            .& (e .> -901) .& (e .< Int64(highBinade))
        let scale = unsafeBitCast((k &+ one) &<< 52, to: V.self)
        let hs = h * scale
        let ls = l * scale
        let floorE = unsafeBitCast((e &- 110 &+ one) &<< 52, to: V.self)
        let scaledError = err * scale
        // max(err·2^k, 2^(e−110)), NaN when err is NaN.
        let es = scaledError.replacing(with: floorE, where: floorE .>= scaledError) * (1 + 0x1p-50)
        let q = I(repeating: Int64(subnormalQuantum))
        let narrowBound = unsafeBitCast((lanewiseMax(e &- Int64(precision), q) &- 41 &+ one) &<< 52, to: V.self)
        let eq = lanewiseMax(e, emin)
        var r = hs
        if precision < 53 {
            let bits = (unsafeBitCast(hs, to: I.self) & Int64.min)
                | ((eq &+ (1076 &- Int64(precision))) &<< 52) | 0x0008_0000_0000_0000
            let c = unsafeBitCast(bits, to: V.self)
            r = (hs + c) - c
        }
        let rb = unsafeBitCast(r, to: I.self)
        let er = ((rb &>> 52) & 0x7FF) &- 1023
        let delta = (hs - r) + ls
        let halving = I(repeating: 0).replacing(with: 1, where: (rb & 0x000F_FFFF_FFFF_FFFF) .== 0 .& (er .> emin))
        let room = unsafeBitCast((lanewiseMax(er, emin) &- Int64(precision) &- halving &+ one) &<< 52, to: V.self)
        let magnitude = unsafeBitCast(unsafeBitCast(delta, to: I.self) & Int64.max, to: V.self)
        let reach = (magnitude * (1 + 0x1p-50) + es) * (1 + 0x1p-50)
        let lsMagnitude = unsafeBitCast(unsafeBitCast(ls, to: I.self) & Int64.max, to: V.self)
        let hsMagnitude = unsafeBitCast(unsafeBitCast(hs, to: I.self) & Int64.max, to: V.self)
        let zeroOK = (r .!= 0) .| ((lsMagnitude + es) * (1 + 0x1p-50) .< hsMagnitude)
        let signedZero = unsafeBitCast(unsafeBitCast(hs, to: I.self) & Int64.min, to: V.self)
        return LaneTests(inRange: inRange, narrow: es .<= narrowBound, certified: (reach .< room) .& zeroOK,
                         rounded: r.replacing(with: signedZero, where: r .== 0), hs: hs, ls: ls)
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
        dst.initialize(to: t.output(0))
        (dst + 1).initialize(to: t.output(1))
        return true
    }

    /// `certifyPair` on any number of lanes: true, with the outputs written to dst[0...], when
    /// every lane is in range, narrow and certified; else false with nothing written.
    @inline(__always)
    func certifyLanes<V: DoubleLanes>(_ h: V, _ l: V, scale k: V.MaskStorage, error err: V,
                                      into dst: UnsafeMutablePointer<OracleValue>) -> Bool {
        let t = test(lanes: h, l, scale: k, error: err)
        guard all(t.inRange .& t.narrow .& t.certified) else { return false }
        for j in 0..<V.scalarCount { (dst + j).initialize(to: t.output(j)) }
        return true
    }

    /// `certify` where the test does not apply or cannot decide: the exact reference
    /// (`Format.certifiedValue`, both ends rounded exactly), or nil for non-finite parts (an
    /// overflowed product, say: never certified from those).
    @inline(never)
    func certifyOther(_ h: Double, _ l: Double, scale k: Int, error err: Double) -> OracleValue? {
        guard h.isFinite, l.isFinite, err.isFinite, h != 0, abs(k) < 1 << 40 else { return nil }
        let v = ScaledDoubleWord(hi: h, lo: l, exponent: k).normalized()
        return format.certifiedValue(v, error: scaled(err, by: k - v.exponent) * (1 + 0x1p-50))
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
