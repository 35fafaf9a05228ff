import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// The certification of outputs below binary64's normals (DoubleWordCertifier.swift: the f64
/// `band` test, v·2^600 against f64's grid scaled by 2^600, and `belowSubnormals`, outputs far
/// below the format's least subnormal) against MPFR's rounding of both ends of the enclosure,
/// exactly; and the SIMD path (`certifyLanes`) against the scalar one (`certify`).
@Suite("Double-word tier: certifying outputs below binary64's normals")
struct BelowNormalCertificationTests {
    static let seed: UInt64 = 0xB10_4A11

    /// MPFR's rounding of both ends of [(h + l − err)·2^k, (h + l + err)·2^k] (exact ends).
    static func roundedEnds(_ h: Double, _ l: Double, _ k: Int, _ err: Double, _ format: Format) -> (Double, Double) {
        let v = Exact.value(DoubleWord(h, l), scale: k)
        let e = BigFloat(precision: 53)
        let lo = BigFloat(precision: 2400), hi = BigFloat(precision: 2400)
        ExponentRange.widest {
            e.scale(big(err), byPowerOfTwo: k, .nearest)  // exact
            lo.sub(v, e, .nearest)  // exact: h, l and err span fewer than 2400 bits
            hi.add(v, e, .nearest)
        }
        return (format.round(lo), format.round(hi))
    }

    /// A normalized (h, l) with h in ±[1, 4), few or many significant bits (ties), l at half an
    /// ulp of h, tiny, random or 0; a binade e for the value: f64's band (binary64's subnormals,
    /// [−1500, −895]), at `belowSubnormals`' bound (Qs − 42 ± 3), or far below (down to −300000).
    static func randomCase(_ rng: inout SplitMix64, _ format: Format) -> (h: Double, l: Double, k: Int, err: Double) {
        let bits = rng.pick([2, 12, format.precision, format.precision + 1, 53])
        var h = Double(UInt64(1) << UInt64(bits - 1) + (rng.next() >> UInt64(65 - bits))) * pow2(1 - bits) * pow2(rng.int(0...1))
        var l: Double
        switch rng.int(0...3) {
        case 0: l = 0
        case 1: l = (rng.oneIn(2) ? 1 : -1) * pow2(binade(h) - 53)
        case 2: l = (rng.oneIn(2) ? 1 : -1) * pow2(binade(h) - rng.int(60...300))
        default: l = (rng.unit() - 0.5) * pow2(binade(h) - 52)
        }
        let n = fastTwoSum(h, l)
        (h, l) = rng.oneIn(2) ? (n.hi, n.lo) : (-n.hi, -n.lo)
        let qs = format.minSubnormalExponent
        let e: Int
        switch rng.int(0...3) {
        case 0, 1: e = rng.int(-1500 ... -895)
        case 2: e = qs - 42 + rng.int(-3...3)
        default: e = rng.int(-300_000 ... (qs - 42))
        }
        let err: Double
        switch rng.int(0...3) {
        case 0: err = 0.5 * abs(h) - abs(l)  // `belowSubnormals`' bound: |l| + err = |h|/2
        case 1: err = 0
        default: err = abs(h) * pow2(-rng.int(30...110))
        }
        return (h, l, e - binade(h), err)
    }

    @Test("certified outputs below binary64's normals round both ends of the enclosure alike", arguments: Format.allCases)
    func sound(format: Format) {
        let seed = Self.seed &+ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        let certifier = DoubleWordCertifier(format)
        var certified = 0, lanesWritten = 0
        let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: 4)
        defer { out.deallocate() }
        for _ in 0..<600 {
            var cases: [(h: Double, l: Double, k: Int, err: Double)] = []
            var singles: [OracleValue?] = []
            for _ in 0..<4 {
                let c = Self.randomCase(&rng, format)
                cases.append(c)
                let note = "seed \(seed): \(format) (\(hex(c.h)) + \(hex(c.l)))·2^\(c.k) ± \(hex(c.err))"
                let r = certifier.certify(c.h, c.l, scale: c.k, error: c.err)
                singles.append(r)
                guard let r else { continue }
                certified += 1
                let (lo, hi) = Self.roundedEnds(c.h, c.l, c.k, c.err, format)
                #expect(hex(r.rounded) == hex(lo) && hex(r.rounded) == hex(hi), "\(note): \(hex(r.rounded)), ends \(hex(lo)) \(hex(hi))")
                // Narrow: 2·err·2^k <= 2^-40 of the least quantum there (2^Qs at least).
                let v = Exact.value(DoubleWord(c.h, c.l), scale: c.k)
                let x = r.exact
                let back = Exact.value(DoubleWord(x.head, x.tail), scale: x.exponent)
                if x.isNegative { back.neg(back, .nearest) }
                #expect(x.kind == .finite && Exact.relativeError(back, v) < 0x1p-100, "\(note)")
            }
            // The lanes give certify's outputs where they write.
            var h = SIMD4<Double>(), l = SIMD4<Double>(), err = SIMD4<Double>()
            var k = SIMD4<Int64>()
            for (j, c) in cases.enumerated() { h[j] = c.h; l[j] = c.l; k[j] = Int64(c.k); err[j] = c.err }
            if certifier.certifyLanes(h, l, scale: k, error: err, into: out) {
                lanesWritten += 1
                for j in 0..<4 { #expect(singles[j] == out[j], "seed \(seed): lane \(j) of \(cases)") }
            }
        }
        #expect(certified > 1200, "seed \(seed)")
        #expect(lanesWritten > 100, "seed \(seed)")
    }

    @Test("belowSubnormals at its stated bound: e = Qs − 42 and |l| + err = |h|/2", arguments: Format.allCases)
    func bound(format: Format) {
        let certifier = DoubleWordCertifier(format)
        let qs = format.minSubnormalExponent
        for (h, l) in [(1.5, 0.0), (1.5, 0x1p-53), (-1.0, -0x1p-53), (-1.75, 0x1p-53)] {
            let err = 0.5 * abs(h) - abs(l)
            #expect(abs(l) + err == 0.5 * abs(h))
            let e = qs - 42
            let mask = certifier.belowSubnormals(SIMD2(repeating: h), SIMD2(repeating: l), scale: SIMD2(repeating: Int64(e)),
                                                 error: SIMD2(repeating: err))
            #expect(mask[0])
            // Both ends round to the zero of h's sign (MPFR), and the width 2·err·2^e is at most
            // 2^-40 of the least quantum 2^Qs.
            let (lo, hi) = Self.roundedEnds(h, l, e, err, format)
            let zero = h < 0 ? -0.0 : 0.0
            #expect(hex(lo) == hex(zero) && hex(hi) == hex(zero))
            #expect(2 * err * pow2(e - qs) <= 0x1p-40)
            #expect(hex(certifier.certify(h, l, scale: e, error: err)?.rounded ?? .nan) == hex(zero))
            // One binade higher, or an error 2^-50·|h| larger (RN(|l| + err) may absorb less): not
            // this path.
            let above = certifier.belowSubnormals(SIMD2(repeating: h), SIMD2(repeating: l), scale: SIMD2(repeating: Int64(e + 1)),
                                                  error: SIMD2(repeating: err))
            let wider = certifier.belowSubnormals(SIMD2(repeating: h), SIMD2(repeating: l), scale: SIMD2(repeating: Int64(e)),
                                                  error: SIMD2(repeating: err + 0x1p-50 * abs(h)))
            #expect(!above[0] && !wider[0])
        }
    }
}
