import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
import Foundation
import MPFR
@testable import SoftmaxOracle
import Testing

// DoubleWordArithmetic's tables, error-free transforms and double-word operations against MPFR,
// each at the bound its documentation states (not looser). Inputs: seeded random double words
// over wide exponent ranges plus hard cases (cancellation, wide exponent gaps, lo exactly half
// an ulp, results near the underflow threshold of the preconditions). Failure messages carry
// the seed.

@Suite("DoubleWordArithmetic: tables and constants against MPFR")
struct TableTests {
    /// (RN(t), RN(t − RN(t))) computed by MPFR from a 256-bit t.
    static func pair(_ t: BigFloat) -> (Double, Double) {
        let hi = t.double(.nearest)
        let rest = BigFloat(precision: 256)
        rest.sub(t, big(hi), .nearest)  // exact: |t − hi| <= ulp(hi)/2 and t has 256 bits
        return (hi, rest.double(.nearest))
    }

    /// ln 2 at 256 bits.
    static var ln2: BigFloat {
        let r = BigFloat(precision: 256)
        ExponentRange.widest { r.log(big(2), .nearest) }
        return r
    }

    /// Calls `body(k, t)` for every table entry: k its index in `ExpTables.entries`, t its value
    /// computed by MPFR at `precision` bits (2^(i/256), 2^(i/65536), and those minus 1).
    static func forEachEntry(precision: Int, _ body: (Int, BigFloat) -> Void) {
        let ln2 = Self.ln2
        ExponentRange.widest {
            for (block, (shift, minusOne)) in [(8, false), (16, false), (8, true), (16, true)].enumerated() {
                for i in 0..<256 {
                    let y = BigFloat(precision: precision)
                    y.mul(ln2, i, .nearest)
                    y.scale(y, byPowerOfTwo: -shift, .nearest)
                    let t = BigFloat(precision: precision)
                    t.exp(y, .nearest)
                    if minusOne { t.sub(t, big(1), .nearest) }  // exact: t ∈ [1, 2) has `precision` bits
                    body(512 * block + 2 * i, t)
                }
            }
        }
    }

    @Test("ExpTables.entries equals the MPFR-built table bit for bit (2^(i/256), 2^(i/65536), minus 1)")
    func entriesBitForBit() {
        Self.forEachEntry(precision: 256) { k, t in
            let (hi, lo) = Self.pair(t)
            #expect(ExpTables.entries[k].bitPattern == hi.bitPattern && ExpTables.entries[k + 1].bitPattern == lo.bitPattern,
                    "entry \(k): \(hex(ExpTables.entries[k])), \(hex(ExpTables.entries[k + 1])) vs \(hex(hi)), \(hex(lo))")
        }
    }

    @Test("every table pair is within 1.01u² of its value (the bound the exponentials use)")
    func entriesBound() {
        Self.forEachEntry(precision: Exact.bits) { k, t in
            guard t.signum != 0 else { return }  // 2^0 − 1 = 0, stored as (0, 0)
            let e = Exact.relativeError(Exact.value(DoubleWord(ExpTables.entries[k], ExpTables.entries[k + 1])), t)
            #expect(e <= 1.01 * 0x1p-106, "entry \(k): \(e)")
        }
        #expect(ExpTables.entries[0] == 1 && ExpTables.entries[1] == 0 && ExpTables.entries[1024] == 0)
    }

    @Test("reduction constants: C1 + C2 + C3 = ln2/65536 to 2^-158.9, C1' + C2' = ln2/256 to 1.01u², the MPFR definitions")
    func constants() {
        ExponentRange.widest {
            let c = BigFloat(precision: 256)
            c.scale(Self.ln2, byPowerOfTwo: -16, .nearest)
            let (c1, c2) = Self.pair(c)
            let r = BigFloat(precision: 256)
            r.sub(c, big(c1), .nearest)
            r.sub(r, big(c2), .nearest)
            #expect(ExpTables.c1 == c1 && ExpTables.c2 == c2 && ExpTables.c3 == r.double(.nearest))
            let sum = BigFloat(precision: Exact.bits)
            sum.sum([big(ExpTables.c1), big(ExpTables.c2), big(ExpTables.c3)], .nearest)
            #expect(Exact.relativeError(sum, c) <= pow(2.0, -158.9))
            let cc = BigFloat(precision: 256)
            cc.scale(Self.ln2, byPowerOfTwo: -8, .nearest)
            let (cc1, cc2) = Self.pair(cc)
            #expect(ExpTables.c1Compact == cc1 && ExpTables.c2Compact == cc2)
            let sum2 = BigFloat(precision: Exact.bits)
            sum2.add(big(cc1), big(cc2), .nearest)
            #expect(Exact.relativeError(sum2, cc) <= 1.01 * 0x1p-106)
            let inv = BigFloat(precision: 256)
            inv.div(big(65536), Self.ln2, .nearest)
            #expect(ExpTables.inverseC == inv.double(.nearest))
            inv.div(big(256), Self.ln2, .nearest)
            #expect(ExpTables.inverseCCompact == inv.double(.nearest))
            let six = BigFloat(precision: 256)
            six.div(big(1), big(6), .nearest)
            let (s6h, s6l) = Self.pair(six)
            #expect(ExpTables.sixthHi == s6h && ExpTables.sixthLo == s6l)
        }
    }
}

@Suite("DoubleWordArithmetic: error-free transforms and double-word operations against MPFR")
struct OperationTests {
    static let seed: UInt64 = 0xD0B1_E001

    /// A random double with a random exponent in `exponents`, either sign.
    static func randomDouble(_ rng: inout SplitMix64, _ exponents: ClosedRange<Int>) -> Double {
        (rng.unit() - 0.5) * powerOfTwo(rng.int(exponents))
    }

    @Test("twoProduct is exact at the edges of its stated domain: |a|, |b| just below 2^995, products just above 2^-969")
    func twoProductDomainEdges() {
        // The operand bound is where Dekker's split (2^27 + 1)·a would overflow; the product bound
        // is where the tail would underflow. A bug of exactly this kind (operands of 2^998 in the
        // certified tier) went unseen while the tests drew exponents from ±480 only.
        let seed: UInt64 = Self.seed ^ 7
        var rng = SplitMix64(seed: seed)
        for i in 0..<4000 {
            let a: Double, b: Double
            if i % 2 == 0 {
                // |a| in [2^994, 2^995), |b| such that |a·b| stays below 2^1023.
                a = (1 + rng.unit()) * 0x1p994 * (rng.oneIn(2) ? -1 : 1)
                b = (1 + rng.unit()) * powerOfTwo(rng.int(-1000 ... 27)) * (rng.oneIn(2) ? -1 : 1)
            } else {
                // |a·b| in [2^-969, 2^-960]: the smallest products the precondition allows.
                a = (1 + rng.unit()) * powerOfTwo(rng.int(-600 ... -370)) * (rng.oneIn(2) ? -1 : 1)
                let target = rng.int(-968 ... -961)
                b = (1 + rng.unit()) * powerOfTwo(target - binade(a)) * (rng.oneIn(2) ? -1 : 1)
            }
            guard abs(a * b) >= 0x1p-969, abs(a * b) < 0x1p1023 else { continue }
            let prod = BigFloat(precision: 200)
            ExponentRange.widest { prod.mul(big(a), big(b), .nearest) }
            for p in [twoProduct(a, b), twoProduct(b, a), twoProduct(a, split: veltkampSplit(a), b),
                      twoProduct(a, split: veltkampSplit(a), b, split: veltkampSplit(b))] {
                #expect(p.lo.isFinite && Exact.value(p).compare(prod) == 0 && p.hi == a * b, "seed \(seed): twoProduct(\(hex(a)), \(hex(b)))")
            }
        }
    }

    @Test("twoSum, fastTwoSum, twoProduct (all split variants), twoSquare, veltkampSplit are exact")
    func errorFreeTransforms() {
        let seed: UInt64 = Self.seed
        var rng = SplitMix64(seed: seed)
        for i in 0..<6000 {
            // Exponents up to ±400 apart; products down to 2^-960 (above the 2^-969 precondition).
            let a = Self.randomDouble(&rng, -480...480)
            var b = Self.randomDouble(&rng, -480...480)
            if i % 4 == 0 { b = -a * (1 + Double(rng.int(-8...8)) * 0x1p-52) }  // cancellation
            let sum = BigFloat(precision: 2200)
            ExponentRange.widest { sum.add(big(a), big(b), .nearest) }
            let ts = twoSum(a, b)
            #expect(Exact.value(ts).compare(sum) == 0 && ts.hi == a + b, "seed \(seed): twoSum(\(hex(a)), \(hex(b)))")
            let (large, small) = abs(a) >= abs(b) ? (a, b) : (b, a)
            let f = fastTwoSum(large, small)
            #expect(f == ts, "seed \(seed): fastTwoSum(\(hex(large)), \(hex(small)))")
            let s = veltkampSplit(a)
            #expect(s.hi + s.lo == a && s.hi.significandWidth <= 25 && s.lo.significandWidth <= 25, "seed \(seed): split \(hex(a))")
            guard abs(a * b) >= 0x1p-960 else { continue }
            let prod = BigFloat(precision: 200)
            ExponentRange.widest { prod.mul(big(a), big(b), .nearest) }
            for p in [twoProduct(a, b), twoProduct(a, split: veltkampSplit(a), b),
                      twoProduct(a, split: veltkampSplit(a), b, split: veltkampSplit(b))] {
                #expect(p.lo.isFinite && Exact.value(p).compare(prod) == 0 && p.hi == a * b, "seed \(seed): twoProduct(\(hex(a)), \(hex(b)))")
            }
            if abs(a * a) >= 0x1p-960 {
                let sq = BigFloat(precision: 200)
                ExponentRange.widest { sq.mul(big(a), big(a), .nearest) }
                #expect(Exact.value(twoSquare(a)).compare(sq) == 0, "seed \(seed): twoSquare(\(hex(a)))")
            }
        }
    }

    /// Pairs of normalized double words: random exponents up to 60 apart, and hard cases.
    static func pairs(_ rng: inout SplitMix64, count: Int) -> [(DoubleWord, DoubleWord)] {
        var out: [(DoubleWord, DoubleWord)] = []
        for i in 0..<count {
            let e = rng.int(-900...900)
            let a = rng.doubleWord(exponent: e)
            var b: DoubleWord
            switch i % 5 {
            case 0: b = rng.doubleWord(exponent: e + rng.int(-60...60))  // wide gaps
            case 1: b = rng.doubleWord(exponent: e + rng.int(-2...2))
            case 2: b = -DoubleWord(a.hi, rng.doubleWord(exponent: binade(a.lo == 0 ? a.hi * 0x1p-60 : a.lo)).lo)  // cancels a.hi
            case 3: b = -DoubleWord(a.hi * (1 + Double(rng.int(-4...4)) * 0x1p-52), 0)  // cancels to a few ulps
            default: b = rng.doubleWord(exponent: e + rng.int(-110 ... -50))  // b below a.lo's range
            }
            let bn = fastTwoSum(b.hi, b.lo)
            out.append((a, bn))
        }
        return out
    }

    @Test("product <= 8.1u² (by a double word) and 3.02u² (by a double); quotient <= 14u²")
    func productsAndQuotient() {
        let u2 = unitRoundoffSquared
        var bounds = ErrorBounds(seed: Self.seed ^ 1, scale: .unit(u2, "u²"))
        for (a0, b0) in Self.pairs(&bounds.rng, count: 6000) {
            // Keep the products in range: scale both toward 2^±400 (exact).
            let a = DoubleWord(scaled(a0.hi, by: -binade(a0.hi) / 2), scaled(a0.lo, by: -binade(a0.hi) / 2))
            let b = DoubleWord(scaled(b0.hi, by: -binade(b0.hi) / 2), scaled(b0.lo, by: -binade(b0.hi) / 2))
            let av = Exact.value(a), bv = Exact.value(b)
            let inputs = "a = \(hex(a.hi)) + \(hex(a.lo)), b = \(hex(b.hi)) + \(hex(b.lo))"
            let exact = Exact.apply { $0.mul(av, bv, .nearest) }
            bounds.expect("product", Exact.relativeError(Exact.value(DoubleWord.product(a, b)), exact), bound: 8.1 * u2, inputs)
            let exactF = Exact.apply { $0.mul(av, big(b.hi), .nearest) }
            bounds.expect("product by a double", Exact.relativeError(Exact.value(DoubleWord.product(a, b.hi)), exactF),
                          bound: 3.02 * u2, inputs)
            let exactQ = Exact.apply { $0.div(av, bv, .nearest) }
            bounds.expect("quotient", Exact.relativeError(Exact.value(DoubleWord.quotient(a, b)), exactQ), bound: 14 * u2, inputs)
        }
        bounds.printObserved()
    }

    @Test("sum (double word + double, any signs) <= 2.01u²; sameSignSum <= 3.02u²; anySignSum <= 3.1u²(|a| + |b|)")
    func sums() {
        let u2 = unitRoundoffSquared
        var bounds = ErrorBounds(seed: Self.seed ^ 2, scale: .unit(u2, "u²"))
        for (a, b) in Self.pairs(&bounds.rng, count: 8000) {
            let av = Exact.value(a), bv = Exact.value(b)
            // Any signs, with the cancelling pairs above: the relative bound of DWPlusFP.
            let exactF = Exact.apply { $0.add(av, big(b.hi), .nearest) }
            if exactF.signum != 0 {
                bounds.expect("sum", Exact.relativeError(Exact.value(DoubleWord.sum(a, b.hi)), exactF), bound: 2.01 * u2,
                              "a = \(hex(a.hi)) + \(hex(a.lo)), b = \(hex(b.hi))")
            }
            let exact = Exact.apply { $0.add(av, bv, .nearest) }
            let any = Exact.absoluteError(Exact.value(DoubleWord.anySignSum(a, b)), exact)
            let size = (abs(a.hi) + abs(a.lo)) + (abs(b.hi) + abs(b.lo))
            bounds.expect("anySignSum (of |a| + |b|)", any, bound: 3.1 * u2, relativeTo: size,
                          "a = \(hex(a.hi)) + \(hex(a.lo)), b = \(hex(b.hi)) + \(hex(b.lo))")
            let bs = (a.hi < 0) == (b.hi < 0) ? b : -b  // same sign
            let exactS = Exact.apply { $0.add(av, Exact.value(bs), .nearest) }
            bounds.expect("sameSignSum", Exact.relativeError(Exact.value(DoubleWord.sameSignSum(a, bs)), exactS), bound: 3.02 * u2,
                          "a = \(hex(a.hi)) + \(hex(a.lo)), b = \(hex(bs.hi)) + \(hex(bs.lo))")
        }
        bounds.printObserved()
    }

    @Test("the SIMD-lane transforms and product give the scalar results bit for bit")
    func lanes() {
        let seed: UInt64 = Self.seed ^ 3
        var rng = SplitMix64(seed: seed)
        for _ in 0..<2000 {
            let a = SIMD4((0..<4).map { _ in Self.randomDouble(&rng, -400...400) })
            let b = SIMD4((0..<4).map { _ in Self.randomDouble(&rng, -400...400) })
            let ts = twoSum(a, b), sp = veltkampSplit(a), fs = fastTwoSum(a, b)
            let tp = twoProduct(a, split: veltkampSplit(a), b, split: veltkampSplit(b))
            let w = rng.doubleWord(exponent: rng.int(-200...200))
            let lo = SIMD4((0..<4).map { i in a[i] * 0x1p-54 * rng.unit() })
            let lp = DoubleWord.product(a, lo, w)
            for i in 0..<4 {
                #expect(DoubleWord(ts.hi[i], ts.lo[i]) == twoSum(a[i], b[i]), "seed \(seed)")
                #expect(DoubleWord(sp.hi[i], sp.lo[i]) == veltkampSplit(a[i]), "seed \(seed)")
                #expect(DoubleWord(fs.hi[i], fs.lo[i]) == fastTwoSum(a[i], b[i]) || abs(a[i]) < abs(b[i]), "seed \(seed)")
                if abs(a[i] * b[i]) >= 0x1p-960 {
                    #expect(DoubleWord(tp.hi[i], tp.lo[i]) == twoProduct(a[i], b[i]), "seed \(seed)")
                }
                let s = DoubleWord.product(DoubleWord(a[i], lo[i]), w)
                #expect(lp.hi[i].bitPattern == s.hi.bitPattern && lp.lo[i].bitPattern == s.lo.bitPattern, "seed \(seed)")
            }
        }
    }
}
