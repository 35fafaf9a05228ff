import AccuracyHarness
import OracleIO
import SoftmaxOracle

/// What a case expects: the certified outputs, or the oracle's refusal.
public enum FixtureExpectation: Sendable, Hashable {
    /// The certified correct roundings, one per output.
    case values([Double])
    /// The oracle gave no value (the request is invalid, or could not be certified): its message.
    /// Generated cases are valid, so this is rare; `verify` checks that the oracle still refuses.
    case error(String)

    /// The oracle's answer to `request`, as a fixture expectation.
    public static func certify(_ request: OracleRequest, with oracle: Oracle) -> FixtureExpectation {
        do {
            return .values(try oracle.evaluate(request).rounded)
        } catch {
            return .error(message(error))
        }
    }

    /// A short, stable message for an oracle error (a "not certified" error carries an enclosure
    /// of up to 65 536 bits: only its output and precision are kept).
    static func message(_ error: OracleError) -> String {
        switch error {
        case .invalidInput: error.description
        case let .notCertified(output, precision, _): "not certified: output \(output) at the precision cap, \(precision) bits"
        }
    }
}

/// One case line of a fixture file: the request as `eval` reads it, then `expected`.
///
/// `{"id":"softmax/f32/nan#0","function":"softmax","format":"f32","logits":["0x1.8p+1",…],"expected":["nan",…]}`
///
/// The request part is `RequestEncoder`'s (members `id`, `function`, `format`, then the fields the
/// function uses; floats as exact hex-float strings), so removing `expected` gives a line that
/// `softmax-oracle eval` answers with the same values. The `id` is the case key
/// `function/format/family#index`, which regenerates the inputs from the header's seed.
/// A refused case has `"expected_error":"<message>"` instead of `expected`.
public struct GoldenCase: Sendable, Hashable {
    /// The case (its `id` in the file).
    public var key: CaseKey
    /// The inputs, as `eval` reads them.
    public var request: OracleRequest
    /// The certified outputs, or the oracle's refusal.
    public var expectation: FixtureExpectation

    /// A case from its parts (normally made by ``FixtureGenerator``).
    public init(key: CaseKey, request: OracleRequest, expectation: FixtureExpectation) {
        self.key = key
        self.request = request
        self.expectation = expectation
    }

    /// The case line (compact JSON, no newline).
    public var line: String {
        var text = RequestEncoder.encode(request, id: .string(key.description))
        text.removeLast()  // the closing brace of the request object
        var bytes = Array(text.utf8)
        switch expectation {
        case .values(let values):
            bytes.append(contentsOf: #","expected":["#.utf8)
            for (k, x) in values.enumerated() {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(UInt8(ascii: "\""))
                HexFloat.write(x, to: &bytes)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "]"))
        case .error(let message):
            bytes.append(contentsOf: #","expected_error":"#.utf8)
            JSONValue.writeString(message, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A case line as read back: its `id` text, the decoded request and the expectation.
public struct ParsedGoldenLine: Sendable, Hashable {
    /// The `id` member's string.
    public var id: String
    /// The key `id` names, when it is one (`function/format/family#index`).
    public var key: CaseKey?
    /// The inputs.
    public var request: OracleRequest
    /// The expected outputs, or the expected refusal.
    public var expectation: FixtureExpectation

    /// Reads one case line.
    ///
    /// - Throws: ``FixtureError`` saying what is wrong (not JSON, no `expected`, a request field
    ///   `eval` would refuse, a value that is not a float).
    public init(line: String) throws(FixtureError) {
        let value = try FixtureError.parseObject(line) { "a case line must be a JSON object, found \($0.kindDescription)" }
        var members = value.objectMembers ?? []
        let expected = members.filter { $0.0 == "expected" }
        let refused = members.filter { $0.0 == "expected_error" }
        members.removeAll { $0.0 == "expected" || $0.0 == "expected_error" }
        switch (expected.count, refused.count) {
        case (1, 0):
            guard let elements = expected[0].1.arrayValue else {
                throw FixtureError("\"expected\" is not an array of floats")
            }
            var values: [Double] = []
            values.reserveCapacity(elements.count)
            for (k, e) in elements.enumerated() {
                guard case .string(let text) = e else { throw FixtureError("\"expected[\(k)]\" is \(e.excerpt()), not a hex-float string") }
                do throws(FloatSyntaxError) {
                    values.append(try HexFloat.checkedParse(text))
                } catch {
                    throw FixtureError("\"expected[\(k)]\": \(error)")
                }
            }
            expectation = .values(values)
        case (0, 1):
            guard let message = refused[0].1.stringValue else { throw FixtureError("\"expected_error\" is not a string") }
            expectation = .error(message)
        case (0, 0):
            throw FixtureError("no \"expected\" member")
        default:
            throw FixtureError("give \"expected\" or \"expected_error\" once, not both or twice")
        }
        guard case .string(let id)? = members.first(where: { $0.0 == "id" })?.1 else {
            throw FixtureError("the \"id\" member is missing or not a string")
        }
        self.id = id
        self.key = CaseKey(fixtureID: id)
        do throws(RequestError) {
            request = try RequestDecoder().decode(.object(members)).request
        } catch {
            throw FixtureError("the request is not one `eval` reads: \(error)")
        }
    }
}

extension CaseKey {
    /// Reads `function/format/family#index` (``CaseKey/description``); nil for any other text.
    public init?(fixtureID text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let function = OracleFunction(rawValue: String(parts[0])),
              let format = Format(rawValue: String(parts[1])) else { return nil }
        let tail = parts[2].split(separator: "#", omittingEmptySubsequences: false)
        guard tail.count == 2, let family = Family(rawValue: String(tail[0])),
              let index = Int(tail[1]), index >= 0, String(index) == tail[1] else { return nil }
        self.init(function: function, format: format, family: family, index: index)
    }
}
