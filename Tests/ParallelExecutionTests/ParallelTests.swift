import Foundation
import ParallelExecution
import Synchronization
import Testing

@Suite("Parallel execution")
struct ParallelTests {
    @Test("map keeps the input order and equals a sequential map, whatever the thread count")
    func mapOrder() {
        let items = Array(0..<1000)
        let expected = items.map { $0 * $0 - 7 }
        for threads in [-1, 0, 1, 2, 3, 8, 5000] {
            #expect(Parallel.map(items, threads: threads) { $0 * $0 - 7 } == expected, "threads \(threads)")
        }
        #expect(Parallel.map([Int](), threads: 4) { $0 }.isEmpty)
        #expect(Parallel.map([41], threads: 4) { $0 + 1 } == [42])
    }

    @Test("map calls body exactly once per item")
    func mapOnce() {
        let calls = Mutex([Int](repeating: 0, count: 257))
        _ = Parallel.map(Array(0..<257), threads: 4) { i in calls.withLock { $0[i] += 1 } }
        #expect(calls.withLock { $0 } == [Int](repeating: 1, count: 257))
    }

    @Test("forEachChunk: `chunks` consecutive ranges covering 0..<n, chunk c = n·c/chunks ..< n·(c+1)/chunks")
    func chunks() {
        for (n, chunks) in [(100, 4), (7, 3), (10, 10), (1_000_003, 16)] {
            let ranges = Parallel.forEachChunk(count: n, chunks: chunks) { $0 }
            #expect(ranges == (0..<chunks).map { c in (n * c / chunks)..<(n * (c + 1) / chunks) })
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == n)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
        // One chunk, or fewer items than chunks: one call on the whole range.
        #expect(Parallel.forEachChunk(count: 5, chunks: 1) { $0 } == [0..<5])
        #expect(Parallel.forEachChunk(count: 3, chunks: 4) { $0 } == [0..<3])
        #expect(Parallel.forEachChunk(count: 0, chunks: 0) { $0 } == [0..<0])
    }

    @Test("forEachChunk results are in range order (sums of disjoint slices)")
    func chunkSums() {
        let values = (0..<10_000).map { Double($0) }
        let sums = values.withUnsafeBufferPointer { buffer in
            Parallel.forEachChunk(count: buffer.count, chunks: 8) { r in buffer[r].reduce(0, +) }
        }
        #expect(sums.count == 8)
        #expect(sums.reduce(0, +) == 49_995_000)  // n(n-1)/2, exact in binary64
        #expect(sums.first == (0..<1250).reduce(0) { $0 + Double($1) })
    }

    @Test("forEachChunkWhenWorthIt: a timed first sixteenth, then the rest whole or in `chunks` pieces")
    func chunksWhenWorthIt() {
        for (n, chunks) in [(100, 4), (1_000_003, 16), (17, 2), (2, 2)] {
            let probe = Swift.max(1, n / 16)
            // Never worth it: the first piece and the rest, on the calling thread.
            let whole = Parallel.forEachChunkWhenWorthIt(count: n, chunks: chunks, minimumNanoseconds: .max) { $0 }
            #expect(whole == [0..<probe, probe..<n], "n \(n)")
            // Always worth it: the first piece, then `chunks` pieces of the rest.
            let split = Parallel.forEachChunkWhenWorthIt(count: n, chunks: chunks, minimumNanoseconds: 0) { $0 }
            let rest = n - probe
            let expected = rest < chunks ? [0..<probe, probe..<n]
                : [0..<probe] + (0..<chunks).map { c in (probe + rest * c / chunks)..<(probe + rest * (c + 1) / chunks) }
            #expect(split == expected, "n \(n), chunks \(chunks)")
        }
        // One chunk, or fewer items than chunks: one call on the whole range, as forEachChunk.
        #expect(Parallel.forEachChunkWhenWorthIt(count: 50, chunks: 1, minimumNanoseconds: 0) { $0 } == [0..<50])
        #expect(Parallel.forEachChunkWhenWorthIt(count: 3, chunks: 4, minimumNanoseconds: 0) { $0 } == [0..<3])
    }

    @Test("forEachChunkWhenWorthIt: every index once, results in order")
    func chunksWhenWorthItCoverOnce() {
        let values = (0..<100_000).map { Double($0) }
        for minimum: UInt64 in [0, .max] {
            let calls = Mutex([Int](repeating: 0, count: values.count))
            let sums = values.withUnsafeBufferPointer { buffer in
                Parallel.forEachChunkWhenWorthIt(count: buffer.count, chunks: 8, minimumNanoseconds: minimum) { r in
                    calls.withLock { c in for i in r { c[i] += 1 } }
                    return buffer[r].reduce(0, +)
                }
            }
            #expect(sums.reduce(0, +) == 4_999_950_000, "minimum \(minimum)")  // n(n-1)/2, exact in binary64
            #expect(sums.first == (0..<6250).reduce(0) { $0 + Double($1) }, "minimum \(minimum): the first piece first")
            #expect(calls.withLock { $0.allSatisfy { $0 == 1 } }, "minimum \(minimum)")
        }
    }

    @Test func processorCount() {
        #expect(ProcessorCount.online >= 1)
    }

    /// On Linux the count is the process's CPU affinity, which the kernel also states as text in
    /// /proc/self/status (`Cpus_allowed_list:\t0-3,8`): `taskset -c 0 swift test` gives 1.
    @Test func processorCountIsTheAffinity() throws {
        #if os(Linux)
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        var allowed = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
            let ends = range.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            allowed += ends.count == 2 ? ends[1] - ends[0] + 1 : 1
        }
        #expect(ProcessorCount.online == allowed)
        #endif
    }
}
