import Foundation
@_exported import TestSupport

/// Runs the built `softmax-oracle` binary as a subprocess.
///
/// The binary is the one `swift test` built next to the test bundle (the test target depends on
/// the executable), or the one SOFTMAX_ORACLE_BINARY names (e.g. an older build, to see a test
/// fail on it).
enum CLI {
    /// The binary's path.
    static let binary: String = {
        // A binary that exits before reading its input must not end the test process.
        signal(SIGPIPE, SIG_IGN)
        if let given = ProcessInfo.processInfo.environment["SOFTMAX_ORACLE_BINARY"] { return given }
        let besideBundle = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("softmax-oracle").path
        if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
        return packageRoot.appendingPathComponent(".build/debug/softmax-oracle").path
    }()

    /// What a run did.
    struct Run {
        /// The exit status, or the signal's number when `signaled`.
        var status: Int32
        /// Whether the process was ended by a signal (a crash).
        var signaled: Bool
        var stdout: String
        var stderr: String
        /// Standard output's bytes as written (binary frames).
        var stdoutBytes: [UInt8] = []
    }

    /// Where standard input comes from.
    enum Input {
        case bytes([UInt8])
        case file(String)
    }

    /// Runs the binary with `arguments`; standard output goes to a pipe, or to the file
    /// `stdoutPath` (e.g. /dev/full). A run longer than `limit` seconds is killed (a safety net
    /// for a binary that hangs; no test asserts on time).
    static func run(_ arguments: [String], input: Input = .bytes([]), stdoutPath: String? = nil,
                    in directory: URL? = nil, limit: Double = 120) -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "80"
        process.environment = environment
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        if let stdoutPath {
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        } else {
            process.standardOutput = outPipe
        }
        process.standardError = errPipe
        switch input {
        case .bytes: process.standardInput = inPipe
        case .file(let path): process.standardInput = FileHandle(forReadingAtPath: path)
        }
        do { try process.run() } catch { return Run(status: 127, signaled: false, stdout: "", stderr: "\(error)") }
        let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: killer)
        if case .bytes(let bytes) = input {
            DispatchQueue.global().async {
                try? inPipe.fileHandleForWriting.write(contentsOf: Data(bytes))
                try? inPipe.fileHandleForWriting.close()
            }
        }
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data()
        if stdoutPath == nil {
            group.enter()
            DispatchQueue.global().async {
                out = outPipe.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
        }
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        killer.cancel()
        return Run(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                   stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self),
                   stdoutBytes: [UInt8](out))
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("softmax-oracle-cli-tests-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The smallest grid: one case of softmax in f64 from one family.
    static let tinyGrid = ["--function", "softmax", "--format", "f64", "--family", "normal_small", "--cases", "1"]
}
