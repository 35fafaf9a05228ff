import ParallelExecution

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a long flat row of floats on two threads: the row's text is cut at a comma near its
/// middle, the part before it is read on this thread and the part after it on another, and the
/// two are joined. The result (values, count, where reading stops) is the one-thread result:
///
/// - The first half is read by the one-thread loop itself (``JSONParser/scanElements(into:total:stoppingAt:)``)
///   and accepted only when an element ends exactly at the cut comma. Then the one-thread reading
///   is, up to that comma, the same sequence of steps (it reads the same bytes the same way), and
///   after it goes on where the second half starts: after the comma, whitespace skipped.
/// - When the first half does not reach the comma as a separator (the comma was inside a string,
///   an element is not a float, the syntax is wrong), the second half's work is thrown away and
///   the row is read again on one thread. So a bad row is reported as before: the fast scanner
///   only declines, and the generic parser names the error and its offset.
/// - When the first half reaches the comma and the second half fails, the row fails (the
///   one-thread reading would fail at the same element).
/// - ``JSONParser/floatLimit`` counts elements across both halves: the second half's values are
///   kept only up to the limit left after the first half.
extension JSONParser {
    /// The default of ``splitRowBytes``: 64 KiB (a few thousand floats, where a second thread's
    /// start-up is repaid), or never on a one-processor machine.
    static let defaultSplitRowBytes = ProcessorCount.online > 1 ? 1 << 16 : Int.max

    /// Where the flat row whose first element is at `i` may be cut: the offset of the first `,`
    /// at or after the middle of its text, when the text (up to the first `]`) has at least
    /// ``splitRowBytes`` bytes; else nil.
    ///
    /// A row that the fast scanner accepts has no `]` inside an element (numbers have none, and
    /// the accepted strings are hex floats, `inf` and `nan`), so its end is the first `]`. When
    /// the row is not such a row, the cut may fall anywhere: the first half then declines it.
    func splitPoint() -> Int? {
        guard splitRowBytes < Int.max, i < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let close = memchr(base + i, Int32(UInt8(ascii: "]")), bytes.count - i) else { return nil }
        let end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(close))
        guard end - i >= splitRowBytes else { return nil }
        let middle = i + (end - i) / 2
        guard let comma = memchr(base + middle, Int32(UInt8(ascii: ",")), end - middle) else { return nil }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(comma))
    }

    /// The rest of a flat row (from its first element at `i`) read on two threads, cut at the
    /// comma at offset `cut` (``splitPoint()``): the elements appended to `out` (empty on entry)
    /// and counted in `total`, `i` left after the row's `]`, and true; false when the row is not
    /// a row of floats; nil (`i`, `out` and `total` unchanged) when the first half declined the
    /// cut and the row must be read on one thread.
    mutating func scanSplitRow(_ cut: Int, into out: inout [Double], total: inout Int) -> Bool? {
        let start = self
        let totalBefore = total
        // The second half's array is allocated here, not on the other thread: from this
        // thread's heap (HeapReuse.swift), whose pages are reused and huge.
        var secondValues: [Double] = []
        secondValues.reserveCapacity(min((bytes.count - cut) / 2 + 1, floatLimit))
        let halves = Parallel.forEachChunk(count: 2, chunks: 2) { half -> (ok: Bool, end: Int, values: [Double], count: Int) in
            var parser = start
            if half.lowerBound == 0 {
                let ok = parser.scanElements(into: &out, total: &total, stoppingAt: cut)
                return (ok, parser.i, [], 0)
            }
            parser.i = cut + 1
            parser.skipWhitespace()
            var values: [Double] = []
            swap(&values, &secondValues)  // the array alone holds its storage: appends write in place
            var count = 0
            let ok = parser.scanElements(into: &values, total: &count, stoppingAt: nil)
            return (ok, parser.i, values, count)
        }
        guard halves[0].ok else {
            out.removeAll(keepingCapacity: true)
            total = totalBefore
            return nil
        }
        let second = halves[1]
        guard second.ok else { return false }
        // Element k of the second half (1-based) is element total + k of the row.
        out.append(contentsOf: second.values.prefix(max(0, floatLimit - total)))
        total += second.count
        i = second.end
        return true
    }
}
