/// A fixture file as text: its header and its case lines, unparsed (for `merge`, which copies
/// lines verbatim, and `verify`, which parses each line on its own and names its line number).
public struct FixtureText: Sendable, Hashable {
    /// Where the file was read from (for messages).
    public var path: String
    /// The parsed header line.
    public var header: FixtureHeader
    /// The header line as read (without its "\n").
    public var headerLine: String
    /// The case lines without their "\n"; case line k is line k + 2 of the file.
    public var lines: [String]

    /// Reads and splits `path`.
    ///
    /// - Throws: ``FixtureError`` naming the file (and line) when it cannot be read, when the
    ///   header is not a fixture header, when a line is empty, when the last line has no "\n"
    ///   (a truncated file), or when the number of case lines is not the header's.
    public init(path: String) throws(FixtureError) {
        try self.init(bytes: try AtomicFile.read(path), path: path)
    }

    /// Splits `bytes` read from `path` (see ``init(path:)``).
    public init(bytes: [UInt8], path: String) throws(FixtureError) {
        self.path = path
        guard !bytes.isEmpty else { throw FixtureError("\(path): the file is empty (the first line must be the header)") }
        var rows = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard rows.last?.isEmpty == true else {
            throw FixtureError("\(path):\(rows.count): the last line does not end in a newline (a truncated file?)")
        }
        rows.removeLast()
        headerLine = String(decoding: rows[0], as: UTF8.self)
        do throws(FixtureError) {
            header = try FixtureHeader(line: headerLine)
        } catch {
            throw FixtureError("\(path):1: \(error.message)")
        }
        lines = []
        lines.reserveCapacity(rows.count - 1)
        for (k, row) in rows.dropFirst().enumerated() {
            if row.isEmpty { throw FixtureError("\(path):\(k + 2): empty line") }
            lines.append(String(decoding: row, as: UTF8.self))
        }
        if lines.count != header.linesInFile {
            let part = header.shard.map { " (shard \($0) of \(header.totalCases) cases)" } ?? ""
            throw FixtureError("\(path): \(lines.count) case lines, but the header announces \(header.linesInFile)\(part)")
        }
    }

    /// The fixture files in `paths`: files as given, directories expanded to their `*.jsonl`
    /// files (not recursively, sorted by name).
    ///
    /// - Throws: ``FixtureError`` for a path that does not exist or a directory without
    ///   `*.jsonl` files.
    public static func expand(_ paths: [String]) throws(FixtureError) -> [String] {
        var out: [String] = []
        for p in paths {
            if AtomicFile.isDirectory(p) {
                let files = try AtomicFile.list(p).filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }
                if files.isEmpty { throw FixtureError("\(p): no *.jsonl fixture files in this directory") }
                out += files.map { AtomicFile.join(p, $0) }
            } else {
                if access(p, R_OK) != 0 { throw FixtureError("\(p): \(FileReading.reason(errno))") }
                out.append(p)
            }
        }
        return out
    }
}

import OracleIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
