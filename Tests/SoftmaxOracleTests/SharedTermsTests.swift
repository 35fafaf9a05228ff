import MPFR
@testable import SoftmaxOracle
import Testing

/// SharedTerms.swift and `RepeatedOutputs` (Certification.swift): rows with few distinct values
/// share one MPFR term per distinct logit and certify one output per distinct inputs. Expected
/// values: the textbook formulas naive in MPFR at 4000 bits (`BruteForce`), rounded once, never
/// the oracle; and, for the refined gradient's [S], the `mpfr_sum` of every term apart.
@Suite("MPFR path: equal inputs share one term and one certified output")
struct SharedTermsTests {
    static let mpfrOnly = Oracle(doubleWordTier: false)

    /// `v` (4000 bits) rounded once into `f` (normal range: MPFR's rounding at p bits is the
    /// format's).
    static func round(_ v: BigFloat, _ f: Format) -> Double {
        if v.isZero { return v.signBit ? -0.0 : 0.0 }
        let r = BigFloat(precision: f.precision)
        r.set(v, .nearest)
        let d = r.double()
        precondition(d == 0 || abs(d) >= pow2(f.minNormalExponent), "a reference outside the normal range")
        return d
    }

    /// A row of `k` logits drawn from `values` (seeded), some at the maximum.
    static func row(_ values: [Double], count k: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<k).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return values[Int((state >> 33) % UInt64(values.count))]
        }
    }

    /// At a 40-bit cap no f64 output of e^k/S (irrational: e^k with k ≠ 0 is transcendental, and
    /// S = 1 + 3e + e² with it) can be certified, so all five outputs of softmax [0, 1, 1, 1, 2]
    /// are ambiguous: the error counts five, not the three groups {0}, {1, 2, 3}, {4} that are
    /// computed, and names output 0 (the first ambiguous, as without groups).
    @Test("notCertified counts every ambiguous output of a repeated group, not one per group")
    func ambiguousCountIncludesRepeats() {
        let capped = Oracle(maxPrecision: 40, doubleWordTier: false)
        do {
            let r = try capped.evaluate(OracleRequest(function: .softmax, format: .f64, logits: [0, 1, 1, 1, 2]))
            Issue.record("expected notCertified, got \(r.rounded)")
        } catch {
            guard case let .notCertified(output, _, detail) = error else {
                Issue.record("expected notCertified, got \(error)")
                return
            }
            #expect(output == 0)
            #expect(detail.hasSuffix("5 output(s) ambiguous)"), "\(detail)")
        }
    }

    @Test("RepeatedOutputs: groups by key, the first of each group, nil when all differ or past no repeat")
    func grouping() throws {
        let keys = [5, 7, 5, 5, 9, 7]
        let word: (Int) -> SIMD4<UInt64> = { SIMD4(UInt64($0), 0, 0, 0) }
        let r = try #require(RepeatedOutputs.grouping(count: keys.count) { word(keys[$0]) })
        #expect(r.first == [0, 1, 0, 0, 4, 1])
        #expect(r.firsts == [0, 1, 4])
        #expect(RepeatedOutputs.grouping(count: 4) { word($0) } == nil)
        // Past the limit of remembered keys a new key is a first of its own: bounded memory.
        let capped = try #require(RepeatedOutputs.grouping(count: 5, limit: 2) { word([1, 2, 3, 1, 3][$0]) })
        #expect(capped.firsts == [0, 1, 2, 4])
        var values = (0..<6).map { OracleValue(rounded: Double($0), exact: ExactValue(Double($0))) }
        r.copy(into: &values)
        #expect(values.map(\.rounded) == [0, 1, 0, 0, 4, 1])
    }

    @Test("SharedTerms: each key's first value, through growth and collisions; past the limit computed and not kept")
    func table() {
        var t = SharedTerms<Int>(limit: 3000)
        var made = 0
        var state: UInt64 = 0x5AE7_0003
        var keys: [SIMD4<UInt64>] = []
        for _ in 0..<2000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            keys.append(SIMD4(state, state >> 7, 0, UInt64(keys.count % 3)))
        }
        keys += keys.prefix(500) + (0..<1500).map { SIMD4(UInt64($0) << 40, 1, 2, 3) }  // repeats, then 1500 new
        for (i, k) in keys.enumerated() {
            let v = t.value(k) { made += 1; return i }
            #expect(v == keys.firstIndex(of: k)!, "key \(i)")  // the repeats find their first value
        }
        // 2000 + 1500 distinct keys made once each; the table kept the first 3000 (entries 2000
        // to 2999 of the new ones), not the last 500.
        #expect(made == 3500 && t.count == 3000)
        #expect(t.stored(keys[2500 + 999]) == 2500 + 999)
        #expect(t.stored(keys[2500 + 1000]) == nil)
    }

    @Test("SharedTerms: off after `window` lookups without a hit (a row of distinct values), on with one hit among them")
    func tableOff() {
        let n = SharedTerms<Int>.window
        var distinct = SharedTerms<Int>()
        for i in 0..<n { _ = distinct.value(SIMD4(UInt64(i), 0, 0, 0)) { i } }
        #expect(distinct.isOff && distinct.count == 0)
        #expect(distinct.value(SIMD4(0, 0, 0, 0)) { -1 } == -1)  // computed again, not stored
        var repeated = SharedTerms<Int>()
        for i in 0..<(2 * n) { _ = repeated.value(SIMD4(UInt64(i == 1 ? 0 : i), 0, 0, 0)) { i } }
        #expect(!repeated.isOff && repeated.count == 2 * n - 1)
    }

    @Test("softmax, log_softmax and cross_entropy_grad (hard, probability targets, weights, smoothing) of rows of four distinct logits: RN of the textbook values", arguments: [Format.f64, .f32, .bf16])
    func fewDistinctValues(format: Format) throws {
        let seed: UInt64 = 0x5AE7_0001
        let x = Self.row([0.5, -1.25, 3, 3, -7.5], count: 300, seed: seed)
        let p = Self.row([0, 0.25, 0.0625, 0.75], count: 300, seed: seed ^ 1)
        let wts = Self.row([1, 2, 0.5], count: 300, seed: seed ^ 2)
        try ExponentRange.widest {
            let soft = BruteForce.softmax(x).map { Self.round($0, format) }
            expectBits(try rounded(OracleRequest(function: .softmax, format: format, logits: x), oracle: Self.mpfrOnly), soft, "seed \(seed)")
            let logSoft = BruteForce.logSoftmax(x).map { Self.round($0, format) }
            expectBits(try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x), oracle: Self.mpfrOnly), logSoft, "seed \(seed)")
            let cases: [(RowTarget, [Double]?, Double)] = [(.index(7), nil, 0), (.probabilities(p), nil, 0), (.probabilities(p), wts, 0.25),
                                                           (.index(3), wts, 0.5)]
            for (t, w, eps) in cases {
                let r = BruteForce.targetWeights(classes: x.count, target: t, weight: w, labelSmoothing: eps)
                let want = BruteForce.crossEntropyGrad(x, weights: r).map { Self.round($0, format) }
                let q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: t, labelSmoothing: eps, weight: w)
                expectBits(try rounded(q, oracle: Self.mpfrOnly), want, "seed \(seed), \(t), eps \(eps)")
            }
        }
    }

    @Test("cross_entropy_grad of 2^12 + 1 equal logits and j/16 targets whose mean is one of them (exact zeros): P/K − p_c, exact rationals rounded once")
    func equalLogitsExactZeros() throws {
        let k = 4097
        var p = (0..<k).map { Double($0 % 17) / 16 }
        // Make P = Σ p_j = K·p_0 (p_0 = 0), i.e. … P/K = 0.5 exactly: p_last adjusts the sum.
        let rest = p.dropLast().reduce(0, +)  // exact: multiples of 1/16 below 2^13
        p[k - 1] = 0.5 * Double(k) - rest
        #expect(p[k - 1] >= 0 && p[k - 1] <= 16, "the adjusted target \(p[k - 1])")
        let x = [Double](repeating: 0, count: k)
        for oracle in [Self.mpfrOnly, Oracle()] {
            let got = try rounded(OracleRequest(function: .crossEntropyGrad, logits: x, target: .probabilities(p)), oracle: oracle)
            expectBits(got, p.map { 0.5 - $0 })  // P/K − p_c = 0.5 − p_c, exact in binary64
        }
    }

    @Test("the refined gradient's [S] with repeated logits: the same ends as the mpfr_sum of every term apart, at 128 and 384 bits")
    func refinedRatioRepeatedTerms() throws {
        let x = Self.row([0, -0.75, -3, 0x1p-1074, -20], count: 700, seed: 0x5AE7_0002)
        let p = x.indices.map { Double($0 % 17) / 16 }
        let maxIndex = x.firstIndex(of: x.max()!)!
        try ExponentRange.widest {
            x.withUnsafeBufferPointer { xs in
                p.withUnsafeBufferPointer { ps in
                    let refined = RefinedOutputs(.probabilityGradient, x: xs, targets: ps, maxIndex: maxIndex, format: .f64)
                    for w in RefinedOutputs.precisions {
                        let a = IntervalArithmetic(precision: w)
                        // Every term apart (none is below the cut or summed in double words here: x_j − m >= −20).
                        let terms = x.indices.map { $0 == maxIndex ? a.one : a.exp(a.sub(a.point(x[$0]), a.point(x[maxIndex]))) }
                        let want = a.div(a.sum(ps.map { a.point($0) }), a.sum(terms))
                        let got = refined.sums(a).ratio
                        #expect(got.lo.compare(want.lo) == 0 && got.hi.compare(want.hi) == 0, "w \(w)")
                    }
                }
            }
        }
    }
}
