import AccuracyHarness
import ParallelExecution
import SoftmaxOracle

/// The outcome of an ``ExternalRunner`` run.
public struct ExternalRunResult: Sendable, Hashable {
    /// The scored cells, ordered as ``Runner`` orders them (function, format, family).
    public var harness: HarnessResult
    /// Every case the implementation failed on (an error, a missing result, the wrong number of
    /// outputs), in case order.
    public var errors: [CaseNote]
    /// Cases not run because ``ExternalRunner/run(cases:seed:implementation:outcome:shouldStop:progress:)``
    /// was told to stop (after a process failure).
    public var notRun: Int
}

/// Runs one outside implementation over cases and scores it with the harness's scoring
/// (``ScoreAccumulator``), like ``Runner`` does, with what an outside implementation needs:
///
/// - the implementation answers first, and the oracle is asked only for cases it answered with
///   values (a process that declines f16 costs no oracle time there), in batches whose oracle
///   work runs on several threads while the implementation is called from one;
/// - the run stops early when `shouldStop` says so (a failed process: the remaining cases would
///   all fail the same way), and counts what was not run;
/// - every error is kept (``ExternalRunResult/errors``), not only the first of each cell;
/// - progress is reported after each batch.
///
/// Scores are the same as ``Runner``'s: unsupported and failed outcomes are counted without a
/// reference; a case the oracle cannot answer is an oracle failure.
public struct ExternalRunner: Sendable {
    /// The reference.
    public var oracle: any ReferenceOracle
    /// Threads for the oracle (at least 1).
    public var oracleThreads: Int
    /// Cases per batch.
    public var batchSize: Int
    /// The tolerance every cell checks besides ULPs.
    public var tolerance: ToleranceRule

    /// A runner scoring against `oracle`, which runs on up to `oracleThreads` threads (at least
    /// 1; see `OracleParallelism`) in batches of `batchSize` cases (at least 1).
    public init(oracle: any ReferenceOracle, oracleThreads: Int = ProcessorCount.online, batchSize: Int = 64,
                tolerance: ToleranceRule = .none) {
        self.oracle = oracle
        self.tolerance = tolerance
        self.oracleThreads = max(1, oracleThreads)
        self.batchSize = max(1, batchSize)
    }

    /// Runs `cases` (skipping cells `implementation` does not support).
    ///
    /// - Parameters:
    ///   - outcome: the implementation's outcome for case `i`; by default
    ///     `ImplementationOutcome.run(implementation, on: case.request)`.
    ///   - shouldStop: checked before each case; true ends the run.
    ///   - progress: called with (cases done, cases in all) after each batch.
    public func run(cases: [HarnessCase], seed: UInt64, implementation: any ImplementationUnderTest,
                    outcome: ((Int, HarnessCase) -> ImplementationOutcome)? = nil,
                    shouldStop: () -> Bool = { false },
                    progress: ((Int, Int) -> Void)? = nil) -> ExternalRunResult {
        let run = outcome ?? { _, c in ImplementationOutcome.run(implementation, on: c.request) }
        var cells: [CellKey: ScoreAccumulator] = [:]
        var oracleFailures: [CaseNote] = []
        var errors: [CaseNote] = []
        var done = 0
        var stopped = false
        var start = 0
        while start < cases.count && !stopped {
            let end = min(start + batchSize, cases.count)
            // 1. The implementation, one case at a time.
            var batch: [(index: Int, outcome: ImplementationOutcome)] = []
            var reached = start
            for i in start..<end {
                if shouldStop() { stopped = true; break }
                reached = i + 1
                let c = cases[i]
                guard implementation.supports(c.request.function, format: c.request.format) else { continue }
                batch.append((i, run(i, c)))
            }
            // 2. The oracle, for the cases answered with values, on several threads.
            let needed = batch.filter { if case .outputs = $0.outcome { true } else { false } }.map(\.index)
            let references = computeReferences(needed.map { cases[$0].request })
            var referenceOf: [Int: Result<[ReferenceValue], OracleFailureMessage>] = [:]
            for (k, i) in needed.enumerated() { referenceOf[i] = references[k] }
            // 3. Scoring, in case order.
            for (i, result) in batch {
                let c = cases[i]
                let key = CellKey(function: c.key.function, format: c.key.format, family: c.key.family)
                switch result {
                case .outputs(let values):
                    switch referenceOf[i]! {
                    case .success(let reference):
                        if values.count != reference.count {
                            errors.append(CaseNote(key: c.key, message: "returned \(values.count) outputs, expected \(reference.count)"))
                        }
                        cells[key, default: ScoreAccumulator(tolerance: tolerance)].record(c, reference: reference, outcome: result)
                    case .failure(let why):
                        oracleFailures.append(CaseNote(key: c.key, message: why.description))
                        cells[key, default: ScoreAccumulator(tolerance: tolerance)].recordOracleFailure(c)
                    }
                case .failed(let why):
                    errors.append(CaseNote(key: c.key, message: why))
                    cells[key, default: ScoreAccumulator(tolerance: tolerance)].record(c, reference: [], outcome: result)
                case .unsupported:
                    cells[key, default: ScoreAccumulator(tolerance: tolerance)].record(c, reference: [], outcome: result)
                }
            }
            done = stopped ? reached : end
            progress?(done, cases.count)
            start = end
        }
        let ordered = cells.keys.sorted().map { k in
            CellResult(implementation: implementation.name, function: k.function, format: k.format, family: k.family,
                       accumulator: cells[k]!)
        }
        let scoredCases = cases[..<done].count { implementation.supports($0.request.function, format: $0.request.format) }
        let harness = HarnessResult(seed: seed, implementations: [implementation.name], cells: ordered,
                                    oracleFailures: oracleFailures.sorted { $0.key < $1.key }, caseCount: scoredCases)
        return ExternalRunResult(harness: harness, errors: errors, notRun: cases.count - done)
    }

    /// The oracle's answers for `requests`, in order, computed on up to ``oracleThreads`` threads
    /// (``OracleParallelism``).
    func computeReferences(_ requests: [OracleRequest]) -> [Result<[ReferenceValue], OracleFailureMessage>] {
        let oracle = self.oracle
        @Sendable func one(_ r: OracleRequest) -> Result<[ReferenceValue], OracleFailureMessage> {
            do {
                return .success(try oracle.reference(for: r))
            } catch {
                return .failure(OracleFailureMessage(String(describing: error)))
            }
        }
        return OracleParallelism.map(requests, threads: oracleThreads, one)
    }
}

/// A cell of one implementation, ordered as reports order them.
struct CellKey: Hashable, Comparable {
    var function: OracleFunction
    var format: Format
    var family: Family

    static func < (a: CellKey, b: CellKey) -> Bool {
        CaseKey(function: a.function, format: a.format, family: a.family, index: 0)
            < CaseKey(function: b.function, format: b.format, family: b.family, index: 0)
    }
}
