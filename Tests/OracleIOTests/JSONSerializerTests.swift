import OracleIO
import Testing

@Suite("JSON serializer")
struct JSONSerializerTests {
    @Test func compactWithStoredOrderAndLiteralNumbers() {
        let value = JSONValue.object([
            ("z", .number("1.50")),
            ("a", .array([.bool(true), .bool(false), .null, .string("x"), .array([]), .object([])])),
            ("m", .number("-0")),
        ])
        #expect(value.serialized == #"{"z":1.50,"a":[true,false,null,"x",[],{}],"m":-0}"#)
        #expect(value.description == value.serialized)
    }

    @Test func stringEscaping() {
        let s = "q\"b\\s/\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}é😀"
        // Named escapes where JSON has them, \u00XX (lowercase hex) for the other controls,
        // everything else raw.
        #expect(JSONValue.string(s).serialized == "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7F}é😀\"")
        #expect(JSONValue.object([("k\"", .null)]).serialized == #"{"k\"":null}"#)
    }

    @Test func parseSerializeRoundTrip() throws {
        let compact = #"{"id":{"b":[1,2.50,-3e-7]},"s":"a\"\\\n\u0001é","t":[true,false,null],"e":{},"f":[]}"#
        let value = try JSONValue.parse(compact)
        // Compact input comes back byte for byte.
        #expect(value.serialized == compact)
        #expect(try JSONValue.parse(value.serialized) == value)
        // Whitespace goes; everything else stays.
        let spaced = "{ \"a\" : [ 1 , 2 ] ,\n \"b\" : \"x y\" }"
        #expect(try JSONValue.parse(spaced).serialized == #"{"a":[1,2],"b":"x y"}"#)
    }

    @Test func writeAppends() {
        var bytes = Array("prefix:".utf8)
        JSONValue.array([.number("1"), .string("é")]).write(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #"prefix:[1,"é"]"#)
    }

    @Test func helpers() {
        #expect(JSONValue.number(-100) == .number("-100"))
        #expect(JSONValue.number(exactly: 0.5) == .number("0.5"))
        #expect(JSONValue.number(exactly: .infinity) == nil)
        #expect(JSONValue.number(exactly: .nan) == nil)
        #expect(JSONValue.null.kindDescription == "null")
        #expect(JSONValue.object([]).kindDescription == "an object")
        let long = JSONValue.array(Array(repeating: .number("1"), count: 100))
        #expect(long.excerpt(maxLength: 10) == "[1,1,1,1,…")
        #expect(JSONValue.string("ab").excerpt() == #""ab""#)
        // Equality is by literal text, hashing agrees with equality.
        #expect(JSONValue.number("1") != JSONValue.number("1.0"))
        #expect(Set([JSONValue.object([("a", .null)]), .object([("a", .null)])]).count == 1)
        #expect(JSONValue.object([("a", .null), ("b", .null)]) != .object([("b", .null), ("a", .null)]))
    }

    @Test func prettyPrintedIndentsObjectsAndKeepsScalarArraysOnOneLine() {
        let value = JSONValue.object([
            ("a", .array([.number("1"), .string("x"), .null])),
            ("b", .array([.object([("c", .bool(true))]), .array([])])),
            ("e", .object([])),
            ("f", .array([])),
        ])
        #expect(value.prettyPrinted == """
            {
              "a": [1, "x", null],
              "b": [
                {
                  "c": true
                },
                []
              ],
              "e": {},
              "f": []
            }
            """)
        #expect(JSONValue.string("q\"").prettyPrinted == #""q\"""#)
    }

    @Test func numberOrSpecialWritesNonFiniteAsStrings() {
        #expect(JSONValue.numberOrSpecial(0.5) == .number("0.5"))
        #expect(JSONValue.numberOrSpecial(.infinity) == .string("inf"))
        #expect(JSONValue.numberOrSpecial(-.infinity) == .string("-inf"))
        #expect(JSONValue.numberOrSpecial(.nan) == .string("nan"))
    }
}
