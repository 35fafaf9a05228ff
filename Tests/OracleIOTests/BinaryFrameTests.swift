#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import OracleIO
import SoftmaxOracle

/// A request frame: `members` in the header, then `arrays` (listed in `arrays`, bytes in the
/// payload, in order).
private func requestFrame(_ members: [(String, JSONValue)], _ arrays: [(String, BinaryArray)] = []) -> [UInt8] {
    var payload: [UInt8] = []
    var entries: [JSONValue] = []
    for (name, a) in arrays {
        entries.append(.object([("name", .string(name)), ("dtype", .string(a.dtype.rawValue)),
                                ("shape", .array(a.shape.map { .number(String($0)) }))]))
        switch a.values {
        case .f64(let v): for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { payload += $0 } }
        case .i64(let v): for x in v { withUnsafeBytes(of: Int64(x).littleEndian) { payload += $0 } }
        }
    }
    return BinaryFrame.make(header: .object(members + (entries.isEmpty ? [] : [("arrays", .array(entries))])), payload: payload)
}

/// A descriptor that reads `bytes` from the start and then ends (an anonymous temporary file).
private func input(_ bytes: [UInt8]) -> Int32 {
    let file = tmpfile()!
    let fd = dup(fileno(file))
    fclose(file)
    precondition(fd >= 0)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    lseek(fd, 0, SEEK_SET)
    return fd
}

/// Every item the reader gives for `bytes`: `frame <header text> <payload bytes>` or the message.
private func items(_ bytes: [UInt8], maxHeaderBytes: Int = BinaryFrame.defaultMaxHeaderBytes, maxPayloadBytes: Int = 1 << 20) -> [String] {
    let fd = input(bytes)
    defer { close(fd) }
    var reader = BinaryFrameReader(fileDescriptor: fd, maxHeaderBytes: maxHeaderBytes, maxPayloadBytes: maxPayloadBytes)
    var out: [String] = []
    while let item = try? reader.next() {
        switch item {
        case let .frame(header, payload): out.append("frame \(String(decoding: header, as: UTF8.self)) \(payload.count)")
        case let .bad(message): out.append(message)
        }
    }
    return out
}

/// The answers of a server that echoes each request's logits (each row's, for a batch), for
/// the frames in `bytes`: `values <shape> <values>` or `error <message>`.
private func served(_ bytes: [UInt8]) -> [String] {
    let fd = input(bytes)
    defer { close(fd) }
    var out: [Int32] = [0, 0]
    precondition(pipe(&out) == 0)
    let server = BinaryServer()
    var reader = BinaryFrameReader(fileDescriptor: fd, maxPayloadBytes: server.maxPayloadBytes)
    _ = try? server.serve(from: &reader, to: LineWriter(fileDescriptor: out[1])) { d in
        try d.rowRequests().flatMap(\.logits)
    }
    close(out[1])
    var answers: [String] = []
    var results = BinaryFrameReader(fileDescriptor: out[0], maxPayloadBytes: 1 << 20)
    while case let .frame(header, payload)? = try? results.next() {
        let h = (try? JSONValue.parse(String(decoding: header, as: UTF8.self))) ?? .null
        if let message = h["error"]?.stringValue {
            answers.append("error \(message)")
        } else {
            let array = h["arrays"]?.arrayValue?.first
            let bytes = payload.bytes
            let values = stride(from: 0, to: bytes.count, by: 8).map { i in
                Double(bitPattern: (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[i + $1]) })
            }
            answers.append("values \(array?["shape"]?.serialized ?? "?") \(values)")
        }
    }
    close(out[0])
    return answers
}

private let softmaxHeader: [(String, JSONValue)] = [("id", .number("1")), ("function", .string("softmax"))]

@Suite("Binary frames")
struct BinaryFrameTests {
    @Test("a request frame decodes to the request its JSON Lines twin gives, rows as a batch")
    func roundTrip() throws {
        let decoder = BinaryRequestDecoder()
        let frame = requestFrame([("id", .string("a")), ("function", .string("cross_entropy")), ("format", .string("f32"))],
                                 [("logits", BinaryArray(shape: [2, 3], values: .f64([1, 2, 3, -0.0, .infinity, 0x1p-1074]))),
                                  ("target", BinaryArray(shape: [2], values: .i64([2, 0]))),
                                  ("weight", BinaryArray([1, 2, 3]))])
        let header = Array(frame[16..<(16 + Int(frame[4]))])
        let decoded = try decoder.decode(header: header, payload: Array(frame[(16 + header.count)...]))
        #expect(decoded.id == .string("a") && decoded.rowCount == 2)
        let rows = try decoded.rowRequests()
        let json = try RequestDecoder().decode(line: #"{"function":"cross_entropy","format":"f32","logits":[[1,2,3],["-0x0p+0","inf","0x1p-1074"]],"target":[2,0],"weight":[1,2,3]}"#)
        #expect(try json.rowRequests() == rows)
        #expect(rows[1] == OracleRequest(function: .crossEntropy, format: .f32, logits: [-0.0, .infinity, 0x1p-1074],
                                         target: .index(0), weight: [1, 2, 3]))
        #expect(rows[1].logits[0].sign == .minus)
    }

    @Test("bad frames get an error frame naming the problem, and the stream goes on")
    func badFramesThenGoodOnes() {
        let good = requestFrame(softmaxHeader, [("logits", BinaryArray([1, 2]))])
        var notJSON = BinaryFrame.make(header: .null)
        notJSON.replaceSubrange(16..., with: Array("{oops".utf8))
        notJSON[4] = 5
        var shortPayload = requestFrame(softmaxHeader, [("logits", BinaryArray([1, 2]))])
        shortPayload.removeLast(8)
        shortPayload[8] = 8
        let stream = good + Array("garbage".utf8) + good + notJSON
            + requestFrame(softmaxHeader + [("logit", .array([]))])
            + shortPayload
            + requestFrame(softmaxHeader, [("logits", BinaryArray(shape: [2], values: .i64([1, 2])))])
            + requestFrame(softmaxHeader, [("logits", BinaryArray(shape: [1, 2, 3], values: .f64([1, 2, 3, 4, 5, 6])))])
            + requestFrame(softmaxHeader, [("logits", BinaryArray(shape: [2, 2], values: .f64([1, 2, 3, 4]))), ("logits", BinaryArray([1]))])
            + requestFrame([("id", .number("2")), ("function", .string("bce_with_logits"))],
                           [("logits", BinaryArray(shape: [2, 2], values: .f64([1, 2, 3, 4]))), ("labels", BinaryArray([0, 1]))])
            + good
        let answers = served(stream)
        let expected = [
            "values [2] [1.0, 2.0]",
            #"error frame 2 at byte \#(good.count): bad magic 67 61 72 62 (expected 53 4F 46 31, "SOF1"); skipped 7 bytes to the next "SOF1""#,
            "values [2] [1.0, 2.0]",
            "error header: invalid JSON at byte 1",
            #"error field "logit": unknown field (did you mean "logits"?)"#,
            #"error field "arrays": the arrays take 16 bytes (2 values of 8 bytes), but the payload has 8"#,
            #"error field "logits": a i64 array of shape [2], expected f64 of shape [K]"#,
            #"error field "arrays[0].shape": [1,2,3] is not a shape ([] one number, [K] a row, [N, K] rows)"#,
            #"error field "logits": appears more than once"#,
            // A per-row field whose shape does not follow the rows is named when the rows are split.
            #"error field "labels": shape [2] does not fit logits of 2 rows of 2 (expected [2, 2])"#,
            "values [2] [1.0, 2.0]",
        ]
        #expect(answers.count == expected.count)
        for (a, e) in zip(answers, expected) { #expect(a.hasPrefix(e), "\(a)") }
    }

    @Test("a batch's values come back N x W, row by row")
    func batchShape() {
        let answers = served(requestFrame(softmaxHeader, [("logits", BinaryArray(shape: [3, 2], values: .f64([1, 2, 3, 4, 5, 6])))]))
        #expect(answers == ["values [3,2] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]"])
    }

    @Test("a stream that ends inside a frame is reported truncated, and reading ends")
    func truncated() {
        let good = requestFrame(softmaxHeader, [("logits", BinaryArray([1, 2]))])
        #expect(items(good + Array(good[..<10])).last == "frame 2 at byte \(good.count): truncated: the input ends after 10 of the 16 bytes of the frame's prefix")
        let cut = items(good + Array(good.dropLast(3)))
        #expect(cut.count == 2 && cut[1].hasPrefix("frame 2 at byte \(good.count): truncated: the input ends after \(good.count - 19) of the"))
    }

    @Test("huge declared lengths are refused and skipped without being allocated")
    func hugeLengths() {
        var huge = BinaryFrame.magic
        withUnsafeBytes(of: UInt32(16).littleEndian) { huge += $0 }
        withUnsafeBytes(of: UInt64(1 << 62).littleEndian) { huge += $0 }
        huge += Array(repeating: UInt8(ascii: "x"), count: 100)
        let r = items(huge)
        #expect(r == ["frame 1 at byte 0: a payload of \(1 << 62) bytes is over the limit of 1048576; truncated: the input ends after 100 of its \((1 << 62) + 16) bytes"])
        // Over the header limit, but all there: skipped, and the next frame is read.
        let big = BinaryFrame.make(header: .string(String(repeating: "y", count: 5000)))
        let good = requestFrame(softmaxHeader, [("logits", BinaryArray([1]))])
        let r2 = items(big + good, maxHeaderBytes: 4096)
        #expect(r2.count == 2 && r2[0] == "frame 1 at byte 0: a header of 5002 bytes is over the limit of 4096; its 5002 bytes were skipped")
        #expect(r2[1].hasPrefix("frame {"))
        // A header and payload whose lengths add up past 2^64 - 1: one error frame, the rest of
        // the input counted as this frame's (it wrapped around to 49 bytes and read a second
        // "frame" inside the first's header before).
        var wrapped = BinaryFrame.magic
        withUnsafeBytes(of: UInt32(50).littleEndian) { wrapped += $0 }
        withUnsafeBytes(of: UInt64.max.littleEndian) { wrapped += $0 }
        wrapped += Array(repeating: UInt8(ascii: "z"), count: 120)
        #expect(items(wrapped) == ["frame 1 at byte 0: a payload of \(UInt64.max) bytes is over the limit of 1048576; truncated: the input ends after 120 of its 50 + \(UInt64.max) bytes"])
        // Declared sizes whose product overflows, or passes the value limit, are named.
        let frame = requestFrame(softmaxHeader, [("logits", BinaryArray(shape: [1 << 40, 1 << 40], values: .f64([])))])
        #expect(served(frame) == [#"error field "arrays[0].shape": [1099511627776, 1099511627776] holds more than the limit of 10000000 values"#])
    }
}

@Suite("Row batches")
struct RowBatchTests {
    let oracle = Oracle()

    func batch(_ line: String) throws -> DecodedRequest { try RequestDecoder().decode(line: line) }

    @Test("a batch's values are the rows' own values, row by row")
    func equalsRows() throws {
        var rng = SplitMix64(seed: 0xB47C4)
        for function in ["softmax", "log_softmax", "logsumexp", "sigmoid", "softplus"] {
            let rows = (0..<5).map { _ in (0..<7).map { _ in Double(rng.next() % 4001) / 100 - 20 } }
            let text = rows.map { "[" + $0.map { HexFloat.format($0) }.map { "\"\($0)\"" }.joined(separator: ",") + "]" }.joined(separator: ",")
            let d = try batch(#"{"function":"\#(function)","format":"f32","logits":[\#(text)]}"#)
            let results = try oracle.evaluate(d)
            #expect(results.count == 5, "seed 0xB47C4, \(function)")
            for (r, row) in rows.enumerated() {
                let single = try oracle.evaluate(OracleRequest(function: OracleFunction(rawValue: function)!, format: .f32, logits: row))
                #expect(results[r].rounded == single.rounded, "seed 0xB47C4, \(function) row \(r)")
            }
        }
    }

    @Test("softmax of equal logits is 1/K in every row; per-row targets; shared weights")
    func fromMath() throws {
        let d = try batch(#"{"function":"softmax","logits":[[3,3,3,3],[-7,-7,-7,-7],[0,0,0,0]]}"#)
        #expect(try oracle.evaluate(d).map(\.rounded) == Array(repeating: [0.25, 0.25, 0.25, 0.25], count: 3))
        // cross_entropy of equal logits is log K whatever the target: the same in every row.
        let ce = try oracle.evaluate(try batch(#"{"function":"cross_entropy","logits":[[0,0],[5,5]],"target":[1,0],"weight":[2,2]}"#))
        #expect(ce.map(\.rounded) == [[2 * 0x1.62e42fefa39efp-1], [2 * 0x1.62e42fefa39efp-1]])  // 2 · log 2, exact doubling
    }

    @Test("errors name the field and the row")
    func errors() throws {
        func message(_ line: String) -> String {
            do {
                _ = try oracle.evaluate(try batch(line))
                return "ok"
            } catch {
                return String(describing: error)
            }
        }
        #expect(message(#"{"function":"cross_entropy","logits":[[0,0],[1,1],[3,4]],"target":[0,1,5]}"#) == #"field "target[2]": 5 is outside [0, 2)"#)
        #expect(message(#"{"function":"softmax","logits":[[1,2],[3]]}"#) == #"field "logits[1]": 1 values, but logits[0] has 2 (rows must have equal lengths)"#)
        #expect(message(#"{"function":"softmax","logits":[[]]}"#) == #"field "logits[0]": K = 0: a row of a batch needs at least one value"#)
        #expect(message(#"{"function":"cross_entropy","logits":[[0,0],[1,1]],"target":0}"#) == #"field "target": shape [] does not fit logits of 2 rows of 2 (expected [2]: one class index per row)"#)
        #expect(message(#"{"function":"cross_entropy","logits":[[0,0],[1,1]],"targets":[[0.5,0.5],[1]]}"#) == #"field "targets[1]": 1 values, but targets[0] has 2 (rows must have equal lengths)"#)
        #expect(message(#"{"function":"cross_entropy","logits":[[0,0],[1,1]],"targets":[[1,0],[0,-1]]}"#).hasPrefix(#"field "targets[1][1]": "#))
        #expect(message(#"{"function":"cross_entropy","logits":[[0,0],[1,1]],"target":[0,0],"weight":[1,-1]}"#) == #"field "weight[1]": -1.0 is negative (must be >= 0) (row 0, logits[0])"#)
        #expect(message(#"{"function":"bce_with_logits","logits":[[0,0],[1,1]],"labels":[[0,1],[1,"nan"]]}"#).hasPrefix(#"field "labels[1][1]": "#))
    }
}

@Suite("Result bits")
struct ResultBitsTests {
    /// The payload bytes of a `bits` result frame of `values` in `format`.
    func bits(_ values: [Double], _ format: Format) -> [UInt8] {
        let frame = BinaryResultEncoder.frame(id: .null, values: values, format: format, result: .bits)
        let h = Int(frame[4]) | Int(frame[5]) << 8
        return Array(frame[(16 + h)...])
    }

    /// The value of an FP8 code with `e` exponent bits and bias `bias`, from the format's
    /// definition (nil for NaN; E4M3FN has no infinities, S.1111.111 is NaN).
    func fp8(_ code: Int, exponentBits e: Int, fn: Bool) -> Double? {
        let m = 7 - e, bias = (1 << (e - 1)) - 1
        let sign = code & 0x80 != 0 ? -1.0 : 1.0
        let exp = (code >> m) & ((1 << e) - 1), man = code & ((1 << m) - 1)
        if fn && exp == (1 << e) - 1 && man == (1 << m) - 1 { return nil }
        if !fn && exp == (1 << e) - 1 { return man == 0 ? sign * .infinity : nil }
        if exp == 0 { return sign * Double(man) * pow2(1 - bias - m) }
        return sign * (1 + Double(man) / Double(1 << m)) * pow2(exp - bias)
    }

    @Test("every FP8 code is its value's bits; NaN is 0x7F (E4M3FN) or 0x7E (E5M2)")
    func fp8Codes() {
        for (format, e, fn) in [(Format.e4m3fn, 4, true), (.e5m2, 5, false)] {
            for code in 0..<256 {
                let v = fp8(code, exponentBits: e, fn: fn)
                #expect(bits([v ?? .nan], format) == [v == nil ? (fn ? 0x7F : 0x7E) : UInt8(code)], "\(format) code \(code)")
            }
        }
    }

    @Test("IEEE and bfloat16 bits, little-endian, from their definitions")
    func ieee() {
        #expect(bits([1, -2, 0x1p-133], .bf16) == [0x80, 0x3F, 0x00, 0xC0, 0x01, 0x00])
        #expect(bits([1, 65504, 0x1p-24, -0.0], .f16) == [0x00, 0x3C, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x80])
        #expect(bits([1, .infinity], .f32) == [0, 0, 0x80, 0x3F, 0, 0, 0x80, 0x7F])
        #expect(bits([0x1p-1074], .f64) == [1, 0, 0, 0, 0, 0, 0, 0])
    }
}
