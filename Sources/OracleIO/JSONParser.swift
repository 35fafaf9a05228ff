/// Why a text is not valid JSON: the byte offset where reading stopped, what the grammar
/// expected there, and what was found.
///
/// `offset` counts UTF-8 bytes from 0 at the start of the text; an offset equal to the text's
/// length means the text ended too early.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 0-based UTF-8 byte offset of the first byte that could not be read.
    public var offset: Int
    /// What the grammar allows at `offset`, e.g. `"',' or ']' after an array element"`.
    public var expected: String
    /// What is there, e.g. `"'x'"`, `"end of input"`, `"byte 0xFF"`.
    public var found: String

    /// `invalid JSON at byte 7: expected a JSON value, found ']'`.
    public var description: String {
        "invalid JSON at byte \(offset): expected \(expected), found \(found)"
    }
}

extension JSONValue {
    /// The default limit on nesting of arrays and objects in ``parse(_:maxDepth:)``.
    public static let defaultMaxDepth = 512

    /// Parses one JSON text (RFC 8259), strictly.
    ///
    /// - Grammar: exactly one value, optionally surrounded by JSON whitespace (space, tab, LF, CR).
    ///   No trailing commas, no comments, no leading zeros (`01`), no `+1`, `.5`, `1.`, `NaN` or
    ///   `Infinity`; string escapes are `\" \\ \/ \b \f \n \r \t \uXXXX`, and control characters
    ///   (U+0000–U+001F) must be escaped.
    /// - `\uXXXX` surrogates must pair (a high `\uD800–\uDBFF` directly followed by a low
    ///   `\uDC00–\uDFFF`); a lone surrogate is an error, since no Swift `String` can hold it.
    /// - A UTF-8 byte-order mark (EF BB BF) at the start is an error that says so.
    /// - Nesting deeper than `maxDepth` arrays/objects is an error (not a stack overflow: the parser
    ///   keeps its own stack, so the limit is a policy, not a necessity).
    /// - Numbers keep their literal text; no precision is lost and no range is checked here.
    /// - Complexity: O(n) time in the length of the text, one pass over its UTF-8 bytes.
    ///
    /// - Throws: ``JSONParseError`` with the byte offset, what was expected and what was found.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { JSONParser.parse($0, maxDepth: maxDepth) }
        return try result.get()
    }

    /// Parses one JSON text given as UTF-8 bytes; as ``parse(_:maxDepth:)``, and in addition
    /// bytes that are not well-formed UTF-8 (overlong forms, encoded surrogates, stray
    /// continuation bytes, truncated sequences) are an error at their offset.
    public static func parse(
        utf8 bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSONValue {
        let result =
            bytes.withContiguousStorageIfAvailable { JSONParser.parse($0, maxDepth: maxDepth) }
            ?? Array(bytes).withUnsafeBufferPointer { JSONParser.parse($0, maxDepth: maxDepth) }
        return try result.get()
    }
}

/// The one-pass parser over a contiguous UTF-8 buffer. It keeps an explicit stack of open
/// containers instead of recursing, so that nesting depth never touches the call stack.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var i = 0
    /// Where the value of the top-level object's first `"id"` member lies in `bytes`, once read.
    var idRange: Range<Int>?
    /// Names of top-level members whose arrays are read straight into binary64
    /// (``scanFloatArray()``); empty: none.
    var floatMembers: MemberNames = []
    /// The most floats stored per array by ``scanFloatArray()``; past it, they are only counted.
    var floatLimit = Int.max
    /// The arrays read by ``scanFloatArray()``, by index of their member in the top-level object
    /// (whose value holds `[]` in their place).
    var fastArrays: [Int: FastFloatArray] = [:]
    /// Flat rows of at least this many bytes are read on two threads (FloatRowSplit.swift);
    /// `Int.max`: never. Tests set it low to cut every row.
    var splitRowBytes = JSONParser.defaultSplitRowBytes

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<JSONValue, JSONParseError> {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        do throws(JSONParseError) {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    // MARK: - Errors

    func error(_ expected: String, at offset: Int? = nil) -> JSONParseError {
        let at = offset ?? i
        return JSONParseError(offset: at, expected: expected, found: describeByte(at: at))
    }

    func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let b = bytes[offset]
        switch b {
        case 0x20: return "a space"
        case 0x09: return "a tab"
        case 0x0A: return "a line feed"
        case 0x0D: return "a carriage return"
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(b)))'"
        case 0x80...: return "byte 0x\(hex2(b))"
        default: return "control byte 0x\(hex2(b))"
        }
    }

    func hex2(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }

    // MARK: - Grammar

    /// Steps over the next byte if it is `byte`; false (and `i` unchanged) otherwise.
    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        guard i < bytes.count && bytes[i] == byte else { return false }
        i += 1
        return true
    }

    mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            throw JSONParseError(offset: 0, expected: "a JSON value",
                                 found: "a UTF-8 byte-order mark (EF BB BF), which is not allowed (save the file as UTF-8 without BOM)")
        }
        let value = try parseValue()
        skipWhitespace()
        if i < bytes.count { throw error("end of input after the JSON value") }
        return value
    }

    /// One value, with nested containers handled on explicit stacks: `kinds` says for each open
    /// container whether it is an array; `arrays`, `objects` and `keys` hold their contents and
    /// the pending member names.
    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        var kinds: [Bool] = []
        var starts: [Int] = []  // the offset of each open container's bracket
        var valueStart = 0  // the offset of the value just completed
        var arrays: [[JSONValue]] = []
        var objects: [[(String, JSONValue)]] = []
        var keys: [String] = []
        var afterComma = false

        while true {
            skipWhitespace()
            guard i < bytes.count else {
                throw error(afterComma ? "a JSON value after ','" : "a JSON value")
            }
            valueStart = i
            var value: JSONValue
            if bytes[i] == UInt8(ascii: "["), kinds.count == 1, !kinds[0], maxDepth >= 3, let key = keys.last,
               floatMembers.contains(key), let fast = scanFloatArray() {
                // A top-level member read straight into binary64 (FloatArrayScanner.swift).
                fastArrays[objects[0].count] = fast
                value = .array([])
            } else {
                switch bytes[i] {
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    let isArray = bytes[i] == UInt8(ascii: "[")
                    if kinds.count >= maxDepth {
                        throw error("at most \(maxDepth) nested arrays and objects")
                    }
                    i += 1
                    skipWhitespace()
                    if isArray {
                        if consume(UInt8(ascii: "]")) {
                            value = .array([])
                        } else {
                            kinds.append(true)
                            starts.append(valueStart)
                            arrays.append([])
                            afterComma = false
                            continue
                        }
                    } else {
                        if consume(UInt8(ascii: "}")) {
                            value = .object([])
                        } else {
                            keys.append(try parseMemberName(afterComma: false))
                            kinds.append(false)
                            starts.append(valueStart)
                            objects.append([])
                            afterComma = false
                            continue
                        }
                    }
                case UInt8(ascii: "\""):
                    value = .string(try parseString())
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    value = .number(try parseNumber())
                case UInt8(ascii: "t"):
                    try expectLiteral("true")
                    value = .bool(true)
                case UInt8(ascii: "f"):
                    try expectLiteral("false")
                    value = .bool(false)
                case UInt8(ascii: "n"):
                    try expectLiteral("null")
                    value = .null
                case UInt8(ascii: "]") where afterComma, UInt8(ascii: "}") where afterComma:
                    throw error("a JSON value after ',' (trailing commas are not allowed)")
                default:
                    throw error(afterComma ? "a JSON value after ','" : "a JSON value")
                }
            }

            // Close every container that this value completes.
            closing: while true {
                guard let isArray = kinds.last else { return value }
                let valueEnd = i
                skipWhitespace()
                if isArray {
                    arrays[arrays.count - 1].append(value)
                    if consume(UInt8(ascii: ",")) {
                        afterComma = true
                        break closing
                    }
                    guard consume(UInt8(ascii: "]")) else { throw error("',' or ']' after an array element") }
                    value = .array(arrays.removeLast())
                } else {
                    if kinds.count == 1 && idRange == nil && keys.last == "id" { idRange = valueStart..<valueEnd }
                    objects[objects.count - 1].append((keys.removeLast(), value))
                    if consume(UInt8(ascii: ",")) {
                        keys.append(try parseMemberName(afterComma: true))
                        afterComma = false
                        break closing
                    }
                    guard consume(UInt8(ascii: "}")) else { throw error("',' or '}' after an object member") }
                    value = .object(objects.removeLast())
                }
                // The container is complete and is now the value: it may complete its parent too.
                kinds.removeLast()
                valueStart = starts.removeLast()
            }
        }
    }

    /// `"name" :` — leaves `i` after the colon.
    mutating func parseMemberName(afterComma: Bool) throws(JSONParseError) -> String {
        skipWhitespace()
        guard i < bytes.count && bytes[i] == UInt8(ascii: "\"") else {
            if afterComma && i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                throw error("a member name string after ',' (trailing commas are not allowed)")
            }
            throw error("a member name string")
        }
        let name = try parseString()
        skipWhitespace()
        guard consume(UInt8(ascii: ":")) else { throw error("':' after a member name") }
        return name
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        let ptr = word.utf8Start
        for k in 0..<count {
            guard i < bytes.count && bytes[i] == ptr[k] else {
                throw error("'\(word)' (JSON literals are lowercase true, false, null)")
            }
            i += 1
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as its literal text.
    mutating func parseNumber() throws(JSONParseError) -> String {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw error("a digit after '-'") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count && isDigit(bytes[i]) {
                throw error("'.', 'e' or the end of the number after a leading 0 (leading zeros are not allowed)")
            }
        } else {
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        if consume(UInt8(ascii: ".")) {
            guard i < bytes.count, isDigit(bytes[i]) else { throw error("a digit after the decimal point") }
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw error("a digit in the exponent") }
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// A string starting at the opening quote; leaves `i` after the closing quote. Unescaped runs
    /// are copied as they are (after UTF-8 validation); escapes are decoded into a side buffer
    /// only when the string has any.
    mutating func parseString() throws(JSONParseError) -> String {
        i += 1  // opening quote
        let start = i
        var segmentStart = i
        var buffer: [UInt8] = []
        var escaped = false
        while true {
            guard i < bytes.count else { throw error("'\"' to close the string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let result: String
                if escaped {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<i]))
                    result = String(decoding: buffer, as: UTF8.self)
                } else {
                    result = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                }
                i += 1
                return result
            } else if b == UInt8(ascii: "\\") {
                if !escaped { buffer.reserveCapacity(i - start + 16) }
                escaped = true
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<i]))
                try parseEscape(into: &buffer)
                segmentStart = i
            } else if b < 0x20 {
                throw error("a character of the string (control characters must be escaped, e.g. \\n or \\u0000)")
            } else if b < 0x80 {
                i += 1
            } else {
                i += try validUTF8SequenceLength(at: i)
            }
        }
    }

    /// Decodes the escape at `i` (a backslash) and appends its UTF-8 to `buffer`.
    mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONParseError) {
        i += 1
        guard i < bytes.count else { throw error("an escape character after '\\'") }
        let c = bytes[i]
        i += 1
        switch c {
        case UInt8(ascii: "\""): buffer.append(0x22)
        case UInt8(ascii: "\\"): buffer.append(0x5C)
        case UInt8(ascii: "/"): buffer.append(0x2F)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            let unitOffset = i - 2
            let unit = try parseHex4()
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                    throw error("a low surrogate escape \\uDC00-\\uDFFF after the high surrogate at byte \(unitOffset)")
                }
                let lowOffset = i
                i += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("a low surrogate \\uDC00-\\uDFFF after the high surrogate at byte \(unitOffset)", at: lowOffset)
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw error("a \\u escape that is not a lone low surrogate (\\uDC00-\\uDFFF must follow a high surrogate)", at: unitOffset)
            }
            // Every value here is a Unicode scalar (surrogates excluded above).
            let scalar = Unicode.Scalar(scalarValue)!
            buffer.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw error("an escape character: one of \" \\ / b f n r t u", at: i - 1)
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        var v: UInt16 = 0
        for _ in 0..<4 {
            guard i < bytes.count, let d = hexDigitValue(bytes[i]) else {
                throw error("4 hex digits after \\u")
            }
            v = v << 4 | UInt16(d)
            i += 1
        }
        return v
    }

    func hexDigitValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The length (2–4) of the well-formed UTF-8 sequence starting at `start` (whose first byte
    /// is >= 0x80), per ``UTF8Check``.
    func validUTF8SequenceLength(at start: Int) throws(JSONParseError) -> Int {
        switch UTF8Check.sequence(in: bytes, at: start) {
        case .length(let n):
            return n
        case .invalid(at: let k) where k == start:
            throw error("well-formed UTF-8 (this byte cannot start a character)", at: start)
        case .invalid(at: let k):
            throw error("well-formed UTF-8 (a continuation byte of the character at byte \(start))", at: k)
        }
    }
}
