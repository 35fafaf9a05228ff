import Dispatch
import SoftmaxOracle
import Synchronization

extension Runner {
    /// Runs the given cases on up to `threads` threads (``OracleParallelism``: one thread when
    /// the linked MPFR is not thread-safe) and merges the per-case scores.
    ///
    /// The result equals `run(cases:seed:)`'s (``ScoreAccumulator`` merges are independent of how
    /// the cases were split, and cells and oracle failures are ordered by key), so a report does
    /// not depend on the thread count. `progress(done, total)` is called from worker threads after
    /// each case; it must be cheap and thread-safe.
    public func run(
        cases: [HarnessCase], seed: UInt64, threads: Int,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) -> HarnessResult {
        if OracleParallelism.threads(threads) == 1 && progress == nil { return run(cases: cases, seed: seed) }
        let done = Atomic<Int>(0)
        let parts = OracleParallelism.map(cases, threads: threads) { c in
            let part = run(cases: [c], seed: seed)
            progress?(done.add(1, ordering: .relaxed).newValue, cases.count)
            return part
        }
        return HarnessResult.merging(parts, seed: seed, implementations: implementations.map(\.name))
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
                if cells[key] == nil { cells[key] = cell.accumulator } else { cells[key]!.merge(cell.accumulator) }
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
