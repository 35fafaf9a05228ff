import OracleIO
import Testing

@Suite("Result lines")
struct ResultLineTests {
    @Test func encodeValues() {
        // 3 = 0x1.8p+1; 2^-1074 = 0x1p-1074; every NaN is "nan".
        let line = ResultEncoder.encode(id: .number("7"), values: [3, -.infinity, .nan, -0.0, pow2(-1074)])
        #expect(line == #"{"id":7,"values":["0x1.8p+1","-inf","nan","-0x0p+0","0x1p-1074"]}"#)
        #expect(ResultEncoder.encode(id: .null, values: []) == #"{"id":null,"values":[]}"#)
        let id = JSONValue.object([("b", .array([.number("1"), .number("2.50")]))])
        #expect(ResultEncoder.encode(id: id, values: [1]) == #"{"id":{"b":[1,2.50]},"values":["0x1p+0"]}"#)
    }

    @Test func encodeErrors() {
        #expect(ResultEncoder.encode(id: .string("a"), error: #"field "target": 1.5 is not an integer"#)
            == #"{"id":"a","error":"field \"target\": 1.5 is not an integer"}"#)
        #expect(ResultEncoder.encode(id: .null, error: "line1\nline2\\") == #"{"id":null,"error":"line1\nline2\\"}"#)
        let result = ResultLine(id: .number("1"), outcome: .error("not certified"))
        #expect(ResultEncoder.encode(result) == #"{"id":1,"error":"not certified"}"#)
        #expect(result.errorMessage == "not certified" && result.values == nil)
    }

    @Test func decodeValuesInEveryForm() throws {
        let line = #"{"id":"r1","values":["0x1.8p+1","-2.5",0.25,"inf","-inf","nan",1e400,-0,"INFINITY"]}"#
        let result = try ResultDecoder().decode(line: line)
        #expect(result.id == .string("r1"))
        let v = try #require(result.values)
        #expect(v.count == 9)
        #expect(Array(v[0..<5]) == [3, -2.5, 0.25, .infinity, -.infinity])
        #expect(v[5].isNaN)
        #expect(v[6] == .infinity && v[7] == 0 && v[7].sign == .minus && v[8] == .infinity)
        // Order of members does not matter, and id is optional.
        #expect(try ResultDecoder().decode(line: #"{"values":[],"id":3}"#) == ResultLine(id: .number("3"), outcome: .values([])))
        #expect(try ResultDecoder().decode(line: #"{"values":[1]}"#) == ResultLine(id: .null, outcome: .values([1])))
    }

    @Test func decodeErrorLines() throws {
        let result = try ResultDecoder().decode(line: #"{"id":[1,2],"error":"field \"target\": bad"}"#)
        #expect(result.id == .array([.number("1"), .number("2")]))
        #expect(result.outcome == .error(#"field "target": bad"#))
    }

    @Test func roundTripOfRandomValues() throws {
        var rng = SplitMix64(seed: 42)
        let values = (0..<10_000).map { _ in Double(bitPattern: rng.next()) }
        let decoded = try ResultDecoder().decode(line: ResultEncoder.encode(id: .string("x"), values: values))
        let back = try #require(decoded.values)
        #expect(back.count == values.count)
        for (a, b) in zip(values, back) {
            if a.isNaN { #expect(b.isNaN) } else { #expect(a.bitPattern == b.bitPattern) }
        }
    }

    @Test func malformedResults() {
        let hint = #"(expected a hex-float or decimal string, "inf", "-inf", "nan", or a JSON number)"#
        let cases: [(String, String)] = [
            (#"{"id":1,"values":[1,2"#, "invalid JSON at byte 21: expected ',' or ']' after an array element, found end of input"),
            ("[1,2]", "a result must be a JSON object, found an array"),
            (#"{"id":1}"#, #"field "values": required but missing (a result has either "values" or "error")"#),
            (#"{"id":1,"values":[],"error":"x"}"#, #"field "error": a result has either "values" or "error", not both"#),
            (#"{"id":1,"values":"0x1p+0"}"#, #"field "values": "0x1p+0" is not an array of numbers"#),
            (#"{"id":1,"values":[1,"0x1.g"]}"#, #"field "values[1]": "0x1.g" is not a number \#(hint)"#),
            (#"{"id":1,"values":[null]}"#, #"field "values[0]": null is not a number \#(hint)"#),
            (#"{"id":1,"error":42}"#, #"field "error": 42 is not a string (expected a message)"#),
            (#"{"id":1,"value":[1]}"#, #"field "value": unknown field; a result has "id" and either "values" or "error""#),
            (#"{"id":1,"values":[1],"values":[2]}"#, #"field "values": appears more than once"#),
        ]
        for (line, message) in cases {
            #expect(resultError(line)?.description == message, "\(line)")
        }
        // The id is recovered whenever the line is an object; not otherwise.
        #expect(resultError(#"{"id":"q","values":[true]}"#)?.id == .string("q"))
        #expect(resultError(#"{"id":"q","values":[true"#)?.id == .null)
        #expect(resultError(#"{"id":1,"values":[1,2"#)?.jsonError?.offset == 21)
    }

    @Test func unknownFieldsCanBeAllowed() throws {
        let lenient = ResultDecoder(allowsUnknownFields: true)
        let result = try lenient.decode(line: #"{"id":1,"values":["0x1p-1"],"time_ms":3.5}"#)
        #expect(result.values == [0.5])
        #expect(resultError(#"{"id":1,"time_ms":3.5}"#, lenient)?.field == "values")
    }

    @Test func limits() {
        let small = ResultDecoder(maxValues: 3, maxLineBytes: 100)
        #expect(resultError(#"{"values":[1,2,3,4]}"#, small)?.description == #"field "values": 4 values exceed the limit of 3"#)
        #expect(resultError(#"{"values":[1,2,3]}"#, small) == nil)
        let long = #"{"values":["# + Array(repeating: "1", count: 60).joined(separator: ",") + "]}"
        #expect(resultError(long, small)?.description == "the line has \(long.utf8.count) bytes, over the limit of 100")
    }
}
