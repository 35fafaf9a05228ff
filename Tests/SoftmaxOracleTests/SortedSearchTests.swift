@testable import SoftmaxOracle
import Testing

/// `partitioningIndex(where:)` and `sortedIndex(of:)` (SortedSearch.swift), against a linear
/// scan of the same collection: the first element that satisfies the predicate (`firstIndex`),
/// and the first element equal to the value.
@Suite("sorted search: the partitioning index and a value's index, as a linear scan finds them")
struct SortedSearchTests {
    /// Nondecreasing arrays: empty, one element, distinct, runs of duplicates, all equal,
    /// negative values.
    static let arrays: [[Int]] = [
        [], [5], [1, 3], [1, 3, 5, 7, 9], [0, 1, 2, 3, 4, 5, 6, 7],
        [1, 1, 2, 2, 2, 9], [4, 4, 4, 4], [-7, -7, -2, 0, 0, 3, 3, 3, 11],
        Array(stride(from: 0, to: 300, by: 3)),
    ]

    /// Every value from below the first element to above the last: present (first, last,
    /// inner, duplicated) and absent (below, between, above).
    static func probes(_ a: [Int]) -> ClosedRange<Int> { ((a.first ?? 0) - 2)...((a.last ?? 0) + 2) }

    @Test("partitioningIndex { $0 >= v } is the first index a linear scan finds, or endIndex")
    func partitioningIndexIsFirstMatch() {
        for a in Self.arrays {
            for v in Self.probes(a) {
                let want = a.firstIndex { $0 >= v } ?? a.endIndex
                #expect(a.partitioningIndex { $0 >= v } == want, "\(a), v = \(v)")
                let strict = a.firstIndex { $0 > v } ?? a.endIndex
                #expect(a.partitioningIndex { $0 > v } == strict, "\(a), > \(v)")
            }
        }
    }

    @Test("sortedIndex(of:) is the first index of the value, nil when absent")
    func sortedIndexIsFirstIndex() {
        for a in Self.arrays {
            for v in Self.probes(a) { #expect(a.sortedIndex(of: v) == a.firstIndex(of: v), "\(a), v = \(v)") }
        }
    }

    @Test("on a slice, the indices are the slice's own (not from 0)")
    func sliceIndices() {
        let a = [1, 2, 2, 4, 8, 8, 8, 16, 32]
        for range in [2..<7, 0..<0, 3..<4, 5..<9] {
            let s = a[range]
            for v in -1...33 {
                #expect(s.partitioningIndex { $0 >= v } == (s.firstIndex { $0 >= v } ?? s.endIndex), "\(range), v = \(v)")
                #expect(s.sortedIndex(of: v) == s.firstIndex(of: v), "\(range), v = \(v)")
            }
        }
    }

    @Test("the predicate is called about log2(n) + 1 times, not n")
    func logarithmicCalls() {
        let a = Array(0..<1000)
        for v in [-1, 0, 1, 499, 500, 998, 999, 1000] {
            var calls = 0
            _ = a.partitioningIndex { calls += 1; return $0 >= v }
            #expect(calls <= 11, "v = \(v): \(calls) calls")
        }
    }
}
