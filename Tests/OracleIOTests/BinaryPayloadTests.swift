#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import OracleIO
import SoftmaxOracle

/// The bytes of `values` as binary64, little-endian.
private func f64Bytes(_ values: [Double]) -> [UInt8] {
    values.flatMap { littleEndian($0.bitPattern, width: 8) }
}

/// Every item `reader` gives, to the end of its input.
private func items(_ reader: inout BinaryFrameReader) throws -> [BinaryFrameReader.Item] {
    var out: [BinaryFrameReader.Item] = []
    while let item = try reader.next() { out.append(item) }
    return out
}

@Suite("Binary frames: payload storage")
struct BinaryPayloadTests {
    /// 10 000 logits and labels of bce_with_logits, and a pos_weight of one value.
    static let logits = (0..<10_000).map { Double($0) * 0x1p-7 - 40 }
    static let labels = (0..<10_000).map { Double($0 % 3) / 2 }
    static let header = #"{"id":1,"function":"bce_with_logits","arrays":[{"name":"logits","dtype":"f64","shape":[10000]},"#
        + #"{"name":"labels","dtype":"f64","shape":[10000]},{"name":"pos_weight","dtype":"f64","shape":[]}]}"#

    @Test("a frame of several arrays decodes to their values, read from a pipe in short pieces")
    func severalArrays() throws {
        let payload = f64Bytes(Self.logits) + f64Bytes(Self.labels) + f64Bytes([3])
        let fd = dribbled(handFrame(Self.header, payload) + handFrame(Self.header, payload))
        defer { close(fd) }
        var reader = BinaryFrameReader(fileDescriptor: fd, maxPayloadBytes: 1 << 20)
        let read = try items(&reader)
        #expect(read.count == 2)
        for item in read {
            guard case let .frame(h, p) = item else {
                Issue.record("expected a frame: \(item)")
                continue
            }
            #expect(p.count == payload.count && p.bytes == payload)
            let request = try BinaryRequestDecoder().decodeFrame(header: h, payload: p).request.request
            #expect(request.logits == Self.logits && request.labels == Self.labels && request.posWeight == [3])
        }
    }

    /// The reader gives each array the header lists storage of its own, and the decoder takes
    /// it: two decodings of one payload share their arrays' storage (a copy would not).
    @Test("every f64 array of a frame is the payload's own storage, not a copy")
    func arraysAreNotCopied() throws {
        let payload = f64Bytes(Self.logits) + f64Bytes(Self.labels) + f64Bytes([3])
        let fd = dribbled(handFrame(Self.header, payload))
        defer { close(fd) }
        var reader = BinaryFrameReader(fileDescriptor: fd, maxPayloadBytes: 1 << 20)
        guard case let .frame(h, p)? = try reader.next() else {
            Issue.record("expected a frame")
            return
        }
        let a = try BinaryRequestDecoder().decodeFrame(header: h, payload: p).request.request
        let b = try BinaryRequestDecoder().decodeFrame(header: h, payload: p).request.request
        func base(_ x: [Double]?) -> UnsafePointer<Double>? { x?.withUnsafeBufferPointer(\.baseAddress) }
        #expect(base(a.logits) == base(b.logits) && base(a.labels) == base(b.labels) && base(a.posWeight) == base(b.posWeight))
        #expect(base(a.logits) != base(a.labels))
    }

    /// Headers that do not describe the payload (arrays that do not fill it, an unknown dtype,
    /// a header that is not JSON) still give the payload's bytes, and the decoder's error.
    @Test("a payload that the header's arrays do not describe is read whole, and refused as before")
    func mismatchedLayouts() throws {
        let payload = f64Bytes([1, 2, 3, 4])
        let cases: [(String, String)] = [
            (#"{"id":1,"function":"softmax","arrays":[{"name":"logits","dtype":"f64","shape":[2]},{"name":"weight","dtype":"f64","shape":[1]}]}"#,
             #"field "arrays": the arrays take 24 bytes (3 values of 8 bytes), but the payload has 32"#),
            (#"{"id":1,"function":"softmax","arrays":[{"name":"logits","dtype":"f32","shape":[2]},{"name":"weight","dtype":"f64","shape":[2]}]}"#,
             #"field "arrays[0].dtype": unknown dtype "f32" (expected f64 or i64)"#),
            (#"{"id":1,"function":"softmax","arrays":[{"name":"logits","dtype":"f64","shape":[2]},{"name":"weight","dtype":"f64","shape":[2]}]"#,
             "header: invalid JSON"),
        ]
        for (header, message) in cases {
            let fd = dribbled(handFrame(header, payload))
            defer { close(fd) }
            var reader = BinaryFrameReader(fileDescriptor: fd, maxPayloadBytes: 1 << 20)
            guard case let .frame(h, p)? = try reader.next() else {
                Issue.record("expected a frame")
                continue
            }
            #expect(p.bytes == payload)
            #expect(throws: RequestError.self) { try BinaryRequestDecoder().decodeFrame(header: h, payload: p) }
            do {
                _ = try BinaryRequestDecoder().decodeFrame(header: h, payload: p)
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }

    /// Before, a payload's storage was taken at its declared length: a frame declaring 2^39
    /// bytes (within a reader's limit of 2^40) and ending after 100 asked for 512 GiB, and the
    /// process died.
    @Test("a huge declared payload within the limit is reported truncated without being allocated")
    func hugeDeclaredPayload() throws {
        var frame = handFrame(#"{"id":1}"#, [])
        frame.replaceSubrange(8..<16, with: littleEndian(1 << 39, width: 8))
        frame += [UInt8](repeating: 7, count: 100)
        let fd = dribbled(frame)
        defer { close(fd) }
        var reader = BinaryFrameReader(fileDescriptor: fd, maxPayloadBytes: 1 << 40)
        let read = try items(&reader)
        #expect(read == [.bad("frame 1 at byte 0: truncated: the input ends after 108 of the \((1 << 39) + 8) bytes of its header (8) and payload (\(1 << 39))")])
    }

    /// A payload over ``BinaryFrameReader/directPayloadBytes`` grows as it arrives: the bytes are
    /// the same, for one array or several, whole or cut short.
    @Test("payloads over the direct size are read growing, whole or truncated", arguments: [8, 64, 1000, 1 << 16])
    func growingPayloads(direct: Int) throws {
        let single = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }  // not a multiple of 8
        let several = f64Bytes(Self.logits) + f64Bytes(Self.labels) + f64Bytes([3])
        let frames = handFrame(#"{"id":1}"#, single) + handFrame(Self.header, several)
        let cut = handFrame(Self.header, several).dropLast(5)
        let fd = dribbled(frames + cut)
        defer { close(fd) }
        var reader = BinaryFrameReader(fileDescriptor: fd, maxPayloadBytes: 1 << 20, directPayloadBytes: direct)
        let read = try items(&reader)
        #expect(read.count == 3)
        guard read.count == 3, case let .frame(_, p1) = read[0], case let .frame(h2, p2) = read[1] else {
            Issue.record("expected two frames")
            return
        }
        #expect(p1.bytes == single && p2.bytes == several)
        let request = try BinaryRequestDecoder().decodeFrame(header: h2, payload: p2).request.request
        #expect(request.logits == Self.logits && request.labels == Self.labels && request.posWeight == [3])
        let headerBytes = Self.header.utf8.count
        #expect(read[2] == .bad("frame 3 at byte \(frames.count): truncated: the input ends after \(headerBytes + several.count - 5) of the "
            + "\(headerBytes + several.count) bytes of its header (\(headerBytes)) and payload (\(several.count))"))
    }
}
