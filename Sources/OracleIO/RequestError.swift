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
public typealias RequestError = LineError<DecodedRequest>

/// A decoded request and the `id` to echo with its result.
public struct DecodedRequest: Sendable, Hashable {
    /// The request's `id`, verbatim; `.null` when it has none.
    public var id: JSONValue
    /// The decoded request.
    public var request: OracleRequest
}
