import OracleIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files written so that an interrupted run never leaves a partial file under the final name.
///
/// ``write(_:to:)`` writes to a hidden temporary file in the same directory
/// (`.<name>.tmp-<pid>-<n>`, which no `*.jsonl` or `*.npy` pattern matches), flushes it to disk,
/// and renames it over the final name: rename(2) within a directory is atomic, so readers see
/// the old file or the new one, never a mix. A run killed mid-write can leave such a hidden
/// temporary behind; it is never read, `fixtures verify` reports it and the next `generate` or
/// `merge` into the directory removes it (``removeStaleTemporaries(in:)``).
///
/// What is replaced is always a regular file: a symbolic link is followed (its target is
/// replaced, the link stays), and an existing path that is not a regular file — a character
/// device such as `/dev/null` or `/dev/stdout`, a FIFO, process substitution — is written in
/// place, never renamed over (a rename would put a plain file where the device was).
public enum AtomicFile {
    /// Writes `bytes` to `path`: through a temporary file and a rename for a regular file (or a
    /// new one), directly for a device or FIFO; a symbolic link's target is the file written.
    ///
    /// - Throws: ``FixtureError`` naming the path and the system's reason (`cannot write
    ///   /dev/full: No space left on device`, `… is a directory`).
    public static func write(_ bytes: [UInt8], to given: String) throws(FixtureError) {
        var path = given
        var info = stat()
        if lstat(given, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK {
            guard let resolved = realpath(given, nil) else {
                throw FixtureError("cannot write \(given): it is a symbolic link to a missing file")
            }
            path = String(cString: resolved)
            free(resolved)
        }
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw FixtureError("cannot write \(given): it is a directory")
            default: return try writeInPlace(bytes, to: path, named: given)
            }
        }
        let (directory, name) = split(path)
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).tmp-\(getpid())-\(nextSerial())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FixtureError("cannot write \(path): \(lastError())") }
        if let why = writeAll(bytes, to: fd) {
            close(fd)
            unlink(temporary)
            throw FixtureError("cannot write \(path): \(why)")
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let why = lastError()
            unlink(temporary)
            throw FixtureError("cannot write \(path): \(why)")
        }
        guard rename(temporary, path) == 0 else {
            let why = lastError()
            unlink(temporary)
            throw FixtureError("cannot write \(path): \(why)")
        }
    }

    /// Writes all of `bytes` to `fd` (retrying interrupted and short writes); the system's reason
    /// when a write fails, else nil.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> String? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return lastError()
            }
            offset += n
        }
        return nil
    }

    /// Writes `bytes` into the existing non-regular file `path` (a device or FIFO), every write
    /// checked; `given` names it in messages.
    private static func writeInPlace(_ bytes: [UInt8], to path: String, named given: String) throws(FixtureError) {
        var fd: Int32
        repeat { fd = open(path, O_WRONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw FixtureError("cannot write \(given): \(lastError())") }
        if let why = writeAll(bytes, to: fd) {
            close(fd)
            throw FixtureError("cannot write \(given): \(why)")
        }
        guard close(fd) == 0 else { throw FixtureError("cannot write \(given): \(lastError())") }
    }

    /// Writes `text` as UTF-8 (see ``write(_:to:)-(([UInt8],String)``).
    public static func write(_ text: String, to path: String) throws(FixtureError) {
        try write(Array(text.utf8), to: path)
    }

    /// The names in `directory` of temporaries this writer makes (`.<name>.tmp-<pid>-<n>`) whose
    /// process is no longer running: left by an interrupted run. Empty when the directory cannot
    /// be read.
    public static func staleTemporaries(in directory: String) -> [String] {
        let names = (try? list(directory.isEmpty ? "." : directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), let range = name.ranges(of: ".tmp-").last else { return false }
            let parts = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, Int(parts[1]) != nil else { return false }
            return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
        }
    }

    /// Removes ``staleTemporaries(in:)`` from `directory`; returns their names.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        staleTemporaries(in: directory).filter { unlink(join(directory, $0)) == 0 }
    }

    /// Creates `path` and its missing parents (like `mkdir -p`); an existing directory is fine.
    ///
    /// - Throws: ``FixtureError`` when a component cannot be created or is not a directory.
    public static func makeDirectory(_ path: String) throws(FixtureError) {
        guard !path.isEmpty else { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if !isDirectory(prefix) {
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                    throw FixtureError("cannot create directory \(prefix): \(lastError())")
                }
                if !isDirectory(prefix) { throw FixtureError("cannot create directory \(prefix): a file of that name exists") }
            }
            prefix += "/"
        }
        if access(path, W_OK) != 0 { throw FixtureError("cannot write into \(path): \(lastError())") }
    }

    /// True when `path` names a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole file at `path` (``FileReading/bytes(_:)``: pipes and `/dev/stdin` work).
    ///
    /// - Throws: ``FixtureError`` `path: reason`, the reason plain ("no such file", "is a directory").
    public static func read(_ path: String) throws(FixtureError) -> [UInt8] {
        do throws(StreamError) {
            return try FileReading.bytes(path)
        } catch {
            throw FixtureError(error.description)
        }
    }

    /// The names in directory `path` (not `.` and `..`), sorted by their bytes.
    ///
    /// - Throws: ``FixtureError`` when the directory cannot be read.
    public static func list(_ path: String) throws(FixtureError) -> [String] {
        guard let dir = opendir(path) else { throw FixtureError("cannot read directory \(path): \(lastError())") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// `directory/name` (just `name` for an empty directory).
    public static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    static func lastError() -> String { String(cString: strerror(errno)) }

    private static func nextSerial() -> Int {
        serial.withLock { n in
            n += 1
            return n
        }
    }
}

import Synchronization
private let serial = Mutex<Int>(0)

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

extension AtomicFile {
    /// True when something exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0
    }
}
