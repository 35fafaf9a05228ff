import Dispatch
import SoftmaxOracle
import Synchronization

extension Runner {
    /// Runs the given cases on `threads` threads and merges the per-thread scores.
    ///
    /// The result equals `run(cases:seed:)`'s (``ScoreAccumulator`` merges are independent of how
    /// the cases were split, and cells and oracle failures are ordered by key), so a report does
    /// not depend on the thread count. `progress(done, total)` is called from worker threads after
    /// each case; it must be cheap and thread-safe.
    ///
    /// The oracle keeps MPFR's exponent range per thread (MPFR's state is thread-local), so
    /// concurrent cases do not interfere.
    public func run(
        cases: [HarnessCase], seed: UInt64, threads: Int,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) -> HarnessResult {
        let workers = Swift.max(1, Swift.min(threads, cases.count))
        if workers == 1 && progress == nil { return run(cases: cases, seed: seed) }
        // Interleave the cases so that expensive families (large K) spread over the workers.
        let chunks = workers * 16
        let partials = Mutex<[HarnessResult]>([])
        let done = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let mine = stride(from: chunk, to: cases.count, by: chunks).map { cases[$0] }
            var results: [HarnessResult] = []
            for c in mine {
                results.append(run(cases: [c], seed: seed))
                let n = done.add(1, ordering: .relaxed).newValue
                progress?(n, cases.count)
            }
            let merged = HarnessResult.merging(results, seed: seed, implementations: implementations.map(\.name))
            partials.withLock { $0.append(merged) }
        }
        return HarnessResult.merging(partials.withLock { $0 }, seed: seed, implementations: implementations.map(\.name))
    }
}

extension HarnessResult {
    /// Combines results of disjoint case sets of one run: cells with the same key merge their
    /// accumulators; cells and oracle failures are ordered by key; case counts add.
    public static func merging(_ parts: [HarnessResult], seed: UInt64, implementations: [String]) -> HarnessResult {
        var cells: [CellKey: ScoreAccumulator] = [:]
        var failures: [CaseNote] = []
        var count = 0
        for part in parts {
            for cell in part.cells {
                let key = CellKey(cell)
                cells[key] = cells[key].map { $0.merged(with: cell.accumulator) } ?? cell.accumulator
            }
            failures += part.oracleFailures
            count += part.caseCount
        }
        let order = Dictionary(uniqueKeysWithValues: implementations.enumerated().map { ($1, $0) })
        let ordered = cells.keys.sorted { a, b in
            let ia = order[a.implementation] ?? Int.max, ib = order[b.implementation] ?? Int.max
            if ia != ib { return ia < ib }
            return CaseKey(function: a.function, format: a.format, family: a.family, index: 0)
                < CaseKey(function: b.function, format: b.format, family: b.family, index: 0)
        }.map { k in
            CellResult(implementation: k.implementation, function: k.function, format: k.format,
                       family: k.family, accumulator: cells[k]!)
        }
        return HarnessResult(seed: seed, implementations: implementations, cells: ordered,
                             oracleFailures: failures.sorted { $0.key < $1.key }, caseCount: count)
    }
}

private struct CellKey: Hashable {
    var implementation: String
    var function: OracleFunction
    var format: Format
    var family: Family

    init(_ cell: CellResult) {
        implementation = cell.implementation
        function = cell.function
        format = cell.format
        family = cell.family
    }
}
