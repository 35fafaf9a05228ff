import SoftmaxOracle

/// Writes result frames (``BinaryFrame``): the values as binary64 holding each rounded value
/// exactly, or an error message.
///
/// - values: header `{"id":<id>,"arrays":[{"name":"values","dtype":"f64","shape":[K]}]}`
///   (`[N, W]` for a batch of N rows of W outputs each), payload the values, little-endian;
/// - error: header `{"id":<id>,"error":"<message>"}`, empty payload.
public enum BinaryResultEncoder {
    /// The frame of `values` for the request with `id`; with `rows` N, shape `[N, count / N]`.
    public static func frame(id: JSONValue, values: [Double], rows: Int? = nil) -> [UInt8] {
        let shape = rows.map { [$0, $0 > 0 ? values.count / $0 : 0] } ?? [values.count]
        let array = BinaryArray(shape: shape, values: .f64(values))
        let header = JSONValue.object([("id", id), ("arrays", .array([array.descriptor(name: "values")]))])
        return BinaryFrame.make(header: header, payloadBytes: 8 * values.count) { array.appendBytes(to: &$0) }
    }

    /// The frame of an error `message` for the request with `id` (`.null` when unknown).
    public static func frame(id: JSONValue, error message: String) -> [UInt8] {
        BinaryFrame.make(header: .object([("id", id), ("error", .string(message))]))
    }
}

/// The serving loop of `softmax-oracle eval --transport binary`: one result frame per request
/// frame, in order, each written at once (``RequestServer`` is its JSON Lines twin).
///
/// A bad frame (``BinaryFrameReader/Item/bad(_:)``) is answered with an error frame of id null;
/// a frame that does not decode, with an error frame echoing its id when the header had one;
/// the frames after either are answered as usual.
public struct BinaryServer: Sendable {
    /// Decodes request frames.
    public var decoder: BinaryRequestDecoder

    /// A server whose requests without `format` get `defaultFormat`, each holding at most
    /// `maxValues` numbers.
    public init(defaultFormat: Format = .f64, maxValues: Int = RequestDecoder.defaultMaxValues) {
        decoder = BinaryRequestDecoder(fields: RequestDecoder(defaultFormat: defaultFormat, maxValues: maxValues))
    }

    /// The largest payload a request within the limits can have (every value 8 bytes).
    public var maxPayloadBytes: Int { decoder.fields.maxValues * 8 }

    /// The result frame of one request frame, and whether it is an error frame: `answer`'s
    /// values (for a batch, the rows' values one after another), or the error naming what is
    /// wrong.
    public func respond(header: [UInt8], payload: ArraySlice<UInt8>, _ answer: (DecodedRequest) throws -> [Double]) -> (frame: [UInt8], failed: Bool) {
        let decoded: DecodedRequest
        do {
            decoded = try decoder.decode(header: header, payload: payload)
        } catch {
            return (BinaryResultEncoder.frame(id: error.id, error: error.description), true)
        }
        do {
            return (BinaryResultEncoder.frame(id: decoded.id, values: try answer(decoded), rows: decoded.rowCount), false)
        } catch {
            return (BinaryResultEncoder.frame(id: decoded.id, error: String(describing: error)), true)
        }
    }

    /// Answers every frame of `input` on `output`, in order, until the end of the input.
    ///
    /// - Throws: ``StreamError`` when reading or writing fails.
    public func serve(from input: inout BinaryFrameReader, to output: LineWriter,
                      _ answer: (DecodedRequest) throws -> [Double]) throws(StreamError) -> RequestServer.Summary {
        var summary = RequestServer.Summary()
        while let item = try input.next() {
            let response: (frame: [UInt8], failed: Bool)
            switch item {
            case .frame(let header, let payload): response = respond(header: header, payload: payload, answer)
            case .bad(let message): response = (BinaryResultEncoder.frame(id: .null, error: message), true)
            }
            summary.requests += 1
            if response.failed { summary.failures += 1 }
            try output.write(bytes: response.frame)
        }
        return summary
    }
}
