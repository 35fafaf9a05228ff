import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
import Foundation
import MPFR
@testable import SoftmaxOracle
import Testing

// The certified tier's exponentials and log1p (SoftmaxOracle's DoubleWordExp.swift,
// DoubleWordLog1p.swift) against MPFR at 320 bits, each at the bound the code states. Failure
// messages carry the generator's seed.

@Suite("Certified tier: exponentials and log1p against MPFR")
struct CertifiedFunctionTests {
    static let seed: UInt64 = 0xFA57_0002

    /// Arguments: a fine grid over [−750, 0], the reduction's half-steps (where t changes),
    /// tiny, large (to −2^20) and random double-double arguments (dl ≠ 0 as x_j − m gives).
    static func arguments(_ rng: inout SplitMix64, count: Int) -> [DoubleWord] {
        var out: [DoubleWord] = [DoubleWord(0, 0), DoubleWord(-0x1p-1074, 0), DoubleWord(-1e-300, 0), DoubleWord(-0x1p20, 0), DoubleWord(-(0x1p20 - 1), -0x1p-34)]
        let c = DoubleWordExpTable.shared.c1
        for i in 0..<count {
            let dh: Double
            switch i % 5 {
            case 0: dh = -750 * Double(i) / Double(count)
            case 1: dh = -(Double(rng.int(0...2_000_000)) + 0.5) * c * (1 + (rng.unit() - 0.5) * 0x1p-40)  // near t·C + C/2
            case 2: dh = -rng.unit() * powerOfTwo(-rng.int(1...60))
            case 3: dh = -rng.unit() * 0x1p20
            default: dh = -rng.unit() * 100
            }
            let x = rng.uniform(-1000, 0), m = rng.uniform(0, 10)
            let d = i % 7 == 0 ? twoSum(x, -m) : DoubleWord(dh, 0)
            out.append(d)
        }
        return out
    }

    /// `exp`: relative error <= 2^-101, M ∈ [1 − 2^-17.5, 2); `expCompact`: 2^-68.5, M ∈
    /// [1 − 2^-9, 2). Both: M normalized.
    @Test("DoubleWordExp.exp (2^-101) and expCompact (2^-68.5) within their bounds, M in range", arguments: [false, true])
    func expBounds(compact: Bool) {
        var bounds = ErrorBounds(seed: Self.seed ^ (compact ? 1 : 0))
        let tab = DoubleWordExpTable.shared
        let bound = compact ? DoubleWordExp.compactRelativeError : DoubleWordExp.relativeError
        let lowest = compact ? 1 - 0x1p-9 : 1 - pow(2.0, -17.5)
        for d in Self.arguments(&bounds.rng, count: 6000) where d.hi >= DoubleWordExp.lowestArgument {
            let e = compact ? DoubleWordExp.expCompact(d.hi, d.lo, tab) : DoubleWordExp.exp(d.hi, d.lo, tab)
            let err = Exact.relativeError(Exact.value(e.m, scale: e.k), Exact.exp(Exact.value(d)))
            bounds.expect("DoubleWordExp.\(compact ? "expCompact" : "exp")", err, bound: bound, "d = \(hex(d.hi)) + \(hex(d.lo))")
            #expect(e.m.hi >= lowest && e.m.hi < 2 && abs(e.m.lo) <= abs(e.m.hi) * 0x1p-53, "seed \(bounds.seed), d = \(hex(d.hi))")
        }
        bounds.printObserved()
    }

    @Test("DoubleWordExp.expCompact2 (two SIMD lanes) gives expCompact's results bit for bit")
    func expCompactLanes() {
        let seed: UInt64 = Self.seed ^ 4
        var rng = SplitMix64(seed: seed)
        let tab = DoubleWordExpTable.shared
        let args = Self.arguments(&rng, count: 4000).filter { $0.hi >= DoubleWordExp.lowestArgument }
        for i in stride(from: 0, to: args.count - 1, by: 2) {
            let a = args[i], b = args[i + 1]
            let v = DoubleWordExp.expCompact2(SIMD2(a.hi, b.hi), SIMD2(a.lo, b.lo), tab)
            for (lane, d) in [(0, a), (1, b)] {
                let s = DoubleWordExp.expCompact(d.hi, d.lo, tab)
                #expect(Int(v.k[lane]) == s.k && v.hi[lane].bitPattern == s.m.hi.bitPattern
                        && v.lo[lane].bitPattern == s.m.lo.bitPattern, "seed \(seed), d = \(hex(d.hi)) + \(hex(d.lo))")
            }
        }
    }

    /// Lane j of `lanes` against the scalar routine on args[j], bit for bit.
    static func expectLanes<V: DoubleLanes>(_ v: (k: V.MaskStorage, hi: V, lo: V), _ args: ArraySlice<DoubleWord>,
                                            compact: Bool, seed: UInt64) {
        let tab = DoubleWordExpTable.shared
        for (lane, d) in args.enumerated() {
            let s = compact ? DoubleWordExp.expCompact(d.hi, d.lo, tab) : DoubleWordExp.exp(d.hi, d.lo, tab)
            #expect(Int(v.k[lane]) == s.k && v.hi[lane].bitPattern == s.m.hi.bitPattern
                    && v.lo[lane].bitPattern == s.m.lo.bitPattern,
                    "seed \(seed), \(V.scalarCount) lanes, compact \(compact), d = \(hex(d.hi)) + \(hex(d.lo))")
        }
    }

    @Test("DoubleWordExp.exp and expCompact on 4 and 8 SIMD lanes give the scalar results bit for bit",
          arguments: [false, true])
    func expWideLanes(compact: Bool) {
        let seed: UInt64 = Self.seed ^ 5 ^ (compact ? 16 : 0)
        var rng = SplitMix64(seed: seed)
        let tab = DoubleWordExpTable.shared
        let args = Self.arguments(&rng, count: 4000).filter { $0.hi >= DoubleWordExp.lowestArgument }
        func lanes<V: DoubleLanes>(_: V.Type, _ slice: ArraySlice<DoubleWord>) {
            var dh = V(), dl = V()
            for (j, d) in slice.enumerated() { dh[j] = d.hi; dl[j] = d.lo }
            if compact {
                Self.expectLanes(DoubleWordExp.expCompact(dh, dl, tab), slice, compact: true, seed: seed)
            } else {
                Self.expectLanes(DoubleWordExp.exp(dh, dl, tab), slice, compact: false, seed: seed)
            }
        }
        for i in stride(from: 0, to: args.count - 7, by: 8) {
            lanes(SIMD8<Double>.self, args[i..<i + 8])
            lanes(SIMD4<Double>.self, args[i..<i + 4])
            lanes(SIMD4<Double>.self, args[i + 4..<i + 8])
        }
    }

    @Test("DoubleWordExp.expm1 on [2^-60, 0.6) errs by less than the bound it returns (<= 2^-98.5)")
    func expm1Bound() {
        let seed: UInt64 = Self.seed ^ 2
        var rng = SplitMix64(seed: seed)
        let tab = DoubleWordExpTable.shared
        var xs: [Double] = [0x1p-60, 1e-10, 0x1p-17, 0.0000105, 0.5999999]
        for i in 0..<4000 {
            xs.append(i % 2 == 0 ? rng.uniform(0x1p-60, 0.6) : rng.unit() * powerOfTwo(-rng.int(1...60)) + 0x1p-60)
        }
        for x in xs where x < 0.6 {
            let (v, bound) = DoubleWordExp.expm1(x, tab)
            let exact = Exact.exp(big(x))
            exact.sub(exact, big(1), .nearest)
            let err = Exact.relativeError(Exact.value(v), exact)
            #expect(err <= bound, "seed \(seed), x = \(hex(x)): \(err) > \(bound)")
            #expect(bound <= pow(2.0, -98.5))
        }
    }

    @Test("DoubleWordLog1p errs by less than its bound, for s from 2^-1100 to 10^7 (all three regimes)")
    func log1pBound() throws {
        let seed: UInt64 = Self.seed ^ 3
        var rng = SplitMix64(seed: seed)
        let tab = DoubleWordExpTable.shared
        for i in 0..<3000 {
            let e = i % 3 == 0 ? rng.int(-1100 ... -55) : rng.int(-70...23)
            let s = rng.doubleWord(exponent: 0).magnitude
            let sv = ScaledDoubleWord(hi: s.hi, lo: s.lo, exponent: e)
            let epsS = i % 2 == 0 ? 0.0 : 0x1p-100
            let (l, bound) = try #require(DoubleWordLog1p.logOnePlus(sv, relativeError: epsS, tab), "seed \(seed), s = \(sv)")
            let exactS = Exact.value(s, scale: e)
            let exact = Exact.log1p(exactS)
            let err = Exact.relativeError(Exact.value(DoubleWord(l.hi, l.lo), scale: l.exponent), exact)
            #expect(err <= bound - 1.01 * epsS, "seed \(seed), s = \(sv): \(err) > \(bound)")
            #expect(bound <= 0x1p-97 + 1.01 * epsS, "seed \(seed), s = \(sv): bound \(bound)")
        }
    }
}

@Suite("Certified tier: outputs near 2^1024")
struct CertifiedTopBinadeTests {
    /// CE = logsumexp − x_1 = 2^1023 + 2^970 + log 2 + tiny, just above the midpoint between
    /// 2^1023 and its successor: RN is 2^1023 + 2^971. The double word (2^1023, 2^970) must keep
    /// its low part through `ScaledDoubleWord.normalized()`.
    @Test("cross-entropy just above a binary64 midpoint at 2^1023 rounds up, as the MPFR path says")
    func topBinadeMidpoint() throws {
        let q = OracleRequest(function: .crossEntropy, logits: [0x1p1023, -0x1p970, 0x1p1023], target: .index(1))
        let fast = try Oracle().evaluate(q).rounded
        let mpfr = try Oracle(doubleWordTier: false).evaluate(q).rounded
        #expect(mpfr == [0x1.0000000000001p+1023])
        #expect(fast == mpfr)
    }
}

