import SoftmaxOracle

/// The serving loop shared by `softmax-oracle eval` and `softmax-oracle impl`: one answer line
/// per request line, in order.
///
/// Two layers, so that another transport (a binary framing) can reuse the second:
/// - the transport: ``LineReader`` and ``LineWriter`` move lines;
/// - ``respond(to:_:)`` turns one request line into one answer line: decode
///   (``RequestDecoder``), call the answer closure, encode the values or the error
///   (``ResultEncoder``). No I/O.
///
/// ``serve(from:to:_:)`` joins them: it skips blank lines (only spaces, tabs and CRs), answers
/// every other line, and writes each answer as soon as it is formatted (a long one in 1 MiB pieces,
/// its request line freed once decoded). A line over the reader's limit
/// (``LineReader/maxLineBytes``) is answered with an error line (`line 3: longer than
/// 1073741824 bytes (it has 2147483700)`, id null) without being held in memory, and the lines
/// after it are answered as usual.
public struct RequestServer: Sendable {
    /// Decodes request lines (its `defaultFormat` serves requests without `format`).
    public var decoder: RequestDecoder
    /// Float rows of at least this many bytes are read on two threads (FloatRowSplit.swift).
    var splitRowBytes = JSONParser.defaultSplitRowBytes
    /// Result arrays of at least this many values are formatted on two threads.
    var splitValues = ResultEncoder.defaultSplitValues

    /// A server whose decoder gives `defaultFormat` to requests without one and parses lines of
    /// at most `maxLineBytes` bytes (give the reader the same limit).
    public init(defaultFormat: Format = .f64, maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
        self.decoder = RequestDecoder(defaultFormat: defaultFormat, maxLineBytes: maxLineBytes)
    }

    /// What ``serve(from:to:_:)`` did.
    public struct Summary: Sendable, Hashable {
        /// Request lines answered (blank lines are not counted).
        public var requests = 0
        /// Of those, the ones answered with an error line.
        public var failures = 0
    }

    /// The answer line to one request line (no newline), and whether it is an error line:
    /// `answer`'s values for the decoded request (for a batch, its rows' values one after
    /// another, written as one array per row); the decoder's error (with the id it
    /// recovered, `null` for invalid JSON); or the request's id with `String(describing:)` of
    /// the error `answer` threw.
    ///
    /// The id is echoed byte for byte as the request wrote it (``JSONValue/idText(utf8:maxDepth:)``:
    /// `"\u00e9"` stays `"\u00e9"`, `1.50` stays `1.50`), not re-serialized.
    public func respond(to line: String, _ answer: (DecodedRequest) throws -> [Double]) -> (line: String, failed: Bool) {
        respond(to: Array(line.utf8), answer)
    }

    /// As ``respond(to:_:)-(String,_)``, for a line given as bytes: bytes that are not
    /// well-formed UTF-8 are an error naming their offset (`invalid JSON at byte 9: expected
    /// well-formed UTF-8 …, found byte 0xFF`), never repaired.
    public func respond(to line: [UInt8], _ answer: (DecodedRequest) throws -> [Double]) -> (line: String, failed: Bool) {
        let out = ByteBuffer()
        let failed = line.withUnsafeBufferPointer { respond(to: $0, { AnswerValues(try answer($0)) }, into: out, decoded: {}) }
        return (String(decoding: out.bytes(0..<out.count), as: UTF8.self), failed)
    }

    /// The answer line to `line` (see ``respond(to:_:)-(String,_)``) appended to `out` without
    /// a newline; true when it is an error line. The request's float arrays are read straight
    /// into binary64 (``ParsedLine``) and the values written straight into `out`. `decoded` is
    /// called once the request is decoded, before `answer`: `line` is not read after it (the
    /// serving loop frees a long line's memory there).
    func respond(
        to line: UnsafeBufferPointer<UInt8>, _ answer: (consuming DecodedRequest) throws -> AnswerValues, into out: ByteBuffer,
        decoded released: () -> Void
    ) -> Bool {
        // One parse gives the value, the id's source text and the float arrays (a second parse
        // of a line of 10^5 logits just to find its id cost a quarter of eval's time).
        let parsed: ParsedLine
        do throws(RequestError) {
            try RequestError.checkLength(line.count, maxLineBytes: decoder.maxLineBytes)
            do throws(JSONParseError) {
                parsed = try ParsedLine.parse(line, floatMembers: RequestDecoder.floatArrayFields, floatLimit: decoder.maxValues,
                                              splitRowBytes: splitRowBytes)
            } catch {
                throw RequestError.notJSON(error)
            }
        } catch {
            out.append(ResultEncoder.encode(error))  // not JSON: no id can be trusted
            return true
        }
        // The line and the decoded request are passed on, not kept: the request's arrays are
        // then its alone in `answer` (`eval` writes bce's outputs over its labels).
        let idText = parsed.idText
        let decoded: DecodedRequest
        do {
            decoded = try decoder.decode(consume parsed)
        } catch {
            out.append(Self.echoingID(idText, error.id, ResultEncoder.encode(error)))
            return true
        }
        released()
        let (id, rows) = (decoded.id, decoded.rowCount)
        let values: AnswerValues
        do {
            values = try answer(consume decoded)
        } catch {
            out.append(Self.echoingID(idText, id, ResultEncoder.encode(id: id, error: String(describing: error))))
            return true
        }
        if id != .null, let text = idText {
            ResultEncoder.append(idText: text, values: values, rows: rows, to: out, splitValues: splitValues)
        } else {
            ResultEncoder.append(idText: id.serialized, values: values, rows: rows, to: out, splitValues: splitValues)
        }
        return false
    }

    /// `answer` (which ``ResultEncoder`` wrote as `{"id":<id serialized>,…`) with the id's text
    /// replaced by `text`, the id exactly as the request wrote it.
    private static func echoingID(_ text: String?, _ id: JSONValue, _ answer: String) -> String {
        guard id != .null, let text else { return answer }
        let serialized = id.serialized
        guard text != serialized else { return answer }
        let prefix = #"{"id":"#
        return prefix + text + String(decoding: answer.utf8.dropFirst(prefix.utf8.count + serialized.utf8.count), as: UTF8.self)
    }

    /// Answers every non-blank line of `input` on `output`, in order, each line written as soon
    /// as it is answered; stops at the end of the input.
    ///
    /// - Throws: ``StreamError`` when reading the input or writing an answer fails (the answers
    ///   before it were written); the caller reports it and exits non-zero.
    public func serve(from input: inout LineReader, to output: LineWriter,
                      _ answer: (DecodedRequest) throws -> [Double]) throws(StreamError) -> Summary {
        try serve(from: &input, to: output, answering: { AnswerValues(try answer($0)) })
    }

    /// As ``serve(from:to:_:)``, with answers given as ``AnswerValues`` (an oracle result's
    /// values are then written where they are, without a `[Double]` copy; the same bytes).
    /// `answer` owns the request it is given: the server keeps no copy of its arrays (`eval`
    /// writes bce's outputs over its labels: ``SoftmaxOracle/Oracle/evaluateRounded(consuming:)``).
    public func serve(from input: inout LineReader, to output: LineWriter,
                      answering answer: (consuming DecodedRequest) throws -> AnswerValues) throws(StreamError) -> Summary {
        var summary = Summary()
        let out = ByteBuffer()
        out.drain = { output.written($0) }  // a long answer is written as it is formatted
        while let line = try input.nextView() {
            out.count = 0
            let failed: Bool
            switch line {
            case .bytes(let bytes):
                if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { continue }
                failed = respond(to: bytes, answer, into: out) { input.releaseLine() }
            case .tooLong(let count):
                let message = "line \(input.lineNumber): longer than \(input.maxLineBytes) bytes (it has \(count)), the limit of a request line"
                out.append(ResultEncoder.encode(id: .null, error: message))
                failed = true
            }
            summary.requests += 1
            if failed { summary.failures += 1 }
            out.append(UInt8(ascii: "\n"))
            if let error = out.drainError { throw error }
            try output.write(bytes: out.bytes(0..<out.count))
        }
        return summary
    }
}
