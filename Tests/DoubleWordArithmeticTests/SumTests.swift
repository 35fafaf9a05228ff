import struct AccuracyHarness.SplitMix64
@testable import DoubleWordArithmetic
import MPFR
import Testing

// DoubleWordArithmetic's Sums.swift against MPFR: FixedPointSum's truncation and conversion
// bounds, CompensatedBlockSum's stated relative error.

@Suite("Exact fixed-point sum and compensated block sum against MPFR")
struct SumTests {
    @Test("FixedPointSum is exact up to 2^-126 per added double (and 2^-104.9 in the conversion)")
    func fixedPoint() throws {
        let seed: UInt64 = 0xFA57_0003
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            var a = FixedPointSum(), b = FixedPointSum()
            var terms: [BigFloat] = []
            let n = rng.int(1...300)
            for j in 0..<n {
                let x = (rng.oneIn(5) ? -1 : 1) * rng.unit() * 1.99
                let scale = -rng.int(0...150)
                if j % 2 == 0 { a.add(x, scale: scale) } else { b.add(x, scale: scale) }
                let t = BigFloat(precision: 53)
                t.scale(big(x), byPowerOfTwo: scale, .nearest)
                terms.append(t)
            }
            let exact = BigFloat(precision: Exact.bits)
            exact.sum(terms, .nearest)
            guard exact.signum > 0 else { continue }
            let v = try #require((a + b).value())
            let got = Exact.value(DoubleWord(v.hi, v.lo), scale: v.exponent)
            let d = BigFloat(precision: Exact.bits)
            d.sub(got, exact, .nearest)
            let abs = BigFloat(precision: 64)
            abs.abs(d, .up)
            // n truncations of < 2^-126 each, plus value()'s conversion error (relative).
            let allowed = Double(n) * 0x1p-126 + FixedPointSum.conversionError * exact.double(.up)
            #expect(abs.double(.up) <= allowed, "seed \(seed)")
        }
    }

    @Test("FixedPointSum.addNonNegative leaves the accumulator add leaves, for x >= +0")
    func nonNegativeAdd() {
        let seed: UInt64 = 0xFA57_0004
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            // Mixed signs in the other terms (the accumulator may be negative), non-negative x
            // anywhere from subnormals to just below 4·2^-scale, with every shift (left, right, 0).
            var a = FixedPointSum(), b = FixedPointSum()
            for _ in 0..<rng.int(1...50) {
                let y = (rng.oneIn(2) ? -1 : 1) * rng.unit() * 1.99, ys = -rng.int(0...150)
                a.add(y, scale: ys)
                b.add(y, scale: ys)
                let x = rng.oneIn(20) ? 0.0 : rng.oneIn(20) ? Double.leastNonzeroMagnitude * Double(rng.int(1...1000))
                    : rng.unit() * 1.99 * Double(sign: .plus, exponent: -rng.int(0...1100), significand: 1)
                let xs = -rng.int(0...200)
                a.add(x, scale: xs)
                b.addNonNegative(x, scale: xs)
                #expect(a.low == b.low && a.high == b.high, "seed \(seed): \(x)·2^\(xs)")
            }
        }
    }

    @Test("FixedPointSumLanes gives FixedPointSum's exact sum of the same terms")
    func lanesMatchScalar() {
        let seed: UInt64 = 0xFA57_0005
        var rng = SplitMix64(seed: seed)
        /// x and a scale with |x|·2^scale < 4, the shift s = ⌊log₂|x|⌋ − 52 + scale + 126 anywhere
        /// from far below −63 through 0 and 1...63 to 64...75 (the limbs' every case), subnormal
        /// x, ±0, and negative x when `signed`.
        func term(signed: Bool) -> (Double, Int) {
            let sign: Double = signed && rng.oneIn(2) ? -1 : 1
            if rng.oneIn(20) { return (sign * 0.0, -rng.int(0...200)) }
            if rng.oneIn(20) { return (sign * Double.leastNonzeroMagnitude * Double(rng.int(1...1 << 40)), rng.int(-10...1000)) }
            let x = sign * (1 + rng.unit()) * Double(sign: .plus, exponent: rng.int(-1000...1000), significand: 1)
            let s = rng.int(-200...75)  // the shift of x's last bit
            return (x, s - Int(x.exponent) + 52 - 126)
        }
        typealias U = DoubleWordLaneBits
        for _ in 0..<1000 {
            var scalar = FixedPointSum()
            var v = FixedPointSumLanes()
            for _ in 0..<rng.int(1...40) {
                var bits = U(), scales = U()
                let signed = rng.oneIn(2)
                for j in 0..<U.scalarCount {
                    let (x, scale) = term(signed: signed)
                    bits[j] = x.bitPattern
                    scales[j] = UInt64(bitPattern: Int64(scale))
                    if signed { scalar.add(x, scale: scale) } else { scalar.addNonNegative(x, scale: scale) }
                }
                if signed { v.add(bits: bits, scale: scales) } else { v.addNonNegative(bits: bits, scale: scales) }
            }
            let sum = v.sum
            #expect(sum.low == scalar.low && sum.high == scalar.high, "seed \(seed)")
        }
    }

    @Test("CompensatedBlockSum errs by <= its stated bound on 4096 terms (about 2^-81)")
    func compensated() {
        let seed: UInt64 = 0xFA57_0004
        var rng = SplitMix64(seed: seed)
        let bound = CompensatedBlockSum.relativeError(terms: CompensatedBlockSum.blockSize)
        #expect(bound < 0x1p-80)
        for _ in 0..<20 {
            var acc = CompensatedBlockSum()
            var terms: [BigFloat] = []
            for _ in 0..<CompensatedBlockSum.blockSize {
                let p = rng.unit() * powerOfTwo(-rng.int(0...20)) + 0x1p-30
                let l = (rng.unit() - 0.5) * p * 0x1p-53
                acc.add(p, l)
                terms.append(Exact.value(DoubleWord(p, l)))
            }
            let exact = BigFloat(precision: Exact.bits)
            exact.sum(terms, .nearest)
            #expect(Exact.relativeError(Exact.value(acc.value), exact) <= bound, "seed \(seed)")
        }
    }
}
