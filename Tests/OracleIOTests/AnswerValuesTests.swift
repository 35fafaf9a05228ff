#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import OracleIO
@testable import SoftmaxOracle
import Testing

/// The values whose text is special: signed zeros, the ends of the subnormals and normals, the
/// specials, and values whose hex form has every digit count.
private let edgeValues: [Double] = {
    var values: [Double] = [0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 3 * .leastNonzeroMagnitude]
    values += [Double.leastNormalMagnitude.nextDown, .leastNormalMagnitude, -.leastNormalMagnitude]
    values += [1, -1, 0.1, 1.5, 3, 0x1.fffffffffffffp-1]
    values += [Double.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, -.nan]
    for k in 0...13 { values.append(1 + Double(sign: .plus, exponent: 4 * k - 52, significand: 1)) }
    return values
}()

/// The reference text of a values array: each value through ``HexFloat/format(_:)`` on its own.
private func arrayText(_ values: [Double]) -> String {
    "[" + values.map { "\"" + HexFloat.format($0) + "\"" }.joined(separator: ",") + "]"
}

/// An oracle result holding `values` as its rounded values.
private func result(_ values: [Double]) -> OracleResult {
    OracleResult(values: values.map { OracleValue(rounded: $0, exact: .zero()) }, precision: 53, escalations: 0)
}

/// `values` and some random bit patterns after them (`count` values in all).
private func mixed(_ count: Int, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { $0 < edgeValues.count ? edgeValues[$0] : Double(bitPattern: rng.next()) }
}

/// The line `ResultEncoder.append` writes into a buffer without a drain.
private func encoded(_ values: AnswerValues, rows: Int? = nil, splitValues: Int) -> String {
    let out = ByteBuffer()
    ResultEncoder.append(idText: "7", values: values, rows: rows, to: out, splitValues: splitValues)
    return String(decoding: out.bytes(0..<out.count), as: UTF8.self)
}

@Suite("Answer values: an oracle result's values written in place")
struct AnswerValuesTests {
    @Test("a result's rounded values, read in place, give the bytes of each value formatted alone (one and two threads)")
    func inPlaceBytes() {
        let seed = UInt64.random(in: 0...UInt64.max)
        for count in [1, 2, 3, edgeValues.count, 1000] {
            let values = mixed(count, seed: seed)
            let expected = #"{"id":7,"values":"# + arrayText(values) + "}"
            for split in [1, 2, 5, Int.max] {
                #expect(encoded(AnswerValues(results: [result(values)]), splitValues: split) == expected, "seed \(seed), \(count) values, split \(split)")
                #expect(encoded(AnswerValues(values), splitValues: split) == expected, "seed \(seed), \(count) values, split \(split)")
            }
        }
    }

    @Test("a batch: one result per row gives one array per row; the results' values as one array otherwise")
    func batchRows() {
        let rows = [mixed(5, seed: 1), Array(edgeValues[5..<10]), [1, 2, 3, 4, 5]]
        let expected = #"{"id":7,"values":["# + rows.map(arrayText).joined(separator: ",") + "]}"
        for split in [1, 3, Int.max] {
            #expect(encoded(AnswerValues(results: rows.map(result)), rows: 3, splitValues: split) == expected)
        }
        #expect(encoded(AnswerValues(results: rows.map(result)), splitValues: 2) == #"{"id":7,"values":"# + arrayText(rows.flatMap { $0 }) + "}")
        #expect(AnswerValues(results: rows.map(result)).doubles.map(\.bitPattern) == rows.flatMap { $0 }.map(\.bitPattern))
    }

    @Test("rounded results (Oracle.evaluateRounded): values alone or in place give the bytes of each value formatted alone; rows as arrays")
    func roundedResults() {
        let seed = UInt64.random(in: 0...UInt64.max)
        func rounded(_ v: [Double]) -> RoundedResult { RoundedResult(values: .rounded(v), precision: 106, escalations: 0, tier: .doubleWord) }
        for count in [1, 3, edgeValues.count, 1000] {
            let values = mixed(count, seed: seed)
            let expected = #"{"id":7,"values":"# + arrayText(values) + "}"
            for split in [1, 5, Int.max] {
                #expect(encoded(AnswerValues(rounded: [rounded(values)]), splitValues: split) == expected, "seed \(seed), \(count) values, split \(split)")
                #expect(encoded(AnswerValues(rounded: [RoundedResult(result(values))]), splitValues: split) == expected, "seed \(seed), \(count) values")
            }
        }
        let rows = [mixed(5, seed: seed), Array(edgeValues[5..<10])]
        let expected = #"{"id":7,"values":["# + rows.map(arrayText).joined(separator: ",") + "]}"
        #expect(encoded(AnswerValues(rounded: [rounded(rows[0]), RoundedResult(result(rows[1]))]), rows: 2, splitValues: 3) == expected, "seed \(seed)")
        #expect(AnswerValues(rounded: rows.map(rounded)).doubles.map(\.bitPattern) == rows.flatMap { $0 }.map(\.bitPattern), "seed \(seed)")
    }

    @Test("a long answer is drained before a block that does not fit: the same bytes, and the buffer never grows past one block")
    func drainedBeforeGrowing() {
        let values = mixed(100_000, seed: 0xD2A1)
        let expected = #"{"id":7,"values":"# + arrayText(values) + "}"
        for split in [ResultEncoder.defaultSplitValues, Int.max] {
            let out = ByteBuffer()
            var drained: [UInt8] = []
            var pieces = 0
            out.drain = { bytes in
                drained += bytes
                pieces += 1
                return nil
            }
            ResultEncoder.append(idText: "7", values: AnswerValues(results: [result(values)]), to: out, splitValues: split)
            drained += out.bytes(0..<out.count)
            #expect(String(decoding: drained, as: UTF8.self) == expected, "split \(split)")
            #expect(pieces >= 2, "split \(split)")
            // A block is at most 16 Ki values of at most 27 bytes each (a comma, two quotes, 24);
            // the buffer starts at 64 KiB.
            #expect(out.capacity <= (1 << 14) * 27 + (1 << 16), "split \(split): capacity \(out.capacity)")
        }
    }

    @Test("serve: a long in-place answer written to a full device fails with the device's reason", .enabled(if: access("/dev/full", W_OK) == 0))
    func fullDevice() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let request = Array(#"{"id":1,"function":"softmax","logits":[1]}"#.utf8) + [10]
        #expect(write(fds[1], request, request.count) == request.count)
        close(fds[1])
        let full = open("/dev/full", O_WRONLY)
        defer { close(full); close(fds[0]) }
        var reader = LineReader(fileDescriptor: fds[0])
        let values = AnswerValues(results: [result(mixed(100_000, seed: 3))])
        let error = thrown { () throws(StreamError) in
            _ = try RequestServer().serve(from: &reader, to: LineWriter(fileDescriptor: full), answering: { _ in values })
        }
        #expect(error?.description == "cannot write to file descriptor \(full): No space left on device")
    }

    @Test("serve: an answer that throws gets the error line of the [Double] path")
    func answerErrors() throws {
        struct Declined: Error, CustomStringConvertible { var description: String { "declined" } }
        var fds: [Int32] = [0, 0], out: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0 && pipe(&out) == 0)
        let request = Array(#"{"id":"a\u00e9","function":"softmax","logits":[1]}"#.utf8) + [10]
        #expect(write(fds[1], request, request.count) == request.count)
        close(fds[1])
        var reader = LineReader(fileDescriptor: fds[0])
        let summary = try RequestServer().serve(from: &reader, to: LineWriter(fileDescriptor: out[1]),
                                                answering: { _ throws -> AnswerValues in throw Declined() })
        close(out[1])
        var bytes = [UInt8](repeating: 0, count: 256)
        let n = read(out[0], &bytes, bytes.count)
        close(out[0])
        close(fds[0])
        #expect(summary == RequestServer.Summary(requests: 1, failures: 1))
        #expect(String(decoding: bytes[..<max(0, n)], as: UTF8.self) == #"{"id":"a\u00e9","error":"declined"}"# + "\n")
    }
}

@Suite("Heap reuse")
struct HeapReuseTests {
    @Test("after keepFreedMemory, a freed 4 MiB block's pages serve the next one: writing it takes almost no page faults")
    func freedBlocksReused() throws {
        #if os(Linux)
        HeapReuse.keepFreedMemory()
        let bytes = 4 << 20
        let first = try #require(malloc(bytes))
        memset(first, 1, bytes)
        free(first)
        let second = try #require(malloc(bytes))
        defer { free(second) }
        var before = rusage(), after = rusage()
        let thisThread = __rusage_who_t(1)  // RUSAGE_THREAD: this thread's faults, not the other tests'
        getrusage(thisThread, &before)
        memset(second, 2, bytes)
        getrusage(thisThread, &after)
        // Fresh memory: 1024 faults of 4 KiB pages (or 2 of huge pages, then reused anyway).
        #expect(after.ru_minflt - before.ru_minflt < 64, "faults: \(after.ru_minflt - before.ru_minflt)")
        #endif
    }
}
