import Dispatch
import Synchronization

/// The two ways this package spreads work over threads (`DispatchQueue.concurrentPerform`):
/// ``map(_:threads:_:)`` hands out items one at a time, ``forEachChunk(count:chunks:_:)`` splits
/// an index range into consecutive pieces. Both return results in input order, so a result never
/// depends on the thread count as long as `body` does not.
///
/// Neither knows about MPFR: code that runs the oracle on several threads goes through
/// `OracleParallelism` (AccuracyHarness), which applies MPFR's thread-safety rule.
public enum Parallel {
    /// `items.map(body)`, computed on up to `threads` threads.
    ///
    /// Items are handed out one at a time (a costly item, such as a large-K case, does not hold
    /// up a whole chunk of cheap ones). With `threads <= 1` or at most one item, `body` runs on
    /// the calling thread, in order.
    ///
    /// - Postcondition: the result is `items.map(body)`, in `items`' order, whatever `threads` is.
    public static func map<T: Sendable, R: Sendable>(_ items: [T], threads: Int, _ body: @Sendable (T) -> R) -> [R] {
        let workers = Swift.min(Swift.max(1, threads), items.count)
        if workers <= 1 { return items.map(body) }
        let results = Mutex<[R?]>([R?](repeating: nil, count: items.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= items.count { return }
                let r = body(items[i])
                results.withLock { $0[i] = r }
            }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// `body(range)` for `chunks` consecutive ranges that cover `0..<n`, run concurrently (up to
    /// `chunks` at once); the results in range order.
    ///
    /// Chunk `c` is `(n * c / chunks)..<(n * (c + 1) / chunks)`, so the pieces differ in length
    /// by at most one. With `chunks <= 1` or `n < chunks`, `body(0..<n)` runs once on the calling
    /// thread and the result has one element.
    ///
    /// `body` need not be `Sendable`: the caller promises that concurrent calls on disjoint
    /// ranges are safe (each chunk touches only its own range's memory).
    ///
    /// Inlinable: the oracle calls it a few times per request, and an unspecialized generic call
    /// from another module (boxing the closure and the result array) cost small requests about
    /// as much as their arithmetic.
    @inlinable
    public static func forEachChunk<R>(count n: Int, chunks: Int, _ body: (Range<Int>) -> R) -> [R] {
        if chunks <= 1 || n < chunks { return [body(0..<n)] }
        let results = UnsafeMutablePointer<R?>.allocate(capacity: chunks)
        results.initialize(repeating: nil, count: chunks)
        defer {
            results.deinitialize(count: chunks)
            results.deallocate()
        }
        let out = UncheckedSendable(value: results)
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(value: body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let range = (n * c / chunks)..<(n * (c + 1) / chunks)
                out.value[c] = work.value(range)
            }
        }
        return (0..<chunks).map { results[$0]! }
    }
}

/// Carries a value into `concurrentPerform`'s `Sendable` closure; safe here because each
/// iteration writes only its own result slot and `body` is only called on disjoint ranges.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(value: T) { self.value = value }
}
