import DoubleWordArithmetic
import Foundation
import MPFR
@testable import SoftmaxOracle
import Testing

/// Rows whose finite logits lie within 2^-110 of one another (TinySpreadRow.swift): the scan's
/// window at its edges, each stated bound against a 4000-bit MPFR evaluation of the textbook
/// formulas (`BruteForce`) on rows whose spread reaches the window, and every function's outputs
/// against the MPFR path (rounded bit for bit, exact values within 2^-39 ulps) in every format.
/// Failure messages carry the seed.
@Suite("Tiny-spread rows: one certified value per row, no exponential")
struct TinySpreadRowTests {
    static let seed: UInt64 = 0x7157_5EED_2026_0001
    static let mpfr = Oracle(doubleWordTier: false)

    /// A row of k logits: subnormals and ±0 (the harness's subnormal_logits), a spread just under
    /// the window around 0, equal logits (any double), or a tiny normal base; a third of the rows
    /// with some −inf.
    static func row(_ rng: inout SplitMix64, count k: Int) -> [Double] {
        var x: [Double]
        switch rng.int(0...3) {
        case 0:
            x = (0..<k).map { _ in (rng.oneIn(2) ? -1.0 : 1.0) * Double(rng.next() >> 12) * 0x1p-1074 }
        case 1:
            x = [0] + (1..<k).map { _ in rng.uniform(-1, 1) * 0x1p-111 }
        case 2:
            let b = rng.oneIn(4) ? rng.uniform(-1, 1) * pow2(rng.int(-1000...1000)) : rng.uniform(-60, 60)
            x = [Double](repeating: b, count: k)
        default:
            let b = rng.uniform(1, 2) * pow2(-rng.int(112...1000)) * (rng.oneIn(2) ? -1 : 1)
            x = (0..<k).map { _ in b + rng.uniform(-1, 1) * 0x1p-113 }
        }
        if rng.oneIn(3) {
            for _ in 0..<rng.int(1...Swift.max(1, k / 3)) { x[rng.index(k)] = -.infinity }
        }
        return x
    }

    @Test("the scan's window: |x_j − a| < 2^-111 in, 2^-111 out; NaN, +inf, fewer than two finite logits out")
    func window() {
        func scan(_ x: [Double]) -> DoubleWordTier.TinySpread? { x.withUnsafeBufferPointer { DoubleWordTier.tinySpreadScan($0) } }
        let edge = 0x1p-111, inside = 0x1p-111.nextDown
        for k in [2, 3, 4, 5, 8, 9] {  // lanes and the scalar tail
            for j in 1..<k {
                var x = [Double](repeating: 0, count: k)
                x[j] = inside
                #expect(scan(x)?.m == inside, "k \(k), x[\(j)] = 2^-111 − ulp")
                x[j] = -inside
                #expect(scan(x)?.m == 0, "k \(k), x[\(j)] = −(2^-111 − ulp)")
                for v in [edge, -edge, .nan, .infinity, 1] {
                    x[j] = v
                    #expect(scan(x) == nil, "k \(k), x[\(j)] = \(hex(v))")
                }
                x[j] = -.infinity
                let s = scan(x)
                #expect(s?.finite == k - 1 && s?.negativeInfinity == true || k == 2 && s == nil, "k \(k), x[\(j)] = −inf")
            }
        }
        #expect(scan([0]) == nil && scan([-.infinity, -.infinity]) == nil && scan([-.infinity, 3, 3])?.finite == 2)
        // The spread of a row is below 2^-110: two logits 2^-111 − ulp either side of a are out.
        #expect(scan([0, inside, -inside]) != nil && scan([inside, -inside]) == nil)
    }

    /// Whether the real |v − (hi + lo)| <= bound (4000-bit MPFR: exact for these operands).
    static func within(_ v: BigFloat, _ hi: Double, _ lo: Double, _ bound: Double) -> Bool {
        let d = BruteForce.sub(BruteForce.sub(v, BruteForce.exact(hi)), BruteForce.exact(lo))
        return d.compare(BruteForce.exact(bound)) <= 0 && d.compare(BruteForce.exact(-bound)) >= 0
    }

    @Test("each stated bound holds: ŝ = n − 1 within 2^-109·s, softmax, log_softmax, the gradient entries")
    func bounds() {
        var rng = SplitMix64(seed: Self.seed)
        var checked = 0
        for n in 0..<300 {
            let k = [2, 3, 4, 7, 16, 33][n % 6]
            // Spreads reaching the window (e^(d_j) − 1 near −2^-110) and subnormal rows.
            let x = n % 3 == 0 ? Self.row(&rng, count: k)
                : [0] + (1..<k).map { _ in (rng.oneIn(2) ? -1 : 1) * 0x1p-111 * (1 - pow2(-rng.int(1...52))) }
            let note = "seed \(Self.seed), row \(n): \(hex(x))"
            guard let row = x.withUnsafeBufferPointer({ DoubleWordTier.tinySpreadScan($0) }), let lp = row.logPart else { continue }
            checked += 1
            let finite = x.filter { $0 > -.infinity }
            let maxIndex = x.firstIndex(of: row.m)!
            // s = Σ_{j≠M} e^(x_j − m), 1/S, L = log S.
            let terms = x.indices.filter { $0 != maxIndex && x[$0] > -.infinity }
                .map { BruteForce.exp(BruteForce.sub(BruteForce.exact(x[$0]), BruteForce.exact(row.m))) }
            let s = BruteForce.sum(terms)
            let sHat = Double(row.finite - 1)
            #expect(row.finite == finite.count && row.m == finite.max()!, "\(note)")
            #expect(Self.within(s, sHat, 0, sHat * 0x1p-109), "ŝ = n − 1: \(note)")
            let bigS = BruteForce.add(s, BruteForce.one)
            let (inverse, epsInverse) = DoubleWordTier.inverseOfOnePlus(ScaledDoubleWord(sHat).normalized(), relativeError: 0x1p-109)
            let softmaxError = roundedUp((0x1p-110 + epsInverse) * inverse.hi * (1 + 0x1p-50))
            let logError = roundedUp(lp.plainAbsoluteError + 0x1p-110)
            let b = DoubleWord.product(DoubleWord(sHat, 0), inverse)
            let epsB = roundedUp(0x1p-109 + epsInverse + 8.1 * unitRoundoffSquared)
            for i in x.indices where x[i] > -.infinity {
                let e = BruteForce.exp(BruteForce.sub(BruteForce.exact(x[i]), BruteForce.exact(row.m)))
                #expect(Self.within(BruteForce.div(e, bigS), inverse.hi, inverse.lo, softmaxError), "softmax_\(i): \(note)")
                let logSoftmax = BruteForce.sub(BruteForce.sub(BruteForce.exact(x[i]), BruteForce.exact(row.m)), BruteForce.log(bigS))
                #expect(Self.within(logSoftmax, -lp.plain.hi, -lp.plain.lo, logError), "log_softmax_\(i): \(note)")
                // softmax_t − 1 = −B_t/S.
                let gradient = BruteForce.sub(BruteForce.div(e, bigS), BruteForce.one)
                #expect(Self.within(gradient, -b.hi, -b.lo, epsB * (1 + 0x1p-50) * b.hi), "gradient_\(i): \(note)")
            }
        }
        #expect(checked > 250, "seed \(Self.seed): \(checked) rows checked")
    }

    /// The request for function f on x, with a target drawn from rng where f takes one.
    static func request(_ f: OracleFunction, _ format: Format, _ x: [Double], probabilities: Bool,
                        _ rng: inout SplitMix64) -> OracleRequest {
        var q = OracleRequest(function: f, format: format, logits: x)
        if f == .crossEntropy || f == .crossEntropyGrad {
            q.target = probabilities ? .probabilities(x.map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 })
                                     : .index(rng.index(x.count))
        }
        return q
    }

    /// `tinyProbabilityGradient` keeps 64 outputs by p_c's bits, an empty slot holding a key whose
    /// own slot is another: with +0 targets (bits 0: slot 0, whose empty key is not 0, and the
    /// empty key of every other slot), targets one bit apart, 300 distinct targets (each slot
    /// taken over many times) and −inf logits among them, every output is the MPFR path's.
    @Test("probability targets: the 64-slot table of outputs by p_c")
    func probabilityTable() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0x64)
        for n in 0..<6 {
            let k = 700
            var x = Self.row(&rng, count: k)
            if n % 2 == 1 { for _ in 0..<20 { x[rng.index(k)] = -.infinity } }
            let p: [Double] = (0..<k).map { j in
                switch j % 4 {
                case 0: return 0
                case 1: return Double(1 + rng.int(0...299)) / 256
                case 2: return Double(bitPattern: UInt64(rng.int(0...1)) + 0x3FE0_0000_0000_0000)  // 0.5 and 0.5⁺
                default: return Double(rng.int(1...16)) / 16
                }
            }
            for format in [Format.f64, .f32, .bf16] {
                let q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .probabilities(p))
                _ = try TierCoverageAgreementTests.compare(q, "seed \(Self.seed ^ 0x64), row \(n), \(format)")
                guard let whole = try? Oracle().evaluate(q) else { continue }  // (the MPFR path threw too: compared above)
                expectBits(try Oracle().evaluateRounded(q).rounded, whole.rounded, "rounded alone: seed \(Self.seed ^ 0x64), row \(n), \(format)")
            }
        }
    }

    @Test("every function in every format: the MPFR path's rounded values, exact values within 2^-39 ulps",
          arguments: [OracleFunction.logsumexp, .softmax, .logSoftmax, .crossEntropy, .crossEntropyGrad])
    func againstMPFRPath(function f: OracleFunction) throws {
        var rng = SplitMix64(seed: Self.seed &+ UInt64(f.rawValue.count))
        var answered = 0, total = 0
        for n in 0..<48 {
            // Powers of two among the sizes: 1/n is then a value, or a midpoint, of some formats.
            let k = [2, 3, 4, 7, 8, 16, 31, 64, 1024][n % 9]
            let x = Self.row(&rng, count: k)
            for format in Format.allCases {
                for probabilities in f == .crossEntropyGrad ? [false, true] : [false] {
                    let q = Self.request(f, format, x, probabilities: probabilities, &rng)
                    let note = "\(f) \(format), probabilities \(probabilities), seed \(Self.seed), row \(n): \(hex(x))"
                    total += 1
                    guard let values = DoubleWordTier.tinySpreadRow(q, threads: 1) else { continue }
                    answered += 1
                    let b: OracleResult
                    do { b = try Self.mpfr.evaluate(q) } catch {
                        Issue.record("the tier answered where the MPFR path threw \(error); \(note)")
                        continue
                    }
                    expectBits(values.map(\.rounded), b.rounded, "\(note)")
                    for (i, (v, w)) in zip(values, b.values).enumerated() where v.exact.kind == .finite && w.exact.kind == .finite {
                        let d = ExactValueAccuracyTests.distanceInULPs(v.exact, DoubleWordTierAgreementTests.bigValue(w.exact), format)
                        #expect(d <= 0x1p-39, "output \(i): exact values \(d) ulps apart; \(note)")
                    }
                }
            }
        }
        print("tiny-spread \(f): \(answered) of \(total) answered")
        #expect(answered * 2 > total, "seed \(Self.seed): \(answered) of \(total) answered")
    }

    @Test("a long row on two threads: the same outputs as on one, and as the MPFR path's")
    func longRow() throws {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        var x = (0..<20_000).map { _ in Double(rng.next() >> 12) * 0x1p-1074 * (rng.oneIn(2) ? -1 : 1) }
        x[17] = -.infinity
        for f in [OracleFunction.softmax, .crossEntropyGrad] {
            for probabilities in [false, true] where f == .crossEntropyGrad || !probabilities {
                let q = Self.request(f, .f64, x, probabilities: probabilities, &rng)
                let one = try #require(DoubleWordTier.tinySpreadRow(q, threads: 1))
                let two = try #require(DoubleWordTier.tinySpreadRow(q, threads: 2))
                #expect(one == two, "\(f), probabilities \(probabilities)")
                let reference = try Self.mpfr.evaluate(q).rounded
                expectBits(one.map(\.rounded), reference, "\(f), probabilities \(probabilities), seed \(Self.seed ^ 2)")
            }
        }
    }
}
