import OracleIO
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesEveryKindAndKeepsOrderAndLiterals() throws {
        let text = #" { "b" : [1, -0.5e+3, true, false, null, "x"], "a": {}, "c": [], "b": 12345678901234567890 } "#
        let value = try JSONValue.parse(text)
        let expected = JSONValue.object([
            ("b", .array([.number("1"), .number("-0.5e+3"), .bool(true), .bool(false), .null, .string("x")])),
            ("a", .object([])),
            ("c", .array([])),
            ("b", .number("12345678901234567890")),
        ])
        #expect(value == expected)
        // Duplicate names are kept; the subscript gives the first.
        #expect(value["b"]?.arrayValue?.count == 6)
        #expect(value["zzz"] == nil)
    }

    @Test func scalarsAtTopLevel() throws {
        #expect(try JSONValue.parse("0") == .number("0"))
        #expect(try JSONValue.parse("-0") == .number("-0"))
        #expect(try JSONValue.parse("\t\r\n 1E-7 \n") == .number("1E-7"))
        #expect(try JSONValue.parse("\"\"") == .string(""))
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse("true") == .bool(true))
    }

    @Test func stringEscapes() throws {
        // U+0041 is "A", U+00E9 "é", and the pair D83D DE00 is U+1F600:
        // 0x10000 + (0xD83D - 0xD800) << 10 + (0xDE00 - 0xDC00) = 0x10000 + 0xF400 + 0x200 = 0x1F600.
        let text = #""\"\\\/\b\f\n\r\t\u0041\u00e9\uD83D\uDE00\u0000""#
        #expect(try JSONValue.parse(text) == .string("\"\\/\u{8}\u{C}\n\r\tAé\u{1F600}\u{0}"))
        // Raw UTF-8 passes unchanged, and so does DEL (0x7F), which JSON does not require escaping.
        #expect(try JSONValue.parse("\"é€😀\u{7F}\"") == .string("é€😀\u{7F}"))
        // Escapes mixed with raw runs on both sides.
        #expect(try JSONValue.parse(#""ab\ncd\u0020ef""#) == .string("ab\ncd ef"))
    }

    @Test func errorsGiveOffsetExpectedAndFound() {
        // (text, offset, a piece of the expected text, found)
        let cases: [(String, Int, String, String)] = [
            ("", 0, "a JSON value", "end of input"),
            ("   ", 3, "a JSON value", "end of input"),
            ("[1,]", 3, "trailing commas", "']'"),
            (#"{"a":1,}"#, 7, "trailing commas", "'}'"),
            ("[1 2]", 3, "',' or ']' after an array element", "'2'"),
            ("[1", 2, "',' or ']'", "end of input"),
            (#"{"a" 1}"#, 5, "':' after a member name", "'1'"),
            ("{1:2}", 1, "a member name string", "'1'"),
            (#"{"a":1 "b":2}"#, 7, "',' or '}' after an object member", "'\"'"),
            ("[1}", 2, "',' or ']'", "'}'"),
            ("01", 1, "leading zeros are not allowed", "'1'"),
            ("-01", 2, "leading zeros", "'1'"),
            ("-", 1, "a digit after '-'", "end of input"),
            ("-a", 1, "a digit after '-'", "'a'"),
            ("1.", 2, "a digit after the decimal point", "end of input"),
            ("1.e5", 2, "a digit after the decimal point", "'e'"),
            ("1e", 2, "a digit in the exponent", "end of input"),
            ("1e+", 3, "a digit in the exponent", "end of input"),
            ("+1", 0, "a JSON value", "'+'"),
            (".5", 0, "a JSON value", "'.'"),
            ("NaN", 0, "a JSON value", "'N'"),
            ("Infinity", 0, "a JSON value", "'I'"),
            ("tru", 3, "'true'", "end of input"),
            ("nul", 3, "'null'", "end of input"),
            ("falsy", 4, "'false'", "'y'"),
            ("True", 0, "a JSON value", "'T'"),
            ("[1] x", 4, "end of input after the JSON value", "'x'"),
            ("{} {}", 3, "end of input after the JSON value", "'{'"),
            ("\"abc", 4, "'\"' to close the string", "end of input"),
            (#""\x""#, 2, "an escape character", "'x'"),
            (#""\"#, 2, "an escape character after '\\'", "end of input"),
            (#""\u12G4""#, 5, "4 hex digits after \\u", "'G'"),
            (#""\uD83D""#, 7, "a low surrogate", "'\"'"),
            (#""\uD83Dx""#, 7, "a low surrogate", "'x'"),
            (#""\uD83D\u0041""#, 7, "a low surrogate", "'\\'"),
            (#""\uDE00""#, 1, "lone low surrogate", "'\\'"),
            ("\"a\nb\"", 2, "control characters must be escaped", "a line feed"),
            ("\"a\tb\"", 2, "control characters must be escaped", "a tab"),
            ("\"\u{1}\"", 1, "control characters must be escaped", "control byte 0x01"),
            ("é", 0, "a JSON value", "byte 0xC3"),
            ("[1,,2]", 3, "a JSON value after ','", "','"),
            ("{\"a\":}", 5, "a JSON value", "'}'"),
        ]
        for (text, offset, expected, found) in cases {
            let error = jsonError(text)
            #expect(error?.offset == offset, "\(text.debugDescription): \(String(describing: error))")
            #expect(error?.expected.contains(expected) == true, "\(text.debugDescription): \(String(describing: error))")
            #expect(error?.found == found, "\(text.debugDescription): \(String(describing: error))")
        }
    }

    @Test func errorDescription() {
        #expect(jsonError("[1 2]")?.description == "invalid JSON at byte 3: expected ',' or ']' after an array element, found '2'")
    }

    @Test func malformedUTF8IsRejectedAtItsOffset() throws {
        let q: UInt8 = 0x22  // '"'
        // (bytes, offset of the first bad byte)
        let cases: [([UInt8], Int)] = [
            ([q, 0xC3, 0x28, q], 2),  // C3 needs a continuation byte; 0x28 is '('
            ([q, 0xC0, 0xAF, q], 1),  // C0 only starts overlong forms
            ([q, 0xE0, 0x80, 0x80, q], 2),  // overlong 3-byte form: E0 needs A0...BF next
            ([q, 0xED, 0xA0, 0x80, q], 2),  // U+D800 encoded: ED needs 80...9F next
            ([q, 0xF4, 0x90, 0x80, 0x80, q], 2),  // above U+10FFFF: F4 needs 80...8F next
            ([q, 0xF5, 0x80, 0x80, 0x80, q], 1),  // F5 never starts a character
            ([q, 0x80, q], 1),  // a stray continuation byte
            ([q, 0xE2, 0x82, q], 3),  // a truncated 3-byte form (U+20AC is E2 82 AC)
            ([0xEF, 0xBB, 0xBF, 0x31], 0),  // a byte-order mark is not JSON whitespace
        ]
        for (bytes, offset) in cases {
            #expect(jsonError(utf8: bytes)?.offset == offset, "\(bytes)")
        }
        // The well-formed versions pass: U+20AC, U+D7FF (ED 9F BF), U+10FFFF (F4 8F BF BF).
        for bytes: [UInt8] in [[q, 0xE2, 0x82, 0xAC, q], [q, 0xED, 0x9F, 0xBF, q], [q, 0xF4, 0x8F, 0xBF, 0xBF, q]] {
            #expect(jsonError(utf8: bytes) == nil, "\(bytes)")
        }
        #expect(try JSONValue.parse(utf8: [q, 0xE2, 0x82, 0xAC, q]) == .string("€"))
        // A non-contiguous collection takes the copying path.
        #expect(try JSONValue.parse(utf8: "[1,2]".utf8.reversed().reversed()) == .array([.number("1"), .number("2")]))
    }

    @Test func depthLimit() {
        let limit = JSONValue.defaultMaxDepth
        #expect(limit == 512)
        let ok = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(jsonError(ok) == nil)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        let error = jsonError(tooDeep)
        #expect(error?.offset == limit)
        #expect(error?.expected.contains("at most 512 nested") == true)
        // Objects count too, and the limit can be set.
        #expect(jsonError(#"{"a":{"b":1}}"#, maxDepth: 2) == nil)
        #expect(jsonError(#"{"a":{"b":[]}}"#, maxDepth: 2)?.offset == 10)
        // Far deeper than any call stack would take: still a clean error, no crash.
        let huge = String(repeating: "[", count: 1_000_000)
        #expect(jsonError(huge)?.offset == limit)
    }

    @Test func deepNestingWithinALargeLimitIsIterative() throws {
        // 10 000 levels parse without recursion when the caller allows it.
        let n = 10_000
        let text = String(repeating: "[", count: n) + "7" + String(repeating: "]", count: n)
        var value = try JSONValue.parse(text, maxDepth: n)
        var depth = 0
        while case .array(let a) = value {
            value = a[0]
            depth += 1
        }
        #expect(depth == n)
        #expect(value == .number("7"))
    }

    @Test func longLinesParseInLinearTime() throws {
        // 200 000 numbers and 200 000 strings: a few megabytes, one pass.
        let count = 200_000
        let numbers = "[" + (0..<count).map { String($0) }.joined(separator: ",") + "]"
        let parsed = try JSONValue.parse(numbers)
        #expect(parsed.arrayValue?.count == count)
        #expect(parsed.arrayValue?.last == .number(String(count - 1)))
        let strings = "[" + Array(repeating: #""0x1.fffffffffffffp+1023""#, count: count).joined(separator: ",") + "]"
        #expect(try JSONValue.parse(strings).arrayValue?.count == count)
    }
}
