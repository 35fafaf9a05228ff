import Foundation
import Testing

/// Issue 10, "Inputs that lose data, crash or hang": findings 1, 2, 3, 5 and 11, end to end
/// through the built binary.
@Suite("Command line: streams, writes, sizes")
struct StreamTests {
    static let request = #"{"id":1,"function":"softmax","logits":[1,2]}"#

    @Test("1: a line over the limit gets an error line naming it, and the next lines are answered (eval, impl)")
    func longLineIsAnsweredAndLaterLinesToo() {
        let long = #"{"id":2,"function":"softmax","logits":["# + String(repeating: "1,", count: 50_000) + "1]}"
        let input = Array((Self.request + "\n" + long + "\n" + Self.request.replacingOccurrences(of: "\"id\":1", with: "\"id\":3") + "\n").utf8)
        for command in [["eval"], ["impl", "accurate"]] {
            let run = CLI.run(command + ["--max-line-bytes", "1000"], input: .bytes(input))
            let lines = run.stdout.split(separator: "\n")
            #expect(lines.count == 3, "\(command): \(run.stderr)")
            #expect(lines.count == 3 && lines[1] == #"{"id":null,"error":"line 2: longer than 1000 bytes (it has \#(long.utf8.count)), the limit of a request line"}"#)
            #expect(lines.last?.hasPrefix(#"{"id":3,"values":"#) == true)
        }
    }

    /// The commands whose standard output goes to /dev/full, with what they need to run.
    static func writers(in directory: URL) -> [(String, [String], CLI.Input)] {
        let dir = directory.path
        _ = CLI.run(["fixtures", "generate", "--out", dir + "/fixtures"] + CLI.tinyGrid)
        _ = CLI.run(["regress", "--baseline", dir + "/baseline.json", "--update", "--implementation", "accurate"] + CLI.tinyGrid)
        return [
            ("eval (JSON Lines)", ["eval"], .bytes(Array((request + "\n").utf8))),
            ("eval (single)", ["eval", "softmax", "--", "1", "2"], .bytes([])),
            ("impl", ["impl", "accurate"], .bytes(Array((request + "\n").utf8))),
            ("report", ["report", "--implementation", "accurate"] + CLI.tinyGrid, .bytes([])),
            ("check", ["check", "--exec", "'\(CLI.binary)' impl accurate", "--max-ulp", "1"] + CLI.tinyGrid, .bytes([])),
            ("fixtures verify", ["fixtures", "verify", dir + "/fixtures"], .bytes([])),
            ("regress", ["regress", "--baseline", dir + "/baseline.json"], .bytes([])),
        ]
    }

    @Test("2: a failed write to standard output exits 2 with a message, in every command, never a crash",
          .enabled(if: FileManager.default.isWritableFile(atPath: "/dev/full"), "needs /dev/full"))
    func failedWritesAreErrors() {
        let directory = CLI.temporaryDirectory()
        for (name, arguments, input) in Self.writers(in: directory) {
            let run = CLI.run(arguments, input: input, stdoutPath: "/dev/full")
            #expect(!run.signaled && run.status == 2, "\(name): status \(run.status) (signaled: \(run.signaled)), stderr: \(run.stderr)")
            #expect(run.stderr.contains("cannot write to standard output: No space left on device"), "\(name): \(run.stderr)")
        }
    }

    @Test("3: case counts over the limit are refused before any work (exit 2, naming the value and the limit)")
    func caseCountsAreBounded() throws {
        let directory = CLI.temporaryDirectory()
        let baseline = try String(contentsOf: packageRoot.appendingPathComponent("Fixtures/accuracy-baseline.json"), encoding: .utf8)
            .replacingOccurrences(of: #""cases": [0-9]+,"#, with: #""cases": 1000000000,"#, options: .regularExpression)
        try baseline.write(to: directory.appendingPathComponent("huge.json"), atomically: true, encoding: .utf8)
        let runs: [(String, [String], String)] = [
            ("report", ["report", "--cases", "1000000000"], "--cases 1000000000 makes a run of"),
            ("check", ["check", "--exec", "true", "--cases", "1000000000"], "--cases 1000000000 makes a run of"),
            ("check --emit-requests", ["check", "--emit-requests", directory.path + "/r.jsonl", "--cases", "1000000000"], "--cases 1000000000 makes a run of"),
            ("fixtures generate", ["fixtures", "generate", "--out", directory.path + "/f", "--cases", "1000000000"], "--cases 1000000000 makes a run of"),
            ("regress (baseline)", ["regress", "--baseline", directory.path + "/huge.json"], #"the baseline's "cases": 1000000000 makes a run of"#),
        ]
        for (name, arguments, message) in runs {
            let run = CLI.run(arguments, limit: 60)
            #expect(!run.signaled && run.status == 2, "\(name): status \(run.status) (signaled: \(run.signaled)), stderr: \(run.stderr)")
            #expect(run.stderr.contains(message) && run.stderr.contains("over the limit of 1000000"), "\(name): \(run.stderr)")
        }
    }

    @Test("3: --k is bounded too: a row length over 100 000, or cases × K over 5·10^7 logits, is refused before any work")
    func rowLengthsAreBounded() throws {
        let directory = CLI.temporaryDirectory()
        let runs: [([String], String)] = [
            (["check", "--k", "200000", "--emit-requests", directory.path + "/r.jsonl"], "--k: 200000 is over the limit of 100000"),
            (["check", "--k", "100000", "--emit-requests", directory.path + "/r.jsonl"], "over the limit of 50000000 logits"),
            (["check", "--k", "-3", "--emit-requests", directory.path + "/r.jsonl"], "--k: -3 is not a positive row length"),
        ]
        for (arguments, message) in runs {
            let run = CLI.run(arguments, limit: 60)
            #expect(!run.signaled && run.status == 2, "\(arguments): status \(run.status), stderr: \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    @Test("5: invalid UTF-8 is an error at its byte offset, a BOM is named, a stored results file names the line and byte")
    func invalidUTF8IsNamed() throws {
        let bad = CLI.run(["eval"], input: .bytes(Array(#"{"id":""#.utf8) + [0xFF] + Array(#"","function":"softmax","logits":[1]}"#.utf8) + [0x0A]))
        #expect(bad.status == 1)
        #expect(bad.stdout == #"{"id":null,"error":"invalid JSON at byte 7: expected well-formed UTF-8 (this byte cannot start a character), found byte 0xFF"}"# + "\n")
        let verbatim = CLI.run(["eval"], input: .bytes(Array(#"{"id": ["\u00e9", 1.50], "function":"softmax","logits":[1]}"#.utf8)))
        #expect(verbatim.stdout == #"{"id":["\u00e9", 1.50],"values":["0x1p+0"]}"# + "\n", "the id is echoed byte for byte")
        let bom = CLI.run(["eval"], input: .bytes([0xEF, 0xBB, 0xBF] + Array((Self.request + "\n").utf8)))
        #expect(bom.stdout.contains("a UTF-8 byte-order mark (EF BB BF), which is not allowed"))

        let directory = CLI.temporaryDirectory()
        let requests = directory.appendingPathComponent("requests.jsonl").path
        _ = CLI.run(["check", "--emit-requests", requests] + CLI.tinyGrid)
        let answers = directory.appendingPathComponent("answers.jsonl")
        try Data(Array(#"{"id":"x","values":[]}"#.utf8) + [0x0A] + Array(#"{"id":"\#u{FF}"#.utf8) + [0xFF, 0x0A]).write(to: answers)
        let stored = CLI.run(["check", "--results", answers.path, "--fixtures", requests])
        #expect(stored.status == 2)
        #expect(stored.stderr.contains("\(answers.path):2: byte 9 of the line (offset 32 in the file): 0xFF is not well-formed UTF-8"), "\(stored.stderr)")
    }

    @Test("11: flags single mode ignored, an empty --out, a directory on stdin and a grid of no case are usage errors")
    func silentlyIgnoredInputsAreErrors() {
        let runs: [(String, [String], CLI.Input, String)] = [
            ("eval --targets", ["eval", "softmax", "--targets", "1", "2", "--", "1", "2"], .bytes([]), "--targets: not used by softmax"),
            ("fixtures --out \"\"", ["fixtures", "generate", "--out", ""], .bytes([]), "--out: the path is empty"),
            ("eval < directory", ["eval"], .file("/"), "cannot read standard input: Is a directory"),
            ("report of no case", ["report", "--implementation", "accurate", "--format", "e4m3fn"], .bytes([]), "no case to run: accurate computes none of the chosen functions and formats"),
        ]
        for (name, arguments, input, message) in runs {
            let run = CLI.run(arguments, input: input, in: CLI.temporaryDirectory())
            #expect(run.status == 2, "\(name): status \(run.status), stderr: \(run.stderr)")
            #expect(run.stderr.contains(message), "\(name): \(run.stderr)")
        }
    }
}
