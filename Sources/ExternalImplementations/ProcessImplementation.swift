#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AccuracyHarness
import OracleIO
import SoftmaxOracle
import Synchronization

/// An implementation that runs in another process and speaks JSON Lines: any language, any
/// library, one adapter script.
///
/// ## Protocol
/// The command is started once, as `/bin/sh -c COMMAND`, in its own process group. For each
/// request this writes one line to its standard input — the `eval` request format
/// (``RequestEncoder``) with an `id` that counts up from 1:
/// ```
/// {"id":7,"function":"cross_entropy","format":"f32","logits":["0x1.f4p+9","0x0p+0"],"target":1}
/// ```
/// and reads exactly one line back from its standard output:
/// ```
/// {"id":7,"values":["0x1.f4p+9"]}                    values: hex floats, decimal strings,
/// {"id":7,"error":"label smoothing not supported"}   JSON numbers, "inf", "-inf", "nan"
/// ```
/// An `error` answer means "not supported" and is counted as unsupported, not as a failure.
/// Extra members in an answer (timings, say) are ignored.
///
/// ## Failures
/// No answer within the timeout, the process exiting or crashing, closing its output, an answer
/// with another `id`, the wrong number of values, or a line that is not a result: each is a
/// ``ProcessFailure`` that names the request. The process group is then killed (SIGTERM, then
/// SIGKILL) and the process reaped, and this implementation is *failed*: the request that broke
/// it and every later one throw ``ImplementationError/failed(_:)`` at once with the same message
/// (no restart: a restarted process would hide a crash behind the cases that follow it, and
/// the first failure is the reproducer). ``failure`` holds it.
///
/// Writes are guarded by `poll` too (a child that stops reading cannot hang us), SIGPIPE is
/// ignored in this process (writes to a dead child give EPIPE), and the child's signals are reset
/// to their defaults.
///
/// ## Threads
/// Safe to call from any thread: requests are serialized by a mutex (the child answers one line
/// at a time anyway).
///
/// ## Ending
/// ``close()`` closes the child's standard input, waits ``Options/closeGracePeriod`` seconds for it
/// to exit, then kills the group; `deinit` does the same. Either way the child is reaped.
///
/// No process is left behind: every descendant is killed and reaped with the child, also one
/// that left the group or the session (`setsid`, a daemon) — each child's environment carries a
/// marker its descendants inherit, and on Linux this process is a child subreaper, so orphans come
/// back to it (a descendant that execs with an emptied environment is not recognised). If this
/// process dies first, SIGKILL included, a watchdog kills the child's process group (a descendant
/// that left the group then survives: nothing is left to reap it; and the watchdog starts just
/// after the child, so a SIGKILL in the microseconds between the two spawns leaves the child
/// running). See `Descendants`, `Watchdog`.
///
/// A process of the child's group that reads the requests but closed its standard output while
/// the `/bin/sh` that started it keeps the pipe open is reported, at the timeout, as
/// ``ProcessFailure/Kind/closedOutputWhileHeld(_:)`` (Linux), not as a timeout.
public final class ProcessImplementation: ImplementationUnderTest {
    /// Timeouts and limits.
    public struct Options: Sendable, Hashable {
        /// Seconds to wait for each answer (writing the request included).
        public var timeout: Double
        /// Seconds for the first answer, which includes the child's start-up (imports of large
        /// libraries can take seconds); nil means ``timeout``.
        public var firstRequestTimeout: Double?
        /// What happens to the child's standard error.
        public var standardError: StandardErrorMode
        /// Seconds ``close()`` waits for the child to exit after closing its input, before it
        /// kills the group.
        public var closeGracePeriod: Double
        /// The longest answer line accepted, in bytes.
        public var maxLineBytes: Int

        /// Options; `firstRequestTimeout` defaults to `timeout`.
        public init(timeout: Double = 5, firstRequestTimeout: Double? = nil,
                    standardError: StandardErrorMode = .inherit, closeGracePeriod: Double = 2,
                    maxLineBytes: Int = 1 << 28) {
            self.timeout = timeout
            self.firstRequestTimeout = firstRequestTimeout
            self.standardError = standardError
            self.closeGracePeriod = closeGracePeriod
            self.maxLineBytes = maxLineBytes
        }
    }

    /// The name in reports.
    public let name: String
    /// The shell command.
    public let command: String
    /// The options it was started with.
    public let options: Options
    /// The pid of the child (`/bin/sh`, or what it exec'd), also its process group id.
    public let processID: Int32

    private let supportsBody: @Sendable (OracleFunction, Format) -> Bool
    private let state: Mutex<State>

    private struct State {
        var child: ChildProcess
        var nextID = 1
        var failure: ProcessFailure?
        var closed = false
        var strayLines = 0
    }

    /// Lines of the child's standard output that did not start with `{` (log lines such as
    /// `[triton] compiling kernel …`): each was copied to this process's standard error and
    /// skipped, the answer being the next line.
    public var strayLineCount: Int { state.withLock { $0.strayLines } }

    /// Starts `command` (through `/bin/sh -c`).
    ///
    /// - Parameters:
    ///   - name: the name in reports; by default ``defaultName(for:)``.
    ///   - supports: which (function, format) cells to run; by default all (an `error` answer
    ///     then marks a single request unsupported).
    /// - Throws: ``ProcessFailure`` (``ProcessFailure/Kind/spawnFailed(_:)``) when the shell cannot
    ///   be started. A command that does not exist is only seen at the first request (the shell
    ///   exits with status 127).
    public init(command: String, name: String? = nil, options: Options = Options(),
                supports: (@Sendable (OracleFunction, Format) -> Bool)? = nil) throws(ProcessFailure) {
        self.command = command
        self.name = name ?? Self.defaultName(for: command)
        self.options = options
        self.supportsBody = supports ?? { _, _ in true }
        let child: ChildProcess
        do throws(SpawnError) {
            child = try ChildProcess.spawn(command, standardError: options.standardError)
        } catch {
            throw ProcessFailure(kind: .spawnFailed(error.message), command: command)
        }
        self.processID = child.pid
        self.state = Mutex(State(child: child))
    }

    deinit {
        close()
    }

    /// A short name from a command: its script or program, without directories and extension —
    /// the last word that names a file (has a `/` or an extension), else the first word that is
    /// not `exec`, `env` or a variable assignment (`python3 Examples/adapters/scipy_special.py`
    /// gives `scipy_special`, `exec ./bin/my_softmax --fast` gives `my_softmax`).
    public static func defaultName(for command: String) -> String {
        let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { word in
            String(word.filter { $0 != "\"" && $0 != "'" })
        }
        func looksLikeFile(_ w: String) -> Bool {
            !w.hasPrefix("-") && (w.contains("/") || (w.contains(".") && Double(w) == nil))
        }
        let word = words.last(where: looksLikeFile)
            ?? words.first(where: { !$0.hasPrefix("-") && $0 != "exec" && $0 != "env" && !$0.contains("=") })
        guard let word else { return "process" }
        var base = Substring(word.split(separator: "/").last ?? Substring(word))
        if let dot = base.lastIndex(of: "."), dot != base.startIndex { base = base[..<dot] }
        return base.isEmpty ? "process" : String(base)
    }

    /// True for the (function, format) pairs the `supports` closure accepts (all by default).
    public func supports(_ function: OracleFunction, format: Format) -> Bool {
        supportsBody(function, format)
    }

    /// Sends `request`, returns the values answered.
    ///
    /// - Throws: ``ImplementationError/unsupported(_:)`` for an `error` answer;
    ///   ``ImplementationError/failed(_:)`` with the ``ProcessFailure`` text when the process
    ///   failed on this or an earlier request.
    public func evaluate(_ request: OracleRequest) throws -> [Double] {
        let outcome: Result<[Double], ImplementationError> = state.withLock { state in
            Self.exchange(&state, request, command: command, options: options)
        }
        return try outcome.get()
    }

    /// The failure that ended the process, if any.
    public var failure: ProcessFailure? {
        state.withLock { $0.failure }
    }

    /// Requests sent so far.
    public var requestCount: Int {
        state.withLock { $0.nextID - 1 }
    }

    /// The captured tail of the child's standard error (empty unless
    /// ``StandardErrorMode/capture(limit:)``).
    public var capturedStandardError: String {
        state.withLock { state in
            state.child.drainErrorOutput()
            return String(decoding: state.child.errorTail, as: UTF8.self)
        }
    }

    /// Ends the child: closes its standard input, waits ``Options/closeGracePeriod`` seconds,
    /// then SIGTERM and SIGKILL to its process group; reaps it. Later requests fail. Idempotent.
    ///
    /// - Returns: how the child ended.
    @discardableResult
    public func close() -> ExitStatus {
        state.withLock { state in
            state.closed = true
            return state.child.terminate(grace: options.closeGracePeriod).status
        }
    }

    /// Installs handlers for SIGINT, SIGTERM and SIGHUP that SIGKILL the process groups of every
    /// live child and then end this process with the same signal, so that an interrupted run
    /// leaves no child behind. For command-line tools; call once, early.
    public static func installInterruptCleanup() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { received in
                LiveGroups.killAll()
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }

    // MARK: - One exchange

    private static func exchange(_ state: inout State, _ request: OracleRequest, command: String,
                                 options: Options) -> Result<[Double], ImplementationError> {
        if let failure = state.failure { return .failure(.failed(failure.description)) }
        let id = state.nextID
        state.nextID += 1
        let line = RequestEncoder.encode(request, id: .number(id))
        let excerpt = ProcessFailure.cut(line)
        if state.closed {
            return .failure(.failed(ProcessFailure(kind: .closed, command: command, requestID: id, request: request,
                                                   requestExcerpt: excerpt).description))
        }

        func fail(_ kind: ProcessFailure.Kind, alreadyEnded: Bool = false) -> Result<[Double], ImplementationError> {
            if !alreadyEnded { state.child.terminate(grace: 0) }
            var failure = ProcessFailure(kind: kind, command: command, requestID: id, request: request,
                                         requestExcerpt: excerpt)
            if case .capture = options.standardError {
                let tail = String(decoding: state.child.errorTail, as: UTF8.self)
                failure.standardErrorTail = tail.isEmpty ? nil : lastLines(tail, 20)
            }
            state.failure = failure
            return .failure(.failed(failure.description))
        }

        /// The child stopped talking: give it a moment to exit and report how it ended.
        func ended(otherwise kind: ProcessFailure.Kind) -> Result<[Double], ImplementationError> {
            if state.child.waitForExit(seconds: 1) {
                let status = state.child.terminate(grace: 0).status
                return fail(.exited(status), alreadyEnded: true)
            }
            return fail(kind)
        }

        let timeout = id == 1 ? (options.firstRequestTimeout ?? options.timeout) : options.timeout
        let deadline = ContinuousClock.now + .nanoseconds(Int64(min(max(0, timeout), 1e9) * 1e9))
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))

        var exchanged = state.child.exchange(bytes, deadline: deadline, maxLineBytes: options.maxLineBytes)
        // A line that is not JSON (a library's log line on stdout): copy it to stderr, count it,
        // and read on. Only once the request is fully written: otherwise the rest of it is unknown.
        while case .line(let raw, true) = exchanged, raw.first(where: { $0 != 0x20 && $0 != 0x09 }) != UInt8(ascii: "{") {
            state.strayLines += 1
            copyToStandardError(raw + [UInt8(ascii: "\n")])
            exchanged = state.child.exchange([], deadline: deadline, maxLineBytes: options.maxLineBytes)
        }
        switch exchanged {
        case .timeout:
            if let why = state.child.closedOutputDiagnosis() { return fail(.closedOutputWhileHeld(why)) }
            return fail(.timeout(seconds: timeout))
        case .endOfOutput:
            return ended(otherwise: .closedOutput)
        case .writeFailed:
            return ended(otherwise: .stoppedReading)
        case .lineTooLong(let n):
            return fail(.lineTooLong(n))
        case .ioError(let what):
            return fail(.io(what))
        case .line(let raw, let fullyWritten):
            let text = String(decoding: raw, as: UTF8.self)
            guard fullyWritten else { return fail(.answeredEarly(line: text)) }
            let result: ResultLine
            do throws(ResultError) {
                result = try ResultDecoder(allowsUnknownFields: true).decode(line: text)
            } catch {
                return fail(.garbage(line: text, reason: error.description))
            }
            guard idMatches(result.id, id) else {
                return fail(.wrongID(expected: id, received: result.id.excerpt()))
            }
            switch result.outcome {
            case .error(let message):
                return .failure(.unsupported(message))
            case .values(let values):
                let expected = ExpectedOutputs.count(for: request)
                guard values.count == expected else {
                    return fail(.wrongCount(expected: expected, received: values.count))
                }
                return .success(values)
            }
        }
    }

    /// The answer's id is the request's: the integer itself (`7`, or `7.0` from a language
    /// without integers; not the string `"7"`).
    static func idMatches(_ value: JSONValue, _ id: Int) -> Bool {
        guard case .number(let literal) = value, let x = Double(literal) else { return false }
        return x == Double(id)
    }
}

/// Writes `bytes` to file descriptor 2 (best effort: a failed write of a copied log line is not
/// worth ending the run).
func copyToStandardError(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBufferPointer { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
    }
}

/// The last `n` lines of `text`.
func lastLines(_ text: String, _ n: Int) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    var tail = lines.suffix(n + 1)
    if tail.last?.isEmpty == true { tail = tail.dropLast() }
    return tail.suffix(n).joined(separator: "\n")
}
