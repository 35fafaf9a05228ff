import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// The elementwise functions' SIMD lane routines (DoubleWordLog1pLanes.swift,
/// ElementwiseLanes.swift) against the scalar routines they stand for, bit for bit: the lane
/// versions claim the scalar values and bounds, so the only test they need is equality.
/// Failure messages carry the seed.
@Suite("Double-word tier: elementwise lanes equal the scalar path")
struct ElementwiseLaneTests {
    static let seed: UInt64 = 0xE1E3_1A4E
    static let tab = DoubleWordExpTable.shared

    static func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern }

    @Test("DoubleWordExp.expm1 on 2, 4 and 8 lanes gives the scalar value and bound, bit for bit")
    func expm1Lanes() {
        var rng = SplitMix64(seed: Self.seed)
        var xs: [Double] = [0x1p-60, 1e-10, 0x1p-17, 0x1.6p-18, 0.0000105, 0.5999999, 0.3, 0.25]
        while xs.count < 8000 {
            xs.append(rng.oneIn(2) ? rng.uniform(0x1p-60, 0.6) : rng.unit() * powerOfTwo(-rng.int(1...60)) + 0x1p-60)
        }
        func check<V: DoubleLanes>(_: V.Type, _ slice: ArraySlice<Double>) {
            var v = V()
            for (j, x) in slice.enumerated() { v[j] = x }
            let lanes = DoubleWordExp.expm1(v, Self.tab)
            for (j, x) in slice.enumerated() {
                let (s, eps) = DoubleWordExp.expm1(x, Self.tab)
                #expect(Self.same(lanes.hi[j], s.hi) && Self.same(lanes.lo[j], s.lo) && Self.same(lanes.relativeError[j], eps),
                        "seed \(Self.seed), x = \(hex(x)), \(V.scalarCount) lanes")
            }
        }
        for i in stride(from: 0, to: xs.count, by: 8) {
            check(SIMD8<Double>.self, xs[i..<i + 8])
            check(SIMD4<Double>.self, xs[i..<i + 4])
            check(SIMD2<Double>.self, xs[i + 4..<i + 6])
        }
    }

    @Test("DoubleWordLog1p.logOnePlusMiddle and logOnePlusHigh give logOnePlus's value and bound, bit for bit")
    func logOnePlusLanes() throws {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        var taken = 0
        for n in 0..<3000 {
            let high = n % 2 == 1
            var s: [ScaledDoubleWord] = []
            var sh = OutputLanes(), sl = OutputLanes()
            for _ in 0..<4 {
                // E = e^(−|x|) for |x| in the regime's range (as `ElementwiseOutputs.negativeExp`).
                let x = high ? rng.uniform(0, 0.2877) : (rng.oneIn(8) ? 0.2877 + rng.uniform(0, 0.001) : rng.uniform(0.2877, 41.6))
                let e = DoubleWordExp.exp(-x, 0, Self.tab)
                let v = ScaledDoubleWord(hi: e.m.hi, lo: e.m.lo, exponent: e.k).normalized()
                let p = powerOfTwo(v.exponent)
                guard v.exponent >= -60, (v.hi * p <= 0.75) != high else { continue }
                s.append(v)
                sh[s.count - 1] = v.hi * p
                sl[s.count - 1] = v.lo * p
            }
            guard s.count == 4 else { continue }
            let epsS = n % 3 == 0 ? 0.0 : DoubleWordExp.relativeError
            let lanes = high ? DoubleWordLog1p.logOnePlusHigh(sh, sl, relativeError: epsS, Self.tab)
                             : DoubleWordLog1p.logOnePlusMiddle(sh, sl, relativeError: epsS, Self.tab)
            guard let lanes else { continue }  // a guard failed on some lane: the caller goes scalar
            taken += 1
            for j in 0..<4 {
                let (v, eps) = try #require(DoubleWordLog1p.logOnePlus(s[j], relativeError: epsS, Self.tab),
                                            "seed \(Self.seed ^ 1), s = \(s[j]): the lanes answered where the scalar routine declines")
                #expect(Self.same(lanes.hi[j], v.hi) && Self.same(lanes.lo[j], v.lo) && Int(lanes.exponent[j]) == v.exponent
                        && Self.same(lanes.relativeError[j], eps), "seed \(Self.seed ^ 1), case \(n), s = \(s[j]), high \(high)")
            }
        }
        #expect(taken > 1000, "seed \(Self.seed ^ 1): the lane routines declined too often (\(taken) taken)")
    }

    @Test("DoubleWordLog1p.logOnePlusLow gives logOnePlus's regime (i) value and bound, bit for bit")
    func logOnePlusLowLanes() throws {
        var rng = SplitMix64(seed: Self.seed ^ 4)
        var taken = 0
        for n in 0..<2000 {
            var sh = OutputLanes(), sl = OutputLanes(), e = OutputLanes.MaskStorage()
            var s: [ScaledDoubleWord] = []
            for j in 0..<4 {
                let v = ScaledDoubleWord(DoubleWord(rng.uniform(1, 2), rng.uniform(-1, 1) * 0x1p-53),
                                         exponent: rng.oneIn(3) ? rng.int(-1_600_000 ... -1100)
                                                   : (rng.oneIn(2) ? rng.int(-1102 ... -1019) : rng.int(-1021 ... -61)))
                s.append(v)
                sh[j] = v.hi
                sl[j] = v.lo
                e[j] = Int64(v.exponent)
            }
            let epsS = n % 2 == 0 ? 0.0 : DoubleWordExp.relativeError
            let lanes = DoubleWordLog1p.logOnePlusLow(sh, sl, exponent: e, relativeError: epsS)
            taken += 1
            for j in 0..<4 {
                let (v, eps) = try #require(DoubleWordLog1p.logOnePlus(s[j], relativeError: epsS, Self.tab))
                #expect(Self.same(lanes.hi[j], v.hi) && Self.same(lanes.lo[j], v.lo) && Int(lanes.exponent[j]) == v.exponent
                        && Self.same(lanes.relativeError[j], eps), "seed \(Self.seed ^ 4), case \(n), s = \(s[j])")
            }
        }
        #expect(taken == 2000)
    }

    /// A logit of `ElementwiseTierBoundTests.logit`'s scales, or a special value now and then.
    static func logit(_ rng: inout SplitMix64) -> Double {
        switch rng.int(0...40) {
        case 0: return .nan
        case 1: return rng.oneIn(2) ? .infinity : -.infinity
        case 2: return (rng.oneIn(2) ? 1 : -1) * rng.uniform(0x1p20, 0x1p21)
        case 3: return rng.oneIn(2) ? 0x1p20 : -0x1p20
        case 4: return 0
        default: return ElementwiseTierBoundTests.logit(&rng)
        }
    }

    /// Expects `outputs.fill` of the row x to give `outputs.output(i, x_i)` for every i (rounding
    /// and exact value), and to list exactly the i where that is nil; `context` names the case.
    static func checkFill(_ outputs: ElementwiseOutputs, _ x: [Double], _ context: String) {
        let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: x.count)
        defer { slots.deallocate() }
        let failed = x.withUnsafeBufferPointer {
            outputs.fill($0, 0..<x.count, into: slots, placeholder: OracleValue(rounded: 0, exact: ExactValue(0.0)))
        }
        var expectedFailed: [Int] = []
        for i in x.indices {
            guard let v = outputs.output(i, x[i]) else {
                expectedFailed.append(i)
                continue
            }
            // (A NaN output's exact value holds a NaN, never equal to itself: its rounding is compared.)
            #expect(same(slots[i].rounded, v.rounded) && (x[i].isNaN || slots[i].exact == v.exact), "\(context), x = \(hex(x[i]))")
        }
        #expect(failed == expectedFailed, "\(context)")
    }

    @Test("ElementwiseOutputs.fill gives output(i, x_i) for every i, every function and format",
          arguments: [Format.f64, .f32, .bf16, .e4m3fn])
    func fill(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        for n in 0..<24 {
            let count = rng.int(1...300)
            let x = (0..<count).map { _ in Self.logit(&rng) }
            let labels = (0..<count).map { _ -> Double in rng.oneIn(20) ? 1.5 : (rng.oneIn(3) ? rng.unit() : Double(rng.int(0...1))) }
            let posWeight = rng.oneIn(2) ? [2.5] : (0..<count).map { _ in rng.oneIn(30) ? -1 : rng.uniform(0, 3) }
            let weight: [Double]? = rng.oneIn(2) ? nil : (0..<count).map { _ in rng.oneIn(30) ? 0 : rng.uniform(0, 2) }
            for kind in [ElementwiseOutputs.Kind.sigmoid, .logSigmoid, .softplus, .bce] {
                let bce = kind == .bce
                let outputs = ElementwiseOutputs(kind: kind, format: format, labels: bce ? labels : nil,
                                                 posWeight: bce ? posWeight : nil, weight: bce ? weight : nil)
                Self.checkFill(outputs, x, "seed \(Self.seed ^ 2), row \(n), \(kind), \(format)")
            }
        }
    }

    /// A logit of one of the scales where outputs fall below binary64's normals or E's half is
    /// subnormal (the tier-grid families exp_overflow, exp_underflow, dominant_target,
    /// sum_overflow), or of `logit`'s scales now and then; either sign.
    static func deepLogit(_ rng: inout SplitMix64, scale: Int) -> Double {
        let x: Double
        switch scale {
        case 0: x = rng.uniform(600, 800)                 // E from 2^-866 to 2^-1155
        case 1: x = 709.78 + rng.uniform(-0.5, 0.5)       // E near 2^-1024
        case 2: x = 744.44 + rng.uniform(-1, 1)           // E near 2^-1074 (half a subnormal)
        case 3: x = rng.uniform(707, 763)                 // ŝ_hi/2 subnormal: E from 2^-1020 to 2^-1101
        case 4: x = 624 + rng.uniform(-3, 3)              // E near 2^-900, the test's edge
        case 5: x = rng.uniform(800, 0x1p20)              // far below every subnormal
        default: return Self.logit(&rng)
        }
        return rng.oneIn(2) ? -x : x
    }

    @Test("ElementwiseOutputs.fill gives output(i, x_i) on rows below binary64's normals, every function and format",
          arguments: [Format.f64, .f32, .bf16])
    func fillBelowNormals(format: Format) {
        let seed = Self.seed ^ 5
        var rng = SplitMix64(seed: seed)
        for n in 0..<70 {
            // Rows of one scale (and one sign, half the time), so that whole groups take each lane path.
            let scale = n % 7, sign: Double = n % 3 == 0 ? 1 : (n % 3 == 1 ? -1 : 0)
            let x = (0..<rng.int(40...160)).map { _ -> Double in
                let v = Self.deepLogit(&rng, scale: scale)
                return sign == 0 ? v : sign * v.magnitude
            }
            for kind in [ElementwiseOutputs.Kind.sigmoid, .logSigmoid, .softplus, .bce] {
                let labels: [Double]? = kind == .bce ? x.map { _ in Double(rng.int(0...1)) } : nil
                let outputs = ElementwiseOutputs(kind: kind, format: format, labels: labels, posWeight: nil, weight: nil)
                Self.checkFill(outputs, x, "seed \(seed), row \(n), \(kind), \(format)")
            }
        }
    }

    @Test("LogSoftmaxOutputs.lanes gives single's outputs on every lane, or declines", arguments: [Format.f64, .f32, .bf16])
    func logSoftmaxLanes(format: Format) {
        var rng = SplitMix64(seed: Self.seed ^ 3)
        var taken = 0
        for n in 0..<4000 {
            let m = rng.oneIn(4) ? 0 : rng.uniform(-1e3, 1e3)
            var x = (0..<OutputLanes.scalarCount).map { _ in
                rng.oneIn(3) ? m - rng.unit() * powerOfTwo(rng.int(-60...12)) : m - Double(rng.int(0...64)) * 0.125
            }
            if rng.oneIn(40) { x[rng.int(0...3)] = -.infinity }
            let lp = DoubleWordTier.logPart(ScaledDoubleWord(DoubleWord(rng.uniform(1, 2), rng.uniform(-1, 1) * 0x1p-53), exponent: rng.int(-70...3)),
                                            relativeError: rng.oneIn(2) ? 0x1p-100 : 0x1p-60)
            x.withUnsafeBufferPointer { buffer in
                let top = DoubleWordTier.negativeLogSoftmax(DoubleWord(0, 0), lp, DoubleWordCertifier(format), negate: true)
                    ?? OracleValue(rounded: .nan, exact: ExactValue(Double.nan))  // x_i = m never takes the lanes
                let o = LogSoftmaxOutputs(x: buffer, m: m, maxIndex: -1, lp: lp, top: top,
                                          negativeInfinity: OracleValue(rounded: -.infinity, exact: ExactValue(-Double.infinity)),
                                          certifier: DoubleWordCertifier(format))
                let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: 4)
                defer { slots.deallocate() }
                guard o.lanes(0, into: slots) else { return }
                taken += 1
                for j in 0..<4 {
                    let v = o.single(j)
                    #expect(v != nil && Self.same(slots[j].rounded, v!.rounded) && slots[j].exact == v!.exact,
                            "seed \(Self.seed ^ 3), case \(n), \(format), x = \(hex(x[j])), m = \(hex(m))")
                }
            }
        }
        #expect(taken > 1000, "seed \(Self.seed ^ 3): lanes taken \(taken) times")
    }
}
