import ParallelExecution

extension DoubleWordTier {
    /// How one stage of the tier (a scan, a sum, the outputs) spreads its items over threads.
    ///
    /// The tier's `threads` argument: 1, one thread; n > 1, up to n threads, every stage of
    /// enough items split into 2n chunks at once; 0 (automatic, `Oracle.evaluateRounded`'s
    /// default), up to one thread per processor, each stage split only when a timed first
    /// sixteenth of it shows the rest taking `worthItNanoseconds` (2 ms) or more
    /// (`Parallel.forEachChunkWhenWorthIt`). The results do not depend on the split: each
    /// stage's per-chunk results are combined in a way that does not depend on where the chunks
    /// end (exact fixed-point sums, maxima, outputs written per index).
    struct StageSplit {
        /// The number of pieces when the stage is split (1: never split).
        let chunks: Int
        /// Whether the split waits for a timed first piece.
        let whenWorthIt: Bool

        /// The split of a stage of `count` items on `threads` (as the tier's argument: 0 for
        /// automatic): `perThread` pieces a thread once `count >= minimum`, else none.
        init(threads: Int, count: Int, minimum: Int = parallelThreshold, perThread: Int = 2) {
            let processors = count >= minimum ? Self.processors(threads) : 1
            chunks = processors > 1 ? processors * perThread : 1
            whenWorthIt = threads == 0
        }

        /// The threads the tier's `threads` argument stands for: every processor for 0
        /// (automatic). Asked only of stages long enough to split: the processor count is a
        /// system call the first time, which a short request need not make.
        static func processors(_ threads: Int) -> Int {
            threads == 0 ? ProcessorCount.online : threads
        }

        /// Never split.
        static let none = StageSplit(chunks: 1)

        private init(chunks: Int) {
            (self.chunks, whenWorthIt) = (chunks, false)
        }

        /// `body(range)` for consecutive ranges covering `0..<n`, split as this says; the results
        /// in range order.
        @inline(__always)
        func run<R>(count n: Int, _ body: (Range<Int>) -> R) -> [R] {
            whenWorthIt ? Parallel.forEachChunkWhenWorthIt(count: n, chunks: chunks, minimumNanoseconds: worthItNanoseconds, body)
                : Parallel.forEachChunk(count: n, chunks: chunks, body)
        }
    }

    /// With automatic threads, a stage is split when the rest of it, at its first sixteenth's
    /// pace, would take this long on one thread (2 ms). Starting dispatch's worker threads in a
    /// fresh process and waking them costs a few tenths of a millisecond of wall time and up to
    /// half a millisecond of CPU time (`eval` of rows of 10^5 ordinary logits, whose stages take
    /// 0.05-0.3 ms each: 0.2-0.3 ms more CPU time and 0.3-0.5 ms more wall time when every stage
    /// was split; log_softmax on normal_huge, a stage of about 1 ms split: 0.5 ms more CPU time
    /// and no wall time saved; spawn.py medians on this machine's two shared cores). A stage of
    /// 2 ms or more gains about half of it from a second core: cross_entropy_grad on an
    /// exp_underflow row of 10^5, 12.4-13.5 -> 9.1-9.9 ms; the elementwise functions on ordinary
    /// rows of 10^5 (5-9 ms), a third of their wall time.
    static let worthItNanoseconds: UInt64 = 2_000_000
}
