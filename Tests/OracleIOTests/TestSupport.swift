import OracleIO
import SoftmaxOracle

/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference `splitmix64.c`): a tiny, fixed-seed
/// generator so that "random" test inputs are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// 2^e, built from its parts (no arithmetic that could round).
func pow2(_ e: Int) -> Double { Double(sign: .plus, exponent: e, significand: 1) }

/// The decode error of `line`, or nil if it decodes.
func requestError(_ line: String, _ decoder: RequestDecoder = RequestDecoder()) -> RequestError? {
    do {
        _ = try decoder.decode(line: line)
        return nil
    } catch {
        return error
    }
}

/// The message of the decode error of `line` (or "decoded" if there is none).
func requestMessage(_ line: String, _ decoder: RequestDecoder = RequestDecoder()) -> String {
    requestError(line, decoder)?.description ?? "decoded"
}

/// The JSON parse error of `text`, or nil if it parses.
func jsonError(_ text: String, maxDepth: Int = JSONValue.defaultMaxDepth) -> JSONParseError? {
    do {
        _ = try JSONValue.parse(text, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

/// The JSON parse error of raw bytes, or nil if they parse.
func jsonError(utf8 bytes: [UInt8]) -> JSONParseError? {
    do {
        _ = try JSONValue.parse(utf8: bytes)
        return nil
    } catch {
        return error
    }
}

/// The result-line error of `line`, or nil if it decodes.
func resultError(_ line: String, _ decoder: ResultDecoder = ResultDecoder()) -> ResultError? {
    do {
        _ = try decoder.decode(line: line)
        return nil
    } catch {
        return error
    }
}
