#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What happens to a child's standard error.
public enum StandardErrorMode: Sendable, Hashable {
    /// The child writes to this process's standard error (Python tracebacks show up as they are).
    case inherit
    /// Sent to /dev/null.
    case discard
    /// Read through a pipe; the last `limit` bytes are kept, for failure messages
    /// (``ProcessImplementation/capturedStandardError``).
    case capture(limit: Int)
}

/// Why one request/answer exchange with a child did not give a line.
enum ExchangeOutcome {
    /// A complete line (without its newline). `fullyWritten` is false when the child answered
    /// before it had read the whole request.
    case line([UInt8], fullyWritten: Bool)
    /// The deadline passed.
    case timeout
    /// The child closed its standard output (usually: it exited).
    case endOfOutput
    /// Writing the request failed (EPIPE: the child closed its standard input, or exited).
    case writeFailed(Int32)
    /// The answer grew past the line limit without a newline.
    case lineTooLong(Int)
    /// poll or read failed unexpectedly.
    case ioError(String)
}

/// A child started as `/bin/sh -c COMMAND` in its own process group, with pipes on its standard
/// input and output (and, optionally, standard error). Not thread-safe: ``ProcessImplementation``
/// keeps it behind a mutex.
///
/// ## Lifetime guarantees
/// - No descendant outlives ``terminate(grace:)``: the group and every process carrying the
///   child's environment marker are killed and reaped, also those that called `setsid()`
///   (``Descendants``; on Linux this process is a child subreaper).
/// - The group dies with this process, SIGKILL included (``Watchdog``).
/// - Every pipe end is created close-on-exec (`pipe2(O_CLOEXEC)`), so a child spawned by another
///   thread at the same moment never inherits this child's pipes (which would keep its standard
///   input open after ``closeInput()``).
/// - ``terminate(grace:)`` always reaps the child with `waitpid`: no zombie is left, whatever the
///   child does (it escalates to SIGKILL, sent to the process group *and* to the pid, so that a
///   child that left the group is killed too).
/// - The group is signalled only while the leader is unreaped (its pid, hence the group id, cannot
///   be reused by an unrelated process in between).
struct ChildProcess {
    let pid: pid_t
    private(set) var input: Int32
    private(set) var output: Int32
    private(set) var errorOutput: Int32
    private let errorLimit: Int
    /// Bytes read from standard output past the last complete line.
    private var pending: [UInt8] = []
    /// The tail of standard error (when captured).
    private(set) var errorTail: [UInt8] = []
    /// Set once reaped.
    private(set) var status: ExitStatus?
    /// The value of ``Descendants/markerName`` in the child's environment.
    let marker: String
    /// Kills the group if this process dies first.
    private var watchdog: Watchdog?

    /// Starts `/bin/sh -c command`.
    ///
    /// - Throws: the `posix_spawn` or `pipe2` error, as text.
    static func spawn(_ command: String, standardError: StandardErrorMode) throws(SpawnError) -> ChildProcess {
        SignalSetup.ignoreSIGPIPE()
        return try SpawnLock.lock.withLock { _ throws(SpawnError) in
            try spawnLocked(command, standardError: standardError)
        }
    }

    private static func spawnLocked(_ command: String, standardError: StandardErrorMode) throws(SpawnError) -> ChildProcess {
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        func closeAll() {
            for fd in inPipe + outPipe + errPipe where fd >= 0 { closeDescriptor(fd) }
        }
        guard makePipe(&inPipe), makePipe(&outPipe) else {
            let e = errno
            closeAll()
            throw SpawnError(message: "cannot create a pipe: \(errorText(e))")
        }
        var limit = 0
        if case .capture(let l) = standardError {
            guard makePipe(&errPipe) else {
                let e = errno
                closeAll()
                throw SpawnError(message: "cannot create a pipe: \(errorText(e))")
            }
            limit = max(0, l)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        switch standardError {
        case .inherit: break
        case .discard: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .capture: posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        }

        // The environment, plus the marker that lets terminate() find every descendant.
        Descendants.becomeSubreaper()
        let marker = Descendants.nextMarker()
        var environment: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let entry = e.pointee {
            if !String(cString: entry).hasPrefix(Descendants.markerName + "=") { environment.append(strdup(entry)) }
            e += 1
        }
        environment.append(strdup("\(Descendants.markerName)=\(marker)"))
        environment.append(nil)
        defer { for p in environment { free(p) } }
        // Default dispositions for the signals this process may ignore or handle (an ignored
        // SIGPIPE would otherwise be inherited across exec).
        let (rc, pid) = spawnShell(command, actions: &actions, defaultSignals: [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT],
                                   environment: environment)
        guard rc == 0 else {
            closeAll()
            throw SpawnError(message: "cannot start /bin/sh: \(errorText(rc))")
        }
        // The child's ends are the child's now.
        closeDescriptor(inPipe[0])
        closeDescriptor(outPipe[1])
        if errPipe[1] >= 0 { closeDescriptor(errPipe[1]) }
        for fd in [inPipe[1], outPipe[0], errPipe[0]] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        LiveGroups.register(pid)
        return ChildProcess(pid: pid, input: inPipe[1], output: outPipe[0], errorOutput: errPipe[0], errorLimit: limit,
                            marker: marker, watchdog: Watchdog.start(group: pid))
    }

    private init(pid: pid_t, input: Int32, output: Int32, errorOutput: Int32, errorLimit: Int,
                 marker: String, watchdog: Watchdog?) {
        self.pid = pid
        self.marker = marker
        self.watchdog = watchdog
        self.input = input
        self.output = output
        self.errorOutput = errorOutput
        self.errorLimit = errorLimit
    }

    /// Writes `line` (which must end with a newline) and reads one line back, all before
    /// `deadline`. Standard error is drained meanwhile (so a chatty child cannot block on it), and
    /// the answer is read while the request is still being written (so a child that answers
    /// early cannot deadlock against a full pipe).
    mutating func exchange(_ line: [UInt8], deadline: ContinuousClock.Instant, maxLineBytes: Int) -> ExchangeOutcome {
        var written = 0
        var scanned = 0
        while true {
            if let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let answer = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return .line(answer, fullyWritten: written == line.count)
            }
            scanned = pending.count
            if pending.count > maxLineBytes { return .lineTooLong(pending.count) }

            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return .timeout }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)

            var fds: [pollfd] = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            let writing = written < line.count && input >= 0
            if writing { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            if errorOutput >= 0 { fds.append(pollfd(fd: errorOutput, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                return .ioError("poll: \(errorText(errno))")
            }
            if ready == 0 { continue }  // the deadline check above decides

            for p in fds where p.revents != 0 {
                if p.fd == errorOutput {
                    drainErrorOutput()
                } else if p.fd == input {
                    let n = line.withUnsafeBufferPointer { buffer in
                        write(input, buffer.baseAddress! + written, buffer.count - written)
                    }
                    if n > 0 {
                        written += n
                    } else if n < 0 && errno != EAGAIN && errno != EINTR {
                        return .writeFailed(errno)
                    }
                } else if p.fd == output {
                    var chunk = [UInt8](repeating: 0, count: 65_536)
                    let n = chunk.withUnsafeMutableBufferPointer { read(output, $0.baseAddress!, $0.count) }
                    if n > 0 {
                        pending.append(contentsOf: chunk[..<n])
                    } else if n == 0 {
                        return .endOfOutput
                    } else if errno != EAGAIN && errno != EINTR {
                        return .ioError("read: \(errorText(errno))")
                    }
                }
            }
        }
    }

    /// Why the answer cannot come although standard output is open (see
    /// ``Descendants/closedOutput(group:input:)``); nil when nothing explains it.
    func closedOutputDiagnosis() -> String? {
        status == nil ? Descendants.closedOutput(group: pid, input: input) : nil
    }

    /// Reads what standard error has now (non-blocking), keeping the last `errorLimit` bytes.
    mutating func drainErrorOutput() {
        guard errorOutput >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { read(errorOutput, $0.baseAddress!, $0.count) }
            if n > 0 {
                errorTail.append(contentsOf: chunk[..<n])
                if errorTail.count > errorLimit { errorTail.removeFirst(errorTail.count - errorLimit) }
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                if n == 0 {
                    closeDescriptor(errorOutput)
                    errorOutput = -1
                }
                return
            }
        }
    }

    /// Closes the child's standard input (a well-behaved child then exits).
    mutating func closeInput() {
        if input >= 0 {
            closeDescriptor(input)
            input = -1
        }
    }

    /// Whether the child has exited, without reaping it (`waitid` with `WNOWAIT`).
    func hasExited() -> Bool {
        var info = siginfo_t()
        let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if rc != 0 { return errno == ECHILD }  // already reaped (cannot happen here) or not ours
        return info.si_signo == SIGCHLD
    }

    /// Waits up to `seconds` for the child to exit on its own (not reaping it). Returns whether it
    /// did.
    func waitForExit(seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, seconds) * 1000))
        while true {
            if hasExited() { return true }
            if ContinuousClock.now >= deadline { return false }
            drainSleep()
        }
    }

    private func drainSleep() {
        var ts = timespec(tv_sec: 0, tv_nsec: 5_000_000)
        nanosleep(&ts, nil)
    }

    /// Ends the child and reaps it: close its standard input, wait `grace` seconds for it to exit,
    /// then SIGTERM the group, wait up to a second, then SIGKILL; finally SIGKILL whatever is left
    /// of the group (background processes the command started) and `waitpid`.
    ///
    /// Returns the child's status and whether it had to be signalled.
    @discardableResult
    mutating func terminate(grace: Double) -> (status: ExitStatus, signalled: Bool) {
        if let status { return (status, false) }
        closeInput()
        var signalled = false
        if !waitForExit(seconds: grace) {
            signalled = true
            _ = kill(-pid, SIGTERM)
            _ = kill(pid, SIGTERM)
            if !waitForExit(seconds: 1) {
                _ = kill(-pid, SIGKILL)
                _ = kill(pid, SIGKILL)
            }
        }
        // The leader is still unreaped here, so the group id is still ours to signal; the
        // watchdog goes first, so that it never signals the group id once it is free.
        _ = kill(-pid, SIGKILL)
        watchdog?.disarm()
        let raw = Descendants.sweep(leader: pid, marker: marker, excluding: Set(watchdog.map { [$0.pid] } ?? []))
        let result: ExitStatus = raw.map(ExitStatus.init(waitStatus:)) ?? .signaled(SIGKILL)
        status = result
        LiveGroups.unregister(pid)
        drainErrorOutput()
        for fd in [output, errorOutput] where fd >= 0 { closeDescriptor(fd) }
        output = -1
        errorOutput = -1
        return (result, signalled)
    }
}

/// A failure to start the child.
struct SpawnError: Error {
    var message: String
}

func errorText(_ code: Int32) -> String {
    guard let s = strerror(code) else { return "error \(code)" }
    return String(cString: s)
}

/// Process-wide signal set-up.
enum SignalSetup {
    private static let ignored = Atomic<Bool>(false)

    /// A child that exits while we write to it must give EPIPE, not kill us.
    static func ignoreSIGPIPE() {
        if ignored.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            signal(SIGPIPE, SIG_IGN)
        }
    }
}

/// The process groups of live children, for ``ProcessImplementation/installInterruptCleanup()``:
/// a fixed table of atomics, readable from a signal handler.
enum LiveGroups {
    static let capacity = 16
    private static let slots: InlineArray<16, Atomic<Int32>> = InlineArray { _ in Atomic(0) }

    static func register(_ pid: pid_t) {
        for i in 0..<capacity where slots[i].compareExchange(expected: 0, desired: pid, ordering: .sequentiallyConsistent).exchanged {
            return
        }
    }

    static func unregister(_ pid: pid_t) {
        for i in 0..<capacity {
            _ = slots[i].compareExchange(expected: pid, desired: 0, ordering: .sequentiallyConsistent)
        }
    }

    /// SIGKILLs every registered group (async-signal-safe: atomic loads and kill(2)).
    static func killAll() {
        for i in 0..<capacity {
            let pid = slots[i].load(ordering: .sequentiallyConsistent)
            if pid > 0 {
                _ = kill(-pid, SIGKILL)
                _ = kill(pid, SIGKILL)
            }
        }
    }
}

/// Serializes pipe creation and spawning within this process: where `pipe2` is missing, the
/// pipe and its close-on-exec flag are two steps, and no other spawn may fall in between.
enum SpawnLock {
    static let lock = Mutex(())
}

private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

/// `pipe2(2)`, looked up at run time (Swift's Glibc module does not declare it).
private let pipe2Function: Pipe2? = {
    #if os(Linux)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return nil }
    return unsafeBitCast(symbol, to: Pipe2.self)
    #else
    return nil
    #endif
}()

/// Starts `/bin/sh -c script` with `actions`, in a process group of its own (so that the whole
/// group can be signalled, and terminal signals do not reach it), no blocked signals, and
/// `defaultSignals` at their default disposition; `environment` nil: this process's.
/// Returns posix_spawn's result and the pid.
func spawnShell(_ script: String, actions: inout posix_spawn_file_actions_t, defaultSignals: [Int32],
                environment: [UnsafeMutablePointer<CChar>?]?) -> (rc: Int32, pid: pid_t) {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in defaultSignals { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(script), nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = environment.map { posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, $0) }
        ?? posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
    return (rc, pid)
}

/// A pipe whose two ends are close-on-exec.
func makePipe(_ fds: inout [Int32]) -> Bool {
    if let pipe2Function {
        return fds.withUnsafeMutableBufferPointer { pipe2Function($0.baseAddress, O_CLOEXEC) } == 0
    }
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}

/// close(2), ignoring the result (EINTR on close must not be retried on Linux).
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
