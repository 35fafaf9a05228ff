import AccuracyHarness
import ArgumentParser
import GoldenFixtures
import ParallelExecution
import SoftmaxOracle

#if canImport(Glibc)
import Glibc
#endif

/// `softmax-oracle fixtures`: golden fixture files (generate, merge shards, verify).
struct FixturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixtures",
        abstract: "Golden fixture files: certified expected values for your own test suite.",
        discussion: """
        A fixture file is JSON Lines: a header line (schema, function, format, families, seed, \
        generator, oracle and MPFR versions, case count, shard), then one case per line: the \
        request exactly as `eval` reads it (floats as exact hex strings) plus "expected", the \
        certified correct roundings. Files are named <function>.<format>.jsonl and are \
        byte-identical for the same seed and options on every machine. Fixtures/README.md \
        documents the schema and shows how to load it in Python.

        Examples:
          softmax-oracle fixtures generate --out fixtures --cases 8
          softmax-oracle fixtures generate --out shards --shard 0/4     # on each of 4 machines: 0/4 … 3/4
          softmax-oracle fixtures merge --out fixtures shards
          softmax-oracle fixtures verify fixtures

        Exit status: 0 success; 1 verify found a mismatch; 2 an error (bad option, unreadable or \
        unwritable path, inconsistent shards).
        """,
        subcommands: [Generate.self, Merge.self, Verify.self]
    )

    /// Prints `message` to standard error and ends with status 2.
    static func fail(_ command: String, _ message: String) -> ExitCode {
        StandardError.write("softmax-oracle fixtures \(command): error: \(message)\n")
        return ExitCode(2)
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Generate fixture files (one per function and format) with certified expected values.",
            discussion: """
            Cases come from the harness's generator families at --seed (case i of a family does \
            not depend on how many are asked for), one file per (function, format) holding every \
            chosen family in order. Each file is written to a hidden temporary name and renamed \
            when complete: an interrupted run leaves no partial file.

            Sharding (a job array on any scheduler): run `--shard I/N` for I = 0 … N-1, each \
            with its own or a shared --out; shard I takes the case lines I, I+N, I+2N… of every \
            file and writes <function>.<format>.shard-I-of-N.jsonl. `fixtures merge` joins them \
            into exactly the bytes of one unsharded run. E.g. SLURM: --array=0-3 and
              softmax-oracle fixtures generate --out shards --shard $SLURM_ARRAY_TASK_ID/4

            --npy DIR also writes NumPy .npy arrays (<function>.<format>.<array>.npy; no \
            padding: ragged arrays flat with C+1 offsets, e.g. logits and row_offsets; arrays of \
            defaults left out): see Fixtures/README.md.

            The committed set:
              fixtures generate --out Fixtures/golden --cases 3 --family-cases large_k=1 --max-k 64
            """
        )

        @Option(help: "Directory to write into (created if missing).")
        var out: String

        @Option(parsing: .unconditional, help: "Run seed: the same seed and options give byte-identical files.")
        var seed: UInt64 = FixtureSchema.defaultSeed

        @Option(parsing: .unconditional, help: "Cases per (function, format, family); large_k is capped at 3 unless --family-cases sets it. A run holds at most \(CaseLimit.maximum) cases.")
        var cases: Int = 4

        @Option(name: .customLong("family-cases"), help: ArgumentHelp("Cases of one family, FAMILY=N (repeatable), e.g. large_k=1.", valueName: "family=n"))
        var familyCases: [String] = []

        @Option(name: .customLong("function"), help: "Only this function (repeatable; default all).")
        var functions: [String] = []

        @Option(name: .customLong("format"), help: "Only this format (repeatable; default all).")
        var formats: [String] = []

        @Option(name: .customLong("family"), help: "Only this family (repeatable; default all): \(Family.allValueStrings.joined(separator: ", ")).")
        var families: [String] = []

        @Option(name: .customLong("max-k"), parsing: .unconditional, help: "Skip cases with rows longer than this, taking the family's next indices instead in every family (recorded in the header); large_k, 1000 logits and more, then has no case unless --family-cases large_k=N asks for its long rows.")
        var maxK: Int?

        @Option(parsing: .unconditional, help: ArgumentHelp("Write only shard I of N (0 <= I < N).", valueName: "I/N"))
        var shard: String?

        @Option(help: "Also write NumPy .npy arrays into this directory.")
        var npy: String?

        @Flag(name: .customLong("label-smoothing"), help: "Give one hard-target cross-entropy case in five label smoothing (recorded in the header).")
        var labelSmoothing = false

        @Option(parsing: .unconditional, help: "Worker threads for the oracle (default: the number of cores; the output does not depend on it).")
        var threads: Int = ProcessorCount.online

        /// The options checked before any work (usage errors, exit status 2).
        func checkedOptions() throws -> (FixtureSpec, Shard?) {
            try OutputPath.checkDirectoryOption(out, option: "out")
            if let npy { try OutputPath.checkDirectoryOption(npy, option: "npy") }
            if threads < 1 { throw ValidationError("--threads: \(threads) must be at least 1") }
            do throws(FixtureError) {
                let spec = try FixtureOptionParsing.spec(
                    seed: seed, cases: cases, familyCases: familyCases, functions: functions, formats: formats,
                    families: families, maxK: maxK, labelSmoothing: labelSmoothing)
                let total = CaseLimit.total(functions: spec.functions.count, formats: spec.formats.count,
                                            families: spec.families, count: spec.caseCount(for:))
                if let problem = CaseLimit.problem(total: total, what: "--cases \(cases)\(familyCases.isEmpty ? "" : " with --family-cases")") {
                    throw FixtureError(problem)
                }
                return (spec, try shard.map { text throws(FixtureError) in try Shard(parsing: text) })
            } catch {
                throw ValidationError(error.message)
            }
        }

        func run() throws {
            let (spec, shardValue) = try checkedOptions()
            let generator = FixtureGenerator(spec: spec, threads: threads)
            var total = 0
            var files = 0
            var caseCount = 0
            var output = CheckedLines()
            do throws(FixtureError) {
                try generator.write(to: out, shard: shardValue, npyDirectory: npy) { w in
                    output.line("wrote \(w.path): \(w.cases) cases, \(w.bytes) bytes")
                    total += w.bytes
                    files += 1
                    caseCount += w.cases
                }
            } catch {
                throw FixturesCommand.fail("generate", error.message)
            }
            let part = shardValue.map { " (shard \($0))" } ?? ""
            output.line("\(files) files\(part), \(caseCount) cases, \(total) bytes, seed \(spec.seed)")
            try output.finish()
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Join the shards of a sharded `fixtures generate` into the files one run writes.",
            discussion: """
            Reads every *.jsonl file in the given directories (or the files given), groups them by \
            function and format, checks that the shards of each agree (seed, families, generator, \
            oracle version), that shards 0 … N-1 are all there once, and that each line is the \
            case expected at its position; then writes <function>.<format>.jsonl: byte for byte \
            what `fixtures generate` without --shard writes. Nothing is recomputed (run \
            `fixtures verify` for that). On any inconsistency nothing is written.
            """
        )

        @Option(help: "Directory to write the merged files into (created if missing).")
        var out: String

        @Option(help: "Also write NumPy .npy arrays of the merged files into this directory.")
        var npy: String?

        @Argument(help: ArgumentHelp("Directories (or files) holding the shard files.", valueName: "shard-dir"))
        var inputs: [String]

        func validate() throws {
            if inputs.isEmpty { throw ValidationError("give the directories (or files) holding the shards") }
            try OutputPath.checkDirectoryOption(out, option: "out")
            if let npy { try OutputPath.checkDirectoryOption(npy, option: "npy") }
        }

        func run() throws {
            var total = 0
            var files = 0
            var output = CheckedLines()
            do throws(FixtureError) {
                try FixtureMerger.write(inputs, to: out, npyDirectory: npy) { w in
                    output.line("wrote \(w.path): \(w.cases) cases, \(w.bytes) bytes")
                    total += w.bytes
                    files += 1
                }
            } catch {
                throw FixturesCommand.fail("merge", error.message)
            }
            output.line("\(files) files merged, \(total) bytes")
            try output.finish()
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Re-certify every expected value of fixture files with the oracle; name each mismatch.",
            discussion: """
            For every case line: the expected values are recomputed by the oracle and compared \
            bit for bit (NaN matches NaN; -0 and +0 differ), the inputs are regenerated from the \
            header's seed and compared, and the line must be byte for byte what `generate` \
            writes; so any changed byte is caught, even one the outputs would not show \
            (--expected-only checks the expected values alone). Each problem is printed as
              FILE:LINE: case ID: output I: the file has HEX, the oracle certifies HEX

            Exit status 0 when everything matches, 1 on any mismatch or unreadable line, 2 when \
            a path does not exist.
            """
        )

        @Argument(help: ArgumentHelp("Fixture files, or directories of *.jsonl fixture files.", valueName: "dir-or-file"))
        var paths: [String]

        @Flag(name: .customLong("expected-only"), help: "Check the expected values only, not that the inputs regenerate from the seed.")
        var expectedOnly = false

        @Option(name: .customLong("max-problems"), parsing: .unconditional, help: "Print at most this many problems (all are counted).")
        var maxProblems: Int = 1000

        @Option(parsing: .unconditional, help: "Worker threads for the oracle (default: the number of cores).")
        var threads: Int = ProcessorCount.online

        func validate() throws {
            if paths.isEmpty { throw ValidationError("give fixture files or directories to verify") }
            if threads < 1 { throw ValidationError("--threads: \(threads) must be at least 1") }
            if maxProblems < 0 { throw ValidationError("--max-problems: \(maxProblems) must be at least 0") }
        }

        func run() throws {
            let verifier = FixtureVerifier(threads: threads, checkInputs: !expectedOnly)
            let report: VerificationReport
            do throws(FixtureError) {
                report = try verifier.verify(paths)
            } catch {
                throw FixturesCommand.fail("verify", error.message)
            }
            var text = report.problems.prefix(Swift.max(0, maxProblems)).map { $0.description + "\n" }.joined()
            if report.problems.count > maxProblems {
                text += "… \(report.problems.count - maxProblems) more problems not shown (--max-problems)\n"
            }
            try StandardOutput.write(text + report.summary + "\n")
            if !report.passed { throw ExitCode(1) }
        }
    }
}

/// Parsing the grid options shared by `fixtures generate` and `regress --update`.
enum FixtureOptionParsing {
    static func spec(seed: UInt64, cases: Int, familyCases: [String], functions: [String], formats: [String],
                     families: [String], maxK: Int?, labelSmoothing: Bool) throws(FixtureError) -> FixtureSpec {
        if cases < 0 { throw FixtureError("--cases: \(cases) must be at least 0") }
        if let maxK, maxK < 1 { throw FixtureError("--max-k: \(maxK) must be at least 1") }
        var options = GeneratorOptions.default
        options.labelSmoothing = labelSmoothing
        return FixtureSpec(
            seed: seed,
            functions: try names(functions, "function") ?? OracleFunction.fixtureFunctions,
            formats: try names(formats, "format") ?? Format.allCases,
            families: try names(families, "family") ?? Family.allCases,
            casesPerFamily: cases,
            familyCases: try perFamily(familyCases),
            maxK: maxK,
            generatorOptions: options)
    }

    /// `values` parsed as `T`s (``CommandLineName/parse(_:allowingAll:)``); nil for none given.
    ///
    /// - Throws: ``FixtureError`` `--<option>: unknown <kind> "<value>" (…)`.
    static func names<T: CommandLineName>(_ values: [String], _ option: String) throws(FixtureError) -> [T]? {
        do throws(UnknownName) {
            return try T.parse(values)
        } catch {
            throw FixtureError("--\(option): \(error)")
        }
    }

    /// `FAMILY=N` pairs.
    static func perFamily(_ values: [String]) throws(FixtureError) -> [Family: Int] {
        var out: [Family: Int] = [:]
        for v in values {
            let parts = v.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let n = Int(parts[1]), n >= 0 else {
                throw FixtureError("--family-cases \"\(v)\": expected FAMILY=N with N >= 0, e.g. large_k=1")
            }
            do throws(UnknownName) {
                out[try Family(named: String(parts[0]))] = n
            } catch {
                throw FixtureError("--family-cases \"\(v)\": \(error)")
            }
        }
        return out
    }
}
