import MPFR
@testable import SoftmaxOracle
import Testing

/// Long rows of few distinct logits (DoubleWordTier/DistinctRow.swift) and rows whose answer a
/// special value decides (SpecialRows.swift): expected values from exact math, from MPFR at high
/// precision, or from the MPFR path (`Oracle(doubleWordTier: false)`, which never runs the tier).
@Suite("Few-distinct and special rows")
struct DistinctRowTests {
    static let seed: UInt64 = 0xD157_1AC7_0000_0001
    static let mpfr = Oracle(doubleWordTier: false)

    /// A near_ties row (the harness's family): k logits, each the offset moved by −2...2 ulps.
    static func nearTies(_ rng: inout SplitMix64, offset: Double, count k: Int) -> [Double] {
        (0..<k).map { _ in
            var v = offset
            let steps = rng.int(-2...2)
            for _ in 0..<abs(steps) { v = steps > 0 ? v.nextUp : v.nextDown }
            return v
        }
    }

    static let offsets: [Double] = [1e6, -1e6, 1e15, 0x1p55, 1e300, -1e300, 0x1.8p1022, 0.5, 0]

    @Test("near_ties rows: the MPFR path's values, through the few-distinct path")
    func nearTiesAgree() throws {
        var rng = SplitMix64(seed: Self.seed)
        var taken = 0
        for (n, offset) in Self.offsets.enumerated() {
            for format in Format.allCases {
                let x = Self.nearTies(&rng, offset: offset, count: 300 + 37 * n)
                let t = rng.int(0...(x.count - 1))
                let requests = [
                    OracleRequest(function: .softmax, format: format, logits: x),
                    OracleRequest(function: .logSoftmax, format: format, logits: x),
                    OracleRequest(function: .logsumexp, format: format, logits: x),
                    OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(t)),
                    OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(t)),
                ]
                for q in requests {
                    let note = "seed \(Self.seed) offset \(offset) \(format) \(q.function)"
                    let want = try Self.mpfr.evaluate(q).rounded
                    expectBits(try Oracle().evaluate(q).rounded, want, "\(note)")
                    expectBits(try Oracle().evaluateRounded(q).rounded, want, "\(note) (rounded)")
                    if DoubleWordTier.distinctRow(q, threads: 1, rounded: true) != nil { taken += 1 }
                }
            }
        }
        // The path must be the one under test for most of these rows (f64 outputs of every function, at least).
        #expect(taken >= Self.offsets.count * 5)
    }

    /// c0 logits 0 and c1 logits −1000 (interleaved): softmax is 1/(c0 + c1·e^-1000), which
    /// rounds as 1/c0 does in every format (e^-1000 < 2^-1442 moves it by far less than any
    /// spacing, and toward 1/c0's own side), and c1·e^-1000/(…) < 2^-1400 rounds to +0; the
    /// gradient at a 0 logit t is softmax_t − 1 = −(c0 − 1 + ε)/(c0 + ε), rounding as −(c0 − 1)/c0
    /// (IEEE division of exact integers is correctly rounded; that quotient is a double or has no
    /// terminating binary expansion, so the tiny ε moves no rounding).
    @Test("two values 0 and −1000: softmax 1/c0 and 0, gradient −(c0 − 1)/c0")
    func twoValues() throws {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        for (c0, c1) in [(256, 256), (300, 5), (1024, 3000), (7, 500)] {
            var x = [Double](repeating: -1000, count: c0 + c1)
            var zeros = 0
            while zeros < c0 {
                let i = rng.int(0...(x.count - 1))
                if x[i] != 0 { (x[i], zeros) = (0, zeros + 1) }
            }
            let q = OracleRequest(function: .softmax, logits: x)
            let want = x.map { $0 == 0 ? 1 / Double(zeros) : 0 }
            expectBits(try Oracle().evaluateRounded(q).rounded, want, "c0 \(zeros)")
            expectBits(try Oracle().evaluate(q).rounded, want, "c0 \(zeros)")
            let t = x.firstIndex(of: 0)!
            let g = OracleRequest(function: .crossEntropyGrad, logits: x, target: .index(t))
            var wantGrad = want
            wantGrad[t] = -(Double(zeros - 1) / Double(zeros))
            expectBits(try Oracle().evaluateRounded(g).rounded, wantGrad, "c0 \(zeros)")
            #expect(DoubleWordTier.distinctRow(q, threads: 1, rounded: true) != nil)
        }
    }

    /// `distinctRowSum`'s ŝ lies within its stated bound epsS·s of s = Σ_{j≠M} e^(x_j − m),
    /// computed in MPFR at 600 bits (each d_j = v_k − m is exact there; exp's rounding is
    /// 2^-600 relative).
    @Test("distinctRowSum: |ŝ − s| <= epsS·s against MPFR")
    func sumWithinBound() {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        var checked = 0
        for trial in 0..<60 {
            var values = (0..<rng.int(2...8)).map { _ in rng.uniform(-40, 40) }
            if trial % 3 == 0 { values = values.map { ($0 * 0x1p-30).rounded() * 0x1p30 } }  // some ties of the maximum
            let x = (0..<rng.int(256...5000)).map { _ in values[rng.int(0...(values.count - 1))] }
            guard let keys = x.withUnsafeBufferPointer({ DoubleWordTier.distinctLogits($0) }),
                  let d = x.withUnsafeBufferPointer({ DoubleWordTier.distinctRowSum($0, keys) }) else { continue }
            let m = d.row.m
            let s = BigFloat(precision: 600), term = BigFloat(precision: 600), v = BigFloat(precision: 600)
            s.set(0, .nearest)
            for (j, xj) in x.enumerated() where j != d.row.maxIndex {
                v.set(xj, .nearest)
                term.set(m, .nearest)
                v.sub(v, term, .nearest)
                term.exp(v, .nearest)
                s.add(s, term, .nearest)
            }
            let got = BigFloat(precision: 600), lo = BigFloat(precision: 600)
            got.set(d.row.s.hi, .nearest)
            lo.set(d.row.s.lo, .nearest)
            got.add(got, lo, .nearest)
            got.scale(got, byPowerOfTwo: d.row.s.exponent, .nearest)
            got.sub(got, s, .nearest)
            got.abs(got, .nearest)
            got.div(got, s, .nearest)
            #expect(got.double(.up) <= d.row.epsS, "trial \(trial): relative error \(got.double(.up)) > \(d.row.epsS)")
            checked += 1
        }
        #expect(checked == 60)
    }

    /// `distinctLogits` (groups of logits coded on SIMD lanes, the others one by one) against a
    /// plain reference on the bit patterns: values in order of first appearance, their counts,
    /// first indices and every logit's code; nil once a 9th value appears. Rows where values first
    /// appear late and at any index (inside a lane group, in the tail), with +0 and −0 (two
    /// values), and a 9th value far into the row.
    @Test("distinctLogits: the values, counts, first indices and codes a plain count gives")
    func keysMatchReference() {
        var rng = SplitMix64(seed: Self.seed ^ 3)
        for trial in 0..<200 {
            var pool = [0.0, -0.0, 1.5, 1.5.nextUp, 1.5.nextDown, -3.25, 7e-300, -.infinity, 2.0, 1e300]
            let values = (0..<rng.int(1...9)).map { _ in pool.remove(at: rng.int(0...(pool.count - 1))) }
            let n = rng.int(256...3000)
            var x = (0..<n).map { _ in values[0] }
            // Each further value first appears at a random index (then anywhere after it).
            for v in values.dropFirst() {
                let start = rng.int(64...(n - 1))
                for j in start..<n where rng.oneIn(3) || j == start { x[j] = v }
            }
            var order = [UInt64](), counts = [UInt64: Int](), first = [UInt64: Int]()
            for (j, v) in x.enumerated() {
                if counts[v.bitPattern] == nil { order.append(v.bitPattern); first[v.bitPattern] = j }
                counts[v.bitPattern, default: 0] += 1
            }
            let keys = x.withUnsafeBufferPointer { DoubleWordTier.distinctLogits($0) }
            guard order.count <= 8 else {
                #expect(keys == nil, "trial \(trial): \(order.count) values")
                continue
            }
            guard let keys else {
                Issue.record("trial \(trial): nil for \(order.count) values")
                continue
            }
            #expect(keys.values.map(\.bitPattern) == order, "trial \(trial)")
            #expect(keys.counts == order.map { counts[$0]! }, "trial \(trial)")
            #expect(keys.first == order.map { first[$0]! }, "trial \(trial)")
            #expect(keys.codes.map { order[Int($0)] } == x.map(\.bitPattern), "trial \(trial)")
        }
    }

    @Test("more than 8 distinct logits, or a short row: not this path")
    func declines() {
        let nine = (0..<1000).map { Double($0 % 9) }
        #expect(nine.withUnsafeBufferPointer { DoubleWordTier.distinctLogits($0) } == nil)
        let short = (0..<100).map { Double($0 % 3) }
        #expect(short.withUnsafeBufferPointer { DoubleWordTier.distinctLogits($0) } == nil)
        let eight = (0..<1000).map { Double($0 % 8) }
        let keys = eight.withUnsafeBufferPointer { DoubleWordTier.distinctLogits($0) }
        #expect(keys?.values == (0..<8).map(Double.init) && keys?.counts == [Int](repeating: 125, count: 8))
        #expect(keys?.first == Array(0..<8))
    }

    /// Rows a special value decides, as docs/semantics.md states: every output NaN for a NaN, a
    /// +inf (inf/inf) or no finite logit (0/0); logsumexp NaN, +inf, −inf.
    @Test("special rows of softmax, log_softmax, logsumexp and the cross-entropies: filled directly")
    func specialRows() throws {
        let k = 1000
        let rows: [(String, [Double], Double)] = [
            ("full mask", [Double](repeating: -.infinity, count: k), -.infinity),
            ("+inf", (0..<k).map { $0 == 500 ? .infinity : Double($0) }, .infinity),
            ("NaN", (0..<k).map { $0 == 7 ? .nan : ($0 == 3 ? .infinity : Double($0)) }, .nan),
            ("+inf first", (0..<k).map { $0 == 0 ? .infinity : -.infinity }, .infinity),
        ]
        for (name, x, lse) in rows {
            for format in Format.allCases {
                let nan = format.round(.nan)
                expectBits(try Oracle().evaluate(OracleRequest(function: .logsumexp, format: format, logits: x)).rounded,
                           [format.round(lse)], "\(name) \(format)")
                for f in [OracleFunction.softmax, .logSoftmax] {
                    let q = OracleRequest(function: f, format: format, logits: x)
                    expectBits(try Oracle().evaluateRounded(q).rounded, [Double](repeating: nan, count: k), "\(name) \(format) \(f)")
                    let r = try Oracle().evaluate(q)
                    expectBits(r.rounded, [Double](repeating: nan, count: k), "\(name) \(format) \(f)")
                    #expect(r.tier == .doubleWord && r.values.allSatisfy { $0.exact.kind == .nan })
                }
                let g = OracleRequest(function: .crossEntropyGrad, format: format, logits: x,
                                      target: .probabilities([Double](repeating: 1.0 / 1024, count: k)))
                expectBits(try Oracle().evaluateRounded(g).rounded, [Double](repeating: nan, count: k), "\(name) \(format) grad")
                let e = OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(1))
                expectBits(try Oracle().evaluateRounded(e).rounded, [nan], "\(name) \(format) cross_entropy")
            }
        }
    }
}
