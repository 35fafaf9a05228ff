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

    /// Two request frames (docs/protocol.md): softmax of [0, 1] in f64 with `result` both, and
    /// one whose header is not JSON.
    static let frames: [UInt8] = {
        func frame(_ header: String, _ payload: [UInt8]) -> [UInt8] {
            let h = Array(header.utf8)
            return Array("SOF1".utf8) + withUnsafeBytes(of: UInt32(h.count).littleEndian, Array.init)
                + withUnsafeBytes(of: UInt64(payload.count).littleEndian, Array.init) + h + payload
        }
        let logits = [0.0, 1.0].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return frame(#"{"id":1,"function":"softmax","result":"both","arrays":[{"name":"logits","dtype":"f64","shape":[2]}]}"#, logits)
            + frame("{oops", [])
    }()

    @Test("eval --transport binary (or =binary, or jsonl) skips the parser and answers as the parsed command does")
    func bareTransport() {
        let parsedBinary = CLI.run(["eval", "--transport", "binary", "--format", "f64"], input: .bytes(Self.frames))
        #expect(parsedBinary.status == 1 && parsedBinary.stderr.isEmpty, "\(parsedBinary.stderr)")
        // The first answer: the two values, then (f64) the same two words as bits.
        let out = parsedBinary.stdoutBytes
        let header = #"{"id":1,"arrays":[{"name":"values","dtype":"f64","shape":[2]},{"name":"bits","dtype":"u64","shape":[2]}]}"#
        #expect(out.count > 16 + header.utf8.count + 32 && Array(out[16..<(16 + header.utf8.count)]) == Array(header.utf8))
        if out.count > 16 + header.utf8.count + 32 {
            let payload = Array(out[(16 + header.utf8.count)..<(16 + header.utf8.count + 32)])
            #expect(payload[0..<16] == payload[16..<32])
        }
        for spelled in [["eval", "--transport", "binary"], ["eval", "--transport=binary"]] {
            let bare = CLI.run(spelled, input: .bytes(Self.frames))
            #expect(bare.stdoutBytes == parsedBinary.stdoutBytes && bare.status == parsedBinary.status && bare.stderr == parsedBinary.stderr, "\(spelled)")
        }
        let jsonl = CLI.run(["eval", "--transport", "jsonl"], input: .bytes(Self.lines))
        let parsedJSONL = CLI.run(["eval", "--transport", "jsonl", "--format", "f64"], input: .bytes(Self.lines))
        #expect(jsonl.stdout == parsedJSONL.stdout && jsonl.status == parsedJSONL.status && jsonl.stderr == parsedJSONL.stderr)
        // A transport that does not exist, or a missing one, is the parser's usage error.
        for bad in [["eval", "--transport", "frames"], ["eval", "--transport=xml"], ["eval", "--transport"]] {
            let run = CLI.run(bad, input: .bytes(Self.lines))
            #expect(run.status == 2 && run.stderr.contains("Usage: softmax-oracle eval") && run.stdout.isEmpty, "\(bad): \(run.stderr)")
        }
    }
}
