import Foundation
import Testing

/// `softmax-oracle eval` alone runs without the argument parser (SoftmaxOracleCommand.main):
/// that may not change what a user sees, and `eval` with options still goes through the parser.
@Suite("eval's start-up shortcut")
struct EvalStartupTests {
    /// Request lines with one good request, one bad one and one of each special value.
    static let lines = Array(#"""
        {"id":1,"function":"softmax","logits":["1","2","3"]}
        {"id":"two","function":"softmax","logits":["x"]}
        {"id":3,"function":"logsumexp","format":"f32","logits":[0,"inf",-1e300]}

        """#.utf8)

    @Test("bare eval answers as eval with its defaults spelled out: the same lines, status and stderr")
    func bareEvalIsTheDefaults() {
        let bare = CLI.run(["eval"], input: .bytes(Self.lines))
        for spelled in [["eval", "--format", "f64"], ["eval", "--transport", "jsonl", "--max-line-bytes", "1073741824"]] {
            let parsed = CLI.run(spelled, input: .bytes(Self.lines))
            #expect(bare.stdout == parsed.stdout && bare.status == parsed.status && bare.stderr == parsed.stderr, "\(spelled)")
        }
        #expect(bare.status == 1)
        #expect(bare.stdout.hasPrefix(#"{"id":1,"values":["0x1.70c3e5f682bdap-4","#), "\(bare.stdout)")
        #expect(bare.stdout.split(separator: "\n").count == 3)
    }

    @Test("bare eval: empty input exits 0 with no output; a failed write exits 2 naming it",
          .enabled(if: FileManager.default.isWritableFile(atPath: "/dev/full"), "needs /dev/full"))
    func bareEvalStatuses() {
        let empty = CLI.run(["eval"])
        #expect(empty.status == 0 && empty.stdout.isEmpty && empty.stderr.isEmpty)
        let full = CLI.run(["eval"], input: .bytes(Self.lines), stdoutPath: "/dev/full")
        #expect(full.status == 2 && full.stderr == "softmax-oracle: error: cannot write to standard output: No space left on device\n",
                "\(full.stderr)")
    }

    @Test("eval with help, version, a bad option or value, or a failed validation reports as from the root")
    func evalErrorsKeepTheirUsage() {
        let help = CLI.run(["eval", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: softmax-oracle eval"), "\(help.stdout)")
        let helpWord = CLI.run(["help", "eval"])
        #expect(helpWord.stdout == help.stdout)
        let bad = CLI.run(["eval", "--format", "f128"])
        #expect(bad.status == 2 && bad.stderr.contains("Usage: softmax-oracle eval"), "\(bad.stderr)")
        let unknown = CLI.run(["eval", "--nope"])
        #expect(unknown.status == 2 && unknown.stderr.contains("Unknown option '--nope'"), "\(unknown.stderr)")
        let invalid = CLI.run(["eval", "--target", "1"])
        #expect(invalid.status == 2 && invalid.stderr.contains("--target is for single mode"), "\(invalid.stderr)")
        #expect(invalid.stderr.contains("Usage: softmax-oracle eval"), "\(invalid.stderr)")
        let version = CLI.run(["eval", "--version"])
        let rootVersion = CLI.run(["--version"])
        #expect(version.status == 0 && version.stdout == rootVersion.stdout && version.stdout.hasPrefix("softmax-oracle "), "\(version.stdout)")
    }

    @Test("eval with options still runs through the parser (single mode, --stats)")
    func evalWithOptions() {
        let single = CLI.run(["eval", "softmax", "--format", "f32", "--", "1000", "0", "-1000"])
        #expect(single.status == 0 && single.stdout == "0x1p+0\t1.0\n0x0p+0\t0.0\n0x0p+0\t0.0\n", "\(single.stdout)")
        let stats = CLI.run(["eval", "--stats"], input: .bytes(Self.lines))
        #expect(stats.status == 1 && stats.stderr.hasPrefix("eval: 3 requests, 1 errors"), "\(stats.stderr)")
    }
}
