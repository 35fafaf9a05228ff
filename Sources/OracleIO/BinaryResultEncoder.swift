import SoftmaxOracle

/// Writes result frames (``BinaryFrame``): the values as binary64 holding each rounded value
/// exactly, or an error message.
///
/// - values: header `{"id":<id>,"arrays":[{"name":"values","dtype":"f64","shape":[K]}]}`
///   (`[N, W]` for a batch of N rows of W outputs each), payload the values, little-endian;
///   with `result` `bits` the array is `{"name":"bits","dtype":"u32",…}` (the format's own
///   encoding, ``Format/bits(_:)``), with `both` the values then the bits;
/// - error: header `{"id":<id>,"error":"<message>"}`, empty payload.
public enum BinaryResultEncoder {
    /// The frame of `values` (of `format`) for the request with `id`; with `rows` N, shape
    /// `[N, count / N]`; `result` chooses binary64 values, the format's bits, or both.
    public static func frame(id: JSONValue, values: [Double], rows: Int? = nil,
                             format: Format = .f64, result: BinaryResultKind = .values) -> [UInt8] {
        let shape = rows.map { [$0, $0 > 0 ? values.count / $0 : 0] } ?? [values.count]
        let array = BinaryArray(shape: shape, values: .f64(values))
        let shapeJSON = JSONValue.array(shape.map { .number(String($0)) })
        var descriptors: [JSONValue] = []
        var size = 0
        if result != .bits {
            descriptors.append(array.descriptor(name: "values"))
            size += 8 * values.count
        }
        if result != .values {
            descriptors.append(.object([("name", .string("bits")), ("dtype", .string(format.bitsDType)), ("shape", shapeJSON)]))
            size += format.bitsWidth * values.count
        }
        let header = JSONValue.object([("id", id), ("arrays", .array(descriptors))])
        return BinaryFrame.make(header: header, payloadBytes: size) { bytes in
            if result != .bits { array.appendBytes(to: &bytes) }
            if result != .values { format.appendBits(values, to: &bytes) }
        }
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
        let result: BinaryResultKind
        do {
            (decoded, result) = try decoder.decodeFrame(header: header, payload: payload)
        } catch {
            return (BinaryResultEncoder.frame(id: error.id, error: error.description), true)
        }
        do {
            let values = try answer(decoded)
            return (BinaryResultEncoder.frame(id: decoded.id, values: values, rows: decoded.rowCount,
                                              format: decoded.request.format, result: result), false)
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
