#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import OracleIO
import SoftmaxOracle

/// All bytes of `fd` to its end.
private func readAll(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return out }
        out += chunk[..<n]
    }
}

@Suite("Binary frames: large payloads and results")
struct BinaryStreamingTests {
    /// Values of every kind: normal, subnormal, zeros, infinities, NaN, and a spread of binades.
    static func values(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { k in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            switch k % 7 {
            case 0: return Double(bitPattern: state >> 1)  // any positive pattern, NaNs included
            case 1: return -0.0
            case 2: return .infinity
            case 3: return 0x1p-1074 * Double(state >> 54)
            default: return Double(Int64(bitPattern: state) >> 20) * 0x1p-30
            }
        }
    }

    @Test("a result of 20 001 values (over one 64 KiB piece) is the frame written by hand, for values, bits and both",
          arguments: [Format.f64, .f32, .f16, .bf16, .e5m2, .e4m3fn])
    func largeResults(format: Format) throws {
        // The values of the format (as the oracle gives them): each rounded into it, NaN kept.
        let values = Self.values(20_001, seed: 0x5EED).map { $0.isNaN ? $0 : format.round($0) }
        for result in BinaryResultKind.allCases {
            let frame = BinaryResultEncoder.frame(id: .number("7"), values: values, format: format, result: result)
            var descriptors: [String] = []
            var payload: [UInt8] = []
            if result != .bits {
                descriptors.append(#"{"name":"values","dtype":"f64","shape":[20001]}"#)
                for x in values { payload += littleEndian(x.bitPattern, width: 8) }
            }
            if result != .values {
                let (dtype, width): (String, Int) = switch format {
                case .f64: ("u64", 8)
                case .f32: ("u32", 4)
                case .f16, .bf16: ("u16", 2)
                case .e5m2, .e4m3fn: ("u8", 1)
                }
                descriptors.append(#"{"name":"bits","dtype":"\#(dtype)","shape":[20001]}"#)
                for x in values { payload += littleEndian(Self.bits(x, format), width: width) }
            }
            let expected = handFrame(#"{"id":7,"arrays":[\#(descriptors.joined(separator: ","))]}"#, payload)
            #expect(frame == expected, "\(format) \(result): \(frame.count) bytes, expected \(expected.count)")
        }
    }

    /// The encoding of `x` in `format`, from the standard conversions (E4M3FN from its
    /// definition: sign, 4 exponent bits of bias 7, 3 fraction bits; NaN 0x7F).
    static func bits(_ x: Double, _ format: Format) -> UInt64 {
        switch format {
        case .f64: return x.isNaN ? 0x7FF8_0000_0000_0000 : x.bitPattern
        case .f32: return x.isNaN ? 0x7FC0_0000 : UInt64(Float(x).bitPattern)
        case .f16: return x.isNaN ? 0x7E00 : UInt64(Float16(x).bitPattern)
        case .bf16: return x.isNaN ? 0x7FC0 : UInt64(Float(x).bitPattern >> 16)
        case .e5m2: return x.isNaN ? 0x7E : UInt64(Float16(x).bitPattern >> 8)
        case .e4m3fn:
            if x.isNaN { return 0x7F }
            let sign: UInt64 = x.sign == .minus ? 0x80 : 0
            for code in 0..<0x7F {
                let e = code >> 3, m = Double(code & 7)
                let v = e == 0 ? m * 0x1p-9 : (1 + m / 8) * Double(sign: .plus, exponent: e - 7, significand: 1)
                if v == x.magnitude { return sign | UInt64(code) }
            }
            return 0xFF  // not a value of the format: no test value reaches here
        }
    }

    @Test("eval's streamed result frames are the frames built whole (a batch, an error, a result over 64 KiB)")
    func servedFramesAreWholeFrames() throws {
        let big = Self.values(9_000, seed: 2).map { $0.isNaN ? 0 : $0 }
        let requests: [(String, [Double])] = [
            (#"{"id":1,"function":"softmax","arrays":[{"name":"logits","dtype":"f64","shape":[2,3]}]}"#, [1, 2, 3, 4, 5, 6]),
            (#"{"id":2,"function":"softmax","arrays":[{"name":"logits","dtype":"f64","shape":[2]}]}"#, [1]),
            (#"{"id":3,"function":"softmax","result":"both","arrays":[{"name":"logits","dtype":"f64","shape":[9000]}]}"#, big),
        ]
        let input = requests.flatMap { handFrame($0.0, $0.1.flatMap { littleEndian($0.bitPattern, width: 8) }) }
        let inFile = tmpfile()!, outFile = tmpfile()!
        defer { fclose(inFile); fclose(outFile) }
        _ = input.withUnsafeBytes { write(fileno(inFile), $0.baseAddress, $0.count) }
        lseek(fileno(inFile), 0, SEEK_SET)
        let server = BinaryServer()
        var reader = BinaryFrameReader(fileDescriptor: fileno(inFile), maxPayloadBytes: server.maxPayloadBytes)
        // The answer echoes the logits, rows one after another.
        let summary = try server.serve(from: &reader, to: LineWriter(fileDescriptor: fileno(outFile)),
                                       answering: { AnswerValues(try $0.rowRequests().flatMap(\.logits)) })
        #expect(summary.requests == 3 && summary.failures == 1)
        lseek(fileno(outFile), 0, SEEK_SET)
        let expected = BinaryResultEncoder.frame(id: .number("1"), values: [1, 2, 3, 4, 5, 6], rows: 2)
            + BinaryResultEncoder.frame(id: .number("2"), error: #"field "arrays": the arrays take 16 bytes (2 values of 8 bytes), but the payload has 8"#)
            + BinaryResultEncoder.frame(id: .number("3"), values: big, result: .both)
        #expect(readAll(fileno(outFile)) == expected)
    }

    @Test("a payload arriving in small pieces through a pipe is read whole, and the next frame after it")
    func payloadFromAPipe() throws {
        let payloadBytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }  // not a multiple of 8
        let second = handFrame(#"{"id":2}"#, littleEndian(0x3FF0_0000_0000_0000, width: 8))
        let stream = handFrame(#"{"id":1}"#, payloadBytes) + second
        let readEnd = dribbled(stream, pausing: true)
        defer { close(readEnd) }
        var reader = BinaryFrameReader(fileDescriptor: readEnd, maxPayloadBytes: 1 << 20)
        guard case let .frame(h1, p1)? = try reader.next(), case let .frame(h2, p2)? = try reader.next() else {
            Issue.record("expected two frames")
            return
        }
        #expect(String(decoding: h1, as: UTF8.self) == #"{"id":1}"# && p1.count == 100_003 && p1.bytes == payloadBytes)
        #expect(String(decoding: h2, as: UTF8.self) == #"{"id":2}"# && p2.bytes == littleEndian(0x3FF0_0000_0000_0000, width: 8))
        #expect(try reader.next() == nil)
        #expect(reader.offset == stream.count)
    }
    /// The review found a small `both` result (bf16, K = 3: 24 bytes of values, 6 of bits) written
    /// in two writes, header and values then the bits: a piece was sent as soon as it had no
    /// room for another binary64, before the narrower bits. A socket of records
    /// (`SOCK_SEQPACKET`) keeps each write apart, so one read must return the whole frame.
    @Test("a small result frame is one write, for values, bits and both in every format", arguments: Format.allCases)
    func smallFrameIsOneWrite(format: Format) throws {
        for result in BinaryResultKind.allCases {
            var fds: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            let header = #"{"id":1,"function":"softmax","format":"\#(format.rawValue)","result":"\#(result.rawValue)","arrays":[{"name":"logits","dtype":"f64","shape":[3]}]}"#
            let input = handFrame(header, [0.0, 1, 2].flatMap { littleEndian($0.bitPattern, width: 8) })
            let inFile = tmpfile()!
            defer { fclose(inFile) }
            _ = input.withUnsafeBytes { write(fileno(inFile), $0.baseAddress, $0.count) }
            lseek(fileno(inFile), 0, SEEK_SET)
            let server = BinaryServer()
            var reader = BinaryFrameReader(fileDescriptor: fileno(inFile), maxPayloadBytes: server.maxPayloadBytes)
            let values = [0.25, 0.5, 0.125]  // values of every format
            _ = try server.serve(from: &reader, to: LineWriter(fileDescriptor: fds[1]), answering: { _ in AnswerValues(values) })
            var record = [UInt8](repeating: 0, count: 1 << 16)
            let n = record.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            let whole = BinaryResultEncoder.frame(id: .number("1"), values: values, format: format, result: result)
            #expect(n == whole.count && Array(record[0..<max(0, n)]) == whole, "\(format) \(result): first write \(n) of \(whole.count) bytes")
        }
    }
}
