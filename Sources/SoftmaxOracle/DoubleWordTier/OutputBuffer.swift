// The output array of softmax and log_softmax: allocated once, uninitialized, advised to use huge
// pages when large, and filled in place by chunks of indices (pairs on SIMD lanes where they
// certify, single outputs elsewhere).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DoubleWordTier {
    /// A value handed to other threads that write disjoint parts of it (the callers guarantee it).
    struct UncheckedSendable<T>: @unchecked Sendable {
        let value: T
    }

    /// A new array of n outputs, filled by `body` (true: all n initialized; false: give up, nil).
    /// An output array of 32 MB or more (glibc serves those with fresh mmaps every time) is
    /// advised to use transparent huge pages (Linux): writing it then costs one page fault per
    /// 2 MB instead of per 4 KB, which was most of the cost of filling 10^6 fresh outputs.
    /// (Smaller arrays come from reused heap memory, where the advice only costs time.)
    static func withOutputs(count n: Int, _ body: (UnsafeMutablePointer<OracleValue>) -> Bool) -> [OracleValue]? {
        if n == 0 { return [] }
        var ok = false
        let values = [OracleValue](unsafeUninitializedCapacity: n) { buffer, count in
            let base = buffer.baseAddress!
            adviseHugePages(UnsafeMutableRawPointer(base), bytes: n * MemoryLayout<OracleValue>.stride)
            ok = body(base)
            count = ok ? n : 0  // OracleValue is trivial: a partly written buffer needs no cleanup
        }
        return ok ? values : nil
    }

    /// Advises the whole pages of [p, p + bytes) to use transparent huge pages, for 32 MB or more
    /// (Linux; elsewhere nothing).
    static func adviseHugePages(_ p: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        guard bytes >= 32 << 20 else { return }
        let page = UInt(4096)
        let start = (UInt(bitPattern: p) + page - 1) & ~(page - 1)
        let end = (UInt(bitPattern: p) + UInt(bytes)) & ~(page - 1)
        if end > start {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_HUGEPAGE)
        }
        #endif
    }

    /// Initializes slots[0..<n] with the outputs, in ranges of indices on up to 2·threads
    /// threads for a row of `parallelThreshold` or more: at index i (with i + 1 in the same
    /// range) `pair(i, slots + i)` may write outputs i and i + 1 and return true; otherwise
    /// output i is `single(i)`. `pair` must write nothing when it returns false, and give the
    /// outputs `single` gives. False, with the slots partly written, when some `single(i)` is nil
    /// (the request then goes to the MPFR path).
    @inline(__always)
    static func fillOutputs(_ slots: UnsafeMutablePointer<OracleValue>, count n: Int, threads: Int,
                            pair: (Int, UnsafeMutablePointer<OracleValue>) -> Bool,
                            single: (Int) -> OracleValue?) -> Bool {
        let chunks = (threads > 1 && n >= parallelThreshold) ? threads * 2 : 1
        let base = UncheckedSendable(value: slots)
        let failures = forEachChunk(count: n, chunks: chunks) { range -> Bool in
            let out = base.value
            var i = range.lowerBound
            while i < range.upperBound {
                if i + 1 < range.upperBound && pair(i, out + i) {
                    i += 2
                    continue
                }
                guard let v = single(i) else { return true }
                (out + i).initialize(to: v)
                i += 1
            }
            return false
        }
        return !failures.contains(true)
    }
}
