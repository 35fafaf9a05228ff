#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run of a child process: its wait status (as `wait4` gives it: 0 for a clean exit), its
/// wall time from spawn to exit, and its CPU time (user + system, from `wait4`: the process's
/// own work, without the time it waited to be scheduled), in seconds.
public struct ChildRun: Sendable {
    public var status: Int32
    public var wall: Double
    public var cpu: Double

    /// How the process ended, in words: "exit status 3", "signal 9".
    public var ending: String {
        let signal = status & 0x7f
        return signal == 0 ? "exit status \((status >> 8) & 0xff)" : "signal \(signal)"
    }
}

/// A child process that could not be started (a missing or non-executable file, a standard
/// input that cannot be opened), or that did not exit cleanly where it had to.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// Runs `argv` (argv[0] the executable's path) with standard input from the file `stdin` (or
/// this process's own) and standard output to the file `stdout` (created or truncated), and
/// waits for it: posix_spawn and wait4 (Foundation's `Process.waitUntilExit` polls, which rounded
/// every time up to about 0.1 s).
///
/// - Throws: ``ChildProcessError`` when the process cannot be started.
public func runChild(_ argv: [String], stdin: String? = nil, stdout: String = "/dev/null") throws -> ChildRun {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid: pid_t = 0
    let t0 = monotonicSeconds()
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
    guard spawned == 0 else {
        throw ChildProcessError(description: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
    }
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let wall = monotonicSeconds() - t0
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return ChildRun(status: status, wall: wall, cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime))
}
