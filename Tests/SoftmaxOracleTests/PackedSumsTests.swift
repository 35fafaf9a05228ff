import MPFR
@testable import SoftmaxOracle
import Testing

/// The sums that replace lists of per-logit intervals (PackedSums.swift) and the grouping of
/// softmax_backward's logits without a table of groups (`Backward.Groups`): expected values from
/// the computations they replace, written out again here (`w.sum` of an array of intervals; a
/// dictionary of each group's members), which must give the same bits.
@Suite("MPFR path: packed sums and backward groups")
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

    /// The grouping the backward used to keep: a dictionary from value to the group's dy.
    static func tableGroups(_ x: [Double], _ dy: [Double]) -> (top: Int, topSum: BigFloat, count: Int, level: Double?) {
        var members: [Double: [Double]] = [:]
        for (j, v) in x.enumerated() where v.isFinite { members[v + 0.0, default: []].append(dy[j]) }
        let keys = members.keys.sorted(by: >)
        let sums = keys.map { ExactArithmetic.sum(members[$0]!.map(ExactArithmetic.value)) }
        let n0 = members[keys[0]]!.count
        let other = keys.indices.dropFirst().first {
            Backward.product(sums[$0], n0).compare(Backward.product(sums[0], members[keys[$0]]!.count)) != 0
        }
        return (n0, sums[0], keys.count, other.map { keys[$0] })
    }

    @Test("backward groups: n_0, D_0, the number of groups and the first other mean, as the table's")
    func groups() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<300 {
            let k = rng.int(1...40)
            let x: [Double] = (0..<k).map { _ in [0.0, -0.0, 1, 2, -.infinity, 2, 1e300, -3][rng.int(0...(trial % 2 == 0 ? 3 : 7))] }
            guard x.contains(where: \.isFinite) else { continue }
            let dy: [Double] = (0..<k).map { j in trial % 3 == 0 ? 1 : trial % 3 == 1 ? Double(rng.int(0...2)) : x[j].isFinite ? x[j] : 0 }
            let g = Backward.Groups(x, dy)
            let want = Self.tableGroups(x, dy)
            #expect(g.topCount == want.top && g.topGradSum.compare(want.topSum) == 0 && g.groupCount == want.count,
                    "trial \(trial): \(x), \(dy)")
            #expect(g.level?.bitPattern == want.level?.bitPattern, "trial \(trial): level of \(x), \(dy)")
        }
    }
}
