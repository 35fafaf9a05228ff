import AccuracyHarness
import ArgumentParser
import ExternalImplementations
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GoldenFixtures
import OracleIO
import ParallelExecution
import SoftmaxOracle

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Score any implementation against the oracle: a process speaking JSON Lines, or stored results.",
        discussion: """
        A process (any language): --exec "CMD" starts CMD once through /bin/sh and writes one \
        request per line to its standard input, the eval request format with an integer id:
          {"id":7,"function":"softmax","format":"f32","logits":["0x1p+0","0x0p+0"]}
        It answers each with one line on its standard output (and flushes): the values as hex \
        floats, decimals, JSON numbers, "inf", "-inf" or "nan", or an error:
          {"id":7,"values":["0x1.764d5p-1","0x1.136562p-2"]}
          {"id":7,"error":"unsupported format"}
        An "error" answer counts as unsupported, not as a failure. No answer within --timeout \
        seconds, a crash, another id, the wrong number of values or a line that is not a result is \
        a protocol error: the report names the request, the process group is killed and reaped, \
        and the exit status is 2. Adapters for NumPy, SciPy, JAX and PyTorch: Examples/adapters.

        The cases are the harness's generator families (--seed, --cases per family, filtered by \
        --function, --format, --family), scored as `report` scores them and shown in the same \
        tables (--output, --svg). The worst case of each function/format that fails is shrunk to \
        a small reproducer by querying the process again; it is printed with the original, as \
        hex floats and as a request line for `eval`.

        Offline: --emit-requests FILE writes the cases as fixture lines (requests with ids); run \
        them anywhere, then score the answers with --results ANSWERS --fixtures FILE (any \
        fixtures file of requests with ids works, golden fixture files included).

        Limits: --max-ulp N for every function, --max-ulp FUNCTION=N for one (repeatable; the \
        per-function one wins). Tolerances as torch.testing.assert_close states them: --atol A \
        and --rtol R (an output y passes when |y - v| <= A + R*|v|, v the exact value), or \
        --tolerance torch for assert_close's defaults per format (--atol/--rtol override them). \
        The report shows the max ULP and the tolerance verdict side by side. Always failures: \
        special-value mismatches (unless --allow-special-mismatch), outputs that are not values \
        of the requested format (an f64 value for an f32 request), errors (failed requests, \
        missing results), and a function/format in which nothing was scored (every case \
        unsupported or failed; --allow-unsupported accepts that). Without a limit or tolerance \
        the verdict is NO THRESHOLD, never PASS; worst cases above 1 ulp are still shrunk, \
        keeping their kind of failure (an error within a factor of 16 of the original's).

        Every worst and shrunk case is printed as a request line `eval` accepts; a line longer \
        than 2000 characters is written to a file in --cases-dir (default \
        $TMPDIR/softmax-oracle-cases) and the report names it.

        --k N (repeatable) generates only rows of these lengths, so that a kernel compiled per \
        shape (Triton, jax.jit) sees few shapes. Lines of the process's stdout that do not \
        start with `{` (log lines) are copied to stderr, skipped, and counted in the notes.

        Exit status: 0 within the limits, or no limit given (NO THRESHOLD); 1 over them; 2 on a \
        usage error or a protocol error.

        Examples:
          softmax-oracle check --exec "python3 Examples/adapters/scipy_special.py" --cases 20
          softmax-oracle check --exec "./my_softmax" --max-ulp 2 --max-ulp log_softmax=4 --format f32
          softmax-oracle check --emit-requests requests.jsonl --seed 7
          softmax-oracle check --results answers.jsonl --fixtures requests.jsonl --output markdown
        """
    )

    @Option(name: .customLong("exec"), help: ArgumentHelp("A shell command speaking the JSON Lines protocol.", valueName: "CMD"))
    var command: String?

    @Option(name: .customLong("results"), help: ArgumentHelp("Result lines answering --fixtures, matched by id.", valueName: "FILE"))
    var resultsPath: String?

    @Option(name: .customLong("fixtures"), help: ArgumentHelp("The requests (JSON Lines with ids) that --results answers.", valueName: "FILE"))
    var fixturesPath: String?

    @Option(name: .customLong("emit-requests"), help: ArgumentHelp("Write the generated requests as fixture lines and stop.", valueName: "FILE"))
    var emitPath: String?

    @Option(help: "The implementation's name in reports (default: from the command or the results file).")
    var name: String?

    @Option(parsing: .unconditional, help: "Run seed (decimal or 0x hex); the default is report's, so both see the same cases.")
    var seed: String = "20261129"

    @Option(parsing: .unconditional, help: "Cases per function, format and family (large_k is capped at 3). A run holds at most \(CaseLimit.maximum) cases.")
    var cases: Int = 12

    @Option(name: .customLong("function"), help: ArgumentHelp("Only this function (repeatable, or \"all\"). Default: logsumexp, softmax, log_softmax, cross_entropy.", valueName: "FUNCTION"))
    var functions: [String] = []

    @Option(name: .customLong("format"), help: ArgumentHelp("Only this format (repeatable, or \"all\"). Default: f64, f32.", valueName: "FORMAT"))
    var formats: [String] = []

    @Option(name: .customLong("family"), help: ArgumentHelp("Only this generator family (repeatable). Default: all.", valueName: "FAMILY"))
    var families: [String] = []

    @Option(name: .customLong("max-ulp"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Limit in ULPs: N, or FUNCTION=N (repeatable).", valueName: "LIMIT"))
    var maxULP: [String] = []

    @Option(help: ArgumentHelp("Absolute tolerance: |y - v| <= atol + rtol*|v| (torch.testing.assert_close).", valueName: "A"))
    var atol: Double?

    @Option(help: ArgumentHelp("Relative tolerance (see --atol).", valueName: "R"))
    var rtol: Double?

    @Option(name: [.customLong("tolerance"), .customLong("tolerance-preset")], help: ArgumentHelp("A tolerance preset: torch (assert_close's defaults per format); also --tolerance-preset, as in regress.", valueName: "PRESET"))
    var tolerancePreset: String?

    @Flag(name: .customLong("allow-unsupported"), help: "Do not fail a function/format in which nothing was scored (every case unsupported or failed).")
    var allowUnsupported = false

    @Option(name: .customLong("k"), parsing: .unconditionalSingleValue, help: ArgumentHelp("Only rows of this length (repeatable; at most \(Self.maxRowLength)).", valueName: "N"))
    var rowLengths: [Int] = []

    @Option(name: .customLong("cases-dir"), help: ArgumentHelp("Where request lines too long to print are written (default: $TMPDIR/softmax-oracle-cases).", valueName: "DIR"))
    var casesDirectory: String?

    @Flag(name: .customLong("allow-special-mismatch"), help: "Do not fail on special-value mismatches (NaN or inf where the exact value is finite, or the reverse).")
    var allowSpecialMismatch = false

    @Option(parsing: .unconditional, help: "Seconds to wait for each answer.")
    var timeout: Double = 5

    @Option(name: .customLong("startup-timeout"), parsing: .unconditional, help: "Seconds to wait for the first answer, which includes the process's start-up (importing PyTorch can take several seconds); at least --timeout.")
    var startupTimeout: Double = 15

    @Option(name: .customLong("shrink-attempts"), parsing: .unconditional, help: "Queries spent shrinking each failing function/format (0: do not shrink).")
    var shrinkAttempts: Int = 500

    @Option(help: "Report format: text, markdown or json.")
    var output: String = "text"

    @Option(help: ArgumentHelp("Also write an SVG plot of ULP error against logit spread.", valueName: "FILE"))
    var svg: String?

    @Flag(name: .customLong("summary-only"), help: "Leave the per-family table out of the report.")
    var summaryOnly = false

    func run() throws {
        do {
            try check()
        } catch let error as UsageProblem {
            StandardError.write("Error: \(error.message)\nUsage: softmax-oracle check --exec CMD | --results FILE --fixtures FILE | --emit-requests FILE [options]; see --help\n")
            throw ExitCode(2)
        }
    }

    private func check() throws {
        let modes = [command != nil, resultsPath != nil || fixturesPath != nil, emitPath != nil].count(where: { $0 })
        guard modes == 1 else {
            throw UsageProblem(modes == 0 ? "give --exec CMD, --results FILE with --fixtures FILE, or --emit-requests FILE"
                                          : "give only one of --exec, --results/--fixtures, --emit-requests")
        }
        let outputFormat = try Self.names("output") { () throws(UnknownName) in try ReportStyle(named: output) }
        var thresholds: CheckThresholds
        do {
            thresholds = try CheckThresholds.parse(maxULP, allowSpecialMismatch: allowSpecialMismatch)
        } catch {
            throw UsageProblem(error.description)
        }
        thresholds.allowUnsupported = allowUnsupported
        thresholds.tolerance = try Self.toleranceRule(preset: tolerancePreset, atol: atol, rtol: rtol)
        if let bad = rowLengths.first(where: { $0 < 1 }) { throw UsageProblem("--k: \(bad) is not a positive row length") }
        if let bad = rowLengths.first(where: { $0 > Self.maxRowLength }) {
            throw UsageProblem("--k: \(bad) is over the limit of \(Self.maxRowLength) logits per row (the harness's longest family row)")
        }
        guard timeout > 0, timeout.isFinite else { throw UsageProblem("--timeout: \(timeout) is not a positive number of seconds") }
        guard startupTimeout > 0, startupTimeout.isFinite else { throw UsageProblem("--startup-timeout: \(startupTimeout) is not a positive number of seconds") }
        guard cases >= 0 else { throw UsageProblem("--cases: \(cases) is negative") }
        guard shrinkAttempts >= 0 else { throw UsageProblem("--shrink-attempts: \(shrinkAttempts) is negative") }
        let functionFilter = try Self.names("function") { () throws(UnknownName) in try OracleFunction.parse(functions, allowingAll: true) }
        let formatFilter = try Self.names("format") { () throws(UnknownName) in try Format.parse(formats, allowingAll: true) }
        let familyFilter = try Self.names("family") { () throws(UnknownName) in try Family.parse(families, allowingAll: true) }
        let options = ReportOptions(includeFamilies: !summaryOnly)
        if let svg { try OutputPath.checkFile(svg, option: "svg") }
        if let emitPath { try OutputPath.checkFile(emitPath, option: "emit-requests") }

        if command != nil || emitPath != nil {
            guard let seedValue = Self.parseSeed(seed) else { throw UsageProblem("--seed: \"\(seed)\" is not an unsigned 64-bit integer (decimal or 0x hex)") }
            var families = familyFilter ?? Family.allCases
            // single_logit has K = 1 whatever --k says: leave it out unless 1 is allowed or asked for.
            if familyFilter == nil && !rowLengths.isEmpty && !rowLengths.contains(1) { families.removeAll { $0 == .singleLogit } }
            let configuration = RunConfiguration(
                seed: seedValue,
                functions: functionFilter ?? RunConfiguration().functions,
                formats: formatFilter ?? RunConfiguration().formats,
                families: families,
                casesPerFamily: cases,
                generatorOptions: GeneratorOptions(rowLengths: rowLengths))
            if let problem = CaseLimit.problem(total: configuration.caseTotal, what: "--cases \(cases)") {
                throw UsageProblem(problem)
            }
            // With --k every case holds rows of the longest length given: bound the logits too.
            if let k = rowLengths.max(), configuration.caseTotal * k > Self.maxLogits {
                throw UsageProblem("--k \(k) with --cases \(cases) makes \(configuration.caseTotal) cases of up to \(k) logits, over the limit of \(Self.maxLogits) logits in one run (every case is held in memory); ask for fewer cases or shorter rows")
            }
            if let emitPath {
                let cases = configuration.cases()
                try FileOutput.writeAtomically(FixtureFile.text(for: cases, seed: configuration.seed), to: emitPath)
                StandardError.write("wrote \(cases.count) requests to \(emitPath)\n")
                return
            }
            try execute(command!, configuration: configuration, thresholds: thresholds, format: outputFormat, options: options)
        } else {
            guard let resultsPath, let fixturesPath else {
                throw UsageProblem("--results and --fixtures go together")
            }
            try scoreStored(resultsPath: resultsPath, fixturesPath: fixturesPath, functions: functionFilter, formats: formatFilter,
                            families: familyFilter, thresholds: thresholds, format: outputFormat, options: options)
        }
    }

    // MARK: --exec

    private func execute(_ command: String, configuration: RunConfiguration, thresholds: CheckThresholds,
                         format: ReportStyle, options: ReportOptions) throws {
        ProcessImplementation.installInterruptCleanup()
        let process: ProcessImplementation
        do {
            process = try ProcessImplementation(
                command: command, name: name,
                options: .init(timeout: timeout, firstRequestTimeout: max(timeout, startupTimeout), standardError: .inherit))
        } catch {
            StandardError.write("Error: \(error.description)\n")
            throw ExitCode(2)
        }
        let oracle = Oracle()
        let runner = ExternalRunner(oracle: oracle, oracleThreads: ProcessorCount.online, tolerance: thresholds.tolerance)
        let progress = ProgressBar(label: "check \(process.name)")
        let run = runner.run(cases: configuration.cases(), seed: configuration.seed, implementation: process,
                             shouldStop: { process.failure != nil }, progress: { progress.update($0, $1) })
        var shrunk: [ShrunkFailure] = []
        if process.failure == nil && shrinkAttempts > 0 {
            if isatty(STDERR_FILENO) == 1 { StandardError.write("check \(process.name): shrinking failures…\n") }
            shrunk = CheckShrinking.shrinkFailures(run.harness, implementation: process, oracle: oracle, thresholds: thresholds,
                                                   shrinker: Shrinker(maxAttempts: shrinkAttempts),
                                                   shouldStop: { process.failure != nil })
        }
        let failure = process.failure
        let status = process.close()
        var notes: [String] = []
        if failure == nil && !status.isSuccess && status != .signaled(SIGTERM) && status != .signaled(SIGKILL) {
            notes.append("the process \(status) after its standard input was closed")
        }
        if process.strayLineCount > 0 {
            notes.append("\(process.strayLineCount) line(s) of the process's standard output did not start with \"{\": copied to standard error and skipped")
        }
        if failure == nil, process.requestCount == 0 {
            notes.append("no request was sent (no case matched the filters)")
        }
        let outcome = CheckOutcome(
            subject: "\(process.name) (process \"\(command)\")", run: run, thresholds: thresholds,
            gateFailures: CheckGate.failures(run.harness, thresholds: thresholds), shrunk: shrunk,
            protocolError: failure?.description, notes: notes)
        try finish(outcome, format: format, options: options)
    }

    // MARK: --results

    private func scoreStored(resultsPath: String, fixturesPath: String, functions: [OracleFunction]?, formats: [Format]?,
                             families: [Family]?, thresholds: CheckThresholds, format: ReportStyle,
                             options: ReportOptions) throws {
        let fixtures: FixtureFile
        let results: [ResultLine]
        do {
            fixtures = try FixtureFile.parse(try Self.read(fixturesPath), source: fixturesPath)
            results = try StoredResultsImplementation.parseResults(try Self.read(resultsPath), source: resultsPath)
        } catch let problem as FileProblem {
            StandardError.write("Error: \(problem.description)\n")
            throw ExitCode(2)
        }
        let implementationName = name ?? Self.stem(resultsPath)
        let stored = StoredResultsImplementation(name: implementationName, fixtures: fixtures, results: results)
        let selected = fixtures.cases.filter { f in
            let k = f.harnessCase.key
            return (functions?.contains(k.function) ?? true) && (formats?.contains(k.format) ?? true)
                && (families?.contains(k.family) ?? true)
        }
        let progress = ProgressBar(label: "check \(implementationName)")
        let runner = ExternalRunner(oracle: Oracle(), oracleThreads: ProcessorCount.online, tolerance: thresholds.tolerance)
        let run = runner.run(cases: selected.map(\.harnessCase), seed: selected.first?.harnessCase.seed ?? 0,
                             implementation: stored, outcome: { i, _ in stored.outcome(for: selected[i]) },
                             progress: { progress.update($0, $1) })
        var notes: [String] = []
        if !stored.unknownResultIDs.isEmpty {
            let shown = stored.unknownResultIDs.prefix(5).joined(separator: ", ")
            notes.append("\(stored.unknownResultIDs.count) result line(s) answer no fixture line (ids \(shown)\(stored.unknownResultIDs.count > 5 ? ", …" : ""))")
        }
        if fixtures.casesWithoutFamily > 0 {
            notes.append("\(fixtures.casesWithoutFamily) fixture line(s) name no \"family\"; they are filed under \(FixtureFile.fallbackFamily.rawValue), and the per-family table is left out")
        }
        if fixtures.metadataLines > 0 { notes.append("\(fixtures.metadataLines) header/metadata line(s) skipped") }
        if selected.count < fixtures.cases.count {
            notes.append("\(fixtures.cases.count - selected.count) of \(fixtures.cases.count) fixture lines left out by --function/--format/--family")
        }
        var reportOptions = options
        if fixtures.casesWithoutFamily > 0 { reportOptions.includeFamilies = false }
        let outcome = CheckOutcome(
            subject: "\(implementationName) (results \(resultsPath), fixtures \(fixturesPath))", run: run, thresholds: thresholds,
            gateFailures: CheckGate.failures(run.harness, thresholds: thresholds), shrunk: [], notes: notes,
            canShrink: false)
        try finish(outcome, format: format, options: reportOptions)
    }

    // MARK: output

    private func finish(_ outcome: CheckOutcome, format: ReportStyle, options: ReportOptions) throws {
        var outcome = outcome
        if format != .json { outcome.caseFiles = try writeLongRequestLines(outcome.requestLines) }
        try StandardOutput.write(CheckReport.render(outcome, format: format, options: options))
        if let svg {
            let plot = SVGPlot.render(outcome.run.harness, title: "softmax-oracle check: \(outcome.run.harness.implementations.joined(separator: ", "))")
            do {
                try FileOutput.writeAtomically(plot, to: svg)
            } catch {
                StandardError.write("Error: \(error)\n")
                throw ExitCode(2)
            }
        }
        if let error = outcome.protocolError {
            StandardError.write("check: protocol error: \(error)\n")
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    // MARK: helpers

    /// Writes each request line longer than ``CheckReport/maxInlineRequestLength`` to its own
    /// file in --cases-dir (through a temporary file and a rename: never a partial file), named
    /// by a hash of the line; returns line → path.
    private func writeLongRequestLines(_ lines: [String]) throws -> [String: String] {
        let long = Set(lines.filter { $0.count > CheckReport.maxInlineRequestLength })
        guard !long.isEmpty else { return [:] }
        let directory = casesDirectory ?? ((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/softmax-oracle-cases")
        do {
            try AtomicFile.makeDirectory(directory)
        } catch {
            StandardError.write("Error: --cases-dir \(directory): cannot create the directory (\(error))\n")
            throw ExitCode(2)
        }
        var paths: [String: String] = [:]
        for line in long.sorted() {
            let path = directory + "/case-" + NumberText.hex64(StableHash.fnv1a(line)).dropFirst(2) + ".jsonl"
            do {
                try FileOutput.writeAtomically(line + "\n", to: path)
            } catch {
                StandardError.write("Error: cannot write \(path): \(error)\n")
                throw ExitCode(2)
            }
            paths[line] = path
        }
        return paths
    }

    /// The tolerance of `--tolerance`, `--atol` and `--rtol`.
    static func toleranceRule(preset: String?, atol: Double?, rtol: Double?) throws(UsageProblem) -> ToleranceRule {
        for (name, value) in [("atol", atol), ("rtol", rtol)] {
            if let value, !(value >= 0 && value.isFinite) { throw UsageProblem("--\(name): \(value) is not a non-negative number") }
        }
        var rule = ToleranceRule(atol: atol, rtol: rtol)
        if let preset {
            guard let p = ToleranceRule.Preset(rawValue: preset) else {
                throw UsageProblem("--tolerance: unknown preset \"\(preset)\" (expected one of: "
                    + ToleranceRule.Preset.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            rule.preset = p
        }
        return rule
    }

    /// `parse()`, an unknown name reported as the usage problem `--<option>: unknown …`.
    static func names<T>(_ option: String, _ parse: () throws(UnknownName) -> T) throws(UsageProblem) -> T {
        do throws(UnknownName) {
            return try parse()
        } catch {
            throw UsageProblem("--\(option): \(error)")
        }
    }

    /// The longest row `--k` may ask for: the harness's longest family row (large_k).
    static let maxRowLength = 100_000
    /// The most logits one run may generate with `--k` (8 bytes each, held in memory): 400 MB.
    static let maxLogits = 50_000_000

    static func parseSeed(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    static func read(_ path: String) throws -> String {
        let bytes: [UInt8]
        do throws(StreamError) {
            bytes = try FileReading.bytes(path)  // pipes, process substitution and /dev/stdin too
        } catch {
            throw FileProblem(source: path, line: 0, message: error.reason)
        }
        do throws(InvalidUTF8) {
            return try InvalidUTF8.decode(bytes)
        } catch {
            throw FileProblem(source: path, line: error.line, message: error.description)
        }
    }

    static func stem(_ path: String) -> String {
        // The last path component without its extension (a leading dot is not one).
        let base = path.split(separator: "/").last.map(String.init) ?? ""
        let stem = base.lastIndex(of: ".").map { $0 == base.startIndex ? base : String(base[..<$0]) } ?? base
        return stem.isEmpty ? "results" : stem
    }
}

/// A usage problem found after parsing: reported with exit status 2.
struct UsageProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
