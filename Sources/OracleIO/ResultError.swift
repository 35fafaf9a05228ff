/// Why a result line (typically another implementation's answer) could not be read; the shape
/// of ``RequestError``.
public struct ResultError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The line's `id`, verbatim; `.null` when it has none or could not be parsed.
    public var id: JSONValue
    /// The field path (`"values"`, `"values[2]"`), or nil for a problem with the whole line.
    public var field: String?
    /// What is wrong, without the field prefix.
    public var reason: String
    /// The JSON syntax error, when the line is not valid JSON.
    public var jsonError: JSONParseError?

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
