import MPFR
@testable import SoftmaxOracle
import Testing

/// `IntervalArithmetic.exactSum` (RefinedProbabilityGradient.swift), the refined gradient's
/// P = Σ p_j: its interval must hold the exact sum (MPFR at 2400 bits, exact for these inputs)
/// and be as narrow as one outward rounding per end allows.
@Suite("Refined gradient: the targets' exact sum")
struct ExactTargetSumTests {
    static let seed: UInt64 = 0x5E7_7A26

    @Test("exactSum holds the exact sum, within one rounding per end")
    func holdsExactSum() {
        var rng = SplitMix64(seed: Self.seed)
        for w in [128, 384] {
            let a = IntervalArithmetic(precision: w)
            for trial in 0..<200 {
                let n = rng.int(1...3000)
                var xs: [Double] = []
                for _ in 0..<n {
                    switch rng.int(0...3) {
                    case 0: xs.append(0)
                    case 1: xs.append(Double(rng.int(1...16)) / 16)  // the harness's j/16 targets
                    case 2: xs.append((rng.oneIn(2) ? 1 : -1) * rng.unit() * pow2(rng.int(-60...60)))
                    default: xs.append(rng.unit() * pow2(rng.int(trial % 2 == 0 ? -1000...1000 : -3...3)))
                    }
                }
                let exact = BigFloat(precision: 2400)
                ExponentRange.widest {
                    exact.set(0, .nearest)
                    for x in xs { exact.add(exact, big(x), .nearest) }  // exact: the terms span < 2100 bits
                }
                let got = xs.withUnsafeBufferPointer { a.exactSum($0) }
                let note = "seed \(Self.seed) trial \(trial) w \(w) n \(n)"
                #expect(got.lo.compare(exact) <= 0 && got.hi.compare(exact) >= 0, "\(note)")
                // One rounding per end: lo and hi are RD and RU of the exact sum at w bits.
                let down = BigFloat(precision: w), up = BigFloat(precision: w)
                ExponentRange.widest {
                    down.set(exact, .down)
                    up.set(exact, .up)
                }
                #expect(got.lo.compare(down) == 0 && got.hi.compare(up) == 0, "\(note)")
            }
        }
    }
}
