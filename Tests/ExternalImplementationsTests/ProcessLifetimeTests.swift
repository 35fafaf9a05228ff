#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AccuracyHarness
import Foundation
import SoftmaxOracle
import Testing
@testable import ExternalImplementations

/// The built command-line tool, next to this test bundle (`swift test` builds every product);
/// `SOFTMAX_ORACLE_CLI=/path/to/softmax-oracle` runs these tests against another build.
enum CLI {
    static let path: String? = {
        if let given = ProcessInfo.processInfo.environment["SOFTMAX_ORACLE_CLI"] { return given }
        #if os(Linux)
        guard let exe = Descendants.link("/proc/self/exe") else { return nil }
        let candidate = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("softmax-oracle").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
        #else
        return nil
        #endif
    }()

    static let available: ConditionTrait = .enabled(if: path != nil, "the softmax-oracle executable is not next to the test bundle")

    /// Starts `/bin/sh -c 'exec TOOL "$@" >OUTPUT 2>&1 </dev/null'` (the pid is the tool's), or
    /// with `pipedInput`, `cat PIPED_INPUT | TOOL "$@" >OUTPUT 2>&1` (standard input a pipe).
    /// Reaped by ``wait(_:)``.
    static func start(_ arguments: [String], output: String, pipedInput: String? = nil) -> pid_t {
        let script = pipedInput.map { "cat '\($0)' | \"$0\" \"$@\" >'\(output)' 2>&1" }
            ?? "exec \"$0\" \"$@\" >'\(output)' 2>&1 </dev/null"
        let argv = (["/bin/sh", "-c", script, path!] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
        precondition(rc == 0, "cannot start /bin/sh")
        return pid
    }

    /// Reaps `pid`; its exit status (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    }

    /// Runs the tool to its end: (exit status, standard output and error).
    static func run(_ arguments: [String], pipedInput: String? = nil) -> (status: Int32, output: String) {
        let out = Scripts.directory.appendingPathComponent("cli-\(UUID().uuidString).out").path
        let status = wait(start(arguments, output: out, pipedInput: pipedInput))
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }
}

/// Waits (up to 10 s) until `condition` holds; returns whether it did. A bound, not a timing
/// assertion: the conditions hold at once when the code is right.
func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// How many processes have `parent` as their parent (from /proc/PID/stat; 0 where /proc is
/// missing).
func childCount(of parent: pid_t) -> Int {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
    var count = 0
    for entry in entries where Int32(entry) != nil {
        guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        // After "pid (comm) ": the state, then the parent pid.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, Int32(fields[1]) == parent { count += 1 }
    }
    return count
}

/// The pid written to `path`, once the file holds one.
func pid(in path: String) -> Int32? {
    var found: Int32?
    _ = eventually {
        found = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return found != nil
    }
    return found
}

@Suite("No process left behind")
struct ProcessLifetimeTests {
    @Test("A grandchild that calls setsid() is killed and reaped when the process is closed (finding 4)")
    func setsidGrandchildEnds() throws {
        let pidFile = Scripts.directory.appendingPathComponent("setsid-\(UUID().uuidString).pid").path
        let command = Scripts.command("setsid-\(UUID().uuidString).sh", """
            setsid sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep 1000' '\(pidFile)' </dev/null >/dev/null 2>&1 &
            while [ ! -s '\(pidFile)' ]; do sleep 0.01; done
            while IFS= read -r line; do
              \(Scripts.readID)
              printf '{"id":%s,"error":"nothing supported"}\\n' "$id"
            done
            """)
        let p = try ProcessImplementation(command: command, name: "setsid", options: testOptions())
        #expect(thrownMessage { _ = try p.evaluate(softmax2) } == "unsupported: nothing supported")
        let grandchild = try #require(pid(in: pidFile))
        #expect(!isNotRunning(grandchild), "the grandchild runs while the process does")
        p.close()
        #expect(isNotRunning(grandchild), "the setsid grandchild \(grandchild) survived close()")
        if !isNotRunning(grandchild) { kill(grandchild, SIGKILL) }
    }

    @Test("A setsid grandchild is also ended when the process fails (timeout)")
    func setsidGrandchildEndsOnTimeout() throws {
        let pidFile = Scripts.directory.appendingPathComponent("setsid-\(UUID().uuidString).pid").path
        let command = Scripts.command("setsid-hang-\(UUID().uuidString).sh", """
            setsid sh -c 'echo $$ > "$0.tmp"; mv "$0.tmp" "$0"; exec sleep 1000' '\(pidFile)' </dev/null >/dev/null 2>&1 &
            sleep 1000
            """)
        let p = try ProcessImplementation(command: command, name: "setsid-hang", options: testOptions(timeout: 0.3))
        let grandchild = try #require(pid(in: pidFile))
        #expect(throws: ImplementationError.self) { _ = try p.evaluate(softmax2) }
        if case .timeout? = p.failure?.kind {} else { Issue.record("expected a timeout, got \(String(describing: p.failure))") }
        #expect(isNotRunning(grandchild), "the setsid grandchild \(grandchild) survived the timeout")
        if !isNotRunning(grandchild) { kill(grandchild, SIGKILL) }
    }

    @Test("kill -9 of check ends the child shell and the processes it started (finding 4)", CLI.available)
    func childDiesWithCheck() throws {
        let tag = UUID().uuidString
        let shFile = Scripts.directory.appendingPathComponent("sh-\(tag).pid").path
        let childFile = Scripts.directory.appendingPathComponent("child-\(tag).pid").path
        let command = Scripts.command("dies-with-check-\(tag).sh", """
            sleep 1000 &
            echo $! > '\(childFile)'
            echo $$ > '\(shFile)'
            wait
            """)
        let out = Scripts.directory.appendingPathComponent("check-\(tag).out").path
        let check = CLI.start(["check", "--exec", command, "--function", "softmax", "--format", "f32", "--cases", "1",
                                   "--timeout", "1000", "--startup-timeout", "1000"], output: out)
        let sh = try #require(pid(in: shFile))
        let child = try #require(pid(in: childFile))
        #expect(!isNotRunning(sh) && !isNotRunning(child))
        // check starts the child's watchdog right after the child: on a loaded machine the
        // child's script can write its pid files first, so wait for the watchdog (check's
        // second child) before the kill. (A SIGKILL inside that window of microseconds is the
        // documented limit.)
        #expect(eventually { childCount(of: check) >= 2 }, "check \(check) never had its child and the watchdog")
        kill(check, SIGKILL)
        #expect(CLI.wait(check) == 128 + SIGKILL)
        let ended = eventually { isNotRunning(sh) && isNotRunning(child) }
        #expect(ended, "after kill -9 of check: sh \(sh) \(isNotRunning(sh) ? "ended" : "runs"), its child \(child) \(isNotRunning(child) ? "ended" : "runs")")
        for p in [sh, child] where !isNotRunning(p) { kill(p, SIGKILL) }
    }

    @Test("A process that closes its standard output behind /bin/sh is reported as such, not as a timeout (finding 9)")
    func closedOutputBehindShell() throws {
        #if os(Linux)
        let p = try ProcessImplementation(command: "sh -c 'exec 1>&-; exec sleep 1000'; echo after",
                                          name: "closes", options: testOptions(timeout: 0.5))
        #expect(throws: ImplementationError.self) { _ = try p.evaluate(softmax2) }
        let failure = try #require(p.failure)
        if case .closedOutputWhileHeld = failure.kind {} else { Issue.record("reported as: \(failure)") }
        #expect(failure.summary.hasPrefix("closed its standard output (process "), "\(failure.summary)")
        #expect(isReaped(p.processID))
        #endif
    }

    @Test("regress --startup-timeout bounds the wait for the first answer (finding 9)", CLI.available)
    func regressStartupTimeout() throws {
        let baseline = Scripts.directory.appendingPathComponent("baseline-\(UUID().uuidString).json").path
        let (status, output) = CLI.run(["regress", "--exec", "sleep 1000", "--baseline", baseline, "--update",
                                             "--function", "softmax", "--format", "f32", "--family", "uniform_wide",
                                             "--timeout", "1", "--startup-timeout", "1"])
        #expect(status == 2)
        #expect(output.contains("gave no answer within 1 s"), "\(output)")
    }

    @Test("check --results reads /dev/null and /dev/stdin; a directory and a missing file get plain messages (finding 6)", CLI.available)
    func resultsPaths() throws {
        let dir = Scripts.directory.appendingPathComponent("paths-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fixtures = dir + "/fx.jsonl", answers = dir + "/ans.jsonl"
        try #"{"id":1,"function":"softmax","format":"f32","logits":["0x1p+0","0x1p+0"]}"#.appending("\n")
            .write(toFile: fixtures, atomically: true, encoding: .utf8)
        try #"{"id":1,"values":["0x1p-1","0x1p-1"]}"#.appending("\n").write(toFile: answers, atomically: true, encoding: .utf8)

        let stdin = CLI.run(["check", "--results", "/dev/stdin", "--fixtures", fixtures, "--max-ulp", "1"], pipedInput: answers)
        #expect(stdin.status == 0, "\(stdin.output)")
        let devNull = CLI.run(["check", "--results", "/dev/null", "--fixtures", fixtures, "--max-ulp", "1"])
        #expect(!devNull.output.contains("permission"), "\(devNull.output)")
        #expect(devNull.output.contains("no result for id 1"), "\(devNull.output)")
        let directory = CLI.run(["check", "--results", dir, "--fixtures", fixtures])
        #expect(directory.status != 0 && directory.output.contains("\(dir): is a directory"), "\(directory.output)")
        let missing = CLI.run(["check", "--results", dir + "/nope.jsonl", "--fixtures", fixtures])
        #expect(missing.status != 0 && missing.output.contains("nope.jsonl: no such file"), "\(missing.output)")
        let fixturesDirectory = CLI.run(["check", "--results", answers, "--fixtures", dir])
        #expect(fixturesDirectory.output.contains("\(dir): is a directory"), "\(fixturesDirectory.output)")
    }
}
