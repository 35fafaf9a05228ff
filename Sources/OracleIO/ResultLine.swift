/// One result line: the request's `id` and either the output values or an error message.
///
/// On the wire (compact, `id` first):
/// - `{"id":<id>,"values":["0x1.8p+1","-inf","nan"]}`
/// - `{"id":<id>,"error":"field \"target\": 1.5 is not an integer"}`
public struct ResultLine: Sendable, Hashable {
    /// What a request produced.
    public enum Outcome: Sendable, Hashable {
        /// The outputs, in the request's output format (carried as binary64).
        case values([Double])
        /// Why there are no outputs.
        case error(String)
    }

    /// The request's `id`, verbatim; `.null` when it had none or could not be read.
    public var id: JSONValue
    /// The values or the error message.
    public var outcome: Outcome

    /// A result line of `id` with `outcome`.
    public init(id: JSONValue, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }

    /// The values, or nil for an error result.
    public var values: [Double]? {
        if case .values(let v) = outcome { return v }
        return nil
    }

    /// The error message, or nil for a values result.
    public var errorMessage: String? {
        if case .error(let m) = outcome { return m }
        return nil
    }
}

/// Writes result lines: compact JSON, `id` first, floats as exact hex-float strings
/// (``HexFloat/format(_:)``: every NaN as `"nan"`). No trailing newline.
public enum ResultEncoder {
    /// `{"id":<id>,"values":[…]}`; with `rows` N (a batch), `values` is N arrays, each the
    /// consecutive `values.count / N` values of one row: `{"id":<id>,"values":[[…],[…]]}`.
    public static func encode(id: JSONValue, values: [Double], rows: Int? = nil) -> String {
        let out = ByteBuffer(capacity: 16 + values.count * 24)
        append(idText: id.serialized, values: AnswerValues(values), rows: rows, to: out)
        return String(decoding: out.bytes(0..<out.count), as: UTF8.self)
    }

    /// `{"id":<id>,"error":"<message>"}`, the message escaped as a JSON string.
    public static func encode(id: JSONValue, error message: String) -> String {
        JSONValue.object([("id", id), ("error", .string(message))]).serialized
    }

    /// The line for a request that could not be decoded: its recovered `id` and its message.
    public static func encode(_ error: RequestError) -> String {
        encode(id: error.id, error: error.description)
    }

    /// The line for `result`.
    public static func encode(_ result: ResultLine) -> String {
        switch result.outcome {
        case .values(let v): encode(id: result.id, values: v)
        case .error(let m): encode(id: result.id, error: m)
        }
    }
}
