import AccuracyHarness
import ParallelExecution
import SoftmaxOracle

/// One way a cell differs from the baseline.
public struct RegressionFinding: Sendable, Hashable {
    /// What got worse.
    public enum Measure: String, Sendable, Hashable {
        /// The largest ULP error (special-value mismatches apart).
        case maxULP = "max ulp"
        /// Cases with a special-value mismatch.
        case specialMismatches = "special mismatches"
        /// Cases scored (lost to unsupported requests, errors, oracle failures, or a cell gone).
        case coverage = "cases scored"
        /// The largest ULP error above the absolute ceiling (`--max-ulp`), whatever the baseline.
        case ceiling = "max ulp over --max-ulp"
        /// Cases with an output outside the tolerance (`--atol`/`--rtol`/`--tolerance`).
        case tolerance = "outside tolerance"
        /// Cases with an output that is not a value of the requested format.
        case offFormat = "outputs off the format"
        /// Nothing scored in the cell: every case unsupported or failed.
        case nothingScored = "nothing scored"
    }

    /// The cell that differs.
    public var cell: AccuracyBaseline.Cell
    /// What differs.
    public var measure: Measure
    /// The baseline's value, as printed.
    public var baseline: String
    /// This run's value, as printed.
    public var now: String
    /// Why, when the numbers alone do not say (e.g. "3 errors: failed: …").
    public var note: String

    /// A finding from its parts (normally made by ``RegressionGate/compare(baseline:current:)``).
    public init(cell: AccuracyBaseline.Cell, measure: Measure, baseline: String, now: String, note: String = "") {
        self.cell = cell
        self.measure = measure
        self.baseline = baseline
        self.now = now
        self.note = note
    }
}

/// A run compared with a baseline.
public struct RegressionComparison: Sendable, Hashable {
    /// What got worse: the gate fails when this is not empty.
    public var worse: [RegressionFinding] = []
    /// What got better (a tighter baseline is one `--update` away).
    public var improved: [RegressionFinding] = []
    /// Cells this run has and the baseline does not (not gated until the baseline records them).
    public var new: [AccuracyBaseline.Cell] = []
    /// Cells compared.
    public var compared = 0

    /// An empty comparison.
    public init() {}

    /// True when nothing got worse.
    public var passed: Bool { worse.isEmpty }

    /// The process exit status of the gate: 0 when passed, 1 when something got worse.
    public var exitCode: Int32 { passed ? 0 : 1 }

    /// The tables of what got worse, what got better and what is new (empty when nothing changed).
    public var changes: String {
        var out = ""
        if !worse.isEmpty {
            out += "Worse than the baseline (\(worse.count)):\n"
            out += Self.table(worse)
        }
        if !improved.isEmpty {
            out += (out.isEmpty ? "" : "\n") + "Better than the baseline (\(improved.count); `--update` records them):\n"
            out += Self.table(improved)
        }
        if !new.isEmpty {
            out += (out.isEmpty ? "" : "\n") + "Not in the baseline (\(new.count); not gated until `--update` records them):\n"
            for c in new.prefix(20) { out += "  \(c)\n" }
            if new.count > 20 { out += "  … \(new.count - 20) more\n" }
        }
        return out
    }

    /// The gate's report: a table of what got worse (baseline vs now), then what improved and
    /// what is new, then a one-line verdict.
    public func render(baselinePath: String, run: AccuracyBaseline) -> String {
        var out = changes
        let settings = "seed \(run.seed), \(run.casesPerFamily) cases per cell"
            + run.familyCases.sorted { $0.key < $1.key }.map { ", \($0.key.rawValue) \($0.value)" }.joined()
        out += (out.isEmpty ? "" : "\n")
        if passed {
            out += "accuracy gate PASSED: \(compared) cells no worse than \(baselinePath) (\(settings))\n"
        } else {
            let cells = Set(worse.map(\.cell)).count
            out += "accuracy gate FAILED: \(cells) of \(compared) cells worse than \(baselinePath) (\(settings))\n"
        }
        return out
    }

    /// The findings as a fixed-width table.
    public static func table(_ findings: [RegressionFinding]) -> String {
        let withNotes = findings.contains { !$0.note.isEmpty }
        let headers = ["implementation", "function", "format", "family", "measure", "baseline", "now"] + (withNotes ? ["note"] : [])
        let rows = findings.map {
            [$0.cell.implementation, $0.cell.function.rawValue, $0.cell.format.rawValue, $0.cell.family.rawValue,
             $0.measure.rawValue, $0.baseline, $0.now] + (withNotes ? [$0.note] : [])
        }
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            var s = "  " + r.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
            while s.last == " " { s.removeLast() }
            return s + "\n"
        }
        return line(headers) + line(widths.map { String(repeating: "-", count: $0) }) + rows.map(line).joined()
    }
}

/// The accuracy-regression gate: runs implementations at a baseline's seed and grid and compares
/// every cell with the baseline.
///
/// A cell is *worse* when
/// - its largest ULP error exceeds the baseline's by more than the slack
///   ``tolerance`` · max(1, baseline) (compared only when both have one: a cell whose finite
///   cases all vanished is caught by the next two rules),
/// - it has more cases with a special-value mismatch,
/// - it scored fewer cases (an implementation that now declines, fails, or answers with the wrong
///   number of outputs), or the cell is gone altogether.
/// Cells the baseline does not have are listed as new, not gated. A max ULP below the baseline by
/// more than the slack is listed as an improvement.
///
/// Why a slack: a score is |y − v| / ulp(v) with the exact value v known to about 106 bits, so
/// the *same* outputs can score differently in the last digits when the oracle's internals change
/// (1e-16 ULP, not 1 ULP). A changed output moves its score by about an ULP or more, far beyond
/// the default slack of 1e-9 ULP (relative above 1 ULP).
public struct RegressionGate: Sendable {
    /// The implementations run, in baseline order.
    public var implementations: [any ImplementationUnderTest]
    /// The oracle the run is scored against.
    public var oracle: Oracle
    /// Threads for the run (see `OracleParallelism`).
    public var threads: Int
    /// Slack on max ULP: worse means now > baseline + tolerance · max(1, baseline) (absolute
    /// ULPs below 1 ULP, relative above). The default, ``defaultTolerance``, only absorbs noise in
    /// the last digits of the scores; raise it (say 0.01) to allow a platform's libm to differ
    /// in the last bit of an implementation's outputs.
    public var tolerance: Double
    /// The `assert_close`-style tolerance checked besides ULPs (none by default).
    public var toleranceRule: ToleranceRule = .none

    /// 1e-9: see the type's documentation.
    public static let defaultTolerance = 1e-9

    /// A gate running `implementations` on up to `threads` threads.
    public init(implementations: [any ImplementationUnderTest], oracle: Oracle = Oracle(),
                threads: Int = ProcessorCount.online, tolerance: Double = RegressionGate.defaultTolerance) {
        self.implementations = implementations
        self.oracle = oracle
        self.threads = threads
        self.tolerance = tolerance
    }

    /// The cases of `run`'s seed and grid: every (function, format) that some implementation
    /// supports (within the run's lists), every family (within its list), the run's counts.
    public func cases(for run: AccuracyBaseline) -> [HarnessCase] {
        let generator = CaseGenerator(seed: run.seed)
        let functions = (run.functions ?? OracleFunction.harnessFunctions)
        let formats = (run.formats ?? Format.allCases)
        let families = Family.allCases.filter { run.families?.contains($0) ?? true }
        var all: [HarnessCase] = []
        for function in OracleFunction.allCases where functions.contains(function) {
            for format in Format.allCases where formats.contains(format) {
                guard implementations.contains(where: { $0.supports(function, format: format) }) else { continue }
                for family in families {
                    all += generator.cases(family: family, format: format, function: function,
                                           count: run.caseCount(for: family))
                }
            }
        }
        return all
    }

    /// Runs the implementations at `run`'s settings and returns the baseline that records it.
    public func measure(_ run: AccuracyBaseline,
                        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) -> AccuracyBaseline {
        measureResult(run, progress: progress).baseline
    }

    /// Like ``measure(_:progress:)``, with the harness result (for ``absoluteFindings(_:maxULP:allowUnsupported:)``).
    public func measureResult(_ run: AccuracyBaseline,
                              progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil)
        -> (baseline: AccuracyBaseline, result: HarnessResult)
    {
        var runner = Runner(oracle: oracle, implementations: implementations)
        runner.tolerance = toleranceRule
        let result = runner.run(cases: cases(for: run), seed: run.seed, threads: threads, progress: progress)
        return (run.recording(result), result)
    }

    /// What is wrong with a run whatever the baseline says, cell by cell: a max ULP error above
    /// `maxULP` (the absolute ceiling), cases outside the tolerance (when ``toleranceRule`` sets
    /// one), outputs that are not values of the format, and — unless `allowUnsupported` — a cell
    /// in which nothing was scored (a baseline recorded from such a run would gate nothing).
    public static func absoluteFindings(_ result: HarnessResult, maxULP: Double?, allowUnsupported: Bool) -> [RegressionFinding] {
        var out: [RegressionFinding] = []
        for c in result.cells {
            let s = c.statistics
            let cell = AccuracyBaseline.Cell(implementation: c.implementation, function: c.function, format: c.format, family: c.family)
            if let limit = maxULP, let m = s.maxULP, m > limit {
                out.append(RegressionFinding(cell: cell, measure: .ceiling, baseline: "≤ " + ulpText(limit), now: ulpText(m)))
            }
            if let outside = s.outsideToleranceCases, outside > 0, let t = s.tolerance {
                out.append(RegressionFinding(cell: cell, measure: .tolerance, baseline: "0", now: String(outside), note: t.description))
            }
            if s.offFormatCases > 0 {
                out.append(RegressionFinding(cell: cell, measure: .offFormat, baseline: "0", now: String(s.offFormatCases),
                                             note: c.format.notAValueText))
            }
            if s.nothingScored && !allowUnsupported {
                out.append(RegressionFinding(cell: cell, measure: .nothingScored, baseline: "-", now: "0 of \(s.cases)",
                                             note: "\(s.unsupported) unsupported, \(s.errors) errors, \(s.oracleFailures) without a reference; --allow-unsupported accepts it"))
            }
        }
        return out
    }

    /// Compares `current` (a measurement) with `baseline`, cell by cell.
    public func compare(baseline: AccuracyBaseline, current: AccuracyBaseline) -> RegressionComparison {
        Self.compare(baseline: baseline, current: current, tolerance: tolerance)
    }

    /// See ``compare(baseline:current:)``.
    public static func compare(baseline: AccuracyBaseline, current: AccuracyBaseline,
                               tolerance: Double = defaultTolerance) -> RegressionComparison {
        var c = RegressionComparison()
        let now = Dictionary(current.entries.map { ($0.cell, $0) }, uniquingKeysWith: { a, _ in a })
        let before = Set(baseline.entries.map(\.cell))
        for b in baseline.entries {
            guard let n = now[b.cell] else {
                c.worse.append(RegressionFinding(cell: b.cell, measure: .coverage, baseline: String(b.scored), now: "-",
                                                 note: "cell not run: implementation missing or no longer supports it"))
                continue
            }
            c.compared += 1
            if n.scored < b.scored {
                var why: [String] = []
                if n.unsupported > b.unsupported { why.append("\(n.unsupported) unsupported") }
                if n.errors > b.errors { why.append("\(n.errors) errors") }
                if n.oracleFailures > b.oracleFailures { why.append("\(n.oracleFailures) oracle failures") }
                if n.cases < b.cases { why.append("\(n.cases) cases run, baseline \(b.cases)") }
                c.worse.append(RegressionFinding(cell: b.cell, measure: .coverage, baseline: String(b.scored),
                                                 now: String(n.scored), note: why.joined(separator: ", ")))
            } else if n.scored > b.scored {
                c.improved.append(RegressionFinding(cell: b.cell, measure: .coverage, baseline: String(b.scored), now: String(n.scored)))
            }
            if n.specialMismatchCases > b.specialMismatchCases {
                c.worse.append(RegressionFinding(cell: b.cell, measure: .specialMismatches, baseline: String(b.specialMismatchCases),
                                                 now: String(n.specialMismatchCases)))
            } else if n.specialMismatchCases < b.specialMismatchCases {
                c.improved.append(RegressionFinding(cell: b.cell, measure: .specialMismatches, baseline: String(b.specialMismatchCases),
                                                    now: String(n.specialMismatchCases)))
            }
            if let bu = b.maxULP, let nu = n.maxULP {
                let slack = Swift.max(0, tolerance) * Swift.max(1, bu)
                if nu > bu + slack {
                    c.worse.append(RegressionFinding(cell: b.cell, measure: .maxULP, baseline: ulpText(bu), now: ulpText(nu)))
                } else if nu < bu - slack {
                    c.improved.append(RegressionFinding(cell: b.cell, measure: .maxULP, baseline: ulpText(bu), now: ulpText(nu)))
                }
            }
        }
        c.new = current.entries.map(\.cell).filter { !before.contains($0) }
        return c
    }

    /// A ULP value as the baseline stores it: the shortest decimal that reads back exactly.
    static func ulpText(_ x: Double) -> String { x.isFinite ? x.description : (x > 0 ? "inf" : "nan") }
}
