@testable import SoftmaxOracle
import Testing

/// cross_entropy_grad with probability targets on wide rows (WideRow.swift,
/// `wideProbabilityGradient`): `evaluateRounded` writes the rounded values alone, `evaluate`
/// whole outputs; both the MPFR path's values in every format.
@Suite("Wide rows, probability targets: rounded alone")
struct WideProbabilityGradientTests {
    static let seed: UInt64 = 0x31DE_9A0B_0000_0001

    static func row(_ rng: inout SplitMix64, count k: Int) -> (x: [Double], p: [Double]) {
        var x = (0..<k).map { _ in rng.oneIn(3) ? rng.uniform(-1, 1) * pow2(rng.int(-1074...1023)) : rng.uniform(-1, 1) * 1e300 }
        for _ in 0..<3 { x[rng.index(k)] = -.infinity }
        x[rng.index(k)] = 1.5e306  // the maximum, far above the rest
        let p = (0..<k).map { _ in rng.oneIn(4) ? 0 : (rng.oneIn(2) ? Double(rng.int(1...16)) / 16 : rng.unit()) }
        return (x, p)
    }

    @Test("every format, one thread and a long row on two")
    func agree() throws {
        var rng = SplitMix64(seed: Self.seed)
        let mpfr = Oracle(doubleWordTier: false)
        for format in Format.allCases {
            let (x, p) = Self.row(&rng, count: 2500)
            let q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .probabilities(p))
            let want = try mpfr.evaluate(q).rounded
            let got = try Oracle(threads: 1).evaluateRounded(q)
            // (In e5m2 and e4m3fn some −j/16 is a rounding boundary: the tier declines such rows.)
            if format.precision >= 8, case .certified = got.values { Issue.record("\(format): rounded values alone expected") }
            expectBits(got.rounded, want, "\(format) seed \(Self.seed)")
            expectBits(try Oracle(threads: 1).evaluate(q).rounded, want, "\(format) seed \(Self.seed)")
        }
        // A long row on two threads (chunks), against one thread's `evaluate` (the MPFR path is slow there).
        let (x, p) = Self.row(&rng, count: 40_000)
        for format in [Format.f64, .bf16] {
            let q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .probabilities(p))
            expectBits(try Oracle(threads: 2).evaluateRounded(q).rounded, try Oracle(threads: 1).evaluate(q).rounded, "long row \(format)")
        }
    }

    /// Targets j/16 alone: P is exact in binary64, and R = P − p_M is taken by TwoSum without the
    /// fixed-point passes; the outputs (R − τP at the maximum) must round as the MPFR
    /// path's. Also the row whose only positive target is at the maximum (R = 0).
    @Test("exact P: R by TwoSum, every format; R = 0")
    func exactTotal() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0x5)
        let mpfr = Oracle(doubleWordTier: false)
        for format in Format.allCases {
            var (x, p) = Self.row(&rng, count: 1500)
            p = p.map { $0 == 0 ? 0 : Double(rng.int(1...16)) / 16 }
            let m = x.indices.max { x[$0] < x[$1] }!
            for onlyAtMaximum in [false, true] {
                if onlyAtMaximum { p = p.indices.map { $0 == m ? 0.75 : 0 } }
                let q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .probabilities(p))
                let want = try mpfr.evaluate(q).values
                expectBits(try Oracle(threads: 1).evaluateRounded(q).rounded, want.map(\.rounded), "\(format) \(onlyAtMaximum)")
                expectBits(try Oracle(threads: 1).evaluate(q).rounded, want.map(\.rounded), "\(format) \(onlyAtMaximum)")
            }
        }
    }
}
