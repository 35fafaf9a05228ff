import OracleIO
import SoftmaxOracle
@_exported import TestSupport  // SplitMix64, pow2, hex: shared by every test target

/// The error `body` throws, or nil when it returns.
func thrown<E: Error>(_ body: () throws(E) -> Void) -> E? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The decode error of `line`, or nil if it decodes.
func requestError(_ line: String, _ decoder: RequestDecoder = RequestDecoder()) -> RequestError? {
    thrown { () throws(RequestError) in _ = try decoder.decode(line: line) }
}

/// The message of the decode error of `line` (or "decoded" if there is none).
func requestMessage(_ line: String, _ decoder: RequestDecoder = RequestDecoder()) -> String {
    requestError(line, decoder)?.description ?? "decoded"
}

/// The JSON parse error of `text`, or nil if it parses.
func jsonError(_ text: String, maxDepth: Int = JSONValue.defaultMaxDepth) -> JSONParseError? {
    thrown { () throws(JSONParseError) in _ = try JSONValue.parse(text, maxDepth: maxDepth) }
}

/// The JSON parse error of raw bytes, or nil if they parse.
func jsonError(utf8 bytes: [UInt8]) -> JSONParseError? {
    thrown { () throws(JSONParseError) in _ = try JSONValue.parse(utf8: bytes) }
}

/// The result-line error of `line`, or nil if it decodes.
func resultError(_ line: String, _ decoder: ResultDecoder = ResultDecoder()) -> ResultError? {
    thrown { () throws(ResultError) in _ = try decoder.decode(line: line) }
}
