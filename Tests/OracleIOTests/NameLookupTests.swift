import Testing
import OracleIO
import SoftmaxOracle

/// The decoder looks names up by scanning each enum's cases (CaseLookup.swift) instead of
/// `init(rawValue:)`: every name of a field, function, format, reduction, dtype and result kind
/// must still be known, and nothing else.
@Suite("Name lookups")
struct NameLookupTests {
    /// The error message of decoding `line`, or nil when it decodes.
    func message(_ line: String) -> String? {
        do {
            _ = try RequestDecoder().decode(line: line)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("every function, format and field name is known; near misses are not")
    func requestNames() {
        for f in OracleFunction.allCases {
            let m = message(#"{"function":"\#(f.rawValue)"}"#) ?? ""
            #expect(!m.contains("unknown function"), "\(f.rawValue): \(m)")
            #expect(message(#"{"function":"\#(f.rawValue) "}"#)?.contains("unknown function") == true)
        }
        for format in Format.allCases {
            let m = message(#"{"function":"softmax","format":"\#(format.rawValue)","logits":["0x1p+0"]}"#)
            #expect(m == nil, "\(format.rawValue): \(m ?? "")")
            #expect(message(#"{"function":"softmax","format":"\#(format.rawValue.uppercased())","logits":["0x1p+0"]}"#)?.contains("unknown format") == true)
        }
        for field in RequestField.allCases where field != .function {
            let m = message(#"{"function":"softmax","\#(field.rawValue)":null}"#) ?? ""
            #expect(!m.contains("unknown field"), "\(field.rawValue): \(m)")
            #expect(message(#"{"function":"softmax","\#(field.rawValue)x":null}"#)?.contains("unknown field") == true)
        }
        for r in Reduction.allCases {
            let m = message(#"{"function":"cross_entropy_loss","batch":[["0x1p+0"]],"targets":[0],"reduction":"\#(r.rawValue)"}"#)
            #expect(m == nil, "\(r.rawValue): \(m ?? "")")
        }
        #expect(message(#"{"function":"cross_entropy_loss","batch":[["0x1p+0"]],"targets":[0],"reduction":"means"}"#)?.contains("unknown") == true)
    }

    @Test("every dtype and result kind of a frame header is known; others are not")
    func frameNames() throws {
        func decode(_ header: String, _ payload: [UInt8] = Array(repeating: 0, count: 8)) -> String? {
            do {
                _ = try BinaryRequestDecoder().decodeFrame(header: Array(header.utf8), payload: payload[...])
                return nil
            } catch {
                return error.description
            }
        }
        for kind in BinaryResultKind.allCases {
            #expect(decode(#"{"function":"softmax","result":"\#(kind.rawValue)","arrays":[{"name":"logits","dtype":"f64","shape":[1]}]}"#) == nil)
        }
        #expect(decode(#"{"function":"softmax","result":"value","arrays":[{"name":"logits","dtype":"f64","shape":[1]}]}"#)?.contains("unknown result") == true)
        for dtype in BinaryArray.DType.allCases {
            let m = decode(#"{"function":"cross_entropy","arrays":[{"name":"logits","dtype":"f64","shape":[1]},{"name":"target","dtype":"\#(dtype.rawValue)","shape":[]}]}"#, Array(repeating: 0, count: 16)) ?? ""
            #expect(!m.contains("unknown dtype"), "\(dtype.rawValue): \(m)")
        }
        #expect(decode(#"{"function":"softmax","arrays":[{"name":"logits","dtype":"f32","shape":[1]}]}"#)?.contains("unknown dtype") == true)
    }
}
