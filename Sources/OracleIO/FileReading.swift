#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files with POSIX `open`/`read`: the one reader behind every file the command
/// line takes (stored results, fixtures, golden fixture files, baselines).
///
/// Works for anything that can be read to its end: regular files, pipes and FIFOs (process
/// substitution `<(…)`, `/dev/stdin`), character devices (`/dev/null` reads as empty).
/// A directory, a missing file or an unreadable one is a ``StreamError`` (the path as its operation) with a plain reason.
public enum FileReading {
    /// The bytes of `path`, read to its end.
    ///
    /// - Throws: ``StreamError`` (the path as its operation): "no such file", "is a directory", "permission denied", or the
    ///   system's reason for other failures.
    public static func bytes(_ path: String) throws(StreamError) -> [UInt8] {
        if path.isEmpty { throw StreamError(operation: "\"\"", reason: "an empty path names no file") }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw StreamError(operation: path, reason: reason(errno)) }
        defer { _ = close(fd) }
        var info = stat()
        var capacity = 1 << 16
        if fstat(fd, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw StreamError(operation: path, reason: "is a directory (a file is needed here)") }
            if (info.st_mode & S_IFMT) == S_IFREG { capacity = max(capacity, Int(info.st_size) + 1) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out.append(contentsOf: chunk[..<n])
            } else if n == 0 {
                return out
            } else if errno != EINTR {
                throw StreamError(operation: path, reason: reason(errno))
            }
        }
    }

    /// A plain reason for the `errno` value `code` ("no such file", "permission denied"; else the
    /// system's text).
    public static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case EISDIR: "is a directory (a file is needed here)"
        case EACCES, EPERM: "permission denied"
        case ENOTDIR: "no such file (a part of the path is not a directory)"
        default: String(cString: strerror(code)).lowercased()
        }
    }
}
