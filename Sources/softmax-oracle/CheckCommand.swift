import AccuracyHarness
import ArgumentParser
import ExternalImplementations
import Foundation
import GoldenFixtures
import OracleIO
import ParallelExecution
import SoftmaxOracle

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Score any implementation against the oracle: a process speaking JSON Lines, or stored results.",
        discussion: """
        A process (any language): --exec "CMD" starts CMD once through /bin/sh and writes one
        request per line to its standard input, the eval request format with an integer id:
          {"id":7,"function":"softmax","format":"f32","logits":["0x1.f4p+9","0x0p+0","-0x1.f4p+9"]}
        It answers each with one line on its standard output (and flushes):
          {"id":7,"values":["0x1p+0","0x0p+0","0x0p+0"]}     hex floats, decimals, JSON numbers,
          {"id":7,"error":"unsupported format"}              "inf", "-inf", "nan"
        An "error" answer counts as unsupported, not as a failure. No answer within --timeout
        seconds, a crash, another id, the wrong number of values or a line that is not a result is
        a protocol error: the report names the request, the process group is killed and reaped,
        and the exit status is 2. Adapters for NumPy, SciPy, JAX and PyTorch: Examples/adapters.

        The cases are the harness's generator families (--seed, --cases per family, filtered by
        --function, --format, --family), scored as `report` scores them and shown in the same
        tables (--output, --svg). The worst case of each function/format that fails is shrunk to
        a small reproducer by querying the process again; it is printed with the original, as
        hex floats and as a request line for `eval`.

        Offline: --emit-requests FILE writes the cases as fixture lines (requests with ids); run
        them anywhere, then score the answers with --results ANSWERS --fixtures FILE (any
        fixtures file of requests with ids works, golden fixture files included).

        Limits: --max-ulp N for every function, --max-ulp FUNCTION=N for one (repeatable; the
        per-function one wins). Special-value mismatches fail unless --allow-special-mismatch.
        Errors (failed requests, missing results) fail. Without --max-ulp only those fail, and
        worst cases above 1 ulp are still shrunk.

        Exit status: 0 within the limits, 1 over them, 2 on a usage error or a protocol error.

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

    @Option(help: "Run seed (decimal or 0x hex); the default is report's, so both see the same cases.")
    var seed: String = "20261129"

    @Option(help: "Cases per function, format and family (large_k is capped at 3).")
    var cases: Int = 12

    @Option(name: .customLong("function"), help: ArgumentHelp("Only this function (repeatable, or \"all\"). Default: logsumexp, softmax, log_softmax, cross_entropy.", valueName: "FUNCTION"))
    var functions: [String] = []

    @Option(name: .customLong("format"), help: ArgumentHelp("Only this format (repeatable, or \"all\"). Default: f64, f32.", valueName: "FORMAT"))
    var formats: [String] = []

    @Option(name: .customLong("family"), help: ArgumentHelp("Only this generator family (repeatable). Default: all.", valueName: "FAMILY"))
    var families: [String] = []

    @Option(name: .customLong("max-ulp"), help: ArgumentHelp("Limit in ULPs: N, or FUNCTION=N (repeatable).", valueName: "LIMIT"))
    var maxULP: [String] = []

    @Flag(name: .customLong("allow-special-mismatch"), help: "Do not fail on special-value mismatches (NaN or inf where the exact value is finite, or the reverse).")
    var allowSpecialMismatch = false

    @Option(help: "Seconds to wait for each answer.")
    var timeout: Double = 5

    @Option(name: .customLong("startup-timeout"), help: "Seconds to wait for the first answer, which includes the process's start-up (importing PyTorch can take several seconds); at least --timeout.")
    var startupTimeout: Double = 15

    @Option(name: .customLong("shrink-attempts"), help: "Queries spent shrinking each failing function/format (0: do not shrink).")
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
        let thresholds: CheckThresholds
        do {
            thresholds = try CheckThresholds.parse(maxULP, allowSpecialMismatch: allowSpecialMismatch)
        } catch {
            throw UsageProblem(error.description)
        }
        guard timeout > 0, timeout.isFinite else { throw UsageProblem("--timeout: \(timeout) is not a positive number of seconds") }
        guard startupTimeout > 0, startupTimeout.isFinite else { throw UsageProblem("--startup-timeout: \(startupTimeout) is not a positive number of seconds") }
        guard cases >= 0 else { throw UsageProblem("--cases: \(cases) is negative") }
        guard shrinkAttempts >= 0 else { throw UsageProblem("--shrink-attempts: \(shrinkAttempts) is negative") }
        let functionFilter = try Self.names("function") { () throws(UnknownName) in try OracleFunction.parse(functions, allowingAll: true) }
        let formatFilter = try Self.names("format") { () throws(UnknownName) in try Format.parse(formats, allowingAll: true) }
        let familyFilter = try Self.names("family") { () throws(UnknownName) in try Family.parse(families, allowingAll: true) }
        let options = ReportOptions(includeFamilies: !summaryOnly)

        if command != nil || emitPath != nil {
            guard let seedValue = Self.parseSeed(seed) else { throw UsageProblem("--seed: \"\(seed)\" is not an unsigned 64-bit integer (decimal or 0x hex)") }
            let configuration = RunConfiguration(
                seed: seedValue,
                functions: functionFilter ?? RunConfiguration().functions,
                formats: formatFilter ?? RunConfiguration().formats,
                families: familyFilter ?? Family.allCases,
                casesPerFamily: cases)
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
        let runner = ExternalRunner(oracle: oracle, oracleThreads: ProcessorCount.online)
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
        let runner = ExternalRunner(oracle: Oracle(), oracleThreads: ProcessorCount.online)
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
        FileHandle.standardOutput.write(Data(CheckReport.render(outcome, format: format, options: options).utf8))
        if let svg {
            let plot = SVGPlot.render(outcome.run.harness, title: "softmax-oracle check: \(outcome.run.harness.implementations.joined(separator: ", "))")
            do {
                try FileOutput.writeAtomically(plot, to: svg)
            } catch {
                StandardError.write("Error: cannot write \(svg): \(error)\n")
                throw ExitCode(2)
            }
        }
        if let error = outcome.protocolError {
            StandardError.write("check: protocol error: \(error)\n")
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    // MARK: helpers

    /// `parse()`, an unknown name reported as the usage problem `--<option>: unknown …`.
    static func names<T>(_ option: String, _ parse: () throws(UnknownName) -> T) throws(UsageProblem) -> T {
        do throws(UnknownName) {
            return try parse()
        } catch {
            throw UsageProblem("--\(option): \(error)")
        }
    }

    static func parseSeed(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    static func read(_ path: String) throws -> String {
        let bytes: [UInt8]
        do throws(FileReadError) {
            bytes = try FileReading.bytes(path)  // pipes, process substitution and /dev/stdin too
        } catch {
            throw FileProblem(source: path, line: 0, message: error.reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FileProblem(source: path, line: 0, message: "not valid UTF-8 text")
        }
        return text
    }

    static func stem(_ path: String) -> String {
        let base = (path as NSString).lastPathComponent
        let stem = (base as NSString).deletingPathExtension
        return stem.isEmpty ? "results" : stem
    }
}

/// A usage problem found after parsing: reported with exit status 2.
struct UsageProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
