import AccuracyHarness
import ArgumentParser
import ExternalImplementations
import BuiltInImplementations
import FastSoftmax
import GoldenFixtures
import ParallelExecution
import SoftmaxOracle

/// `softmax-oracle regress`: the accuracy-regression gate for CI.
struct RegressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regress",
        abstract: "Fail CI when accuracy regresses: rerun the harness at a baseline's seed and compare.",
        discussion: """
        Runs the built-in implementations (or, with --exec, your implementation as a JSON Lines \
        process, the `check --exec` protocol) over the harness's generator families at the \
        baseline's seed, case counts and grid, and compares every cell (implementation, \
        function, format, family) with the baseline. A cell is worse when its max ULP error \
        grew (by more than --tolerance), when it has more special-value mismatches (NaN/inf where the \
        true value is finite, or the reverse), or when fewer cases were scored (declined, \
        failed, or the cell is gone). Worse cells are printed as a table, baseline vs now.

        Whatever the baseline says, a cell also fails when nothing was scored in it (every case \
        unsupported or failed; --allow-unsupported accepts that), when an output is not a value \
        of the requested format, when its max ULP error is above --max-ulp N (an absolute \
        ceiling, so that a baseline recorded from a broken kernel does not pass forever), and \
        when a case is outside --atol/--rtol or --tolerance-preset torch (`check --tolerance \
        torch`; here --tolerance is the slack on the baseline). --update \
        refuses to record a run with such a cell (exit 1).

        Exit status: 0 nothing worse; 1 something worse; 2 an error (unreadable baseline, a \
        process that crashed, hung or answered garbage).

        --update runs the same and rewrites the baseline (temporary file + rename), creating it \
        if missing; --seed, --cases, --family-cases and the grid filters choose a new baseline's \
        run and are only accepted with --update.

        Examples:
          softmax-oracle regress --baseline Fixtures/accuracy-baseline.json
          softmax-oracle regress --baseline Fixtures/accuracy-baseline.json --update
          softmax-oracle regress --exec "python3 my_adapter.py" --baseline accuracy-baseline.json --update --function softmax --function log_softmax
          softmax-oracle regress --exec "python3 my_adapter.py" --baseline accuracy-baseline.json
        """
    )

    @Option(help: "The baseline JSON file (schema softmax-oracle.accuracy-baseline/1).")
    var baseline: String

    @Flag(help: "Rewrite the baseline with this run's numbers (create it if missing).")
    var update = false

    @Option(help: ArgumentHelp("Gate an outside implementation: a shell command speaking the `check --exec` JSON Lines protocol.", valueName: "command"))
    var exec: String?

    @Option(help: "The outside implementation's name in the baseline (default: from the command, e.g. my_adapter).")
    var name: String?

    @Option(parsing: .unconditional, help: "Seconds to wait for each answer of the --exec process.")
    var timeout: Double = 5

    @Option(name: .customLong("startup-timeout"), parsing: .unconditional, help: "Seconds to wait for the first answer of the --exec process, which includes its start-up; at least --timeout.")
    var startupTimeout: Double = 15

    @Option(name: .customLong("implementation"), help: "Only these built-in implementations (repeatable; with --update): \(KernelVariant.allValueStrings.joined(separator: ", ")).")
    var implementations: [String] = []

    @Option(parsing: .unconditional, help: "With --update: the run seed of the new baseline (default: the old baseline's, else \(FixtureSchema.defaultSeed)).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "With --update: cases per (function, format, family) (default: the old baseline's, else 8).")
    var cases: Int?

    @Option(name: .customLong("family-cases"), help: ArgumentHelp("With --update: cases of one family, FAMILY=N (repeatable; default large_k=1).", valueName: "family=n"))
    var familyCases: [String] = []

    @Option(name: .customLong("function"), help: "With --update: limit the baseline to this function (repeatable).")
    var functions: [String] = []

    @Option(name: .customLong("format"), help: "With --update: limit the baseline to this format (repeatable).")
    var formats: [String] = []

    @Option(name: .customLong("family"), help: "With --update: limit the baseline to this family (repeatable).")
    var families: [String] = []

    @Option(parsing: .unconditional, help: "Slack on max ULP: worse means now > baseline + tolerance x max(1, baseline). The default only absorbs noise in the last digits of scores; 0.01 also allows a libm that differs in the last bit.")
    var tolerance: Double = RegressionGate.defaultTolerance

    @Option(name: .customLong("max-ulp"), parsing: .unconditional, help: ArgumentHelp("Absolute ceiling on every cell's max ULP error, beside the baseline.", valueName: "N"))
    var maxULP: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Absolute tolerance: |y - v| <= atol + rtol*|v| (torch.testing.assert_close).", valueName: "A"))
    var atol: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Relative tolerance (see --atol).", valueName: "R"))
    var rtol: Double?

    @Option(name: .customLong("tolerance-preset"), help: ArgumentHelp("A tolerance preset: torch (assert_close's defaults per format).", valueName: "PRESET"))
    var tolerancePreset: String?

    @Flag(name: .customLong("allow-unsupported"), help: "Do not fail a cell in which nothing was scored.")
    var allowUnsupported = false

    @Option(parsing: .unconditional, help: "Worker threads (default: the number of cores).")
    var threads: Int = ProcessorCount.online

    static func fail(_ message: String) -> ExitCode {
        StandardError.write("softmax-oracle regress: error: \(message)\n")
        return ExitCode(2)
    }

    func run() throws {
        let settingsGiven = seed != nil || cases != nil || !familyCases.isEmpty || !functions.isEmpty
            || !formats.isEmpty || !families.isEmpty || !implementations.isEmpty
        if settingsGiven && !update {
            throw ValidationError("--seed, --cases, --family-cases, --function, --format, --family and --implementation choose a new baseline's run: add --update (the gate itself always runs the baseline's settings)")
        }
        if tolerance < 0 || tolerance.isNaN { throw ValidationError("--tolerance \(tolerance) must be >= 0") }
        if let maxULP, !(maxULP >= 0) { throw ValidationError("--max-ulp \(maxULP) must be >= 0") }
        for (option, seconds) in [("timeout", timeout), ("startup-timeout", startupTimeout)] where !(seconds > 0 && seconds.isFinite) {
            throw ValidationError("--\(option): \(seconds) is not a positive number of seconds")
        }
        if threads < 1 { throw ValidationError("--threads: \(threads) must be at least 1") }
        if let cases, cases < 0 { throw ValidationError("--cases: \(cases) must be at least 0") }
        let toleranceRule: ToleranceRule
        do {
            toleranceRule = try CheckCommand.toleranceRule(preset: tolerancePreset, atol: atol, rtol: rtol)
        } catch {
            throw ValidationError(error.message)
        }
        if update { try OutputPath.checkFile(baseline, option: "baseline") }

        // The run: the baseline's settings, or (with --update) new ones.
        var old: AccuracyBaseline?
        do throws(FixtureError) {
            if AtomicFile.exists(baseline) { old = try AccuracyBaseline.read(baseline) }
        } catch {
            throw Self.fail(error.message)
        }
        if old == nil && !update {
            throw Self.fail("\(baseline) does not exist: create it with --update (e.g. softmax-oracle regress --baseline \(baseline) --update)")
        }
        var run = old ?? AccuracyBaseline.defaultRun()
        do throws(FixtureError) {
            if let seed { run.seed = seed }
            if let cases { run.casesPerFamily = cases }
            if !familyCases.isEmpty { run.familyCases = try FixtureOptionParsing.perFamily(familyCases) }
            if let f: [OracleFunction] = try FixtureOptionParsing.names(functions, "function") { run.functions = f }
            if let f: [Format] = try FixtureOptionParsing.names(formats, "format") { run.formats = f }
            if let f: [Family] = try FixtureOptionParsing.names(families, "family") { run.families = f }
        } catch {
            throw ValidationError(error.message)
        }
        let total = CaseLimit.total(functions: run.functions?.count ?? OracleFunction.harnessFunctions.count,
                                    formats: run.formats?.count ?? Format.allCases.count,
                                    families: run.families ?? Family.allCases, count: run.caseCount(for:))
        let sizeSource = cases != nil || !familyCases.isEmpty ? "--cases/--family-cases" : "the baseline's \"cases\": \(run.casesPerFamily)"
        if let problem = CaseLimit.problem(total: total, what: sizeSource) {
            if cases != nil || !familyCases.isEmpty { throw ValidationError(problem) }
            throw Self.fail("\(baseline): \(problem)")
        }

        // The implementations.
        var process: ProcessImplementation?
        let chosen: [any ImplementationUnderTest]
        if let exec {
            ProcessImplementation.installInterruptCleanup()
            do {
                // The name the baseline recorded for an outside implementation, unless given.
                let recorded = old.flatMap { b in
                    b.implementations.count == 1 && KernelVariant(rawValue: b.implementations[0]) == nil ? b.implementations[0] : nil
                }
                let p = try ProcessImplementation(
                    command: exec, name: name ?? recorded,
                    options: .init(timeout: timeout, firstRequestTimeout: Swift.max(timeout, startupTimeout)))
                process = p
                chosen = [p]
            } catch {
                throw Self.fail("--exec \"\(exec)\": \(error)")
            }
        } else {
            let names = !implementations.isEmpty ? implementations
                : (update && old == nil ? [] : (old?.implementations ?? []))
            do {
                chosen = try Self.builtIns(names)
            } catch let error as FixtureError {
                throw Self.fail(error.message)
            }
        }
        defer { process?.close() }
        if let old, !update {
            let missing = old.implementations.filter { n in !chosen.contains { $0.name == n } }
            if !missing.isEmpty {
                throw Self.fail("the baseline records \(missing.map { "\"\($0)\"" }.joined(separator: ", ")), which this run does not have (it runs \(chosen.map { "\"\($0.name)\"" }.joined(separator: ", "))); pass --name to match the baseline, or --exec for an outside implementation")
            }
        }

        var gate = RegressionGate(implementations: chosen, threads: threads, tolerance: tolerance)
        gate.toleranceRule = toleranceRule
        let (current, result) = gate.measureResult(run)
        let absolute = RegressionGate.absoluteFindings(result, maxULP: maxULP, allowUnsupported: allowUnsupported)
        if let failure = process?.failure {
            throw Self.fail("the --exec process failed, so the run is incomplete:\n\(failure)")
        }
        var comparison = gate.compare(baseline: old ?? run, current: current)
        comparison.worse += absolute

        if update {
            if !absolute.isEmpty {
                print("Not recorded: these cells fail whatever the baseline says (\(absolute.count)):\n" + RegressionComparison.table(absolute), terminator: "")
                print("baseline \(baseline) not \(old == nil ? "created" : "updated")")
                throw ExitCode(1)
            }
            do throws(FixtureError) {
                try current.write(to: baseline)
            } catch {
                throw Self.fail(error.message)
            }
            if old != nil {
                let changes = comparison.changes
                try StandardOutput.write(changes.isEmpty ? "no cell changed\n" : changes)
            }
            try StandardOutput.line("baseline \(baseline) \(old == nil ? "created" : "updated"): \(current.entries.count) cells, \(gate.cases(for: current).count) cases, seed \(current.seed)")
            return
        }
        try StandardOutput.write(comparison.render(baselinePath: baseline, run: current))
        if !comparison.passed { throw ExitCode(comparison.exitCode) }
    }

    /// The built-in implementations named (all when none are).
    static func builtIns(_ names: [String]) throws -> [any ImplementationUnderTest] {
        if names.isEmpty { return FastSoftmaxImplementation.all }
        return try names.map { n throws(FixtureError) in
            do throws(UnknownName) {
                return FastSoftmaxImplementation(try KernelVariant(named: n))
            } catch {
                throw FixtureError("\(error); for an outside implementation pass --exec")
            }
        }
    }
}
