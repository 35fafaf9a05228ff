#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import OracleIO
import SoftmaxOracle

/// The serving loops give the answer a request whose arrays no one else holds (the frame's
/// payload and the parsed line are not kept), so `eval`'s `Oracle.evaluateRounded(consuming:)`
/// writes bce_with_logits' outputs over the labels' own storage; the values are the MPFR
/// path's, pending outputs (labels outside [0, 1]) included, in both transports.
@Suite("Serving loops: the answer owns its request")
struct OwnedRequestTests {
    /// A bce row of n logits and labels (k/16, others, one in eight outside [0, 1]), from an LCG.
    static func request(_ n: Int, seed: UInt64) -> OracleRequest {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        let x = (0..<n).map { _ in [0x1p-70, 3.5, -0x1p12 - 1, 700, -0.0, .infinity, .nan, 1e-3][Int(next() % 8)] * Double(1 + next() % 5) }
        let labels = (0..<n).map { _ in
            next() % 8 == 0 ? [1.5, -0.25][Int(next() % 2)] : (next() % 4 == 0 ? 0.3 : Double(next() % 17) / 16)
        }
        var q = OracleRequest(function: .bceWithLogits, format: .f64, logits: x)
        q.labels = labels
        return q
    }

    static func address(_ a: [Double]) -> UnsafeRawPointer? {
        a.withUnsafeBufferPointer { $0.baseAddress.map(UnsafeRawPointer.init) }
    }

    /// Serves `input` (a file's bytes) with an answer that evaluates each request given up and
    /// records whether its values took its labels' storage, and their bits.
    static func serve(_ input: [UInt8], binary: Bool) throws -> [(inPlace: Bool, bits: [UInt64])] {
        let inFile = tmpfile()!, outFile = tmpfile()!
        defer { fclose(inFile); fclose(outFile) }
        _ = input.withUnsafeBytes { write(fileno(inFile), $0.baseAddress, $0.count) }
        lseek(fileno(inFile), 0, SEEK_SET)
        var seen: [(inPlace: Bool, bits: [UInt64])] = []
        let answer = { (decoded: consuming DecodedRequest) throws -> AnswerValues in
            let labels = decoded.request.labels.map(Self.address) ?? nil
            let results = try Oracle().evaluateRounded(consuming: decoded)
            seen.append((labels != nil && Self.address(results[0].rounded) == labels, results[0].rounded.map(\.bitPattern)))
            return AnswerValues(rounded: results)
        }
        let output = LineWriter(fileDescriptor: fileno(outFile))
        if binary {
            let server = BinaryServer()
            var reader = BinaryFrameReader(fileDescriptor: fileno(inFile), maxPayloadBytes: server.maxPayloadBytes)
            _ = try server.serve(from: &reader, to: output, answering: answer)
        } else {
            var reader = LineReader(fileDescriptor: fileno(inFile))
            _ = try RequestServer().serve(from: &reader, to: output, answering: answer)
        }
        return seen
    }

    @Test("bce_with_logits through both transports: written over its labels, the MPFR path's values", arguments: [true, false])
    func writtenOverLabels(binary: Bool) throws {
        let requests = [Self.request(1000, seed: 1), Self.request(300, seed: 2), Self.request(3, seed: 3)]
        let input = requests.enumerated().flatMap { k, q in
            binary ? BinaryRequestEncoder.frame(q, id: .number("\(k)")) : Array((RequestEncoder.encode(q, id: .number("\(k)")) + "\n").utf8)
        }
        let seen = try Self.serve(input, binary: binary)
        #expect(seen.count == requests.count)
        for (q, s) in zip(requests, seen) {
            #expect(s.inPlace, "K = \(q.logits.count): the labels were copied")
            #expect(s.bits == (try Oracle(doubleWordTier: false).evaluate(q).rounded.map(\.bitPattern)), "K = \(q.logits.count)")
        }
    }
}
