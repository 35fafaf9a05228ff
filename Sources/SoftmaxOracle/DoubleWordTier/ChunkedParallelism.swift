// The double-word tier's threads: the processor count, and a chunked map whose results come back
// in chunk order. Every caller combines the chunks' results in that order with exact (or
// order-fixed) operations, so the tier's outputs do not depend on the thread count.
//
// A shared parallel-execution module with the same `forEachChunk(count:chunks:_:)` is meant to
// replace this file; the semantics above are what it must keep.

import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DoubleWordTier {
    /// The number of online processors (at least 1): the default thread count.
    static let processorCount: Int = {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()

    /// body(range) for `chunks` consecutive ranges covering 0..<n, on up to `chunks` threads
    /// (DispatchQueue.concurrentPerform); the results in range order. One range, 0..<n, when
    /// chunks <= 1 or n < chunks. Range c is n·c/chunks ..< n·(c+1)/chunks: the split depends only
    /// on n and chunks.
    static func forEachChunk<R>(count n: Int, chunks: Int, _ body: (Range<Int>) -> R) -> [R] {
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
