/// Reads result lines, `{"id":…,"values":[…]}` or `{"id":…,"error":"…"}`, as written by
/// ``ResultEncoder`` or by another implementation.
///
/// - `values` is an array whose elements are hex-float strings, decimal strings, JSON numbers,
///   or `"inf"`, `"-inf"`, `"nan"` (any form ``HexFloat/parse(_:)`` accepts); an empty array is
///   allowed. A batch's answer, N rows of equal length (`[[…],[…]]`), is read row-major.
/// - `error` is a string.
/// - Exactly one of `values` and `error`; `id` is optional (`.null` when absent).
/// - Other member names are an error (a typo such as `value` must not read as "no answer"),
///   unless ``allowsUnknownFields`` is set, e.g. for implementations that add timing fields.
/// - A name given twice is an error.
public struct ResultDecoder: LineDecoding {
    /// The most values one line may hold.
    public var maxValues: Int
    /// The longest line, in UTF-8 bytes, that ``decode(line:)`` will parse.
    public var maxLineBytes: Int
    /// When true, members other than `id`, `values`, `error` are ignored instead of rejected.
    public var allowsUnknownFields: Bool

    /// A decoder with the given limits.
    public init(
        maxValues: Int = RequestDecoder.defaultMaxValues,
        maxLineBytes: Int = RequestDecoder.defaultMaxLineBytes,
        allowsUnknownFields: Bool = false
    ) {
        self.maxValues = maxValues
        self.maxLineBytes = maxLineBytes
        self.allowsUnknownFields = allowsUnknownFields
    }

    /// Decodes a parsed result line.
    public func decode(_ value: JSONValue) throws(ResultError) -> ResultLine {
        let (id, answer) = try ResultError.decodeObject(value, kind: "a result") { members throws(FieldProblem) in
            try outcome(members)
        }
        return ResultLine(id: id, outcome: answer)
    }

    private func outcome(_ members: [(String, JSONValue)]) throws(FieldProblem) -> ResultLine.Outcome {
        let known = ["id", "values", "error"]
        var seen: Set<String> = []
        var values: JSONValue?
        var error: JSONValue?
        for (name, value) in members {
            guard known.contains(name) else {
                if allowsUnknownFields { continue }
                throw FieldProblem(field: name, reason: #"unknown field; a result has "id" and either "values" or "error""#)
            }
            guard seen.insert(name).inserted else {
                throw FieldProblem(field: name, reason: "appears more than once")
            }
            if name == "values" { values = value }
            if name == "error" { error = value }
        }
        switch (values, error) {
        case (nil, nil):
            throw FieldProblem(field: "values", reason: #"required but missing (a result has either "values" or "error")"#)
        case (.some, .some):
            throw FieldProblem(field: "error", reason: #"a result has either "values" or "error", not both"#)
        case (nil, let message?):
            return .error(try FieldRead.string(message, field: "error", expected: "a message"))
        case (let v?, nil):
            let nested = v.arrayValue?.first?.arrayValue != nil
            let n = FieldRead.count(v, nested: nested)
            if n > maxValues {
                throw FieldProblem(field: "values", reason: "\(n) values exceed the limit of \(maxValues)")
            }
            guard nested else { return .values(try FieldRead.floats(v, field: "values")) }
            // N rows (a batch, answered row by row as `ResultEncoder` writes it): row-major.
            let rows = try FieldRead.floatRows(v, field: "values")
            if let r = rows.firstIndex(where: { $0.count != rows[0].count }) {
                throw FieldProblem(field: "values[\(r)]", reason: "has \(rows[r].count) values, row 0 has \(rows[0].count) (rows must have equal lengths)")
            }
            return .values(rows.flatMap { $0 })
        }
    }
}
