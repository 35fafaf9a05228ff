#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads text lines from a file descriptor (standard input by default), as the Swift
/// standard library's `readLine(strippingNewline: true)` does on standard input.
///
/// A line ends at `\n`; the `\n`, and a `\r` just before it, are not part of the line. A last
/// line without `\n` is returned as it is. Bytes that are not valid UTF-8 become U+FFFD. The
/// reader owns its buffer, not the descriptor (it never closes it).
public struct LineReader {
    /// The descriptor read from.
    public let fileDescriptor: Int32
    private var buffer: [UInt8] = []
    /// Where the unread bytes of `buffer` start.
    private var start = 0
    /// Bytes of `buffer` after `start` already searched for `\n` (none found).
    private var scanned = 0
    private var atEnd = false

    /// A reader of `fileDescriptor` (0: standard input).
    public init(fileDescriptor: Int32 = 0) {
        self.fileDescriptor = fileDescriptor
    }

    /// The next line, or nil at the end of the input (or on a read error).
    public mutating func next() -> String? {
        while true {
            if let newline = firstNewline(from: start + scanned) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                scanned = 0
                return line
            }
            scanned = buffer.count - start
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                scanned = 0
                return line
            }
            fill()
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
    /// the input or on a read error.
    private mutating func fill() {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        let chunk = 1 << 16
        let n = withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 1) { scratch -> Int in
            var n = -1
            while n < 0 {
                n = read(fileDescriptor, scratch.baseAddress!, chunk)
                if n < 0 && errno != EINTR { n = 0 }
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
            return n
        }
        if n == 0 { atEnd = true }
    }
}

/// Writes text lines to a file descriptor (standard output by default), each followed by `\n`
/// and written at once (no buffering), so that a driver reading the other end sees every
/// answer as soon as it is written.
public struct LineWriter: Sendable {
    /// The descriptor written to.
    public let fileDescriptor: Int32

    /// A writer to `fileDescriptor` (1: standard output).
    public init(fileDescriptor: Int32 = 1) {
        self.fileDescriptor = fileDescriptor
    }

    /// Writes `line` and `\n`. Returns false when the descriptor no longer accepts bytes (e.g.
    /// a closed pipe); the caller may stop then.
    @discardableResult
    public func write(_ line: String) -> Bool {
        var line = line
        line.append("\n")
        return line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Self.systemWrite(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
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
