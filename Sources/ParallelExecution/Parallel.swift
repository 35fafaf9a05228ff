#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
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

    /// `body(range)` for consecutive ranges that cover `0..<n`, split over threads only when the
    /// work repays them; the results in range order.
    ///
    /// `body(0..<p)` runs first on the calling thread, timed, with p = n/16 (at least 1). If the
    /// rest, at that pace, would take at least `minimumNanoseconds`, `p..<n` is split into
    /// `chunks` pieces run concurrently (piece c starts at p + m·c/chunks, m = n − p, as
    /// ``forEachChunk(count:chunks:_:)`` splits `0..<m`); else it runs as one more piece on the
    /// calling thread (also when m < `chunks`). So the ranges are `0..<p` and then either `p..<n`
    /// or the `chunks` pieces of it; with `chunks <= 1` or `n < chunks`, `0..<n` alone, untimed.
    ///
    /// For short-lived processes that answer one request (`softmax-oracle eval`): the first
    /// concurrent run of a process starts dispatch's worker threads, which costs a few tenths of
    /// a millisecond of wall and CPU time, more than many stages take on one thread; a stage
    /// whose items cost microseconds each takes milliseconds and gains almost half of that from
    /// a second core. The time includes the page faults the first piece meets, so a stage that
    /// writes fresh memory splits somewhat sooner.
    ///
    /// Only the split depends on the timing: a caller whose results do not depend on where the
    /// ranges end gets the same results every time.
    @inlinable
    public static func forEachChunkWhenWorthIt<R>(count n: Int, chunks: Int, minimumNanoseconds: UInt64,
                                                  _ body: (Range<Int>) -> R) -> [R] {
        if chunks <= 1 || n < chunks { return [body(0..<n)] }
        let probe = Swift.max(1, n / 16)
        let start = monotonicNanoseconds()
        let first = body(0..<probe)
        let elapsed = monotonicNanoseconds() &- start
        let rest = n - probe
        if rest < chunks || Double(elapsed) * Double(rest) < Double(minimumNanoseconds) * Double(probe) {
            return [first, body(probe..<n)]
        }
        let pieces = forEachChunk(count: rest, chunks: chunks) { r in body((probe + r.lowerBound)..<(probe + r.upperBound)) }
        return [first] + pieces
    }

    /// The monotonic clock, in nanoseconds (`clock_gettime(CLOCK_MONOTONIC)`, no system call
    /// on Linux: the vDSO).
    @usableFromInline
    static func monotonicNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }
}

/// Carries a value into `concurrentPerform`'s `Sendable` closure; safe here because each
/// iteration writes only its own result slot and `body` is only called on disjoint ranges.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(value: T) { self.value = value }
}
