#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read or write that failed, e.g. `cannot write to standard output: No space left on device`
/// or `cannot read standard input: Is a directory`.
public struct StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed, e.g. `cannot write to standard output`.
    public var operation: String
    /// The system's reason (`strerror` of the `errno`).
    public var reason: String

    /// `operation: reason`.
    public var description: String { "\(operation): \(reason)" }

    /// The failure of `operation` (e.g. `cannot write to standard output`) for `reason`.
    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// The failure of `operation` with the current `errno`.
    static func fromErrno(_ operation: String) -> StreamError {
        StreamError(operation: operation, reason: String(cString: strerror(errno)))
    }
}

/// The name of a descriptor in messages: "standard input", "standard output", "standard error",
/// else "file descriptor N".
func descriptorName(_ fd: Int32) -> String {
    switch fd {
    case 0: "standard input"
    case 1: "standard output"
    case 2: "standard error"
    default: "file descriptor \(fd)"
    }
}

/// Reads lines of bytes from a file descriptor (standard input by default), enforcing a line
/// length limit while reading.
///
/// A line ends at `\n`; the `\n`, and a `\r` just before it, are not part of the line. A last
/// line without `\n` is returned as it is. The bytes are returned as they were read: no UTF-8
/// decoding or repair happens here (the JSON reader validates UTF-8 and names the offset of a
/// bad byte).
///
/// A line longer than ``maxLineBytes`` is never held whole: once the limit is passed, the rest
/// of the line is read and counted in 64 KiB chunks and thrown away, and ``next()`` returns
/// ``Line/tooLong(byteCount:)``; the lines after it are read as usual. So memory stays within
/// about twice ``maxLineBytes`` (the buffer's growth) plus 64 KiB, whatever the input.
///
/// The reader owns its buffer, not the descriptor (it never closes it).
public struct LineReader {
    /// The default for ``maxLineBytes``: 1 GiB.
    public static let defaultMaxLineBytes = 1 << 30

    /// One line read.
    public enum Line: Sendable, Hashable {
        /// The line's bytes, without the line end.
        case bytes([UInt8])
        /// A line of `byteCount` bytes (line end excluded), more than ``maxLineBytes``: its bytes
        /// were skipped.
        case tooLong(byteCount: Int)
    }

    /// The descriptor read from.
    public let fileDescriptor: Int32
    /// The longest line, in bytes without the line end, that ``next()`` returns whole.
    public let maxLineBytes: Int
    /// The 1-based number of the line ``next()`` returned last (0 before the first).
    public private(set) var lineNumber = 0
    private var buffer: [UInt8] = []
    /// Where the unread bytes of `buffer` start.
    private var start = 0
    /// Bytes of `buffer` after `start` already searched for `\n` (none found).
    private var scanned = 0
    private var atEnd = false

    /// A reader of `fileDescriptor` (0: standard input) with a line limit of `maxLineBytes`.
    public init(fileDescriptor: Int32 = 0, maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
        self.fileDescriptor = fileDescriptor
        self.maxLineBytes = max(0, maxLineBytes)
    }

    /// The next line, or nil at the end of the input.
    ///
    /// - Throws: ``StreamError`` when reading fails (e.g. `cannot read standard input: Is a
    ///   directory`); the lines before it were returned.
    public mutating func next() throws(StreamError) -> Line? {
        while true {
            if let newline = firstNewline(from: start + scanned) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line: Line = end - start > maxLineBytes ? .tooLong(byteCount: end - start) : .bytes(Array(buffer[start..<end]))
                start = newline + 1
                scanned = 0
                lineNumber += 1
                return line
            }
            scanned = buffer.count - start
            // One byte of slack for a `\r` before the `\n` still to come.
            if scanned > maxLineBytes + 1 {
                lineNumber += 1
                return .tooLong(byteCount: try skipRestOfLine())
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                lineNumber += 1
                if scanned > maxLineBytes { return .tooLong(byteCount: scanned) }
                let line = Array(buffer[start...])
                start = buffer.count
                scanned = 0
                return .bytes(line)
            }
            try fill()
        }
    }

    /// Throws away the current line (the unread bytes hold its start and no `\n`) up to its
    /// line end; returns its length without the line end.
    private mutating func skipRestOfLine() throws(StreamError) -> Int {
        var count = buffer.count - start
        var lastByte = buffer.last
        buffer = []
        start = 0
        scanned = 0
        while true {
            try fill()
            if let newline = firstNewline(from: 0) {
                count += newline
                if newline > 0 { lastByte = buffer[newline - 1] }
                if lastByte == UInt8(ascii: "\r") { count -= 1 }
                start = newline + 1
                return count
            }
            count += buffer.count
            lastByte = buffer.last ?? lastByte
            buffer.removeAll(keepingCapacity: true)
            if atEnd { return count }
        }
    }

    /// The index of the first `\n` at or after `from` in `buffer`, if any.
    private func firstNewline(from: Int) -> Int? {
        guard from < buffer.count else { return nil }
        return buffer.withUnsafeBytes { raw -> Int? in
            guard let hit = memchr(raw.baseAddress! + from, Int32(UInt8(ascii: "\n")), raw.count - from) else { return nil }
            return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// Reads up to 64 KiB more, first dropping the consumed bytes; sets `atEnd` at the end of
    /// the input.
    private mutating func fill() throws(StreamError) {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        if try appendRead(fileDescriptor, upTo: 1 << 16, to: &buffer) == 0 { atEnd = true }
    }
}

/// Reads up to `chunk` bytes of `fd` (retrying after EINTR) and appends them to `buffer`;
/// returns how many (0 at the end of the input). Shared by ``LineReader`` and
/// ``BinaryFrameReader``.
///
/// - Throws: ``StreamError`` (`cannot read standard input: Is a directory`) when reading fails.
func appendRead(_ fd: Int32, upTo chunk: Int, to buffer: inout [UInt8]) throws(StreamError) -> Int {
    let n = withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 1) { scratch -> Int in
        var n = -1
        while n < 0 {
            n = read(fd, scratch.baseAddress!, chunk)
            if n < 0 && errno != EINTR { return -1 }
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
        return n
    }
    if n < 0 { throw StreamError.fromErrno("cannot read \(descriptorName(fd))") }
    return n
}

/// Writes text to a file descriptor (standard output by default), each piece written at once
/// (no buffering), so that a driver reading the other end sees every answer as soon as it is
/// written; every write is checked.
public struct LineWriter: Sendable {
    /// The descriptor written to.
    public let fileDescriptor: Int32

    /// A writer to `fileDescriptor` (1: standard output).
    public init(fileDescriptor: Int32 = 1) {
        self.fileDescriptor = fileDescriptor
    }

    /// Writes `line` and `\n`.
    ///
    /// - Throws: ``StreamError`` (`cannot write to standard output: No space left on device`)
    ///   when the descriptor does not take every byte.
    public func write(_ line: String) throws(StreamError) {
        try write(text: line + "\n")
    }

    /// Writes `text` as it is (no newline added).
    ///
    /// - Throws: ``StreamError`` as ``write(_:)``.
    public func write(text: String) throws(StreamError) {
        var text = text
        if !text.withUTF8({ Self.writeAll(fileDescriptor, UnsafeRawBufferPointer($0)) }) {
            throw StreamError.fromErrno("cannot write to \(descriptorName(fileDescriptor))")
        }
    }

    /// Writes `bytes` as they are (a binary frame, ``BinaryFrame``).
    ///
    /// - Throws: ``StreamError`` as ``write(_:)``.
    public func write(bytes: [UInt8]) throws(StreamError) {
        if !bytes.withUnsafeBytes({ Self.writeAll(fileDescriptor, $0) }) {
            throw StreamError.fromErrno("cannot write to \(descriptorName(fileDescriptor))")
        }
    }

    /// Writes every byte of `bytes` to `fd` (retrying after EINTR); false when a write fails.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    private static func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Int(Glibc.write(fd, pointer, count))
        #elseif canImport(Musl)
        return Int(Musl.write(fd, pointer, count))
        #elseif canImport(Darwin)
        return Int(Darwin.write(fd, pointer, count))
        #else
        return -1
        #endif
    }
}
