/// Bytes that are not well-formed UTF-8, located by line and byte: the error of
/// ``decode(_:)``, which turns a file's bytes into text without repairing anything.
///
/// `description`: `byte 17 of the line (offset 1234 in the file): 0xFF is not well-formed UTF-8`.
public struct InvalidUTF8: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number (lines end at `\n`).
    public var line: Int
    /// 0-based byte offset of the bad byte in its line.
    public var column: Int
    /// 0-based byte offset of the bad byte in the whole text.
    public var offset: Int
    /// The bad byte.
    public var byte: UInt8

    /// The bad `byte` at `offset` in the text, `column` in line `line`.
    public init(line: Int, column: Int, offset: Int, byte: UInt8) {
        self.line = line
        self.column = column
        self.offset = offset
        self.byte = byte
    }

    /// What is wrong and where in the line (the caller adds the file and line number).
    public var description: String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte \(column) of the line (offset \(offset) in the file): 0x\(hex.count == 1 ? "0" + hex : hex) is not well-formed UTF-8"
            + (offset == 0 && byte == 0xEF ? " (a UTF-8 byte-order mark, EF BB BF, is not allowed)" : "")
    }

    /// `bytes` as a `String`, unchanged.
    ///
    /// - Throws: ``InvalidUTF8`` at the first byte that is not part of a well-formed UTF-8
    ///   sequence (overlong forms, encoded surrogates, stray continuation bytes, truncated
    ///   sequences, bytes above U+10FFFF), and at a UTF-8 byte-order mark at the start.
    public static func decode(_ bytes: some Collection<UInt8>) throws(InvalidUTF8) -> String {
        let array = Array(bytes)
        let bad: Int? = array.withUnsafeBufferPointer { buffer in
            if buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { return 0 }
            var i = 0
            while i < buffer.count {
                if buffer[i] < 0x80 { i += 1; continue }
                switch UTF8Check.sequence(in: buffer, at: i) {
                case .length(let n): i += n
                case .invalid(at: let k): return k
                }
            }
            return nil
        }
        guard let bad else { return String(decoding: array, as: UTF8.self) }
        var line = 1
        var lineStart = 0
        for k in 0..<bad where array[k] == UInt8(ascii: "\n") {
            line += 1
            lineStart = k + 1
        }
        throw InvalidUTF8(line: line, column: bad - lineStart, offset: bad, byte: array[bad])
    }
}

/// The table of well-formed UTF-8 byte sequences (Unicode, table 3-7), shared by the JSON
/// parser and ``InvalidUTF8``.
enum UTF8Check {
    enum Sequence {
        /// A well-formed sequence of this many bytes (2–4).
        case length(Int)
        /// The byte at this offset cannot be part of the sequence.
        case invalid(at: Int)
    }

    /// The sequence starting at `start`, whose first byte is >= 0x80: no overlongs, no
    /// surrogates, nothing above U+10FFFF.
    static func sequence(in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Sequence {
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch bytes[start] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return .invalid(at: start)
        }
        for k in 1..<length {
            let range = k == 1 ? secondRange : 0x80...0xBF
            guard start + k < bytes.count, range.contains(bytes[start + k]) else { return .invalid(at: start + k) }
        }
        return .length(length)
    }
}
