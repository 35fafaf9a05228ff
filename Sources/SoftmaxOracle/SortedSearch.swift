// Binary search in a sorted collection (the standard library has none): the partitioning index
// of a predicate, and from it the position of a value in an increasing collection.

extension RandomAccessCollection {
    /// The first index whose element satisfies `isInSecondPart`, or `endIndex` when none does,
    /// for a collection that the predicate partitions: every element that fails it comes before
    /// every element that satisfies it (e.g. `{ $0 >= v }` on a nondecreasing collection).
    /// About log₂(count) + 1 calls of the predicate.
    func partitioningIndex(where isInSecondPart: (Element) throws -> Bool) rethrows -> Index {
        // Invariant: every element before `low` fails the predicate, and every element from
        // `high` on satisfies it; the range low..<high, still unknown, halves each step.
        var low = startIndex, high = endIndex
        while low != high {
            let mid = index(low, offsetBy: distance(from: low, to: high) / 2)  // low <= mid < high
            if try isInSecondPart(self[mid]) { high = mid } else { low = index(after: mid) }
        }
        return low
    }
}

extension RandomAccessCollection where Element: Comparable {
    /// The index of the first element equal to `value` in this nondecreasing collection, or nil
    /// when there is none.
    func sortedIndex(of value: Element) -> Index? {
        let i = partitioningIndex { $0 >= value }
        return i != endIndex && self[i] == value ? i : nil
    }
}
