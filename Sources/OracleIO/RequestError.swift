import SoftmaxOracle

/// Why a request line could not be decoded, with the line's `id` (when it could be read) so that
/// the error line can echo it.
///
/// The message names the field and the offending value:
/// - `field "logits[3]": "0x1.g" is not a number (expected a hex-float or decimal string, "inf", "-inf", "nan", or a JSON number)`
/// - `field "function": unknown function "softmaxx" (expected one of: logsumexp, softmax, …)`
/// - `field "target": 1.5 is not an integer`
/// - `invalid JSON at byte 12: expected ',' or ']' after an array element, found 'x'` (no field;
///   `id` is null, since nothing of a line that is not JSON can be trusted)
public struct RequestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request's `id`, verbatim; `.null` when the line has none or could not be parsed.
    public var id: JSONValue
    /// The field path (`"logits"`, `"logits[3]"`, `"batch[1][0]"`), or nil for a problem with the
    /// line as a whole.
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

/// A decoded request and the `id` to echo with its result.
public struct DecodedRequest: Sendable, Hashable {
    /// The request's `id`, verbatim; `.null` when it has none.
    public var id: JSONValue
    public var request: OracleRequest

    public init(id: JSONValue, request: OracleRequest) {
        self.id = id
        self.request = request
    }
}
