import Testing
import OracleIO
import SoftmaxOracle

@Suite("Binary request encoding")
struct BinaryRequestEncoderTests {
    /// The frame's header text and payload (the frame's own prefix checked against their lengths).
    func parts(_ frame: [UInt8]) -> (header: String, payload: [UInt8]) {
        let h = (0..<4).reduce(0) { $0 | Int(frame[4 + $1]) << (8 * $1) }
        let p = (0..<8).reduce(0) { $0 | Int(frame[8 + $1]) << (8 * $1) }
        #expect(Array(frame[0..<4]) == Array("SOF1".utf8) && frame.count == 16 + h + p)
        return (String(decoding: frame[16..<(16 + h)], as: UTF8.self), Array(frame[(16 + h)...]))
    }

    @Test("a known request: the header of RequestEncoder's line with the logits moved to the payload")
    func knownFrame() {
        let r = OracleRequest(function: .softmax, format: .f16, logits: [3, -.infinity, -0.0])
        let (header, payload) = parts(BinaryRequestEncoder.frame(r, id: .number(1)))
        #expect(header == #"{"id":1,"function":"softmax","format":"f16","arrays":[{"name":"logits","dtype":"f64","shape":[3]}]}"#)
        // 3 = 0x4008000000000000, -inf = 0xFFF0000000000000, -0 = 0x8000000000000000, little-endian.
        #expect(payload == [0, 0, 0, 0, 0, 0, 0x08, 0x40, 0, 0, 0, 0, 0, 0, 0xF0, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x80])
        let loss = OracleRequest(function: .crossEntropyLoss, batch: [[1]], batchTargets: .indices([0]), ignoreIndex: 2, reduction: .sum)
        #expect(parts(BinaryRequestEncoder.frame(loss)).header
            == #"{"id":null,"function":"cross_entropy_loss","format":"f64","ignore_index":2,"reduction":"sum","arrays":[{"name":"batch","dtype":"f64","shape":[1,1]},{"name":"targets","dtype":"i64","shape":[1]}]}"#)
    }

    @Test("every kind of request decodes back to itself, as its JSON Lines twin does")
    func roundTripsThroughTheDecoder() throws {
        let requests: [OracleRequest] = [
            OracleRequest(function: .logsumexp, logits: []),
            OracleRequest(function: .logSoftmax, format: .e4m3fn, logits: [pow2(-1074), -pow2(1023), 0.1, .nan]),
            OracleRequest(function: .crossEntropy, format: .bf16, logits: [1000, 0, -1000], target: .index(1),
                          labelSmoothing: 0.125, weight: [1, 2, 3]),
            OracleRequest(function: .crossEntropyGrad, logits: [0, 1], target: .probabilities([0.25, 0.75])),
            OracleRequest(function: .bceWithLogits, format: .e5m2, logits: [-1, 1], labels: [0, 1], posWeight: [3]),
            OracleRequest(function: .softplus, logits: [.infinity, -.infinity]),
            OracleRequest(function: .softmaxBackward, logits: [0, 0x1p-1074], gradOutput: [-3, 2]),
            OracleRequest(function: .crossEntropyLoss, format: .f32, labelSmoothing: 0.5, weight: [1, 1],
                          batch: [[0, 1], [2, 3]], batchTargets: .probabilities([[0.5, 0.5], [1, 0]]),
                          ignoreIndex: -7, reduction: .none),
        ]
        let decoder = BinaryRequestDecoder(fields: RequestDecoder(defaultFormat: .f16))  // every frame carries its format
        for (k, r) in requests.enumerated() {
            let id = JSONValue.object([("k", .number(k))])
            let (header, payload) = parts(BinaryRequestEncoder.frame(r, id: id))
            let decoded = try decoder.decode(header: Array(header.utf8), payload: payload)
            let twin = try RequestDecoder(defaultFormat: .f16).decode(line: RequestEncoder.encode(r, id: id))
            #expect(decoded.id == id, "\(k)")
            // The logits compared by their bits (NaN and -0 kept), the rest as requests.
            var (a, b) = (decoded.request, twin.request)
            #expect(a.logits.map(\.bitPattern) == r.logits.map(\.bitPattern) && b.logits.map(\.bitPattern) == r.logits.map(\.bitPattern), "\(k)")
            (a.logits, b.logits) = ([], [])
            #expect(a == b, "\(k)")
        }
    }
}
