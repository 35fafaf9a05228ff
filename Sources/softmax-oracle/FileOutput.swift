#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import GoldenFixtures
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

/// Writing to standard error without Foundation (unbuffered, so it interleaves with the
/// progress bar).
enum StandardError {
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        #if canImport(Glibc)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        #elseif canImport(Darwin)
        _ = bytes.withUnsafeBytes { Darwin.write(2, $0.baseAddress, $0.count) }
        #endif
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
