import SoftmaxOracle

/// What to run: the grid of functions × formats × families, how many cases each, and the seed.
public struct RunConfiguration: Sendable, Hashable {
    /// The run seed (see ``CaseGenerator``).
    public var seed: UInt64
    /// Functions to run, in report order.
    public var functions: [OracleFunction]
    /// Formats to run (inputs are values of the format; outputs are scored in it).
    public var formats: [Format]
    /// Generator families to run.
    public var families: [Family]
    /// Cases per (function, format, family).
    public var casesPerFamily: Int
    /// Apply ``Family/recommendedMaximumCount`` (e.g. 3 cases of ``Family/largeK``).
    public var applyFamilyCaps: Bool
    /// Options passed to ``CaseGenerator``.
    public var generatorOptions: GeneratorOptions

    /// A grid of `casesPerFamily` cases per (function, format, family); by default logsumexp,
    /// softmax, log_softmax and cross_entropy in f64 and f32 over every family (`check`'s grid).
    public init(seed: UInt64 = 0,
                functions: [OracleFunction] = [.logsumexp, .softmax, .logSoftmax, .crossEntropy],
                formats: [Format] = [.f64, .f32],
                families: [Family] = Family.allCases,
                casesPerFamily: Int = 16,
                applyFamilyCaps: Bool = true,
                generatorOptions: GeneratorOptions = .default) {
        self.seed = seed
        self.functions = functions
        self.formats = formats
        self.families = families
        self.casesPerFamily = casesPerFamily
        self.applyFamilyCaps = applyFamilyCaps
        self.generatorOptions = generatorOptions
    }

    /// The number of cases of `family` per (function, format).
    public func caseCount(for family: Family) -> Int {
        let n = Swift.max(0, casesPerFamily)
        guard applyFamilyCaps, let cap = family.recommendedMaximumCount else { return n }
        return Swift.min(n, cap)
    }

    /// Every case of the grid, in key order (function, format, family, index).
    public func cases() -> [HarnessCase] {
        let generator = CaseGenerator(seed: seed, options: generatorOptions)
        var all: [HarnessCase] = []
        for function in functions {
            for format in formats {
                for family in families {
                    all += generator.cases(family: family, format: format, function: function,
                                           count: caseCount(for: family))
                }
            }
        }
        return all
    }
}

/// One cell of a run: an implementation on one (function, format, family).
public struct CellResult: Sendable, Hashable {
    /// The implementation's name.
    public var implementation: String
    /// The function.
    public var function: OracleFunction
    /// The output format.
    public var format: Format
    /// The generator family.
    public var family: Family
    /// Everything scored in the cell.
    public var accumulator: ScoreAccumulator

    /// A cell from its parts.
    public init(implementation: String, function: OracleFunction, format: Format, family: Family,
                accumulator: ScoreAccumulator) {
        self.implementation = implementation
        self.function = function
        self.format = format
        self.family = family
        self.accumulator = accumulator
    }

    /// The cell's summary (`accumulator.statistics`).
    public var statistics: ScoreStatistics { accumulator.statistics }
}

/// The outcome of a run.
public struct HarnessResult: Sendable, Hashable {
    /// The run seed.
    public var seed: UInt64
    /// Implementation names, in the runner's order (the order of reports and plot colours).
    public var implementations: [String]
    /// Cells, ordered by implementation (runner order), function, format, family.
    public var cells: [CellResult]
    /// Cases the oracle could not answer, by key.
    public var oracleFailures: [CaseNote]
    /// Cases generated (each evaluated by the oracle at most once).
    public var caseCount: Int

    /// A result from its parts (normally made by ``Runner``).
    public init(seed: UInt64, implementations: [String], cells: [CellResult], oracleFailures: [CaseNote], caseCount: Int) {
        self.seed = seed
        self.implementations = implementations
        self.cells = cells
        self.oracleFailures = oracleFailures
        self.caseCount = caseCount
    }
}

/// One case run through the oracle and every implementation that supports it.
public struct CaseEvaluation: Sendable, Hashable {
    /// The case.
    public var harnessCase: HarnessCase
    /// The reference outputs, or the oracle's error.
    public var reference: Result<[ReferenceValue], OracleFailureMessage>
    /// Per implementation (runner order), whether it supports the case's (function, format).
    public var supported: [Bool]
    /// Per implementation (runner order), its outcome; nil where it was not run (it does not
    /// support the cell, or the oracle gave no reference).
    public var outcomes: [ImplementationOutcome?]
}

/// Why the oracle gave no reference for a case.
public struct OracleFailureMessage: Error, Sendable, Hashable, CustomStringConvertible {
    /// The oracle's error, as text.
    public var description: String
    /// A message of `description`.
    public init(_ description: String) { self.description = description }
}

/// Runs implementations × cases against a reference oracle and scores every output.
///
/// The oracle is called once per case, and its answer shared by every implementation (the
/// oracle is the expensive part). Cells an implementation does not support are skipped; a case
/// no implementation supports is not sent to the oracle at all.
public struct Runner: Sendable {
    /// The reference every output is scored against.
    public var oracle: any ReferenceOracle
    /// The implementations, in report order (names unique).
    public var implementations: [any ImplementationUnderTest]
    /// The tolerance every cell checks besides ULPs (none by default).
    public var tolerance: ToleranceRule = .none

    /// Precondition: implementation names are unique.
    public init(oracle: any ReferenceOracle, implementations: [any ImplementationUnderTest]) {
        precondition(Set(implementations.map(\.name)).count == implementations.count,
                     "implementation names must be unique")
        self.oracle = oracle
        self.implementations = implementations
    }

    /// Runs the whole grid of `configuration`.
    public func run(_ configuration: RunConfiguration) -> HarnessResult {
        run(cases: configuration.cases(), seed: configuration.seed)
    }

    /// Runs the given cases (any order; results are ordered by key).
    public func run(cases: [HarnessCase], seed: UInt64) -> HarnessResult {
        var cells: [CellID: ScoreAccumulator] = [:]
        var failures: [CaseNote] = []
        for harnessCase in cases {
            let evaluation = evaluate(harnessCase)
            if case .failure(let why) = evaluation.reference {
                failures.append(CaseNote(key: harnessCase.key, message: why.description))
            }
            for (i, outcome) in evaluation.outcomes.enumerated() where evaluation.supported[i] {
                let id = CellID(implementation: i, function: harnessCase.key.function,
                                format: harnessCase.key.format, family: harnessCase.key.family)
                switch (evaluation.reference, outcome) {
                case (.success(let reference), let outcome?):
                    cells[id, default: ScoreAccumulator(tolerance: tolerance)].record(harnessCase, reference: reference, outcome: outcome)
                default:
                    cells[id, default: ScoreAccumulator(tolerance: tolerance)].recordOracleFailure(harnessCase)
                }
            }
        }
        let ordered = cells.keys.sorted().map { id in
            CellResult(implementation: implementations[id.implementation].name, function: id.function,
                       format: id.format, family: id.family, accumulator: cells[id]!)
        }
        return HarnessResult(seed: seed, implementations: implementations.map(\.name), cells: ordered,
                             oracleFailures: failures.sorted { $0.key < $1.key }, caseCount: cases.count)
    }

    /// Runs one case: the oracle once (if any implementation supports the cell), then, if the
    /// oracle answered, every implementation that supports it.
    public func evaluate(_ harnessCase: HarnessCase) -> CaseEvaluation {
        let request = harnessCase.request
        let supported = implementations.map { $0.supports(request.function, format: request.format) }
        guard supported.contains(true) else {
            return CaseEvaluation(harnessCase: harnessCase, reference: .success([]), supported: supported,
                                  outcomes: supported.map { _ in nil })
        }
        let reference: Result<[ReferenceValue], OracleFailureMessage>
        do {
            reference = .success(try oracle.reference(for: request))
        } catch {
            reference = .failure(OracleFailureMessage(String(describing: error)))
        }
        var outcomes: [ImplementationOutcome?] = []
        for (implementation, ok) in zip(implementations, supported) {
            if ok, case .success = reference {
                outcomes.append(ImplementationOutcome.run(implementation, on: request))
            } else {
                outcomes.append(nil)
            }
        }
        return CaseEvaluation(harnessCase: harnessCase, reference: reference, supported: supported, outcomes: outcomes)
    }
}

/// A cell's identity during a run (implementation by position, for ordering).
struct CellID: Hashable, Comparable {
    var implementation: Int
    var function: OracleFunction
    var format: Format
    var family: Family

    static func < (a: CellID, b: CellID) -> Bool {
        if a.implementation != b.implementation { return a.implementation < b.implementation }
        let ka = CaseKey(function: a.function, format: a.format, family: a.family, index: 0)
        let kb = CaseKey(function: b.function, format: b.format, family: b.family, index: 0)
        return ka < kb
    }
}
