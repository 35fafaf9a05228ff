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

/// `input` read back through a pipe with ``LineReader`` (limit `maxLineBytes`): each line's
/// bytes as text (not repaired: the tests feed valid UTF-8 or compare bytes), or `<N bytes>` for
/// a line over the limit.
private func readLines(_ input: [UInt8], maxLineBytes: Int = LineReader.defaultMaxLineBytes) -> [String] {
    let (readEnd, writer) = feed(input)
    var reader = LineReader(fileDescriptor: readEnd, maxLineBytes: maxLineBytes)
    var lines: [String] = []
    while let line = try? reader.next() {
        switch line {
        case .bytes(let b): lines.append(String(decoding: b, as: UTF8.self))
        case .tooLong(let n): lines.append("<\(n) bytes>")
        }
    }
    writer.join()
    close(readEnd)
    return lines
}

/// Everything written to a pipe by `body` (given the write end), read back.
private func captured(_ body: (Int32) -> Void) -> String {
    var out: [Int32] = [0, 0]
    precondition(pipe(&out) == 0)
    let reader = Box()
    let thread = Thread { [readEnd = out[0]] in
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let n = read(readEnd, &buffer, buffer.count), n > 0 { bytes += buffer[..<n] }
        reader.bytes = bytes
    }
    body(out[1])
    close(out[1])
    thread.join()
    close(out[0])
    return String(decoding: reader.bytes, as: UTF8.self)
}

private final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }

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
        let summary = try? RequestServer().serve(from: &reader, to: LineWriter(fileDescriptor: out[1]), Self.echo)
        writer.join()
        close(readEnd)
        close(out[1])
        #expect(summary?.requests == 3 && summary?.failures == 2)
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

    // MARK: - Finding 1: the line limit is enforced while reading

    @Test("LineReader: a line over the limit is skipped while read (not held), counted, and the next lines are read")
    func lineLimitEnforcedWhileReading() {
        let long = [UInt8](repeating: UInt8(ascii: "7"), count: 300_000)  // several 64 KiB reads
        let input = Array("ok\n".utf8) + long + Array("\r\nnext\n".utf8) + long + Array("\nlast".utf8)
        #expect(readLines(input, maxLineBytes: 100) == ["ok", "<300000 bytes>", "next", "<300000 bytes>", "last"])
        // At the limit exactly, a line is read (a \r before the \n is not counted); one more byte is not.
        let hundred = String(repeating: "a", count: 100)
        #expect(readLines(Array((hundred + "\r\n" + hundred + "b\n" + hundred + "bc").utf8), maxLineBytes: 100)
                == [hundred, "<101 bytes>", "<102 bytes>"])
        // A last line over the limit without a \n, longer than one read.
        #expect(readLines(long, maxLineBytes: 100) == ["<300000 bytes>"])
    }

    @Test("serve: a line over the limit gets an error line naming the line and the limit; later lines are answered")
    func serveOverLongLine() throws {
        let good = #"{"id":1,"function":"softmax","logits":[1]}"#
        let long = #"{"id":2,"function":"softmax","logits":["# + String(repeating: "1,", count: 100_000) + "1]}"
        let (readEnd, writer) = feed(Array((good + "\n" + long + "\n" + #"{"id":3,"function":"softmax","logits":[1]}"# + "\n").utf8))
        var reader = LineReader(fileDescriptor: readEnd, maxLineBytes: 1000)
        var summary: RequestServer.Summary?
        let text = captured { fd in
            summary = try? RequestServer(maxLineBytes: 1000).serve(from: &reader, to: LineWriter(fileDescriptor: fd), Self.echo)
        }
        writer.join()
        close(readEnd)
        #expect(summary?.requests == 3 && summary?.failures == 1)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == [#"{"id":1,"values":["0x1p+0"]}"#,
                          #"{"id":null,"error":"line 2: longer than 1000 bytes (it has \#(long.utf8.count)), the limit of a request line"}"#,
                          #"{"id":3,"values":["0x1p+0"]}"#])
    }

    @Test("serve: long lines in and out (a freed multi-MiB request, an answer written in 1 MiB pieces) between short ones")
    func serveLongLines() {
        // 200 000 logits: a request line of about 1.4 MB and an answer of about 4 MB, both past
        // the 1 MiB at which the reader frees a long line and the writer drains its buffer.
        let x = (0..<200_000).map { Double($0) * 0.001 - 7 }
        let long = #"{"id":2,"function":"softmax","logits":["# + x.map(\.description).joined(separator: ",") + "]}"
        let short = #"{"id":1,"function":"softmax","logits":[1]}"#
        let input = short + "\n" + long + "\n" + #"{"id":3,"function":"softmax","logits":[1]}"# + "\n"
        let (readEnd, writer) = feed(Array(input.utf8))
        var reader = LineReader(fileDescriptor: readEnd)
        var summary: RequestServer.Summary?
        let text = captured { fd in
            summary = try? RequestServer().serve(from: &reader, to: LineWriter(fileDescriptor: fd), Self.echo)
        }
        writer.join()
        close(readEnd)
        #expect(summary?.requests == 3 && summary?.failures == 0)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines == [#"{"id":1,"values":["0x1p+0"]}"#, ResultEncoder.encode(id: .number(2), values: x),
                          #"{"id":3,"values":["0x1p+0"]}"#])
    }

    // MARK: - Finding 2: failed reads and writes are errors

    @Test("LineWriter: a failed write throws, naming the stream and the reason", .enabled(if: access("/dev/full", W_OK) == 0))
    func failedWriteThrows() {
        let fd = open("/dev/full", O_WRONLY)
        defer { close(fd) }
        let error = thrown { () throws(StreamError) in try LineWriter(fileDescriptor: fd).write("x") }
        #expect(error?.description == "cannot write to file descriptor \(fd): No space left on device")
        #expect(StreamError(operation: "cannot write to standard output", reason: "No space left on device").description
                == "cannot write to standard output: No space left on device")
    }

    @Test("LineReader: a read error (a directory as input) throws instead of looking like the end of the input")
    func readErrorThrows() {
        let fd = open("/", O_RDONLY)
        defer { close(fd) }
        var reader = LineReader(fileDescriptor: fd)
        let error = thrown { () throws(StreamError) in _ = try reader.next() }
        #expect(error?.description == "cannot read file descriptor \(fd): Is a directory")
    }

    // MARK: - Finding 5: bytes are not repaired

    @Test("serve: invalid UTF-8 is an error naming its byte offset; a BOM is named; a valid id is echoed as it was")
    func invalidUTF8IsAnError() {
        let server = RequestServer()
        let bad = server.respond(to: Array(#"{"id":""#.utf8) + [0xFF] + Array(#"","function":"softmax","logits":[1]}"#.utf8), Self.echo)
        #expect(bad == (#"{"id":null,"error":"invalid JSON at byte 7: expected well-formed UTF-8 (this byte cannot start a character), found byte 0xFF"}"#, true))
        let bom = server.respond(to: [0xEF, 0xBB, 0xBF] + Array(#"{"id":1,"function":"softmax","logits":[1]}"#.utf8), Self.echo)
        #expect(bom.failed && bom.line.contains("a UTF-8 byte-order mark (EF BB BF), which is not allowed"))
        let id = #"{"id": ["é", 1.50,"\ud83d\ude00", {"a" : "\/"}] ,"function":"softmax","logits":[1]}"#
        #expect(server.respond(to: Array(id.utf8), Self.echo).line == #"{"id":["é", 1.50,"\ud83d\ude00", {"a" : "\/"}],"values":["0x1p+0"]}"#)
        let fieldError = #"{"id":"\u00e9","function":"softmaxx","logits":[1]}"#
        #expect(server.respond(to: Array(fieldError.utf8), Self.echo).line.hasPrefix(#"{"id":"\u00e9","error":"field \"function\""#))
        #expect(JSONValue.idText(utf8: Array(#"[{"id":1}]"#.utf8)) == nil)  // not an object
        #expect(JSONValue.idText(utf8: Array(#"{"x":{"id":1},"id":"2"}"#.utf8)) == #""2""#)  // the top level's
    }

    @Test("InvalidUTF8.decode: the line, the byte in the line and in the file; a BOM")
    func invalidUTF8Location() {
        let error = thrown { () throws(InvalidUTF8) in _ = try InvalidUTF8.decode(Array("ab\ncd\nx".utf8) + [0xC3, 0x28]) }
        #expect(error == InvalidUTF8(line: 3, column: 2, offset: 8, byte: 0x28))
        #expect(error?.description == "byte 2 of the line (offset 8 in the file): 0x28 is not well-formed UTF-8")
        let bom = thrown { () throws(InvalidUTF8) in _ = try InvalidUTF8.decode([0xEF, 0xBB, 0xBF, 0x41]) }
        #expect(bom?.description.hasSuffix("(a UTF-8 byte-order mark, EF BB BF, is not allowed)") == true)
        #expect((try? InvalidUTF8.decode(Array("héllo\n".utf8))) == "héllo\n")
    }
}
