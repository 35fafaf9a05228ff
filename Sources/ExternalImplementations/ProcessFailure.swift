#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import OracleIO
import SoftmaxOracle

/// Why an external process was given up on. Every failure names the command and, when it
/// happened on a request, that request's id, function, format and size, and an excerpt of the
/// line sent, so that it can be replayed by hand.
public struct ProcessFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// The process could not be started.
        case spawnFailed(String)
        /// No answer within the timeout (seconds); the process group was killed.
        case timeout(seconds: Double)
        /// The process ended (crashed or exited) before answering.
        case exited(ExitStatus)
        /// It closed its standard output but kept running (it was killed).
        case closedOutput
        /// A process of its group that reads the requests closed its standard output while
        /// another (usually the `/bin/sh` that started it) still holds the pipe, so no end of
        /// file came and no answer can: found at the timeout (Linux), and reported instead of
        /// it. The text names the process.
        case closedOutputWhileHeld(String)
        /// It stopped reading its standard input (EPIPE) but kept running (it was killed).
        case stoppedReading
        /// The answer's `id` is not the request's.
        case wrongID(expected: Int, received: String)
        /// The answer has the wrong number of values.
        case wrongCount(expected: Int, received: Int)
        /// The answer is not a result line (not JSON, wrong fields, unreadable values).
        case garbage(line: String, reason: String)
        /// The answer came before the whole request had been read.
        case answeredEarly(line: String)
        /// The answer grew past the line limit (bytes) without a newline.
        case lineTooLong(Int)
        /// An I/O error talking to it.
        case io(String)
        /// ``ProcessImplementation/close()`` had been called.
        case closed
    }

    /// What went wrong.
    public var kind: Kind
    /// The shell command.
    public var command: String
    /// The protocol id of the request (0 when the failure is not about a request).
    public var requestID: Int
    /// The request, when the failure happened on one.
    public var request: OracleRequest?
    /// The request line sent (cut to ``excerptLength`` characters).
    public var requestExcerpt: String?
    /// The end of the process's standard error, when it was captured.
    public var standardErrorTail: String?

    /// How much of a request line or answer messages quote.
    public static let excerptLength = 200

    /// A failure of `command`, during request `requestID` when `request` is given; the request
    /// and the tail of the process's standard error, when known, are quoted in messages.
    public init(kind: Kind, command: String, requestID: Int = 0, request: OracleRequest? = nil,
                requestExcerpt: String? = nil, standardErrorTail: String? = nil) {
        self.kind = kind
        self.command = command
        self.requestID = requestID
        self.request = request
        self.requestExcerpt = requestExcerpt
        self.standardErrorTail = standardErrorTail
    }

    /// What went wrong, in a few words: "timed out after 5 s (killed)".
    public var summary: String {
        switch kind {
        case .spawnFailed(let why): return "could not be started: \(why)"
        case .timeout(let s): return "gave no answer within \(Self.seconds(s)) (timed out; its process group was killed)"
        case .exited(let status): return "\(status) before answering"
        case .closedOutput: return "closed its standard output without exiting (it was killed)"
        case .closedOutputWhileHeld(let who):
            return "closed its standard output (\(who)), so no answer can come (its process group was killed)"
        case .stoppedReading: return "stopped reading its standard input without exiting (it was killed)"
        case .wrongID(let expected, let received):
            return "answered with id \(received), expected \(expected) (answers must come in order, one line per request)"
        case .wrongCount(let expected, let received):
            return "answered with \(received) value\(received == 1 ? "" : "s"), expected \(expected)"
        case .garbage(let line, let reason):
            return "answered with a line that is not a result (\(reason)): \(Self.cut(line))"
        case .answeredEarly(let line):
            return "answered before reading the whole request: \(Self.cut(line))"
        case .lineTooLong(let n): return "sent \(n) bytes without a newline (over the line limit)"
        case .io(let what): return "I/O error: \(what)"
        case .closed: return "was closed"
        }
    }

    /// `process "CMD" <summary> on request id 7 (softmax, f32, K = 3): {"id":7,…}`, then the
    /// tail of its standard error when captured.
    public var description: String {
        var text = "process \"\(command)\" \(summary)"
        if let request {
            text += " on request id \(requestID) (\(Self.describe(request)))"
        }
        if let requestExcerpt { text += ": \(requestExcerpt)" }
        if let tail = standardErrorTail, !tail.isEmpty {
            text += "\n  its standard error ended with:\n" + tail.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "    " + $0 }.joined(separator: "\n")
        }
        return text
    }

    /// "softmax, f32, K = 3" (batch: "cross_entropy_loss, f64, N = 2 rows, K = 5").
    public static func describe(_ request: OracleRequest) -> String {
        var s = "\(request.function.rawValue), \(request.format.rawValue), "
        if let batch = request.batch {
            s += "N = \(batch.count) row\(batch.count == 1 ? "" : "s"), K = \(batch.first?.count ?? 0)"
        } else {
            s += "K = \(request.logits.count)"
        }
        return s
    }

    static func cut(_ text: String, _ limit: Int = excerptLength) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "… (\(text.utf8.count) bytes)"
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() && s < 1e9 ? "\(Int(s)) s" : "\(s) s"
    }
}

/// How many values an implementation must return for a request: the oracle's output count.
public enum ExpectedOutputs {
    /// 1 for logsumexp, cross_entropy and a reduced batch loss; K for the row and elementwise
    /// functions; N (rows) for the batch loss with reduction "none".
    public static func count(for request: OracleRequest) -> Int {
        switch request.function {
        case .logsumexp, .crossEntropy: 1
        case .softmax, .logSoftmax, .crossEntropyGrad, .sigmoid, .logSigmoid, .softplus, .bceWithLogits:
            request.logits.count
        case .crossEntropyLoss: request.reduction == .none ? (request.batch?.count ?? 0) : 1
        case .linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            request.linear?.outputCount(request.function, reduction: request.reduction) ?? 0
        case .crossEntropyLossBackward: (request.batch?.count ?? 0) * (request.batch?.first?.count ?? 0)
        }
    }
}

/// How a child process ended.
public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// It called exit (or returned from main) with this status.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)

    /// Decodes a `waitpid` status word (the `WIFEXITED` / `WIFSIGNALED` macros, which Swift does
    /// not import).
    init(waitStatus s: Int32) {
        if s & 0x7f == 0 {
            self = .exited((s >> 8) & 0xff)
        } else {
            self = .signaled(s & 0x7f)
        }
    }

    /// "exited with status 3", "killed by signal 11 (SIGSEGV)", and for the shell's code of a
    /// command killed by a signal, "exited with status 139 (128 + signal 11 (SIGSEGV): a command
    /// of the shell was killed by it)".
    public var description: String {
        switch self {
        case .exited(let code):
            if code > 128, let name = Self.signalName(code - 128) {
                return "exited with status \(code) (128 + signal \(code - 128) (\(name)): a command of the shell was killed by it)"
            }
            return "exited with status \(code)"
        case .signaled(let sig):
            return "killed by signal \(sig)" + (Self.signalName(sig).map { " (\($0))" } ?? "")
        }
    }

    /// True for `exit(0)`.
    public var isSuccess: Bool { self == .exited(0) }

    static func signalName(_ sig: Int32) -> String? {
        switch sig {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        default: nil
        }
    }
}
