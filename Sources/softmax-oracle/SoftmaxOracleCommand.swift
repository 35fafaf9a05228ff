import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import GoldenFixtures
import OracleIO

/// The `softmax-oracle` command: a thin layer over the libraries.
@main
struct SoftmaxOracleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softmax-oracle",
        abstract: "Certified ground truth for softmax, log-softmax, logsumexp and cross-entropy, and a harness that scores implementations against it in ULPs.",
        discussion: """
        Every value the oracle prints is the exact result rounded once, to nearest-even, into the \
        requested format (f64, f32, f16, bf16, e5m2, e4m3fn), and each rounding is proven: the exact \
        value is enclosed by MPFR interval arithmetic until both ends round to the same number.

        Floats are read and written exactly: hex floats ("0x1.8p+1"), "inf", "-inf", "nan", or \
        decimals (read as the nearest binary64).

        Exit status of every command: 0 success, 1 a failed check (a bad request line, a score over \
        its limit, a regression, a fixture mismatch), 2 a usage error (the message ends with the \
        command's usage line) or an error that stopped the command (e.g. cannot write to standard \
        output).
        """,
        version: FixtureSchema.packageVersion,
        subcommands: [EvalCommand.self, ReportCommand.self, ImplCommand.self, CheckCommand.self, FixturesCommand.self, RegressCommand.self]
    )

    /// The exit status of a usage error, in every command (ArgumentParser's default is 64).
    static let usageErrorStatus: Int32 = 2

    /// ArgumentParser's `main`, except that:
    /// - a usage error, found while parsing or later by a command, exits with status 2 and ends
    ///   with the usage line of the command that was run (not the top-level one);
    /// - a failed write to standard output (``StreamError``) is reported on standard error with
    ///   status 2;
    /// - `--help` and `--version` are written with a checked write.
    ///
    /// `softmax-oracle eval` with no other argument, or with only `--transport jsonl|binary` (how
    /// the Python package starts it), runs batch mode with the other options' defaults without
    /// building the parser (``EvalCommand/runBatch(format:maxLineBytes:transport:mpfrOnly:stats:)``):
    /// the parse always gives those values and always validates, and building the argument sets
    /// of the command tree (reflection, runtime type and conformance lookups) was a fifth of a
    /// one-request `eval`'s 5.6 ms; with one option given, ArgumentParser's lookups take about
    /// 1.2 ms of CPU (`eval --transport binary` on an empty input: 2.3 ms against 1.0 for bare
    /// `eval`, `perf stat` over 100 runs). Parsing `eval` alone as its own root was tried: no
    /// measurable gain (the cost is per option and per lookup, not per command).
    static func main() {
        if let transport = bareEvalTransport {
            // Bare `eval` (every default but the transport), without the parser (EvalCommand.runBatch).
            do {
                try EvalCommand.runBatch(transport: transport)
                return
            } catch {
                end(with: error, command: EvalCommand.self)
            }
        }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(Array(CommandLine.arguments.dropFirst()))
        } catch {
            end(with: error, command: nil)
        }
        do {
            try command.run()
        } catch {
            end(with: error, command: type(of: command))
        }
    }

    /// The transport when the command line is exactly `softmax-oracle eval`, `softmax-oracle eval
    /// --transport T` or `softmax-oracle eval --transport=T` with T a transport's name (nil
    /// otherwise: the parser reads it, and names what is wrong). Read from `argv`'s C strings
    /// themselves: building `CommandLine.arguments` (an array of Strings made at run time) cost
    /// about 6% of a one-request `eval` in the static CLI, and an array of the words 2.6%.
    static var bareEvalTransport: EvalTransport? {
        let argc = Int(CommandLine.argc), argv = CommandLine.unsafeArgv
        guard (2...4).contains(argc), let command = argv[1], strcmp(command, EvalCommand.name) == 0 else { return nil }
        switch argc {
        case 2:
            return EvalCommand.defaultTransport
        case 3:
            let prefix = "--transport="
            guard let word = argv[2], strncmp(word, prefix, prefix.utf8.count) == 0 else { return nil }
            return transport(named: word + prefix.utf8.count)
        default:
            guard let option = argv[2], strcmp(option, "--transport") == 0, let value = argv[3] else { return nil }
            return transport(named: value)
        }
    }

    /// The transport whose name is the C string `name` (compared in place: no String is made,
    /// nor `EvalTransport(rawValue:)`'s table of names, for the two names).
    private static func transport(named name: UnsafePointer<CChar>) -> EvalTransport? {
        EvalTransport.allCases.first { strcmp(name, $0.rawValue) == 0 }
    }

    /// Reports `error` as described in ``main()`` and exits.
    static func end(with error: any Error, command: (any ParsableCommand.Type)?) -> Never {
        if let stream = error as? StreamError {
            StandardError.write("softmax-oracle: error: \(stream)\n")
            exit(withError: ExitCode(usageErrorStatus))
        }
        switch exitCode(for: error) {
        case .success:
            do {
                try StandardOutput.line(fullMessage(for: error))
            } catch {
                StandardError.write("softmax-oracle: error: \(error)\n")
                exit(withError: ExitCode(usageErrorStatus))
            }
            exit(withError: ExitCode.success)
        case .validationFailure:
            var text = fullMessage(for: error)
            if let command, command != Self.self {
                // Raised by a command after parsing: ArgumentParser would show the top-level usage.
                let usage = usageString(for: command)
                text = "Error: \(message(for: error))\n" + (usage.hasPrefix("Usage:") ? usage : "Usage: " + usage)
                text += "\n  See '\(commandPath(command)) --help' for more information."
            }
            StandardError.write(text + "\n")
            exit(withError: ExitCode(usageErrorStatus))
        default:
            exit(withError: error)
        }
    }

    /// `softmax-oracle fixtures generate` for the `Generate` command type.
    static func commandPath(_ command: any ParsableCommand.Type) -> String {
        let usage = usageString(for: command)
        let words = usage.split(separator: " ").drop { $0 == "Usage:" }
        return words.prefix { !$0.hasPrefix("[") && !$0.hasPrefix("<") && !$0.hasPrefix("-") }.joined(separator: " ")
    }
}
