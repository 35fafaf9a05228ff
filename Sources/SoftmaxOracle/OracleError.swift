/// Why the oracle gave no value. Every case names what was wrong, so that a message can point at
/// the field and value of a request.
public enum OracleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A request field has a value the function cannot take (e.g. a target outside [0, K)).
    case invalidInput(field: String, message: String)
    /// The enclosure did not round to a unique value before the precision cap. Never a guess.
    case notCertified(output: Int, precision: Int, detail: String)

    /// The error as one line of text, naming the field and value, or the output and precision.
    public var description: String {
        switch self {
        case let .invalidInput(field, message): "field \"\(field)\": \(message)"
        case let .notCertified(output, precision, detail):
            "not certified: output \(output) did not round uniquely at \(precision) bits (the cap) \(detail)"
        }
    }
}
