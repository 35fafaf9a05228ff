#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
@testable import OracleIO
import Testing

/// The lines `LineReader` (limit `maxLineBytes`) returns for `input`, each as text or
/// `<N bytes>` for a line over the limit, read from a regular file (sized once, read in one
/// allocation) starting at byte `offset`, and read from a pipe (the 64 KiB steps).
private func linesBothWays(_ input: [UInt8], offset: Int = 0, maxLineBytes: Int = LineReader.defaultMaxLineBytes) throws
    -> (file: [String], pipe: [String]) {
    func drain(_ fd: Int32) -> [String] {
        var reader = LineReader(fileDescriptor: fd, maxLineBytes: maxLineBytes)
        var lines: [String] = []
        while let line = try? reader.next() {
            switch line {
            case .bytes(let b): lines.append(String(decoding: b, as: UTF8.self))
            case .tooLong(let n): lines.append("<\(n) bytes>")
            }
        }
        return lines
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("regular-file-input-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    try Data(input).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    let fd = open(url.path, O_RDONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    #expect(lseek(fd, off_t(offset), SEEK_SET) == off_t(offset))
    let file = drain(fd)

    var fds: [Int32] = [0, 0]
    try #require(pipe(&fds) == 0)
    let rest = Array(input[offset...])
    let writer = Thread { [writeEnd = fds[1]] in
        _ = rest.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        close(writeEnd)
    }
    writer.start()
    let piped = drain(fds[0])
    close(fds[0])
    return (file, piped)
}

@Suite("LineReader on a regular file: one read into one allocation, the lines of a pipe")
struct RegularFileInputTests {
    @Test("short and multi-MiB lines, CRLF, a last line without newline, a start offset, and a line limit")
    func sameLinesAsAPipe() throws {
        // A 3 MB line: past the 2 MiB from which the buffer asks for huge pages.
        let long = String(repeating: "0x1.8p+1,", count: 350_000)
        let input = Array(("a\r\n" + long + "\n\nb\nlast").utf8)
        let whole = try linesBothWays(input)
        #expect(whole.file == ["a", long, "", "b", "last"])
        #expect(whole.pipe == whole.file)
        let fromB = try linesBothWays(input, offset: input.count - 6)
        #expect(fromB.file == ["b", "last"] && fromB.pipe == fromB.file)
        // A limit below the file's size: read in steps; the long line is counted, not held.
        let limited = try linesBothWays(input, maxLineBytes: 1000)
        #expect(limited.file == ["a", "<\(long.utf8.count) bytes>", "", "b", "last"])
        #expect(limited.pipe == limited.file)
        let empty = try linesBothWays([])
        #expect(empty.file == [] && empty.pipe == [])
    }

    @Test("many short lines read ahead from a file, each released as a server does: every line intact")
    func releasedLinesLeaveTheRestIntact() throws {
        // 3 MB of short lines (past the 1 MiB from which released pages are given back in place)
        // and a last 2 MB line (released by moving the rest to a small buffer).
        let short = (0..<60_000).map { "line \($0) " + String(repeating: "x", count: $0 % 61) }
        let long = String(repeating: "y", count: 2_000_000)
        let input = (short + [long, "end"]).joined(separator: "\n") + "\n"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("released-lines-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try Data(input.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var reader = LineReader(fileDescriptor: fd)
        var lines: [String] = []
        while case .bytes(let bytes)? = try reader.nextView() {
            lines.append(String(decoding: bytes, as: UTF8.self))
            reader.releaseLine()
        }
        #expect(lines == short + [long, "end"])
    }
}
