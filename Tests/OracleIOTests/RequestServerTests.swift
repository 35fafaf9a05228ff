#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OracleIO
import SoftmaxOracle
import Testing

/// An answer that fails the way an implementation declines a request.
private struct Declined: Error, CustomStringConvertible {
    var description: String { "declined" }
}

/// A pipe whose write end a thread fills with `input` and closes (the input may be larger than
/// the pipe's buffer); returns the read end and the thread.
private func feed(_ input: [UInt8]) -> (Int32, Thread) {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    let writeEnd = fds[1]
    let writer = Thread { _ = input.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }; close(writeEnd) }
    return (fds[0], writer)
}

/// `input` read back through a pipe with ``LineReader``.
private func readLines(_ input: [UInt8]) -> [String] {
    let (readEnd, writer) = feed(input)
    var reader = LineReader(fileDescriptor: readEnd)
    var lines: [String] = []
    while let line = reader.next() { lines.append(line) }
    writer.join()
    close(readEnd)
    return lines
}

/// A minimal thread that can be joined (no Foundation).
private final class Thread: @unchecked Sendable {
    private var id = pthread_t()
    private let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&id, nil, { raw in
            let me = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
    }
    func join() { pthread_join(id, nil) }
}

@Suite("Serving loop")
struct RequestServerTests {
    /// The identity "function": the request's logits as the answer.
    static func echo(_ d: DecodedRequest) throws -> [Double] {
        if d.request.logits.first == 13 { throw Declined() }
        return d.request.logits
    }

    @Test("one answer per request: values, a decode error with the recovered id, an answer error")
    func respond() {
        let server = RequestServer(defaultFormat: .f32)
        let ok = server.respond(to: #"{"id":7,"function":"softmax","logits":["0x1.8p+1",2]}"#, Self.echo)
        #expect(ok == (#"{"id":7,"values":["0x1.8p+1","0x1p+1"]}"#, false))
        let badJSON = server.respond(to: "{bad", Self.echo)
        #expect(badJSON.failed && badJSON.line.hasPrefix(#"{"id":null,"error":"invalid JSON at byte 1"#))
        let badField = server.respond(to: #"{"id":"x","function":"softmax","format":"f33","logits":[1]}"#, Self.echo)
        #expect(badField.failed && badField.line.hasPrefix(#"{"id":"x","error":"field \"format\": unknown format"#))
        let declined = server.respond(to: #"{"id":[1],"function":"softmax","logits":[13]}"#, Self.echo)
        #expect(declined == (#"{"id":[1],"error":"declined"}"#, true))
    }

    @Test("the default format reaches requests without one")
    func defaultFormat() {
        let line = RequestServer(defaultFormat: .bf16).respond(to: #"{"id":1,"function":"softmax","logits":[1]}"#) { d in
            #expect(d.request.format == .bf16)
            return []
        }
        #expect(line.line == #"{"id":1,"values":[]}"#)
    }

    @Test("LineReader: \\n and \\r\\n end lines, a last line without \\n counts, blank lines are kept")
    func lineReader() {
        #expect(readLines(Array("a\r\nb\n\n \t\nc\rd\ne".utf8)) == ["a", "b", "", " \t", "c\rd", "e"])
        #expect(readLines(Array("x\n".utf8)) == ["x"])
        #expect(readLines([]) == [])
        #expect(readLines([0x61, 0xFF, 0x0A]) == ["a\u{FFFD}"])  // invalid UTF-8 repaired
        // Lines longer than the 64 KiB read size, and many short ones.
        let long = String(repeating: "0123456789", count: 20_000)
        #expect(readLines(Array((long + "\n" + long + "\r\nz").utf8)) == [long, long, "z"])
        let many = (0..<20_000).map(String.init)
        #expect(readLines(Array(many.joined(separator: "\n").utf8)) == many)
    }

    @Test("serve: blank lines skipped, one line out per line in, failures counted")
    func serve() {
        let input = "{\"id\":1,\"function\":\"softmax\",\"logits\":[1]}\n \r\n\n{oops\r\n{\"id\":2,\"function\":\"sigmoid\",\"logits\":[13]}"
        let (readEnd, writer) = feed(Array(input.utf8))
        var out: [Int32] = [0, 0]
        #expect(pipe(&out) == 0)
        var reader = LineReader(fileDescriptor: readEnd)
        let summary = RequestServer().serve(from: &reader, to: LineWriter(fileDescriptor: out[1]), Self.echo)
        writer.join()
        close(readEnd)
        close(out[1])
        #expect(summary.requests == 3 && summary.failures == 2)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let n = read(out[0], &buffer, buffer.count), n > 0 { bytes += buffer[..<n] }
        close(out[0])
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4 && lines[3].isEmpty)  // three lines, each ended by \n
        #expect(lines[0] == #"{"id":1,"values":["0x1p+0"]}"#)
        #expect(lines[1].hasPrefix(#"{"id":null,"error":"invalid JSON"#))
        #expect(lines[2] == #"{"id":2,"error":"declined"}"#)
    }
}
