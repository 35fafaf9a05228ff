import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// bce_with_logits finished on SIMD lanes (BceLanes.swift) against the scalar path it stands for
/// (`ElementwiseOutputs.output`, which runs `bce`), bit for bit, on randomized and edge logits,
/// labels and weights; and, for a sample of rows, the whole tier against the MPFR path. The lane
/// routine claims the scalar path's enclosures, so equality is the test. Failure messages carry
/// the seed.
@Suite("Double-word tier: bce_with_logits lanes equal the scalar path")
struct BceLaneTests {
    static let seed: UInt64 = 0xBCE1_A4E5

    /// A logit with the edge cases the lanes guard: ±0, subnormals, the 2^20 boundary, T below
    /// binary64 (|x| > ~745), term 2 far below term 1 (|x| ~ 2^10..2^20), float32 midpoints (exact
    /// term 1 on a rounding boundary of f32 and the narrow formats), and the tier's usual scales.
    static func logit(_ rng: inout SplitMix64) -> Double {
        let x: Double
        switch rng.int(0...13) {
        case 12: x = huge(&rng)
        case 13: x = 0x1p20.nextUp * Double(rng.int(1...3))
        case 0: x = 0
        case 1: x = rng.unit() * 0x1p-1022  // subnormal (or 0)
        case 2: x = rng.oneIn(2) ? 0x1p20 : 0x1p20 - Double(rng.int(0...3)) * 0x1p-32
        case 3: x = rng.uniform(600, 800)
        case 4: x = rng.uniform(0x1p10, 0x1p20)
        case 5: x = Double(Float(rng.uniform(40, 0x1p16))) + Double(Float(1).ulp) / 2 * powerOfTwo(rng.int(5...16))
        case 6: x = 0x1p-1022 * Double(rng.int(1...4))
        default: x = ElementwiseTierBoundTests.logit(&rng)
        }
        return rng.oneIn(2) ? -x : x
    }

    /// |x| > 2^20 (`bceHugeOnLanes`): any binade up to binary64's largest (term 1 above the
    /// certification test's binades from 2^901 up, and overflowing past 2^1023), integers
    /// (exact term 1 on f32's and the narrow formats' rounding boundaries), the largest double.
    static func huge(_ rng: inout SplitMix64) -> Double {
        switch rng.int(0...3) {
        case 0: return rng.uniform(1, 2) * powerOfTwo(rng.int(21...1023))
        case 1: return rng.uniform(1, 2) * powerOfTwo(rng.int(890...1023))
        case 2: return Double(rng.int(1...(1 << 24))) * powerOfTwo(rng.int(0...40)) + 0x1p20
        default: return .greatestFiniteMagnitude
        }
    }

    static func label(_ rng: inout SplitMix64) -> Double {
        switch rng.int(0...9) {
        case 0, 1: return 0
        case 2, 3: return 1
        case 4: return -0.0
        case 5: return rng.oneIn(4) ? 1.5 : -0.25  // outside [0, 1]: the MPFR path's
        case 6: return rng.unit() * powerOfTwo(-rng.int(1...1074))
        case 7: return rng.unit()
        default: return Double(rng.int(0...8)) / 8
        }
    }

    static func positive(_ rng: inout SplitMix64) -> Double {
        switch rng.int(0...9) {
        case 0: return 0
        case 1: return -1
        case 2: return powerOfTwo(rng.int(-1000...1000)) * rng.uniform(1, 2)
        case 3: return 0x1.fffffffffffffp1023  // (requests take finite weights only)
        default: return rng.uniform(0, 4)
        }
    }

    /// A row's labels, pos_weight and weight: hard labels with one pos_weight (`hardLabelWeights`),
    /// soft labels, or per-output pos_weight and weight.
    static func row(_ rng: inout SplitMix64, count: Int) -> (labels: [Double], posWeight: [Double]?, weight: [Double]?) {
        let hard = rng.oneIn(3)
        let labels = (0..<count).map { _ in hard ? Double(rng.int(0...1)) : label(&rng) }
        let posWeight: [Double]? = rng.oneIn(3) ? nil : (rng.oneIn(2) ? [rng.uniform(0, 5)] : (0..<count).map { _ in positive(&rng) })
        let weight: [Double]? = hard || rng.oneIn(2) ? nil : (0..<count).map { _ in positive(&rng) }
        return (labels, posWeight, weight)
    }

    static func same(_ a: OracleValue, _ b: OracleValue) -> Bool {
        a.rounded.bitPattern == b.rounded.bitPattern && a.exact == b.exact
    }

    @Test("bceOnLanes writes output(i, x_i) bit for bit on the lanes it takes, and only where the scalar path answers",
          arguments: [Format.f64, .f32, .bf16, .e4m3fn])
    func lanes(format: Format) throws {
        var rng = SplitMix64(seed: Self.seed ^ UInt64(format.precision))
        var taken = 0, lanesSeen = 0
        let index = UnsafeMutablePointer<Int>.allocate(capacity: 4), values = UnsafeMutablePointer<Double>.allocate(capacity: 16)
        let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: 64), scratch = UnsafeMutablePointer<OracleValue>.allocate(capacity: 4)
        let cache = UnsafeMutablePointer<ElementwiseOutputs.BceWeightCache>.allocate(capacity: 1)
        cache.initialize(to: .init())
        defer { index.deallocate(); values.deallocate(); slots.deallocate(); scratch.deallocate(); cache.deinitialize(count: 1); cache.deallocate() }
        for n in 0..<400 {
            let count = 64
            // (|x| <= 2^20: `bceOnLanes`' domain; beyond, `bceHugeOnLanes`.)
            let x = (0..<count).map { _ in
                var v = Self.logit(&rng)
                while v.magnitude > 0x1p20 { v = Self.logit(&rng) }
                return v
            }
            let (labels, posWeight, weight) = Self.row(&rng, count: count)
            let outputs = ElementwiseOutputs(kind: .bce, format: format, labels: labels, posWeight: posWeight, weight: weight)
            for start in stride(from: 0, to: count, by: 4) {
                var q = ElementwiseOutputs.LaneQueue(index, values)
                var t = (hi: OutputLanes(), lo: OutputLanes(), exponent: OutputLanes.MaskStorage(), relativeError: OutputLanes())
                for i in start..<start + 4 {
                    // T from the scalar routine (the lane routines give it bit for bit); 1 when it declines.
                    let l = outputs.logTerm(x[i])
                    let j = q.count
                    t.hi[j] = l?.value.hi ?? 1
                    t.lo[j] = l?.value.lo ?? 0
                    t.exponent[j] = Int64(l?.value.exponent ?? 0)
                    t.relativeError[j] = l?.epsL ?? 0
                    q.append(i, x[i])
                }
                let done = outputs.bceOnLanes(q, t, cache: cache, scratch: scratch, into: slots)
                for j in 0..<4 where done[j] {
                    let i = start + j
                    taken += 1
                    let l = outputs.logTerm(x[i])
                    // (At |x| <= 2^-60 where the loss is softplus(±x), the scalar path's first
                    // step, `bceTinyOutput`, which the lanes take too, whatever T they are given.)
                    let tiny = x[i].magnitude <= ElementwiseOutputs.tinyLogitBound ? outputs.bceTinyOutput(i, x[i]) : nil
                    let v = try #require(tiny ?? outputs.output(i, x[i], log: l),
                                         "seed \(Self.seed ^ UInt64(format.precision)), row \(n), \(format): lane answered where the scalar path declines, x = \(hex(x[i])), z = \(hex(labels[i]))")
                    #expect((l != nil || tiny != nil) && Self.same(slots[i], v),
                            "seed \(Self.seed ^ UInt64(format.precision)), row \(n), \(format), x = \(hex(x[i])), z = \(hex(labels[i]))")
                    (slots + i).deinitialize(count: 1)
                }
                lanesSeen += 4
            }
        }
        #expect(taken > lanesSeen / 3, "seed \(Self.seed ^ UInt64(format.precision)): lanes took \(taken) of \(lanesSeen)")
    }

    @Test("bceHugeOnLanes writes output(i, x_i) bit for bit on the lanes it takes, and only where the scalar path answers",
          arguments: [Format.f64, .f32, .f16, .e5m2])
    func hugeLanes(format: Format) throws {
        let seed = Self.seed ^ 0x4A6E ^ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        var taken = 0, lanesSeen = 0
        let index = UnsafeMutablePointer<Int>.allocate(capacity: 4), values = UnsafeMutablePointer<Double>.allocate(capacity: 16)
        let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: 64)
        defer { index.deallocate(); values.deallocate(); slots.deallocate() }
        for n in 0..<400 {
            let count = 64
            let x = (0..<count).map { _ in rng.oneIn(2) ? Self.huge(&rng) : -Self.huge(&rng) }
            let (labels, posWeight, weight) = Self.row(&rng, count: count)
            let outputs = ElementwiseOutputs(kind: .bce, format: format, labels: labels, posWeight: posWeight, weight: weight)
            let cache = UnsafeMutablePointer<ElementwiseOutputs.BceWeightCache>.allocate(capacity: 1)
            cache.initialize(to: outputs.bceWeightCache())
            defer { cache.deinitialize(count: 1); cache.deallocate() }
            // Queues of neighbours (written as one block) and of scattered slots.
            let order = n % 2 == 0 ? Array(0..<count) : (0..<count).shuffled(using: &rng)
            for start in stride(from: 0, to: count, by: 4) {
                var q = ElementwiseOutputs.LaneQueue(index, values)
                for i in order[start..<start + 4] { q.append(i, x[i]) }
                let done = outputs.bceHugeOnLanes(q, cache: cache, into: slots)
                for j in 0..<4 where done[j] {
                    let i = q.index[j]
                    taken += 1
                    let v = try #require(outputs.output(i, x[i]),
                                         "seed \(seed), row \(n), \(format): lane answered where the scalar path declines, x = \(hex(x[i])), z = \(hex(labels[i]))")
                    #expect(Self.same(slots[i], v), "seed \(seed), row \(n), \(format), x = \(hex(x[i])), z = \(hex(labels[i]))")
                    (slots + i).deinitialize(count: 1)
                }
                lanesSeen += 4
            }
        }
        #expect(taken > lanesSeen / 2, "seed \(seed): lanes took \(taken) of \(lanesSeen)")
    }

    @Test("fill on bce rows (edge logits, labels, pos_weight, weight) gives output(i, x_i) for every i",
          arguments: [Format.f64, .f32, .bf16, .e5m2])
    func fill(format: Format) {
        let seed = Self.seed ^ 0xF111 ^ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        let placeholder = OracleValue(rounded: 0, exact: ExactValue(0.0))
        for n in 0..<40 {
            let count = rng.int(1...400)
            // Special logits rare in even rows, one in three in odd rows: there `fill` takes four
            // consecutive logits at once and the others one at a time, so T's regime queues fill
            // out of index order (a queue of four must not be taken for four neighbouring slots).
            let special = n % 2 == 0 ? 40 : 3
            let x = (0..<count).map { _ in rng.oneIn(special) ? [Double.nan, .infinity, -.infinity, 0x1p21][rng.int(0...3)] : Self.logit(&rng) }
            let (labels, posWeight, weight) = Self.row(&rng, count: count)
            let outputs = ElementwiseOutputs(kind: .bce, format: format, labels: labels, posWeight: posWeight, weight: weight)
            let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: count)
            defer { slots.deallocate() }
            let failed = x.withUnsafeBufferPointer { outputs.fill($0, 0..<count, into: slots, placeholder: placeholder) }
            // The scalar path alone, output by output (nil: the MPFR path's).
            let scalar = x.indices.map { outputs.output($0, x[$0]) }
            #expect(failed == scalar.indices.filter { scalar[$0] == nil }, "seed \(seed), row \(n), \(format)")
            for (i, v) in scalar.enumerated() where v != nil {
                // (A NaN logit's exact value holds a NaN: its rounding is compared.)
                #expect(slots[i].rounded.bitPattern == v!.rounded.bitPattern && (x[i].isNaN || slots[i].exact == v!.exact),
                        "seed \(seed), row \(n), \(format), x = \(hex(x[i])), z = \(hex(labels[i]))")
            }
        }
    }

    @Test("bce rows through the lanes round as the MPFR path rounds them", arguments: [Format.f64, .f32, .bf16])
    func againstMPFR(format: Format) throws {
        let seed = Self.seed ^ 0x3F9 ^ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        let doubleWord = Oracle(), mpfr = Oracle(doubleWordTier: false)
        for n in 0..<6 {
            let count = 48
            let x = (0..<count).map { _ in Self.logit(&rng) }
            let (labels, posWeight, weight) = Self.row(&rng, count: count)
            var q = OracleRequest(function: .bceWithLogits, format: format, logits: x)
            q.labels = labels
            q.posWeight = posWeight
            q.weight = weight
            let a = try doubleWord.evaluate(q), b = try mpfr.evaluate(q)
            expectBits(a.rounded, b.rounded, "seed \(seed), row \(n), \(format)")
        }
    }
}
