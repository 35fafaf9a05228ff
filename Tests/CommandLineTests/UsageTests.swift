import ArgumentParser
import Foundation
import Testing
@testable import softmax_oracle

/// Issue 10, finding 10: one exit status (2) for usage errors in every command, each message
/// with the command's own usage line, options checked before any work, clean --help, --version.
@Suite("Command line: usage errors")
struct UsageTests {
    @Test("10: a usage error exits 2 with the command's own usage line, in every command, at parse time and after")
    func usageErrorsExit2WithTheCommandsUsage() {
        let directory = CLI.temporaryDirectory().path
        let runs: [(String, [String])] = [
            ("eval", ["eval", "--bogus"]),
            ("impl", ["impl", "accurate", "--bogus"]),
            ("report", ["report", "--bogus"]),
            ("report", ["report", "--cases", "0"]),
            ("report", ["report", "--cases", "-3"]),
            ("regress", ["regress", "--baseline", directory + "/b.json", "--bogus"]),
            ("regress", ["regress", "--baseline", directory + "/b.json", "--cases", "2"]),
            ("fixtures generate", ["fixtures", "generate", "--out", directory, "--bogus"]),
            ("fixtures generate", ["fixtures", "generate", "--out", directory, "--shard", "3/3"]),
            ("fixtures generate", ["fixtures", "generate", "--out", directory, "--shard", "-1/3"]),
            ("fixtures merge", ["fixtures", "merge", "--out", directory]),
            ("check", ["check", "--bogus"]),
            ("check", ["check", "--exec", "true", "--cases", "-1"]),
        ]
        for (command, arguments) in runs {
            let run = CLI.run(arguments)
            #expect(run.status == 2, "\(arguments): status \(run.status), stderr: \(run.stderr)")
            #expect(run.stderr.contains("Usage: softmax-oracle \(command)"), "\(arguments): \(run.stderr)")
        }
        // Negative numbers are read as values, and rejected (or accepted) for what they are.
        let negatives: [([String], String)] = [
            (["fixtures", "generate", "--out", directory, "--shard", "-1/3"], "the shard index -1 must be in 0...2"),
            (["report", "--threads", "-2"], "--threads: -2 must be at least 1"),
            (["report", "--cases", "-3"], "--cases: -3 must be at least 1"),
            (["eval", "cross_entropy", "--target", "1", "--label-smoothing", "-0.5", "--", "1", "2"], "-0.5 is outside [0, 1]"),
        ]
        for (arguments, message) in negatives {
            let run = CLI.run(arguments)
            #expect(run.status == 2 && run.stderr.contains(message) && !run.stderr.contains("Missing value"), "\(arguments): \(run.stderr)")
        }
    }

    @Test("10: output paths are checked before the run; the message says once what is wrong")
    func outputPathsCheckedFirst() {
        let directory = CLI.temporaryDirectory().path
        let report = CLI.run(["report", "--svg", "/nonexistent-directory/plot.svg"])
        #expect(report.status == 2 && report.stdout.isEmpty, "the report must not run: \(report.stdout.prefix(200))")
        #expect(report.stderr.contains("--svg /nonexistent-directory/plot.svg: the directory /nonexistent-directory does not exist"), "\(report.stderr)")
        let check = CLI.run(["check", "--exec", "true", "--svg", directory] + CLI.tinyGrid)
        #expect(check.status == 2)
        #expect(check.stderr.contains("--svg \(directory): \(directory) is a directory, not a file"), "\(check.stderr)")
        #expect(!check.stderr.contains("cannot write \(directory): cannot write"))
    }

    @Test("10: --version prints the package version")
    func version() {
        let run = CLI.run(["--version"])
        #expect(run.status == 0 && run.stdout == "softmax-oracle 0.1.0\n", "\(run.stdout) \(run.stderr)")
    }

    /// The help paragraphs of every command: a line of prose followed by another line of prose
    /// is a hard line break inside a paragraph (which wraps raggedly at 80 columns). Indented
    /// lines (examples) and lines ending with ":" (introducing them) may end where they end.
    @Test("10: --help texts have no hard line breaks inside paragraphs", arguments: [
        SoftmaxOracleCommand.self, EvalCommand.self, ReportCommand.self, ImplCommand.self, CheckCommand.self,
        RegressCommand.self, FixturesCommand.self, FixturesCommand.Generate.self, FixturesCommand.Merge.self,
        FixturesCommand.Verify.self,
    ] as [any ParsableCommand.Type])
    func helpParagraphsWrapCleanly(_ command: any ParsableCommand.Type) {
        let lines = command.configuration.discussion.split(separator: "\n", omittingEmptySubsequences: false)
        for (line, next) in zip(lines, lines.dropFirst()) {
            let prose = { (l: Substring) in !l.isEmpty && !l.hasPrefix(" ") }
            if prose(line) && prose(next) && !line.hasSuffix(":") {
                Issue.record("\(command.configuration.commandName ?? ""): a hard line break after \"\(line)\"")
            }
        }
    }

    @Test("the usage-error status is the README's")
    func statusIsTheReadmes() {
        #expect(SoftmaxOracleCommand.usageErrorStatus == 2)
    }
}
