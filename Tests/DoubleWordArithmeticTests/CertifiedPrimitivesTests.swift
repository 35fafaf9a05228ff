import Foundation
import MPFR
@testable import SoftmaxOracle
import Testing

// The fast tier's building blocks against MPFR at 320 bits: the tables and constants, the
// double-double operations, the exponentials, log1p and the two sums. Each test measures the
// largest error it sees and checks it against the bound the code states (FastArithmetic.swift,
// FastExp.swift, FastLog1p.swift, FastSum.swift). The observed maxima are far below the bounds
// (the bounds add worst cases that do not occur together); a bound exceeded would mean a wrong
// proof, and the fast tier would be unsound.

/// Helpers: exact BigFloats of double-doubles and relative errors, at 320 bits.
enum FastTierMath {
    static let bits = 320

    static func value(_ v: DD, scale k: Int = 0) -> BigFloat {
        let r = BigFloat(precision: bits)
        ExponentRange.widest {
            r.add(BigFloat(v.hi, precision: 53), BigFloat(v.lo, precision: 53), .nearest)  // exact
            r.scale(r, byPowerOfTwo: k, .nearest)
        }
        return r
    }

    /// |approx − exact| / |exact|, as a double.
    static func relativeError(_ approx: BigFloat, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: bits)
            d.sub(approx, exact, .nearest)
            d.div(d, exact, .nearest)
            return abs(d.double(.up))
        }
    }

    static func exp(_ x: BigFloat) -> BigFloat {
        let r = BigFloat(precision: bits)
        ExponentRange.widest { r.exp(x, .nearest) }
        return r
    }

    static func log1p(_ x: BigFloat) -> BigFloat {
        let r = BigFloat(precision: bits)
        ExponentRange.widest { r.log1p(x, .nearest) }
        return r
    }

    static func dd(_ hi: Double, _ lo: Double) -> BigFloat { value(DD(hi, lo)) }

    /// A random normalized double-double with hi in [1, 2)·2^e.
    static func randomDD(_ rng: inout SplitMix64, exponent e: Int) -> DD {
        let hi = (1 + rng.unit()) * pow2(e)
        let lo = (rng.unit() - 0.5) * hi * 0x1p-53
        let n = fastTwoSum(hi, lo)
        return DD(n.hi, n.lo)
    }
}

@Suite("Fast tier: tables, constants and double-double operations")
struct FastTierArithmeticTests {
    static let seed: UInt64 = 0xFA57_0001

    @Test("every table entry is within 1.01u² of 2^(i/256), 2^(i/65536) and those minus 1")
    func tables() {
        let tab = FastExpTable.shared
        var worst = 0.0
        ExponentRange.widest {
            let ln2 = BigFloat(precision: FastTierMath.bits)
            ln2.log(big(2), .nearest)
            for (shift, getter, minusOne) in [(8, tab.t1, false), (16, tab.t2, false), (8, tab.t1MinusOne, true), (16, tab.t2MinusOne, true)] {
                for i in 1..<256 {
                    let y = BigFloat(precision: FastTierMath.bits)
                    y.mul(ln2, i, .nearest)
                    y.scale(y, byPowerOfTwo: -shift, .nearest)
                    let t = FastTierMath.exp(y)
                    if minusOne { t.sub(t, big(1), .nearest) }
                    let e = FastTierMath.relativeError(FastTierMath.value(getter(i)), t)
                    worst = max(worst, e)
                    #expect(e <= 1.01 * 0x1p-106, "entry \(i) (2^(i/2^\(shift))\(minusOne ? " − 1" : "")): \(e)")
                }
            }
        }
        #expect(tab.t1(0).hi == 1 && tab.t1(0).lo == 0 && tab.t2(0).hi == 1 && tab.t1MinusOne(0).hi == 0)
        #expect(worst > 0)
    }

    @Test("C1 + C2 + C3 = ln2/65536 to 2^-158.9 relative; C1' + C2' = ln2/256 to 1.01u²")
    func reductionConstants() {
        let tab = FastExpTable.shared
        ExponentRange.widest {
            let c = BigFloat(precision: FastTierMath.bits)
            c.log(big(2), .nearest)
            let c256 = BigFloat(precision: FastTierMath.bits)
            c256.scale(c, byPowerOfTwo: -8, .nearest)
            c.scale(c, byPowerOfTwo: -16, .nearest)
            let sum = BigFloat(precision: FastTierMath.bits)
            sum.sum([big(tab.c1), big(tab.c2), big(tab.c3)], .nearest)
            #expect(FastTierMath.relativeError(sum, c) <= pow(2.0, -158.9))
            let sum2 = BigFloat(precision: FastTierMath.bits)
            sum2.add(big(tab.c1Compact), big(tab.c2Compact), .nearest)
            #expect(FastTierMath.relativeError(sum2, c256) <= 1.01 * 0x1p-106)
            #expect(abs(tab.inverseC * tab.c1 - 1) < 0x1p-50 && abs(tab.inverseCCompact * tab.c1Compact - 1) < 0x1p-50)
            #expect(FastTierMath.relativeError(FastTierMath.value(tab.sixth), {
                let s = BigFloat(precision: FastTierMath.bits); s.div(big(1), big(6), .nearest); return s
            }()) <= 0x1p-106)
        }
    }

    @Test("TwoSum, Fast2Sum, TwoProd (Dekker) and TwoSquare are exact")
    func errorFreeTransforms() {
        var rng = SplitMix64(seed: Self.seed)
        for _ in 0..<5000 {
            let a = (rng.unit() - 0.5) * pow2(rng.int(-60...60))
            let b = (rng.unit() - 0.5) * pow2(rng.int(-60...60))
            for (r, exact) in [(twoSum(a, b), { let s = BigFloat(precision: 2200); s.add(big(a), big(b), .nearest); return s }()),
                               (twoProd(a, b), { let s = BigFloat(precision: 200); s.mul(big(a), big(b), .nearest); return s }()),
                               (twoSquare(a), { let s = BigFloat(precision: 200); s.mul(big(a), big(a), .nearest); return s }())] {
                let v = BigFloat(precision: 2200)
                ExponentRange.widest { v.add(big(r.hi), big(r.lo), .nearest) }
                #expect(v.compare(exact) == 0, "a = \(hex(a)), b = \(hex(b))")
                #expect(r.hi == r.hi + r.lo)  // hi = RN(exact)
            }
            let big1 = max(abs(a), abs(b)) == abs(a) ? a : b, small = big1 == a ? b : a
            let f = fastTwoSum(big1, small), t = twoSum(a, b)
            #expect(f.hi == t.hi && f.lo == t.lo)
        }
    }

    @Test("mulDD <= 8.1u², mulDF <= 3.02u², divDD <= 14u², addSameSign <= 3.02u², addAnySign <= 3.1u²(|a|+|b|)")
    func doubleDoubleBounds() {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        var worst = (mul: 0.0, mulF: 0.0, div: 0.0, add: 0.0, any: 0.0)
        for _ in 0..<4000 {
            let a = FastTierMath.randomDD(&rng, exponent: rng.int(-30...30))
            var b = FastTierMath.randomDD(&rng, exponent: rng.int(-30...30))
            let av = FastTierMath.value(a)
            var bv = FastTierMath.value(b)
            let exact = BigFloat(precision: FastTierMath.bits)
            exact.mul(av, bv, .nearest)
            worst.mul = max(worst.mul, FastTierMath.relativeError(FastTierMath.value(mulDD(a, b)), exact))
            exact.mul(av, big(b.hi), .nearest)
            worst.mulF = max(worst.mulF, FastTierMath.relativeError(FastTierMath.value(mulDF(a, b.hi)), exact))
            exact.div(av, bv, .nearest)
            worst.div = max(worst.div, FastTierMath.relativeError(FastTierMath.value(divDD(a, b)), exact))
            exact.add(av, bv, .nearest)
            worst.add = max(worst.add, FastTierMath.relativeError(FastTierMath.value(addSameSign(a, b)), exact))
            if rng.oneIn(2) {  // subtraction, with cancellation when the exponents are close
                b = DD(-b.hi, -b.lo)
                bv = FastTierMath.value(b)
            }
            exact.add(av, bv, .nearest)
            let d = BigFloat(precision: FastTierMath.bits)
            d.sub(FastTierMath.value(addAnySign(a, b)), exact, .nearest)
            let scale = abs(a.hi) + abs(b.hi)
            worst.any = max(worst.any, abs(d.double(.up)) / scale)
        }
        let u2 = 0x1p-106
        print("observed, in u²: mulDD \(worst.mul / u2), mulDF \(worst.mulF / u2), divDD \(worst.div / u2), addSameSign \(worst.add / u2), addAnySign \(worst.any / u2)")
        #expect(worst.mul <= 8.1 * u2, "mulDD \(worst.mul / u2) u²")
        #expect(worst.mulF <= 3.02 * u2, "mulDF \(worst.mulF / u2) u²")
        #expect(worst.div <= 14 * u2, "divDD \(worst.div / u2) u²")
        #expect(worst.add <= 3.02 * u2, "addSameSign \(worst.add / u2) u²")
        #expect(worst.any <= 3.1 * u2, "addAnySign \(worst.any / u2) u²(|a| + |b|)")
    }
}

@Suite("Fast tier: exponentials and log1p against MPFR")
struct FastTierFunctionTests {
    static let seed: UInt64 = 0xFA57_0002

    /// Arguments: a fine grid over [−750, 0], the reduction's half-steps (where t changes),
    /// tiny, large (to −2^20) and random double-double arguments (dl ≠ 0 as x_j − m gives).
    static func arguments(_ rng: inout SplitMix64, count: Int) -> [DD] {
        var out: [DD] = [DD(0, 0), DD(-0x1p-1074, 0), DD(-1e-300, 0), DD(-0x1p20, 0), DD(-(0x1p20 - 1), -0x1p-34)]
        let c = FastExpTable.shared.c1
        for i in 0..<count {
            let dh: Double
            switch i % 5 {
            case 0: dh = -750 * Double(i) / Double(count)
            case 1: dh = -(Double(rng.int(0...2_000_000)) + 0.5) * c * (1 + (rng.unit() - 0.5) * 0x1p-40)  // near t·C + C/2
            case 2: dh = -rng.unit() * pow2(-rng.int(1...60))
            case 3: dh = -rng.unit() * 0x1p20
            default: dh = -rng.unit() * 100
            }
            let x = rng.uniform(-1000, 0), m = rng.uniform(0, 10)
            let d = i % 7 == 0 ? twoSum(x, -m) : DD(dh, 0)
            out.append(d)
        }
        return out
    }

    @Test("FastExp.exp errs by <= 2^-101 relative; M ∈ [1 − 2^-17.5, 2)")
    func expBound() {
        var rng = SplitMix64(seed: Self.seed)
        let tab = FastExpTable.shared
        var worst = 0.0
        for d in Self.arguments(&rng, count: 6000) where d.hi >= FastExp.lowestArgument {
            let e = FastExp.exp(d.hi, d.lo, tab)
            let exact = FastTierMath.exp(FastTierMath.value(d))
            let err = FastTierMath.relativeError(FastTierMath.value(e.m, scale: e.k), exact)
            worst = max(worst, err)
            #expect(err <= FastExp.relativeError, "d = \(hex(d.hi)) + \(hex(d.lo)): \(err)")
            #expect(e.m.hi >= 1 - pow(2.0, -17.5) && e.m.hi < 2)
            #expect(abs(e.m.lo) <= abs(e.m.hi) * 0x1p-53)
        }
        #expect(worst < FastExp.relativeError / 4, "observed \(worst) (2^\(log2(worst)))")
        print("FastExp.exp: largest relative error observed 2^\(log2(worst)) (bound 2^-101)")
    }

    @Test("FastExp.expCompact errs by <= 2^-68.5 relative")
    func expCompactBound() {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        let tab = FastExpTable.shared
        var worst = 0.0
        for d in Self.arguments(&rng, count: 6000) where d.hi >= FastExp.lowestArgument {
            let e = FastExp.expCompact(d.hi, d.lo, tab)
            let exact = FastTierMath.exp(FastTierMath.value(d))
            let err = FastTierMath.relativeError(FastTierMath.value(e.m, scale: e.k), exact)
            worst = max(worst, err)
            #expect(err <= FastExp.compactRelativeError, "d = \(hex(d.hi)) + \(hex(d.lo)): \(err)")
            #expect(e.m.hi >= 1 - 0x1p-9 && e.m.hi < 2)
        }
        #expect(worst < FastExp.compactRelativeError / 2, "observed \(worst) (2^\(log2(worst)))")
        print("FastExp.expCompact: largest relative error observed 2^\(log2(worst)) (bound 2^-68.5)")
    }

    @Test("FastExp.expCompact2 (two SIMD lanes) gives expCompact's results bit for bit")
    func expCompactLanes() {
        var rng = SplitMix64(seed: Self.seed ^ 4)
        let tab = FastExpTable.shared
        let args = Self.arguments(&rng, count: 4000).filter { $0.hi >= FastExp.lowestArgument }
        for i in stride(from: 0, to: args.count - 1, by: 2) {
            let a = args[i], b = args[i + 1]
            let v = FastExp.expCompact2(SIMD2(a.hi, b.hi), SIMD2(a.lo, b.lo), tab)
            for (lane, d) in [(0, a), (1, b)] {
                let s = FastExp.expCompact(d.hi, d.lo, tab)
                #expect(Int(v.k[lane]) == s.k && v.hi[lane].bitPattern == s.m.hi.bitPattern
                        && v.lo[lane].bitPattern == s.m.lo.bitPattern, "d = \(hex(d.hi)) + \(hex(d.lo))")
            }
        }
    }

    @Test("FastExp.expm1 on [2^-60, 0.6) errs by less than the bound it returns (<= 2^-98.5)")
    func expm1Bound() {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        let tab = FastExpTable.shared
        var xs: [Double] = [0x1p-60, 1e-10, 0x1p-17, 0.0000105, 0.5999999]
        for i in 0..<4000 {
            xs.append(i % 2 == 0 ? rng.uniform(0x1p-60, 0.6) : rng.unit() * pow2(-rng.int(1...60)) + 0x1p-60)
        }
        for x in xs where x < 0.6 {
            let (v, bound) = FastExp.expm1(x, tab)
            let exact = FastTierMath.exp(big(x))
            exact.sub(exact, big(1), .nearest)
            let err = FastTierMath.relativeError(FastTierMath.value(v), exact)
            #expect(err <= bound, "x = \(hex(x)): \(err) > \(bound)")
            #expect(bound <= pow(2.0, -98.5))
        }
    }

    @Test("FastLog1p errs by less than its bound, for s from 2^-1100 to 10^7 (all three regimes)")
    func log1pBound() throws {
        var rng = SplitMix64(seed: Self.seed ^ 3)
        let tab = FastExpTable.shared
        for i in 0..<3000 {
            let e = i % 3 == 0 ? rng.int(-1100 ... -55) : rng.int(-70...23)
            let s = FastTierMath.randomDD(&rng, exponent: 0)
            let sv = ScaledDD(hi: s.hi, lo: s.lo, exponent: e)
            let epsS = i % 2 == 0 ? 0.0 : 0x1p-100
            let (l, bound) = try #require(FastLog1p.logOnePlus(sv, relativeError: epsS, tab), "s = \(sv)")
            let exactS = FastTierMath.value(s, scale: e)
            let exact = FastTierMath.log1p(exactS)
            let err = FastTierMath.relativeError(FastTierMath.value(DD(l.hi, l.lo), scale: l.exponent), exact)
            #expect(err <= bound - 1.01 * epsS, "s = \(sv): \(err) > \(bound)")
            #expect(bound <= 0x1p-97 + 1.01 * epsS, "s = \(sv): bound \(bound)")
        }
    }
}

@Suite("Fast tier: exact and compensated sums")
struct FastTierSumTests {
    @Test("FixedPointSum is exact up to 2^-126 per added double (and 2^-104.9 in the conversion)")
    func fixedPoint() throws {
        var rng = SplitMix64(seed: 0xFA57_0003)
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
            let exact = BigFloat(precision: FastTierMath.bits)
            exact.sum(terms, .nearest)
            guard exact.signum > 0 else { continue }
            let v = try #require((a + b).value())
            let got = FastTierMath.value(DD(v.hi, v.lo), scale: v.exponent)
            let d = BigFloat(precision: FastTierMath.bits)
            d.sub(got, exact, .nearest)
            let abs = BigFloat(precision: 64)
            abs.abs(d, .up)
            // n truncations of < 2^-126 each, plus value()'s conversion error (relative).
            let allowed = Double(n) * 0x1p-126 + FixedPointSum.conversionError * exact.double(.up)
            #expect(abs.double(.up) <= allowed)
        }
    }

    @Test("CompensatedBlockSum errs by <= its stated bound on 4096 terms (about 2^-81)")
    func compensated() {
        var rng = SplitMix64(seed: 0xFA57_0004)
        let bound = CompensatedBlockSum.relativeError(terms: CompensatedBlockSum.blockSize)
        #expect(bound < 0x1p-80)
        for _ in 0..<20 {
            var acc = CompensatedBlockSum()
            var terms: [BigFloat] = []
            for _ in 0..<CompensatedBlockSum.blockSize {
                let p = rng.unit() * pow2(-rng.int(0...20)) + 0x1p-30
                let l = (rng.unit() - 0.5) * p * 0x1p-53
                acc.add(p, l)
                terms.append(FastTierMath.dd(p, l))
            }
            let exact = BigFloat(precision: FastTierMath.bits)
            exact.sum(terms, .nearest)
            #expect(FastTierMath.relativeError(FastTierMath.value(acc.value), exact) <= bound)
        }
    }
}
