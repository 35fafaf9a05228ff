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
/// every other line, and writes each answer at once.
public struct RequestServer: Sendable {
    /// Decodes request lines (its `defaultFormat` serves requests without `format`).
    public var decoder: RequestDecoder

    /// A server whose decoder gives `defaultFormat` to requests without one.
    public init(defaultFormat: Format = .f64) {
        self.decoder = RequestDecoder(defaultFormat: defaultFormat)
    }

    /// What ``serve(from:to:_:)`` did.
    public struct Summary: Sendable, Hashable {
        /// Request lines answered (blank lines are not counted).
        public var requests = 0
        /// Of those, the ones answered with an error line.
        public var failures = 0
    }

    /// The answer line to one request line (no newline), and whether it is an error line:
    /// `answer`'s values for the decoded request; the decoder's error (with the id it
    /// recovered, `null` for invalid JSON); or the request's id with `String(describing:)` of
    /// the error `answer` threw.
    public func respond(to line: String, _ answer: (DecodedRequest) throws -> [Double]) -> (line: String, failed: Bool) {
        let decoded: DecodedRequest
        do {
            decoded = try decoder.decode(line: line)
        } catch {
            return (ResultEncoder.encode(error), true)
        }
        do {
            return (ResultEncoder.encode(id: decoded.id, values: try answer(decoded)), false)
        } catch {
            return (ResultEncoder.encode(id: decoded.id, error: String(describing: error)), true)
        }
    }

    /// Answers every non-blank line of `input` on `output`, in order, each line written as soon
    /// as it is answered; stops at the end of the input.
    public func serve(from input: inout LineReader, to output: LineWriter,
                      _ answer: (DecodedRequest) throws -> [Double]) -> Summary {
        var summary = Summary()
        while let line = input.next() {
            if line.utf8.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { continue }
            let response = respond(to: line, answer)
            summary.requests += 1
            if response.failed { summary.failures += 1 }
            output.write(response.line)
        }
        return summary
    }
}
