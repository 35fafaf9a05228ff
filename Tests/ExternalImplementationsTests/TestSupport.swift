#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SoftmaxOracle
import Testing
@_exported import TestSupport  // packageRoot, pythonHas: shared by every test target
@testable import ExternalImplementations

/// Scripts written to a fresh temporary directory, run through /bin/sh.
enum Scripts {
    /// A directory for this test process.
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("softmax-oracle-external-tests-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes `body` to a file named `name` and returns a command that runs it with `interpreter`.
    static func command(_ name: String, _ body: String, interpreter: String = "/bin/sh") -> String {
        let url = directory.appendingPathComponent(name)
        try! body.write(to: url, atomically: true, encoding: .utf8)
        return "\(interpreter) '\(url.path)'"
    }

    /// The id of a request line written by `RequestEncoder` (`{"id":N,...`), in sh.
    static let readID = #"id=$(printf '%s\n' "$line" | sed 's/^{"id":\([0-9]*\),.*/\1/')"#

    /// A sh adapter that runs `body` for each request line, with `$id` its id and `$n` its number
    /// (1, 2, …).
    static func numbered(_ name: String, _ body: String) -> String {
        command(name, """
            n=0
            while IFS= read -r line; do
              \(readID)
              n=$((n + 1))
            \(body)
            done
            """)
    }

    /// A sh adapter that answers every request with `values` (a JSON array text).
    static func constant(_ name: String, values: String) -> String {
        command(name, """
            while IFS= read -r line; do
              \(readID)
              printf '{"id":%s,"values":\(values)}\\n' "$id"
            done
            """)
    }

    /// A Python adapter that answers each request with its logits (the identity).
    static let echo = command("echo.py", """
        import json, sys
        for line in sys.stdin:
            r = json.loads(line)
            if r.get("format") == "e4m3fn":
                out = {"id": r["id"], "error": "unsupported format e4m3fn"}
            else:
                out = {"id": r["id"], "values": r["logits"]}
            sys.stdout.write(json.dumps(out) + "\\n")
            sys.stdout.flush()
        """, interpreter: "python3")
}

/// Options for tests: short timeouts, standard error captured.
func testOptions(timeout: Double = 5) -> ProcessImplementation.Options {
    .init(timeout: timeout, standardError: .capture(limit: 4096), closeGracePeriod: 1)
}

/// Whether `pid` is gone (reaped: no such process) — not running and not a zombie of ours.
func isReaped(_ pid: Int32) -> Bool {
    var status: Int32 = 0
    let waited = waitpid(pid, &status, WNOHANG)
    let waitErrno = errno
    let killed = kill(pid, 0)
    let killErrno = errno
    return waited == -1 && waitErrno == ECHILD && killed == -1 && killErrno == ESRCH
}

/// Whether a process (not necessarily our child) is no longer running: gone, or a zombie.
func isNotRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    guard let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state == "Z" || state == "X"
}

/// The message of what `body` throws ("no error" when nothing is thrown).
func thrownMessage(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return String(describing: error)
    }
}

/// Records an issue unless `body` throws an error whose message starts with `prefix`.
func expectThrows(prefix: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    let message = thrownMessage(body)
    #expect(message.hasPrefix(prefix), "\(message)", sourceLocation: sourceLocation)
}

/// For tests that start a Python adapter (the standard library only): skipped, visibly, without
/// python3.
let needsPython3: ConditionTrait = .enabled(if: pythonHas([]), "python3 is not on PATH: this test runs a Python adapter")

let softmax2 = OracleRequest(function: .softmax, format: .f32, logits: [1, 2])
