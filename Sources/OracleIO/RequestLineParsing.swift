extension JSONValue {
    /// The JSON text of the `"id"` member of the object `bytes` hold, exactly as it appears there
    /// (escapes, number spelling and inner whitespace kept), when `bytes` parse as a JSON object
    /// that has one; else nil. For echoing an id byte for byte (the parsed ``JSONValue`` would
    /// serialize `"\u00e9"` as `"é"`).
    public static func idText(utf8 bytes: [UInt8], maxDepth: Int = defaultMaxDepth) -> String? {
        try? parseKeepingIDText(utf8: bytes, maxDepth: maxDepth).idText
    }

    /// ``parse(utf8:maxDepth:)`` and ``idText(utf8:maxDepth:)`` in one pass over the bytes: the
    /// value, and the `"id"` member's text as the top-level object wrote it (nil when there is
    /// none, or the value is not an object).
    public static func parseKeepingIDText(
        utf8 bytes: [UInt8], maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> (value: JSONValue, idText: String?) {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<(JSONValue, String?), JSONParseError> in
            var parser = JSONParser(bytes: buffer, maxDepth: maxDepth)
            do throws(JSONParseError) {
                let value = try parser.parseDocument()
                let text = parser.idRange.map { String(decoding: UnsafeBufferPointer(rebasing: buffer[$0]), as: UTF8.self) }
                return .success((value, text))
            } catch {
                return .failure(error)
            }
        }
        let (value, text) = try result.get()
        return (value, text)
    }
}


/// One JSON Lines line parsed for a decoder: the value, the `id` member's own text, and the
/// top-level arrays read straight into binary64 (their members hold `[]` in `value`).
///
/// `source` is the line itself; it is valid only while the caller's buffer is (the decoding of
/// one line), and is read again only when a decoder needs a fast array as JSON after all.
struct ParsedLine {
    /// The parsed line, with `[]` in place of each fast array.
    var value: JSONValue
    /// The `id` member's text as the line wrote it (see ``JSONValue/idText(utf8:maxDepth:)``).
    var idText: String?
    /// The fast arrays by index of their member in the top-level object.
    var fastArrays: [Int: FastFloatArray]
    /// The line's bytes.
    var source: UnsafeBufferPointer<UInt8>

    /// Parses `bytes` as ``JSONValue/parseKeepingIDText(utf8:maxDepth:)`` does (same result,
    /// same errors), except that the arrays of the top-level members named in `floatMembers`
    /// that hold only floats are read into binary64 directly (at most `floatLimit` kept each;
    /// rows of at least `splitRowBytes` bytes on two threads, FloatRowSplit.swift).
    static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, floatMembers: MemberNames, floatLimit: Int,
        maxDepth: Int = JSONValue.defaultMaxDepth, splitRowBytes: Int = JSONParser.defaultSplitRowBytes
    ) throws(JSONParseError) -> ParsedLine {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.floatMembers = floatMembers
        parser.floatLimit = floatLimit
        parser.splitRowBytes = splitRowBytes
        let value = try parser.parseDocument()
        let text = parser.idRange.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        return ParsedLine(value: value, idText: text, fastArrays: parser.fastArrays, source: bytes)
    }
}

/// A few member names, matched by equality: a linear search over a handful of names, with no
/// hashing (a `Set<String>` of the ten float-array fields, built on the first request, was about
/// 3.6% of a one-request `eval`'s CPU time in the static CLI).
struct MemberNames: ExpressibleByArrayLiteral, Sendable {
    /// The names.
    let names: [String]

    /// The names `names`.
    init(_ names: [String]) {
        self.names = names
    }

    init(arrayLiteral names: String...) {
        self.names = names
    }

    /// Whether `name` is one of the names.
    func contains(_ name: String) -> Bool {
        names.contains(name)
    }
}
