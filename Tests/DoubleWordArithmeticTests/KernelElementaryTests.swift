import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
@testable import FastSoftmax
import Foundation
import MPFR
import Testing

// FastSoftmax's double-word elementary functions (DoubleWordElementary.swift) and
// ScaledDoubleWord's operations against MPFR at 320 bits, at the bounds the code states:
// exp <= 2^-98 (ρ_exp), expm1 <= 2^-98, log1p <= 2^-97 (ρ_log1p, s >= 0) and 2^-96.4 (s in
// [-1/2, 0)); ScaledDoubleWord: product 8.1u², quotient 14u², sum 3.1u²(|x| + |y|), and a
// correctly rounded `doubleValue` in every range. Failure messages carry the seed.

@Suite("FastSoftmax's double-word exp, expm1, log1p against MPFR")
struct KernelElementaryTests {
    static let seed: UInt64 = 0xD0B1_E002

    @Test("DoubleWordMath.exp errs by <= 2^-98 (ρ_exp) on double-word arguments from -16000 to 700")
    func exp() {
        var bounds = ErrorBounds(seed: Self.seed)
        var args: [DoubleWord] = [DoubleWord(-745.1332191019411), DoubleWord(-0x1p-1074), DoubleWord(709.7), DoubleWord(-15999.9)]
        let c = 0x1.62e42fefa39efp-9  // ln2/256: the reduction's half-steps are the hard places
        for i in 0..<8000 {
            switch i % 5 {
            case 0: args.append(twoSum(bounds.rng.uniform(-760, 0), -bounds.rng.uniform(0, 1e3)))  // x - m with a tail
            case 1: args.append(DoubleWord((Double(bounds.rng.int(-3_000_000...200_000)) + 0.5) * c * (1 + (bounds.rng.unit() - 0.5) * 0x1p-40)))
            case 2: args.append(DoubleWord(-bounds.rng.unit() * powerOfTwo(-bounds.rng.int(1...80))))
            case 3: args.append(DoubleWord(bounds.rng.uniform(-16000, 700)))
            default: args.append(twoSum(bounds.rng.uniform(-1, 1) * powerOfTwo(bounds.rng.int(-30...9)), bounds.rng.uniform(-1, 1) * 0x1p-60))
            }
        }
        for x in args {
            let err = Exact.relativeError(Exact.value(DoubleWordMath.exp(x)), Exact.exp(Exact.value(x)))
            bounds.expect("DoubleWordMath.exp", err, bound: Accurate.rhoExp, "x = \(hex(x.hi)) + \(hex(x.lo))")
        }
        bounds.printObserved()
    }

    @Test("DoubleWordMath.expm1 errs by <= 2^-98 on [-700, 700], with k = ±1 and tiny arguments")
    func expm1() {
        var bounds = ErrorBounds(seed: Self.seed ^ 1)
        var ys: [Double] = [0x1p-61, -0x1p-61, 0x1p-60, 0x1.62e42fefa39efp-10, -0x1.62e42fefa39efp-10]
        for i in 0..<8000 {
            switch i % 4 {
            case 0: ys.append(bounds.rng.uniform(-3, 3) * 0x1.62e42fefa39efp-10)  // k in {-1, 0, 1}: the worst case
            case 1: ys.append((bounds.rng.oneIn(2) ? -1 : 1) * bounds.rng.unit() * powerOfTwo(-bounds.rng.int(1...62)))
            case 2: ys.append(bounds.rng.uniform(-700, 700))
            default: ys.append(bounds.rng.uniform(-2, 2))
            }
        }
        for y in ys where y != 0 {
            let err = Exact.relativeError(Exact.value(DoubleWordMath.expm1(y)), Exact.expm1(big(y)))
            bounds.expect("DoubleWordMath.expm1", err, bound: 0x1p-98, "y = \(hex(y))")
        }
        bounds.printObserved()
    }

    @Test("DoubleWordMath.log1p errs by <= 2^-97 (ρ_log1p) for s >= 0 and 2^-96.4 for s in [-1/2, 0)")
    func log1p() {
        var bounds = ErrorBounds(seed: Self.seed ^ 2)
        for i in 0..<8000 {
            // Double-word s from 2^-59 to 2^60 (DoubleWord), and scaled s down to 2^-1500.
            let e = i % 4 == 0 ? bounds.rng.int(-1500 ... -58) : bounds.rng.int(-59...60)
            let m = bounds.rng.doubleWord(exponent: 0).magnitude
            let s = ScaledDoubleWord(m, exponent: e)
            let err = Exact.relativeError(Exact.value(DoubleWordMath.log1p(s)), Exact.log1p(Exact.value(s)))
            bounds.expect("DoubleWordMath.log1p, s >= 0", err, bound: Accurate.rhoLog1p, "s = \(hex(m.hi)) + \(hex(m.lo)) · 2^\(e)")
            if i % 2 == 0 {  // s in [-1/2, -2^-59]
                let neg = -DoubleWord(scaled(m.hi, by: -bounds.rng.int(2...59)), 0)
                let errN = Exact.relativeError(Exact.value(DoubleWordMath.log1p(neg)), Exact.log1p(Exact.value(neg)))
                bounds.expect("DoubleWordMath.log1p, s < 0", errN, bound: pow(2.0, -96.4), "s = \(hex(neg.hi))")
            }
        }
        bounds.printObserved()
    }
}

@Suite("ScaledDoubleWord against MPFR")
struct ScaledDoubleWordTests {
    static let seed: UInt64 = 0xD0B1_E003

    static func random(_ rng: inout SplitMix64) -> ScaledDoubleWord {
        ScaledDoubleWord(rng.doubleWord(exponent: 0), exponent: rng.int(-3000...3000))
    }

    @Test("x·y <= 8.1u², x/y <= 14u², x + y <= 3.1u²(|x| + |y|) (exponents up to 1000 apart)")
    func operations() {
        let seed: UInt64 = Self.seed
        var rng = SplitMix64(seed: seed)
        let u2 = unitRoundoffSquared
        for i in 0..<5000 {
            let x = Self.random(&rng)
            var y = Self.random(&rng)
            if i % 3 == 0 { y.exponent = x.exponent + rng.int(-60...60) }
            if i % 5 == 0 { y = ScaledDoubleWord(-DoubleWord(x.hi, x.lo * 0.5), exponent: x.exponent) }  // cancellation
            let xv = Exact.value(x), yv = Exact.value(y)
            let p = Exact.relativeError(Exact.value(x * y), Exact.apply { $0.mul(xv, yv, .nearest) })
            let q = Exact.relativeError(Exact.value(x / y), Exact.apply { $0.div(xv, yv, .nearest) })
            #expect(p <= 8.1 * u2 && q <= 14 * u2, "seed \(seed): \(p / u2), \(q / u2) u²")
            guard abs(x.exponent - y.exponent) <= 1000 else { continue }
            // |(x + y)^ − (x + y)| / (|x| + |y|), in MPFR (the values may lie outside binary64).
            let ratio = Exact.apply { r in
                let ax = BigFloat(precision: Exact.bits), ay = BigFloat(precision: Exact.bits)
                ax.abs(xv, .nearest)
                ay.abs(yv, .nearest)
                ax.add(ax, ay, .nearest)
                ay.add(xv, yv, .nearest)
                r.sub(Exact.value(x + y), ay, .nearest)
                r.abs(r, .nearest)
                r.div(r, ax, .nearest)
            }
            #expect(ratio.double(.up) <= 3.1 * u2, "seed \(seed): sum \(ratio.double(.up) / u2) u²")
        }
    }

    @Test("doubleValue is RN(hi + lo)·2^exponent in binary64, subnormals and overflow included")
    func correctlyRounded() {
        let seed: UInt64 = Self.seed ^ 1
        var rng = SplitMix64(seed: seed)
        for i in 0..<20000 {
            var m = rng.doubleWord(exponent: 0)
            if i % 4 == 0 { m = fastTwoSum(m.hi, m.hi.ulp / 2 * (rng.oneIn(2) ? 1 : -1)) }  // ties in binary64
            let e = i % 2 == 0 ? rng.int(-1130 ... -1015) : rng.int(-1100...1100)
            let v = ScaledDoubleWord(m, exponent: e)
            let exact = Exact.value(v)
            let want = ExponentRange.widest { exact.double(.nearest) }
            #expect(v.doubleValue.bitPattern == want.bitPattern,
                    "seed \(seed): (\(hex(m.hi)) + \(hex(m.lo)))·2^\(e): \(hex(v.doubleValue)) vs \(hex(want))")
        }
    }

    @Test("normalized() is exact and puts hi in [1, 2), in every binade of hi (2^1023 included)")
    func normalizedIsExact() {
        let seed: UInt64 = Self.seed ^ 2
        var rng = SplitMix64(seed: seed)
        for e in -1074...1023 {
            let m = rng.doubleWord(exponent: 0)
            let hi = scaled(m.hi, by: e)
            let lo = e >= -1022 + 60 ? scaled(m.lo, by: e) : 0  // lo stays a normal number
            let v = ScaledDoubleWord(hi: hi, lo: lo, exponent: 7)
            let n = v.normalized()
            #expect(abs(n.hi) >= 1 && abs(n.hi) < 2, "seed \(seed), e = \(e)")
            #expect(Exact.value(n).compare(Exact.value(v)) == 0, "seed \(seed), e = \(e): \(hex(hi)) + \(hex(lo))")
        }
    }
}
