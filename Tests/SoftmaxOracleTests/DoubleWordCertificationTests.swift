import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// The double-word tier's rounding and certification (DoubleWordCertifier.swift,
/// ExactRounding.swift) against MPFR's rounding (`Format.round(BigFloat)`, the oracle's own,
/// tested against a third rounding in FormatRoundingTests): exact rounding of double-doubles, the
/// "plus or minus 0⁺" nudge, and the certification of enclosures — a certified value must be the
/// rounding of both ends, and the scalar and paired paths run one test.
@Suite("Double-word tier: rounding double-doubles and certifying enclosures")
struct DoubleWordCertificationTests {
    static let seed: UInt64 = 0xFA57_0010

    /// (h + l)·2^k exactly.
    static func exact(_ h: Double, _ l: Double, _ k: Int) -> BigFloat {
        Exact.value(DoubleWord(h, l), scale: k)
    }

    /// A random case: h with few or many significant bits (so that ties occur), l = 0, a tie
    /// offset, ±tiny or random, and k placing the value in the normal range, the subnormals,
    /// below them, or near overflow.
    static func randomCase(_ rng: inout SplitMix64, _ format: Format) -> (h: Double, l: Double, k: Int) {
        let p = format.precision
        let bits = rng.pick([p, p + 1, p + 2, 53])
        var h = Double(UInt64(1) << UInt64(bits - 1) + (rng.next() >> UInt64(65 - bits))) * pow2(1 - bits)
        if rng.oneIn(2) { h = -h }
        let ulpH = pow2(-52)
        let l: Double
        switch rng.int(0...4) {
        case 0: l = 0
        case 1: l = (rng.oneIn(2) ? 1 : -1) * ulpH / 2  // l at half an ulp of h
        case 2: l = (rng.oneIn(2) ? 1 : -1) * pow2(-rng.int(60...200))
        case 3: l = (rng.unit() - 0.5) * ulpH
        default: l = (rng.unit() - 0.5) * pow2(-rng.int(1...30))  // not normalized
        }
        let k: Int
        switch rng.int(0...3) {
        case 0: k = rng.int((format.minNormalExponent + 1)...(format.maxExponent - 1))
        case 1: k = format.minNormalExponent - rng.int(0...(p + 2))
        case 2: k = format.minNormalExponent - rng.int(0...1100)
        default: k = format.maxExponent + rng.int(-1...1)
        }
        return (h, l, k)
    }

    @Test("roundExactly = MPFR's rounding of the exact double-double", arguments: Format.allCases)
    func roundExactlyAgrees(format: Format) {
        var rng = SplitMix64(seed: Self.seed &+ UInt64(format.precision))
        for _ in 0..<3000 {
            let (h, l, k) = Self.randomCase(&rng, format)
            let want = format.round(Self.exact(h, l, k))
            let got = format.roundExactly(h, l, scale: k)
            #expect(hex(got) == hex(want), "\(format) (\(hex(h)) + \(hex(l)))·2^\(k)")
        }
    }

    @Test("an e4m3fn overflow is the MPFR path's NaN bit for bit, whatever the sign")
    func overflowNaNBits() throws {
        // e4m3fn has no infinities: above 448 (from the midpoint 464 up) a value rounds to NaN,
        // and `Format.round` (the MPFR path) gives the positive quiet NaN for either sign. The
        // tier's exact rounding negated it for a negative value (sign bit set): binary frames then
        // carried 0xfff8... from the tier and 0x7ff8... from `--mpfr-only` for the same output.
        for x in [465.0, -465.0, 1000.0, -1000.0, -0x1p100] {
            let want = Format.e4m3fn.round(Self.exact(x, 0, 0))
            #expect(want.isNaN && want.sign == .plus)
            #expect(Format.e4m3fn.roundExactly(x, 0, scale: 0).bitPattern == want.bitPattern, "\(x)")
        }
        // log_softmax of [0, −1000, 5]: output 1 is −1005 − log1p(e^-5 + e^-1005), NaN in e4m3fn.
        let q = OracleRequest(function: .logSoftmax, format: .e4m3fn, logits: [0, -1000, 5])
        let tier = try Oracle().evaluate(q).rounded, mpfr = try Oracle(doubleWordTier: false).evaluate(q).rounded
        #expect(tier.map(\.bitPattern) == mpfr.map(\.bitPattern))
        #expect(tier[1].isNaN && tier[1].sign == .plus)
    }

    @Test("roundExactly(nudge: ±1) rounds the value plus or minus an infinitesimal", arguments: Format.allCases)
    func nudge(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 0x77 &+ UInt64(format.precision))
        for _ in 0..<2000 {
            var (h, l, k) = Self.randomCase(&rng, format)
            if l != 0 && binade(abs(l)) < binade(abs(h)) - 60 { l = 0 }  // roundNearTie's precondition
            for side in [-1, 1] {
                let v = Self.exact(h, l, k)
                let tiny = BigFloat(precision: 53)
                ExponentRange.widest { tiny.scale(big(Double(side)), byPowerOfTwo: k - 400, .nearest) }
                let w = BigFloat(precision: Exact.bits + 400)
                ExponentRange.widest { w.add(v, tiny, .nearest) }  // exact
                let want = format.round(w)
                let got = format.roundExactly(h, l, scale: k, nudge: side)
                #expect(hex(got) == hex(want), "\(format) (\(hex(h)) + \(hex(l)))·2^\(k) \(side > 0 ? "+" : "−") 0⁺")
            }
        }
    }

    @Test("a certified value is the rounding of both ends of its enclosure", arguments: Format.allCases)
    func certificationIsSound(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 0x99 &+ UInt64(format.precision))
        let certifier = DoubleWordCertifier(format)
        var certified = 0, comfortable = 0
        for i in 0..<4000 {
            var (h, l, k) = Self.randomCase(&rng, format)
            let n = fastTwoSum(h, l)  // the double-word tier's values are normalized
            h = n.hi
            l = n.lo
            if h == 0 { continue }
            let err = abs(h) * pow2(-rng.int(40...110))
            let v = Self.exact(h, l, k)
            let e = BigFloat(precision: 53)
            ExponentRange.widest { e.scale(big(err), byPowerOfTwo: k, .nearest) }
            let lo = BigFloat(precision: Exact.bits), hi = BigFloat(precision: Exact.bits)
            ExponentRange.widest {
                lo.sub(v, e, .nearest)
                hi.add(v, e, .nearest)
            }
            let rl = format.round(lo), rh = format.round(hi)
            let result = i % 2 == 0 ? certifier.certify(h, l, scale: k, error: err)
                : format.certifiedValue(ScaledDoubleWord(hi: h, lo: l, exponent: k).normalized(),
                                        error: scaled(err, by: k - ScaledDoubleWord(hi: h, lo: l, exponent: k).normalized().exponent) * (1 + 0x1p-50))
            if let r = result {
                certified += 1
                #expect(hex(r.rounded) == hex(rl) && hex(r.rounded) == hex(rh),
                        "\(format) (\(hex(h)) + \(hex(l)))·2^\(k) ± \(hex(err)): \(hex(r.rounded)), ends \(hex(rl)) \(hex(rh))")
                // The exact value reported is h + l.
                let x = r.exact
                if x.kind == .finite {
                    let back = Exact.value(DoubleWord(x.head, x.tail), scale: x.exponent)
                    if x.isNegative { back.neg(back, .nearest) }
                    #expect(Exact.relativeError(back, v) < 0x1p-100)
                    #expect(x.head >= 1 && x.head <= 2 && x.head + x.tail <= 2 && x.head + x.tail >= 1)  // (the double sum may round to 2)
                }
            } else if hex(rl) == hex(rh) && err < abs(h) * pow2(-format.precision - 45)
                        && k > format.minNormalExponent && k < format.maxExponent {
                comfortable += 1  // would have been allowed; only near boundaries should this happen
            }
        }
        #expect(certified > 1000)
        #expect(comfortable < 200, "\(comfortable) uncertified enclosures that round uniquely")
    }

    @Test("certifyPair (two SIMD lanes) gives certify's outputs or declines (either sign)", arguments: Format.allCases)
    func pairedValues(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 0x2222 &+ UInt64(format.precision))
        let certifier = DoubleWordCertifier(format)
        var paired = 0
        for _ in 0..<3000 {
            var hs: [Double] = [], ls: [Double] = [], ks: [Int] = []
            for _ in 0..<2 {
                var (h, l, k) = Self.randomCase(&rng, format)
                let n = fastTwoSum(abs(h), h < 0 ? -l : l)  // positive, normalized (softmax values)
                h = n.hi
                l = n.lo
                if rng.oneIn(3) { k = rng.int(-300...0) }
                hs.append(h); ls.append(l); ks.append(k)
            }
            guard hs[0] > 0 && hs[1] > 0 else { continue }
            let eps = pow2(-rng.int(60...105))
            let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: 2)
            defer { out.deallocate() }
            let errors = SIMD2(eps * (1 + 0x1p-50) * hs[0], eps * (1 + 0x1p-50) * hs[1])
            if rng.oneIn(2) { hs = hs.map { -$0 }; ls = ls.map { -$0 } }  // negative outputs too
            let singles = (0..<2).map { certifier.certify(hs[$0], ls[$0], scale: ks[$0], error: errors[$0]) }
            if certifier.certifyPair(SIMD2(hs[0], hs[1]), SIMD2(ls[0], ls[1]), scale: SIMD2(Int64(ks[0]), Int64(ks[1])),
                         error: errors, into: out) {
                paired += 1
                for j in 0..<2 {
                    #expect(singles[j] == out[j], "lane \(j): (\(hex(hs[j])) + \(hex(ls[j])))·2^\(ks[j]) ± \(eps)")
                }
            }
        }
        #expect(paired > (format == .f64 ? 50 : 300))  // f64 needs eps <= 2^-94 to be narrow
    }

    @Test("The certification test on 4 and 8 lanes gives the two-lane test's results, lane by lane", arguments: Format.allCases)
    func wideLaneTest(format: Format) {
        let seed = Self.seed ^ 0x4444 &+ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        let certifier = DoubleWordCertifier(format)
        var cases: [(h: Double, l: Double, k: Int, err: Double)] = []
        for c in Self.hardCases(&rng, format, count: 800) { cases.append((c.h, c.l, c.k, c.err)) }
        for _ in 0..<800 {
            let (h, l, k) = Self.randomCase(&rng, format)
            cases.append((h, l, rng.oneIn(3) ? rng.int(-300...0) : k, pow2(-rng.int(60...105)) * abs(h)))
        }
        func check<V: DoubleLanes>(_: V.Type, _ slice: ArraySlice<(h: Double, l: Double, k: Int, err: Double)>) {
            var h = V(), l = V(), err = V()
            var k = V.MaskStorage()
            for (j, c) in slice.enumerated() { h[j] = c.h; l[j] = c.l; k[j] = Int64(c.k); err[j] = c.err }
            let wide = certifier.test(lanes: h, l, scale: k, error: err)
            for (j, c) in slice.enumerated() {
                let two = certifier.test(SIMD2(repeating: c.h), SIMD2(repeating: c.l), scale: SIMD2(repeating: Int64(c.k)),
                                         error: SIMD2(repeating: c.err))
                let same = wide.inRange[j] == two.inRange[0] && wide.narrow[j] == two.narrow[0]
                    && wide.certified[j] == two.certified[0] && wide.rounded[j].bitPattern == two.rounded[0].bitPattern
                    && wide.hs[j].bitPattern == two.hs[0].bitPattern && wide.ls[j].bitPattern == two.ls[0].bitPattern
                // Lanes out of range compute garbage; the garbage must match too (same operations).
                #expect(same, "seed \(seed), \(V.scalarCount) lanes: (\(hex(c.h)) + \(hex(c.l)))·2^\(c.k) ± \(c.err)")
            }
        }
        for i in stride(from: 0, to: cases.count - 7, by: 8) {
            check(SIMD8<Double>.self, cases[i..<i + 8])
            check(SIMD4<Double>.self, cases[i..<i + 4])
        }
    }

    @Test("certify certifies values near a boundary only when the enclosure allows it")
    func boundaryBelowOne() {
        for format in [Format.f32, .f16, .bf16, .e5m2, .e4m3fn] {
            let p = format.precision
            let certifier = DoubleWordCertifier(format)
            let boundary = 1 - pow2(-(p + 1))  // between 1 − 2^-p and 1
            #expect(certifier.certify(boundary, 0, scale: 0, error: 0x1p-100) == nil)  // on it: never
            #expect(certifier.certify(boundary, 0x1p-80, scale: 0, error: 0x1p-90)?.rounded == 1)
            #expect(certifier.certify(boundary, -0x1p-80, scale: 0, error: 0x1p-90)?.rounded == 1 - pow2(-p))
            #expect(certifier.certify(boundary, 0x1p-80, scale: 0, error: 0x1p-79) == nil)
        }
        // f64: the boundary 1 − 2^-54 is the double-double (1, −2^-54).
        let certifier = DoubleWordCertifier(.f64)
        #expect(certifier.certify(1, -0x1p-54, scale: 0, error: 0x1p-100) == nil)
        #expect(certifier.certify(1, -0x1p-54 * (1 - 0x1p-20), scale: 0, error: 0x1p-100)?.rounded == 1)
        #expect(certifier.certify(1, -0x1p-54 * (1 + 0x1p-20), scale: 0, error: 0x1p-100)?.rounded == 1 - 0x1p-53)
    }

    /// A hard case for the certification test: v = (h + l)·2^k = B + δ·2^k, B a rounding
    /// boundary of the format (a midpoint of its grid), with error bound err (units of h).
    /// `mustCertify`: narrow with room to spare and |δ| >= 2·err (so both ends lie on one side
    /// of B, at least |δ|/2 away): the certification must succeed (when MPFR's ends agree), not
    /// just may.
    struct HardCase {
        var h, l: Double, k: Int, err: Double, mustCertify: Bool, note: String
    }

    /// Boundaries B = M·2^(E−n) (M odd, n + 1 bits: the midpoints of the grid in binade E) in
    /// the normal range, the subnormals (down to the midpoint between 0 and the least
    /// subnormal), the top binade and at the overflow threshold (maxFinite + half a quantum),
    /// each moved by δ = ±c·2^(E−n−j) with an error bound on either side of |δ|, either sign.
    static func hardCases(_ rng: inout SplitMix64, _ format: Format, count: Int) -> [HardCase] {
        let p = format.precision, minNormal = format.minNormalExponent, maxE = format.maxExponent
        var out: [HardCase] = []
        while out.count < count {
            let kind = rng.pick([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])  // weights 4:3:2:1
            let e: Int
            switch kind {
            case 0: e = rng.int(Swift.max(minNormal, -1000)...Swift.min(maxE - 1, 1000))  // normal
            case 1: e = rng.int((format.minSubnormalExponent - 1)...(minNormal - 1))  // subnormal
            default: e = maxE  // top binade; kind 3: the overflow threshold
            }
            let q = Swift.max(e, minNormal) - p + 1  // the quantum's exponent at binade e
            let n = e - q + 1  // B = M·2^(e−n), M odd in [2^n, 2^(n+1))
            guard n >= 0 else { continue }
            let m = kind == 3 ? (UInt64(1) << UInt64(n)) - 1 : (n == 0 ? 0 : UInt64(1) << UInt64(n - 1) + rng.next() >> UInt64(65 - n))
            let maxJ = n == 53 ? 50 : 60  // f64's normal midpoints need l = 2^-53 + δ exact
            // Mostly δ in the window where a narrow enclosure can be clear of B (2^-(n+48) <=
            // |δ| <= 2^-(n+40)); else anywhere.
            let j = rng.oneIn(4) ? rng.int(2...maxJ) : rng.int(40...48)
            let c = rng.pick([1.0, 1.25, 1.5, 1.75])
            let delta = (rng.oneIn(2) ? c : -c) * pow2(-n - j)  // units of 2^e
            // B/2^e = (2m + 1)·2^-n: one double when it fits in 53 bits, else (2m·2^-n, 2^-n).
            var h: Double, l: Double
            if n <= 52 {
                h = Double(2 * m + 1) * pow2(-n)
                l = delta
            } else {
                h = Double(m) * pow2(1 - n)
                l = pow2(-n) + delta
            }
            let err = delta.magnitude * pow2(rng.int(-8...3))
            let narrowCap = pow2(q - e - 45)  // err·2^e <= 2^-45·ulp(v): narrow with room to spare
            let must = delta.magnitude >= 2 * err && err <= narrowCap && (n <= 52 || delta.magnitude >= 0x1p-102)
            if rng.oneIn(2) { h = -h; l = -l }
            out.append(HardCase(h: h, l: l, k: e, err: err, mustCertify: must,
                                note: "\(format) \(["normal", "subnormal", "top binade", "overflow threshold"][kind]) (\(hex(h)) + \(hex(l)))·2^\(e) ± \(hex(err))"))
        }
        return out
    }

    /// MPFR's rounding of both ends of the enclosure [(h + l − err)·2^k, (h + l + err)·2^k].
    static func roundedEnds(_ c: HardCase, _ format: Format) -> (Double, Double) {
        let v = Self.exact(c.h, c.l, c.k)
        let e = BigFloat(precision: 53)
        let lo = BigFloat(precision: Exact.bits), hi = BigFloat(precision: Exact.bits)
        ExponentRange.widest {
            e.scale(big(c.err), byPowerOfTwo: c.k, .nearest)  // exact
            lo.sub(v, e, .nearest)  // exact: the ends span far fewer than 320 bits
            hi.add(v, e, .nearest)
        }
        return (format.round(lo), format.round(hi))
    }

    @Test("one certification test for scalar and paired outputs: hard cases against MPFR", arguments: Format.allCases)
    func oneTestForBothPaths(format: Format) {
        let seed = Self.seed ^ 0x0E7E57 &+ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        let certifier = DoubleWordCertifier(format)
        let cases = Self.hardCases(&rng, format, count: 1200)
        /// The test alone, on the output in both lanes: lane 0 in range, narrow and certified.
        func inline(_ c: HardCase) -> DoubleWordCertifier.LaneTest {
            certifier.test(SIMD2(repeating: c.h), SIMD2(repeating: c.l), scale: SIMD2(repeating: Int64(c.k)),
                           error: SIMD2(repeating: c.err))
        }
        func decides(_ t: DoubleWordCertifier.LaneTest, _ j: Int) -> Bool { t.inRange[j] && t.narrow[j] && t.certified[j] }
        var inlineCertified = 0, mustCount = 0, paired = 0
        let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: 2)
        defer { out.deallocate() }
        for (i, c) in cases.enumerated() {
            let (rl, rh) = Self.roundedEnds(c, format)
            let agree = hex(rl) == hex(rh)
            // The scalar path: sound always; complete where the enclosure is clear of B and narrow.
            let scalar = certifier.certify(c.h, c.l, scale: c.k, error: c.err)
            if let s = scalar {
                #expect(agree && hex(s.rounded) == hex(rl), "seed \(seed): \(c.note): \(hex(s.rounded)), ends \(hex(rl)) \(hex(rh))")
            }
            if c.mustCertify && agree {
                mustCount += 1
                #expect(scalar != nil, "seed \(seed): \(c.note): not certified, ends round to \(hex(rl))")
            }
            // The test itself decides only what the exact reference decides: r = roundExactly(v).
            let t = inline(c)
            if decides(t, 0) {
                inlineCertified += 1
                #expect(hex(t.rounded[0]) == hex(format.roundExactly(c.h, c.l, scale: c.k)) && agree,
                        "seed \(seed): \(c.note)")
            }
            // The paired path, with the next case in either lane, and with its own negation: it
            // certifies exactly when the test certifies both lanes alone, and then gives the
            // scalar path's outputs.
            let d = cases[(i + 1) % cases.count]
            var negated = c
            negated.h = -c.h
            negated.l = -c.l
            for (a, b) in [(c, d), (d, c), (c, negated)] {
                let ok = certifier.certifyPair(SIMD2(a.h, b.h), SIMD2(a.l, b.l), scale: SIMD2(Int64(a.k), Int64(b.k)),
                                               error: SIMD2(a.err, b.err), into: out)
                #expect(ok == (decides(inline(a), 0) && decides(inline(b), 0)), "seed \(seed): \(a.note) | \(b.note)")
                if ok {
                    paired += 1
                    #expect(out[0] == certifier.certify(a.h, a.l, scale: a.k, error: a.err), "seed \(seed): \(a.note)")
                    #expect(out[1] == certifier.certify(b.h, b.l, scale: b.k, error: b.err), "seed \(seed): \(b.note)")
                }
            }
        }
        print("\(format): \(cases.count) hard cases, \(mustCount) must certify, \(inlineCertified) by the inline test, \(paired) pairs")
        // The inline test decides many of these (the others go to the exact fallback).
        #expect(mustCount > 400 && inlineCertified > 80 && paired > 80,
                "seed \(seed): \(mustCount) must certify, \(inlineCertified) by the inline test, \(paired) pairs")
    }
}
