#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import GoldenFixtures
import OracleIO
import Synchronization

/// Writing files from the commands so that an interrupted run leaves no partial file.
enum FileOutput {
    /// Writes `text` to `path` with ``AtomicFile`` (a hidden temporary file in the same directory,
    /// flushed to disk, then renamed over `path`), reporting a failure as the commands' usage
    /// error: `cannot write <path>: <reason>`.
    static func writeAtomically(_ text: String, to path: String) throws {
        do {
            try AtomicFile.write(text, to: path)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// The one way the commands write their results: to standard output, unbuffered, every write
/// checked. A failed write throws ``StreamError`` (`cannot write to standard output: No space
/// left on device`), which `main` reports on standard error with exit status 2.
enum StandardOutput {
    /// Writes `text` as it is.
    static func write(_ text: String) throws(StreamError) {
        try LineWriter(fileDescriptor: 1).write(text: text)
    }

    /// Writes `line` and a newline.
    static func line(_ line: String) throws(StreamError) {
        try LineWriter(fileDescriptor: 1).write(line)
    }
}

/// Lines written to standard output from a callback that cannot throw: the first failed write
/// is kept (later lines are dropped) and thrown by ``finish()``.
struct CheckedLines {
    private var failure: StreamError?

    /// Writes `text` and a newline, unless a write failed before.
    mutating func line(_ text: String) {
        guard failure == nil else { return }
        do throws(StreamError) {
            try StandardOutput.line(text)
        } catch {
            failure = error
        }
    }

    /// Throws the first failed write, if any.
    func finish() throws(StreamError) {
        if let failure { throw failure }
    }
}

/// Writing to standard error (unbuffered, so it interleaves with the progress bar). Best
/// effort: when standard error itself cannot be written there is nowhere left to report it.
enum StandardError {
    static func write(_ text: String) {
        try? LineWriter(fileDescriptor: 2).write(text: text)
    }
}

/// Checks of output paths made before a command does its work, so that a long run does not end
/// in "cannot write".
enum OutputPath {
    /// Checks that a file can be created at `path` (given as `--<option>`): the path is not
    /// empty and not a directory, and its directory exists and accepts a new file (a probe file
    /// is created there and removed).
    ///
    /// - Throws: `ValidationError`, e.g. `--svg adir: adir is a directory`.
    static func checkFile(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw ValidationError("--\(option): the path is empty") }
        if AtomicFile.isDirectory(path) { throw ValidationError("--\(option) \(path): \(path) is a directory, not a file") }
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            // A device or FIFO (/dev/stdout, <(…)) is written in place: it must accept writes.
            guard access(path, W_OK) == 0 else {
                throw ValidationError("--\(option) \(path): not writable: \(String(cString: strerror(errno)))")
            }
            return
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try checkDirectory(directory.isEmpty ? "/" : directory, option: option, path: path)
    }

    /// Checks that `path` (given as `--<option>`) is a usable output directory: not empty, and
    /// either an existing writable directory or a path whose parent is one (it is created
    /// later).
    ///
    /// - Throws: `ValidationError`, e.g. `--out: the path is empty`.
    static func checkDirectoryOption(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw ValidationError("--\(option): the path is empty (give a directory, e.g. --\(option) .)") }
        var info = stat()
        if stat(path, &info) == 0 && !AtomicFile.isDirectory(path) {
            throw ValidationError("--\(option) \(path): \(path) exists and is not a directory")
        }
    }

    private static func checkDirectory(_ directory: String, option: String, path: String) throws {
        guard AtomicFile.isDirectory(directory) else {
            throw ValidationError("--\(option) \(path): the directory \(directory) does not exist")
        }
        let probe = directory + "/.softmax-oracle-probe-\(getpid())"
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw ValidationError("--\(option) \(path): cannot create a file in \(directory): \(reason)")
        }
        close(fd)
        unlink(probe)
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar: Sendable {
    private let enabled = isatty(2) != 0
    private let label: String
    private let lastPercent = Mutex<Int>(-1)

    init(label: String) { self.label = label }

    /// Safe to call from any thread.
    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        lastPercent.withLock { last in
            guard percent != last else { return }
            last = percent
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            StandardError.write("\r\(label) [\(bar)] \(percent)% (\(done)/\(total))" + (done == total ? "\n" : ""))
        }
    }
}
