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
    /// The decoded request; for a batch, the function, format and fields every row shares.
    public var request: OracleRequest
    /// The rows of a batched request (`logits` N × K), or nil for a single row.
    public var batch: RowBatch?

    /// How many rows a batch has, or nil for a single row: its values come back nested.
    public var rowCount: Int? { batch?.rowCount }
}

extension DecodedRequest {
    /// The single-row requests: ``request`` alone, or the batch's rows (``RowBatch/requests()``).
    public func rowRequests() throws(OracleError) -> [OracleRequest] {
        try batch?.requests() ?? [request]
    }
}

extension Oracle {
    /// The results of a decoded request, one per row (one for a single row); a batch's rows are
    /// evaluated in parallel (``evaluate(_:)-(RowBatch)``).
    public func evaluate(_ decoded: DecodedRequest) throws(OracleError) -> [OracleResult] {
        if let batch = decoded.batch { return try evaluate(batch) }
        return [try evaluate(decoded.request)]
    }

    /// The rounded values of a decoded request, one result per row (one for a single row):
    /// ``SoftmaxOracle/Oracle/evaluateRounded(_:)-(OracleRequest)`` for a single row, which leaves
    /// out the exact values where it can; a batch's rows as ``evaluate(_:)-(DecodedRequest)``. The
    /// same rounded values as ``evaluate(_:)-(DecodedRequest)``.
    public func evaluateRounded(_ decoded: DecodedRequest) throws(OracleError) -> [RoundedResult] {
        if let batch = decoded.batch { return try evaluate(batch).map(RoundedResult.init) }
        return [try evaluateRounded(decoded.request)]
    }

    /// ``evaluateRounded(_:)-(DecodedRequest)`` for a request the caller gives up: a single
    /// row takes ``SoftmaxOracle/Oracle/evaluateRounded(consuming:)`` (bce_with_logits in f64:
    /// its outputs written over its labels' storage, which a caller that keeps the request
    /// never sees written). The same rounded values.
    public func evaluateRounded(consuming decoded: consuming DecodedRequest) throws(OracleError) -> [RoundedResult] {
        if let batch = decoded.batch { return try evaluate(batch).map(RoundedResult.init) }
        return [try evaluateRounded(consuming: (consume decoded).request)]
    }
}
