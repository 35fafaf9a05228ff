import MPFR
@testable import SoftmaxOracle
import Testing

/// The fast tier's rounding and certification (FastRounding.swift) against MPFR's rounding
/// (`Format.round(BigFloat)`, the oracle's own, tested against a third rounding in
/// FormatRoundingTests): exact rounding of double-doubles, the "plus or minus 0⁺" nudge, and the
/// certification of enclosures — a certified value must be the rounding of both ends.
@Suite("Fast tier: rounding double-doubles and certifying enclosures")
struct FastTierRoundingTests {
    static let seed: UInt64 = 0xFA57_0010

    /// (h + l)·2^k exactly.
    static func exact(_ h: Double, _ l: Double, _ k: Int) -> BigFloat {
        FastTierMath.value(DD(h, l), scale: k)
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
                let w = BigFloat(precision: FastTierMath.bits + 400)
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
        let ff = FastFormat(format)
        var certified = 0, comfortable = 0
        for i in 0..<4000 {
            var (h, l, k) = Self.randomCase(&rng, format)
            let n = fastTwoSum(h, l)  // the fast tier's values are normalized
            h = n.hi
            l = n.lo
            if h == 0 { continue }
            let err = abs(h) * pow2(-rng.int(40...110))
            let v = Self.exact(h, l, k)
            let e = BigFloat(precision: 53)
            ExponentRange.widest { e.scale(big(err), byPowerOfTwo: k, .nearest) }
            let lo = BigFloat(precision: FastTierMath.bits), hi = BigFloat(precision: FastTierMath.bits)
            ExponentRange.widest {
                lo.sub(v, e, .nearest)
                hi.add(v, e, .nearest)
            }
            let rl = format.round(lo), rh = format.round(hi)
            let result = i % 2 == 0 ? ff.value(h, l, scale: k, error: err)
                : format.certifiedValue(ScaledDD(hi: h, lo: l, exponent: k).normalized(),
                                        error: scaled(err, k - ScaledDD(hi: h, lo: l, exponent: k).normalized().exponent) * (1 + 0x1p-50))
            if let r = result {
                certified += 1
                #expect(hex(r.rounded) == hex(rl) && hex(r.rounded) == hex(rh),
                        "\(format) (\(hex(h)) + \(hex(l)))·2^\(k) ± \(hex(err)): \(hex(r.rounded)), ends \(hex(rl)) \(hex(rh))")
                // The exact value reported is h + l.
                let x = r.exact
                if x.kind == .finite {
                    let back = FastTierMath.value(DD(x.head, x.tail), scale: x.exponent)
                    if x.isNegative { back.neg(back, .nearest) }
                    #expect(FastTierMath.relativeError(back, v) < 0x1p-100)
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

    @Test("FastFormat.value2 (two SIMD lanes) gives value's outputs or declines (either sign)", arguments: Format.allCases)
    func pairedValues(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 0x2222 &+ UInt64(format.precision))
        let ff = FastFormat(format)
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
            let singles = (0..<2).map { ff.value(hs[$0], ls[$0], scale: ks[$0], error: errors[$0]) }
            if ff.value2(SIMD2(hs[0], hs[1]), SIMD2(ls[0], ls[1]), scale: SIMD2(Int64(ks[0]), Int64(ks[1])),
                         error: errors, into: out) {
                paired += 1
                for j in 0..<2 {
                    #expect(singles[j] == out[j], "lane \(j): (\(hex(hs[j])) + \(hex(ls[j])))·2^\(ks[j]) ± \(eps)")
                }
            }
        }
        #expect(paired > (format == .f64 ? 50 : 300))  // f64 needs eps <= 2^-94 to be narrow
    }

    @Test("FastFormat.value certifies values near a boundary only when the enclosure allows it")
    func boundaryBelowOne() {
        for format in [Format.f32, .f16, .bf16, .e5m2, .e4m3fn] {
            let p = format.precision
            let ff = FastFormat(format)
            let boundary = 1 - pow2(-(p + 1))  // between 1 − 2^-p and 1
            #expect(ff.value(boundary, 0, scale: 0, error: 0x1p-100) == nil)  // on it: never
            #expect(ff.value(boundary, 0x1p-80, scale: 0, error: 0x1p-90)?.rounded == 1)
            #expect(ff.value(boundary, -0x1p-80, scale: 0, error: 0x1p-90)?.rounded == 1 - pow2(-p))
            #expect(ff.value(boundary, 0x1p-80, scale: 0, error: 0x1p-79) == nil)
        }
        // f64: the boundary 1 − 2^-54 is the double-double (1, −2^-54).
        let ff = FastFormat(.f64)
        #expect(ff.value(1, -0x1p-54, scale: 0, error: 0x1p-100) == nil)
        #expect(ff.value(1, -0x1p-54 * (1 - 0x1p-20), scale: 0, error: 0x1p-100)?.rounded == 1)
        #expect(ff.value(1, -0x1p-54 * (1 + 0x1p-20), scale: 0, error: 0x1p-100)?.rounded == 1 - 0x1p-53)
    }
}
