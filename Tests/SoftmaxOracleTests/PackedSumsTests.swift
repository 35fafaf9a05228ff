import MPFR
@testable import SoftmaxOracle
import Testing

/// The sums that replace lists of per-logit intervals (PackedSums.swift): expected values from
/// the computation they replace, written out again here (`w.sum` of an array of intervals),
/// which must give the same bits.
@Suite("MPFR path: packed sums")
struct PackedSumsTests {
    static func terms(_ w: IntervalArithmetic, _ seed: UInt64) -> [Interval?] {
        var rng = SplitMix64(seed: seed)
        return (0..<300).map { j -> Interval? in
            switch rng.int(0...5) {
            case 0: return nil
            case 1: return w.exp(w.sub(w.point(rng.uniform(-50, 0)), w.point(1e-300)))
            case 2: return w.mul(w.exp(w.point(rng.uniform(-5, 0))), w.point(rng.uniform(-3, 3)))
            case 3: return w.zero
            case 4: return w.neg(w.log1p(w.point(Double(j) * 0x1p-20)))
            default: return w.point(rng.uniform(-1, 1))
            }
        }.map { $0.map { t in
            // Every end at w's precision, as the callers' terms (fresh `IntervalArithmetic` results).
            w.add(t, w.zero)
        } }
    }

    @Test("packedSum gives w.sum's bits, with either store", arguments: [64, 93, 200])
    func sameSums(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        for seed in 1...4 as ClosedRange<UInt64> {
            let t = Self.terms(w, seed)
            let want = w.sum(t.compactMap { $0 })
            let one = w.packedSum(count: t.count) { t[$0] }
            let two = w.packedSum(count: t.count, store: PackedFloats(count: t.count, precision: precision)) { t[$0] }
            #expect(CompactTermsTests.same(one, want) && CompactTermsTests.same(two, want), "seed \(seed) at \(precision) bits")
        }
        let none = w.packedSum(count: 5) { _ in nil }
        #expect(CompactTermsTests.same(none, w.zero), "no term: the exact 0")
    }
}
