/// Why one JSON Lines line could not be decoded, with the line's `id` (when it could be read) so
/// that the answer to it can echo the id.
///
/// Used as ``RequestError`` (`Line` is ``DecodedRequest``) and ``ResultError`` (`Line` is
/// ``ResultLine``): the same shape and messages, kept apart as types by `Line`, the type the line
/// would have decoded to.
///
/// The message names the field and the offending value, e.g.
/// `field "logits[3]": "0x1.g" is not a number (expected …)`; a problem with the line as a whole
/// (too long, not JSON, not an object) names no field.
public struct LineError<Line>: Error, Sendable, Hashable, CustomStringConvertible {
    /// The line's `id`, verbatim; `.null` when the line has none or could not be parsed.
    public var id: JSONValue
    /// The field path (`"logits"`, `"logits[3]"`, `"batch[1][0]"`, `"values[2]"`), or nil for a
    /// problem with the line as a whole.
    public var field: String?
    /// What is wrong, without the field prefix.
    public var reason: String
    /// The JSON syntax error, when the line is not valid JSON.
    public var jsonError: JSONParseError?

    /// An error about `field` (nil: the line as a whole) of the line with `id`.
    public init(id: JSONValue = .null, field: String?, reason: String, jsonError: JSONParseError? = nil) {
        self.id = id
        self.field = field
        self.reason = reason
        self.jsonError = jsonError
    }

    /// `field "<field>": <reason>`, or just the reason when no field is named.
    public var description: String {
        guard let field else { return reason }
        return "field \(quoted(field)): \(reason)"
    }
}

// MARK: - The steps every line decoder takes

extension LineError {
    /// The JSON value of `line`.
    ///
    /// - Throws: an error with no id and no field when `line` has more than `maxLineBytes` UTF-8
    ///   bytes, or is not valid JSON (then ``jsonError`` is set: nothing of such a line can be
    ///   trusted, not even its id).
    static func parse(_ line: String, maxLineBytes: Int) throws(LineError) -> JSONValue {
        try checkLength(line.utf8.count, maxLineBytes: maxLineBytes)
        do throws(JSONParseError) {
            return try JSONValue.parse(line)
        } catch {
            throw notJSON(error)
        }
    }

    /// As ``parse(_:maxLineBytes:)``, for a line given as bytes; bytes that are not well-formed
    /// UTF-8 are a JSON error at their offset.
    static func parse(utf8 line: [UInt8], maxLineBytes: Int) throws(LineError) -> JSONValue {
        try parseKeepingIDText(utf8: line, maxLineBytes: maxLineBytes).value
    }

    /// As ``parse(utf8:maxLineBytes:)``, and the `id` member's text exactly as the line wrote it
    /// (``JSONValue/parseKeepingIDText(utf8:maxDepth:)``), from the same single pass.
    static func parseKeepingIDText(utf8 line: [UInt8], maxLineBytes: Int) throws(LineError) -> (value: JSONValue, idText: String?) {
        try checkLength(line.count, maxLineBytes: maxLineBytes)
        do throws(JSONParseError) {
            return try JSONValue.parseKeepingIDText(utf8: line)
        } catch {
            throw notJSON(error)
        }
    }

    /// Throws the error for a line of `length` bytes when that is over `maxLineBytes`.
    static func checkLength(_ length: Int, maxLineBytes: Int) throws(LineError) {
        if length > maxLineBytes {
            throw LineError(field: nil, reason: "the line has \(length) bytes, over the limit of \(maxLineBytes)")
        }
    }

    /// The error for a line that is not valid JSON: no id, no field (nothing of such a line can
    /// be trusted).
    static func notJSON(_ error: JSONParseError) -> LineError {
        LineError(field: nil, reason: error.description, jsonError: error)
    }

    /// The line's `id` (`.null` when absent) and what `decodeMembers` makes of its members.
    ///
    /// - Parameter kind: the line's name in the message when `value` is not an object
    ///   (`"a request"` gives `a request must be a JSON object, found an array`).
    /// - Throws: that message (no id), or the problem `decodeMembers` found, with the line's id.
    static func decodeObject<Decoded>(
        _ value: JSONValue, kind: String,
        _ decodeMembers: ([(String, JSONValue)]) throws(FieldProblem) -> Decoded
    ) throws(LineError) -> (id: JSONValue, decoded: Decoded) {
        guard case .object(let members) = value else {
            throw LineError(field: nil, reason: "\(kind) must be a JSON object, found \(value.kindDescription)")
        }
        let id = members.first(where: { $0.0 == "id" })?.1 ?? .null
        do throws(FieldProblem) {
            return (id, try decodeMembers(members))
        } catch {
            throw LineError(id: id, field: error.field, reason: error.reason)
        }
    }
}

/// A decoder of one kind of JSON Lines object (``RequestDecoder``, ``ResultDecoder``): a line is
/// parsed as JSON (at most ``maxLineBytes`` bytes), then decoded by ``decode(_:)``.
public protocol LineDecoding: Sendable {
    /// What one line decodes to (``DecodedRequest``, ``ResultLine``).
    associatedtype Line
    /// The longest line, in UTF-8 bytes, that ``decode(line:)`` will parse.
    var maxLineBytes: Int { get }
    /// Decodes a parsed line.
    func decode(_ value: JSONValue) throws(LineError<Line>) -> Line
}

extension LineDecoding {
    /// Decodes one line (one JSON object; surrounding JSON whitespace, including a trailing CR,
    /// is allowed). Callers skip blank lines themselves: an empty line is invalid JSON here.
    ///
    /// - Throws: ``LineError``; its `id` is the line's `id` whenever the line is a JSON object.
    public func decode(line: String) throws(LineError<Line>) -> Line {
        try decode(LineError<Line>.parse(line, maxLineBytes: maxLineBytes))
    }

    /// Decodes one line given as bytes, as ``decode(line:)``; bytes that are not well-formed
    /// UTF-8 are an error naming their byte offset (``LineError/jsonError``), never repaired.
    public func decode(utf8 line: [UInt8]) throws(LineError<Line>) -> Line {
        try decode(LineError<Line>.parse(utf8: line, maxLineBytes: maxLineBytes))
    }
}
