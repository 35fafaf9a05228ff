import MPFR
import SoftmaxOracle
import Testing

/// The final rounding into each output format. `Format.round(BigFloat)` (the oracle's MPFR recipe)
/// is checked against three independent roundings: `Format.round(Double)` (pure Swift scaling),
/// `referenceRound` (integer arithmetic, in this test target) and, for f32/f16, Swift's own
/// round-to-nearest-even conversions `Float(x)` and `Float16(x)`; and against exact midpoints
/// built as BigFloats, whose correct rounding is known from the definition of ties-to-even.
@Suite("Format rounding")
struct FormatRoundingTests {
    static let seed: UInt64 = 0xF0_4D_A7_00_0000_0004

    /// A random double in or around the format's range: random sign and 52-bit fraction, exponent
    /// from 3 binades below the least subnormal to 2 above the largest finite binade; or a random
    /// exact midpoint of the format's grid (p < 53 only); or any bit pattern.
    static func sample(_ rng: inout SplitMix64, _ f: Format) -> Double {
        let sign: FloatingPointSign = rng.oneIn(2) ? .minus : .plus
        switch rng.int(0...3) {
        case 0:
            return Double(bitPattern: rng.next())
        case 1 where f.precision < 53:
            // (n + 1/2) · 2^q: halfway between two neighbours n·2^q and (n+1)·2^q of the grid.
            let e = rng.int((f.minNormalExponent - 1)...f.maxExponent)
            let q = max(e, f.minNormalExponent) - f.precision + 1
            let n = e < f.minNormalExponent
                ? rng.int(0...((1 << (f.precision - 1)) - 1))
                : rng.int((1 << (f.precision - 1))...((1 << f.precision) - 1))
            return Double(sign: sign, exponent: q - 1, significand: Double(2 * n + 1))
        default:
            let lo = max(f.minSubnormalExponent - 3, -1074)
            let hi = min(f.maxExponent + 2, 1023)
            let e = rng.int(lo...hi)
            let fraction = Double(rng.next() >> 12) * 0x1p-52  // 52 random bits
            return Double(sign: sign, exponent: e, significand: 1 + fraction)  // finite: e <= 1023
        }
    }

    @Test("round(BigFloat) = round(Double) = integer reference = Float/Float16, on random doubles", arguments: Format.allCases)
    func randomDoubles(format: Format) {
        var rng = SplitMix64(seed: Self.seed &+ UInt64(Format.allCases.firstIndex(of: format)!))
        var failures = 0
        for i in 0..<3000 where failures < 5 {
            let x = Self.sample(&rng, format)
            let viaMPFR = format.round(big(x))
            let viaSwift = format.round(x)
            let viaIntegers = referenceRound(x, format)
            var viaConversion: Double?
            switch format {
            case .f64: viaConversion = x
            case .f32: viaConversion = Double(Float(x))
            case .f16: viaConversion = Double(Float16(x))
            default: break
            }
            let ok = hex(viaMPFR) == hex(viaSwift) && hex(viaMPFR) == hex(viaIntegers)
                && viaConversion.map { hex($0) == hex(viaMPFR) } ?? true
            if !ok {
                failures += 1
                Issue.record("""
                    \(format) seed \(hex(Double(bitPattern: Self.seed))) case \(i): x = \(hex(x)): MPFR \(hex(viaMPFR)), \
                    Swift \(hex(viaSwift)), integers \(hex(viaIntegers)), conversion \(viaConversion.map { hex($0) } ?? "-")
                    """)
            }
        }
    }

    /// For every grid neighbour pair (n·2^q, (n+1)·2^q) drawn at random, including the top pair
    /// (whose upper neighbour is the overflow) and the subnormal pairs: the exact midpoint goes to
    /// the even n, 2^-200 above it to n + 1, 2^-200 below it to n.
    @Test("exact midpoints built as BigFloats: ties to even, and 2^-200 either side", arguments: Format.allCases)
    func bigFloatMidpoints(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 0xABCD &+ UInt64(format.precision))
        let p = format.precision
        func value(_ n: Int, _ q: Int, _ sign: FloatingPointSign) -> Double {
            let v = Double(sign: sign, exponent: q, significand: Double(n))  // ±inf past binary64
            guard v.magnitude > designMaxFinite(format) else { return v }
            return format == .e4m3fn ? .nan : (sign == .minus ? -.infinity : .infinity)
        }
        for i in 0..<400 {
            let sign: FloatingPointSign = rng.oneIn(2) ? .minus : .plus
            var e = rng.int((format.minNormalExponent - 1)...format.maxExponent)
            if i == 0 { e = format.maxExponent }
            if i == 1 { e = format.minNormalExponent - 1 }
            let q = max(e, format.minNormalExponent) - p + 1
            var n = e < format.minNormalExponent
                ? rng.int(0...((1 << (p - 1)) - 1))
                : rng.int((1 << (p - 1))...((1 << p) - 1))
            if i == 0 { n = (1 << p) - 1 }  // the top pair: max finite and the overflow
            if i == 1 { n = 0 }  // 0 and the least subnormal
            // midpoint = ±(n·2^q + 2^(q-1)), exact with 64 bits (2n + 1 may need 54).
            let mid = BigFloat(precision: 64)
            mid.add(big(Double(sign: .plus, exponent: q, significand: Double(n))), bigPow2(q - 1), .nearest)
            if sign == .minus { mid.neg(mid, .nearest) }
            let down = value(n, q, sign), up = value(n + 1, q, sign)
            let even = n % 2 == 0 ? down : up
            let context = "\(format) n=\(n) q=\(q) sign=\(sign) midpoint \(mid)"
            #expect(hex(format.round(mid)) == hex(even), "tie: \(context)")
            let away = perturbed(mid, by: 200, upward: sign == .plus)  // larger magnitude
            let toward = perturbed(mid, by: 200, upward: sign == .minus)  // smaller magnitude
            #expect(hex(format.round(away)) == hex(up), "just beyond: \(context)")
            #expect(hex(format.round(toward)) == hex(down), "just inside: \(context)")
        }
    }

    @Test("half the least subnormal: exactly → +0, ×(1+2^-200) → least subnormal, ×(1−2^-200) → 0", arguments: Format.allCases)
    func halfLeastSubnormal(format: Format) {
        let least = pow2(format.minSubnormalExponent)
        #expect(least == format.leastPositive)
        let half = bigPow2(format.minSubnormalExponent - 1)
        #expect(hex(format.round(half)) == hex(0.0))
        #expect(hex(format.round(perturbed(half, by: 200, upward: true))) == hex(least))
        #expect(hex(format.round(perturbed(half, by: 200, upward: false))) == hex(0.0))
        // The negative side keeps its sign.
        let negHalf = BigFloat(precision: 53)
        negHalf.neg(half, .nearest)
        #expect(hex(format.round(negHalf)) == hex(-0.0))
        #expect(hex(format.round(perturbed(negHalf, by: 200, upward: false))) == hex(-least))
        #expect(hex(format.round(perturbed(negHalf, by: 200, upward: true))) == hex(-0.0))
        // Far below: ±0 with the sign; 3/2 of the least subnormal: a tie between 1 and 2 → 2.
        #expect(hex(format.round(bigPow2(-5000))) == hex(0.0))
        let tinyNegative = BigFloat(precision: 53)
        tinyNegative.neg(bigPow2(-5000), .nearest)
        #expect(hex(format.round(tinyNegative)) == hex(-0.0))
        let threeHalves = BigFloat(precision: 53)
        threeHalves.scale(big(3), byPowerOfTwo: format.minSubnormalExponent - 1, .nearest)
        #expect(hex(format.round(threeHalves)) == hex(2 * least))
    }

    @Test("ties in the normal range go to even", arguments: Format.allCases)
    func normalTies(format: Format) {
        let p = format.precision
        let u = pow2(1 - p)  // ulp of 1
        // 1 + u/2 lies between 1 (even) and 1 + u (odd): → 1. 1 + 3u/2 between 1 + u (odd) and
        // 1 + 2u (even): → 1 + 2u. Built as BigFloats so that f64's midpoints exist too.
        let a = BigFloat(precision: 128)
        a.add(big(1), bigPow2(-p), .nearest)
        #expect(hex(format.round(a)) == hex(1))
        let b = BigFloat(precision: 128)
        b.mul(bigPow2(-p), big(3), .nearest)
        b.add(b, big(1), .nearest)
        #expect(hex(format.round(b)) == hex(1 + 2 * u))
        let negB = BigFloat(precision: 128)
        negB.neg(b, .nearest)
        #expect(hex(format.round(negB)) == hex(-(1 + 2 * u)))
        // In a high binade: 2^(maxExponent−1) · (1 + u/2) → 2^(maxExponent−1).
        let c = BigFloat(precision: 128)
        c.scale(a, byPowerOfTwo: format.maxExponent - 1, .nearest)
        #expect(hex(format.round(c)) == hex(pow2(format.maxExponent - 1)))
    }

    struct Threshold: Sendable, CustomTestStringConvertible {
        let format: Format
        let x: Double
        let want: Double
        var testDescription: String { "\(format) \(hex(x)) → \(hex(want))" }
    }

    static let thresholds: [Threshold] = [
        Threshold(format: .f16, x: 65519.99, want: 65504),
        Threshold(format: .f16, x: 65520, want: .infinity),
        Threshold(format: .f16, x: -65520, want: -.infinity),
        Threshold(format: .f16, x: 65504, want: 65504),
        Threshold(format: .e5m2, x: 61439, want: 57344),
        Threshold(format: .e5m2, x: 61440, want: .infinity),
        Threshold(format: .e5m2, x: -61440, want: -.infinity),
        Threshold(format: .e4m3fn, x: 464, want: 448),
        Threshold(format: .e4m3fn, x: -464, want: -448),
        Threshold(format: .e4m3fn, x: 465, want: .nan),
        Threshold(format: .e4m3fn, x: 480, want: .nan),
        Threshold(format: .e4m3fn, x: .infinity, want: .nan),
        Threshold(format: .e4m3fn, x: -.infinity, want: .nan),
        Threshold(format: .f32, x: 0x1.ffffffp+127, want: .infinity),  // the midpoint above max
        Threshold(format: .f32, x: 0x1.fffffefffffffp+127, want: 0x1.fffffep+127),
        Threshold(format: .bf16, x: 0x1.ffp+127, want: .infinity),
        Threshold(format: .bf16, x: 0x1.fefffffffffffp+127, want: 0x1.fep+127),
        Threshold(format: .f64, x: .greatestFiniteMagnitude, want: .greatestFiniteMagnitude),
        Threshold(format: .f64, x: -.infinity, want: -.infinity),
        Threshold(format: .f16, x: -0x1p-30, want: -0.0),
        Threshold(format: .f32, x: -0x1p-160, want: -0.0),
        Threshold(format: .e4m3fn, x: -0x1p-11, want: -0.0),
        Threshold(format: .f64, x: -0.0, want: -0.0),
    ]

    @Test("overflow thresholds, e4m3fn's NaN, signs kept", arguments: thresholds)
    func threshold(t: Threshold) {
        #expect(hex(t.format.round(big(t.x))) == hex(t.want), "MPFR recipe")
        #expect(hex(t.format.round(t.x)) == hex(t.want), "pure Swift")
        #expect(hex(referenceRound(t.x, t.format)) == hex(t.want), "integer reference")
    }

    @Test("f64's overflow midpoint 2^1024 − 2^970 (not a double) rounds to inf; just below it to max")
    func f64OverflowMidpoint() {
        let mid = BigFloat(precision: 64)
        mid.sub(bigPow2(1024), bigPow2(970), .nearest)
        #expect(Format.f64.round(mid) == .infinity)
        #expect(Format.f64.round(perturbed(mid, by: 200, upward: false)) == .greatestFiniteMagnitude)
        let neg = BigFloat(precision: 64)
        neg.neg(mid, .nearest)
        #expect(Format.f64.round(neg) == -.infinity)
    }

    @Test("round(BigFloat) restores MPFR's thread-local exponent range")
    func rangeRestored() {
        let before = ExponentRange.current
        for f in Format.allCases { _ = f.round(bigPow2(-30)) }
        #expect(ExponentRange.current == before)
    }

    @Test("contains: grid values yes, midpoints no; leastPositive and maxFinite per docs/formats.md", arguments: Format.allCases)
    func contains(format: Format) {
        #expect(format.maxFinite == designMaxFinite(format))
        #expect(format.contains(format.maxFinite) && format.contains(format.leastPositive) && format.contains(-0.0))
        #expect(format.contains(.infinity) == (format != .e4m3fn))
        if format != .f64 {
            #expect(!format.contains(format.leastPositive / 2))
            #expect(!format.contains(1 + pow2(-format.precision)))
        }
    }
}
