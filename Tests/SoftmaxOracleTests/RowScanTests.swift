import Foundation
@testable import SoftmaxOracle
import Testing

/// The row scan's group skips (four, and sixteen, logits at most the second largest so far) against the plain
/// one-by-one pass written from its definition: the same maximum, first index of the maximum,
/// second largest and specials, on rows with ties, −inf, NaN, +inf and every length mod 4.
@Suite("Double-word tier: the row scan = the one-by-one pass")
struct RowScanTests {
    static let seed: UInt64 = 0x5CA7_0000_0013

    /// The definition: m = max over non-special logits (first index), the largest of the others.
    static func reference(_ x: [Double]) -> (max: Double, maxIndex: Int, second: Double, special: Bool) {
        var m = -Double.infinity, mi = -1, second = -Double.infinity, special = false
        for (j, v) in x.enumerated() {
            if v.isNaN || v == .infinity { special = true; continue }
            if v > m { m = v; mi = j }
        }
        for (j, v) in x.enumerated() where j != mi && !(v.isNaN || v == .infinity) && mi >= 0 {
            second = Swift.max(second, v)
        }
        return (m, mi, second, special)
    }

    @Test("random rows with ties and specials; seed printed")
    func agrees() {
        var rng = SplitMix64(seed: Self.seed)
        for round in 0..<3000 {
            let k = rng.int(1...(round % 2 == 0 ? 40 : 90))  // (sixteen-logit groups, then fours, then ones)
            let x: [Double] = (0..<k).map { _ in
                switch rng.int(0...19) {
                case 0: return -.infinity
                case 1 where round % 3 == 0: return .nan
                case 2 where round % 5 == 0: return .infinity
                case 3...6: return Double(rng.int(-2...2))  // ties
                default: return rng.uniform(-50, 50)
                }
            }
            let want = Self.reference(x)
            let got = x.withUnsafeBufferPointer { DoubleWordTier.RowScan.of($0, 0..<k) }
            #expect(got.special == want.special, "seed \(Self.seed) round \(round) \(hex(x))")
            if !want.special {
                #expect(got.maxIndex == want.maxIndex && got.max.bitPattern == want.max.bitPattern
                        && got.second.bitPattern == want.second.bitPattern,
                        "seed \(Self.seed) round \(round) \(hex(x)): \(got) vs \(want)")
            }
        }
    }
}
