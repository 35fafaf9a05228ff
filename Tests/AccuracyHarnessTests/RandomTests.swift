import Foundation
import Testing
@testable import AccuracyHarness

@Suite("Deterministic random sources")
struct RandomTests {
    @Test("SplitMix64 from seed 0 gives the published first outputs")
    func splitMixReferenceValues() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xe220_a839_7b1d_cdaf)
        #expect(g.next() == 0x6e78_9e6a_a1b9_65f4)
        #expect(g.next() == 0x06c4_5d18_8009_454f)
    }

    @Test("xoshiro256** from state (1, 2, 3, 4) gives the reference implementation's outputs")
    func xoshiroReferenceValues() {
        var g = Xoshiro256StarStar(state: (1, 2, 3, 4))
        #expect(g.next() == 11520)
        #expect(g.next() == 0)
        #expect(g.next() == 1_509_978_240)
        #expect(g.next() == 1_215_971_899_390_074_240)
    }

    @Test("Same seed, same stream; other seed, other stream")
    func reproducible() {
        var a = Xoshiro256StarStar(seed: 42)
        var b = Xoshiro256StarStar(seed: 42)
        var c = Xoshiro256StarStar(seed: 43)
        let sa = (0..<100).map { _ in a.next() }
        let sb = (0..<100).map { _ in b.next() }
        let sc = (0..<100).map { _ in c.next() }
        #expect(sa == sb)
        #expect(sa != sc)
        var x = Xoshiro256StarStar(seed: 7)
        var y = Xoshiro256StarStar(seed: 7)
        let dx = (0..<200).map { _ in [x.nextUnitDouble(), x.nextNormal(), Double(x.nextInt(in: -5...5))] }
        let dy = (0..<200).map { _ in [y.nextUnitDouble(), y.nextNormal(), Double(y.nextInt(in: -5...5))] }
        #expect(dx.flatMap { $0 }.map(\.bitPattern) == dy.flatMap { $0 }.map(\.bitPattern))
    }

    @Test("Pinned derived values: the stream is the same on every machine")
    func pinnedDerivedValues() {
        var g = Xoshiro256StarStar(seed: 2024)
        let u = g.nextUnitDouble()
        let z = g.nextNormal()
        let i = g.nextInt(in: 0...999)
        #expect(u.bitPattern == Self.pinnedUnit)
        #expect(z.bitPattern == Self.pinnedNormal)
        #expect(i == Self.pinnedInt)
    }
    // Checked against an independent Python reimplementation: u and the integer agree bit for
    // bit; the normal (0.6304636544900954) agrees with libm-based Box–Muller to 1 ulp, and its
    // exact bits are ours, from DeterministicMath, on every machine.
    static let pinnedUnit: UInt64 = 4_588_201_423_743_200_992
    static let pinnedNormal: UInt64 = 4_603_853_931_304_140_886
    static let pinnedInt = 159

    @Test("Uniform doubles lie in [0, 1) and (0, 1]; integers in range, every value hit")
    func ranges() {
        var g = SplitMix64(seed: 1)
        var hits = Set<Int>()
        for _ in 0..<5_000 {
            let u = g.nextUnitDouble()
            #expect(u >= 0 && u < 1)
            let v = g.nextOpenUnitDouble()
            #expect(v > 0 && v <= 1)
            let k = g.nextInt(in: -3...3)
            #expect((-3...3).contains(k))
            hits.insert(k)
            let d = g.nextDouble(in: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude)
            #expect(d.isFinite)
        }
        #expect(hits.count == 7)
        _ = g.nextInt(in: Int.min...Int.max)  // the full range must not trap
    }

    @Test("Normal deviates have mean ≈ 0 and variance ≈ 1")
    func normalMoments() {
        var g = Xoshiro256StarStar(seed: 3)
        let n = 20_000
        let zs = (0..<n).map { _ in g.nextNormal() }
        let mean = zs.reduce(0, +) / Double(n)
        let variance = zs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        #expect(abs(mean) < 0.05)
        #expect(abs(variance - 1) < 0.05)
        #expect(zs.filter { abs($0) > 3 }.count < 100)  // 0.27 % expected: 54
    }

    @Test("Sampling and shuffling give permutations")
    func sampleShuffle() {
        var g = Xoshiro256StarStar(seed: 9)
        var a = Array(0..<50)
        g.shuffle(&a)
        #expect(a.sorted() == Array(0..<50))
        let s = g.sample(10, from: 20)
        #expect(Set(s).count == 10 && s.allSatisfy { (0..<20).contains($0) })
    }

    @Test("DeterministicMath agrees with the C library to a few ulps")
    func deterministicMath() {
        var g = SplitMix64(seed: 5)
        for _ in 0..<2_000 {
            let x = Double(sign: .plus, exponent: g.nextInt(in: -1074...1023), significand: 1 + g.nextUnitDouble())
            let mine = DeterministicMath.log(x)
            let libm = Foundation.log(x)
            #expect(abs(mine - libm) <= 4 * libm.ulp + 1e-300, "log(\(x))")
            let t = g.nextUnitDouble()
            let (c, s) = DeterministicMath.cosSin(turns: t)
            #expect(abs(c - Foundation.cos(2 * Double.pi * t)) < 1e-15)
            #expect(abs(s - Foundation.sin(2 * Double.pi * t)) < 1e-15)
        }
        #expect(DeterministicMath.log(1) == 0)
        #expect(DeterministicMath.log(0) == -.infinity)
        #expect(DeterministicMath.log(-1).isNaN)
        #expect(abs(DeterministicMath.log(Double.greatestFiniteMagnitude) - 709.782712893384) < 1e-12)
    }
}
