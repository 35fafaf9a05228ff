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
        var frame: [UInt8] = []
        values.withUnsafeBufferPointer { v in
            write(id: id, values: StridedDoubles(v), rows: rows, format: format, result: result) { (bytes) throws(Never) in
                frame.append(contentsOf: bytes)
            }
        }
        return frame
    }

    /// The bytes of a frame to write at a time (the payload of a large result goes out in pieces
    /// of this size: the whole frame is never held).
    static let pieceBytes = 1 << 16

    /// Writes the frame of `values` to `sink`: the prefix and header, then the payload in pieces
    /// of at most ``pieceBytes``; the same bytes as ``frame(id:values:rows:format:result:)``.
    static func write<E: Error>(id: JSONValue, values: StridedDoubles, rows: Int?, format: Format, result: BinaryResultKind,
                                to sink: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        let count = values.count
        let shape = rows.map { [$0, $0 > 0 ? count / $0 : 0] } ?? [count]
        let shapeJSON = JSONValue.array(shape.map { .number(String($0)) })
        var descriptors: [JSONValue] = []
        var size = 0
        if result != .bits {
            descriptors.append(.object([("name", .string("values")), ("dtype", .string(BinaryArray.DType.f64.rawValue)), ("shape", shapeJSON)]))
            size += 8 * count
        }
        if result != .values {
            descriptors.append(.object([("name", .string("bits")), ("dtype", .string(format.bitsDType)), ("shape", shapeJSON)]))
            size += format.bitsWidth * count
        }
        let start = BinaryFrame.start(header: .object([("id", id), ("arrays", .array(descriptors))]), payloadBytes: size, reserving: 0)
        #if _endian(little)
        // Values that lie one after another (a `[Double]`, stride 8) are already the payload's
        // bytes: a large result sends them from where they are, after the prefix and header,
        // instead of copying them piece by piece (the bits, if asked for, follow in pieces).
        if result != .bits, values.stride == 8, let base = values.base, 8 * count > pieceBytes {
            try start.withUnsafeBufferPointer { (b) throws(E) in try sink(UnsafeRawBufferPointer(b)) }
            try sink(UnsafeRawBufferPointer(start: base, count: 8 * count))
            if result == .both { try writePieces(values: values, width: format.bitsWidth, to: sink) { format.bits($0) } }
            return
        }
        #endif
        // The prefix and header go out with the first piece of the payload: a result that fits
        // one piece is one write.
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: start.count + min(size, pieceBytes), alignment: 8)
        defer { piece.deallocate() }
        start.withUnsafeBytes { piece.copyMemory(from: $0) }
        var used = start.count
        // Writes `width` little-endian bytes of `word(value k)` for every value k, a piece at a time
        // (`raw`: the values' own bits, `word` not called).
        func write(width: Int, raw: Bool = false, _ word: (Double) -> UInt64) throws(E) {
            var k = 0
            while k < count {
                // A full piece goes out only when the next value does not fit: a small result
                // (values and bits of a few outputs) stays one write.
                if piece.count - used < width {
                    try sink(UnsafeRawBufferPointer(rebasing: piece[..<used]))
                    used = 0
                }
                let end = min(count, k + (piece.count - used) / width)
                let to = piece.baseAddress! + used
                switch width {
                case 8 where raw:  // the values' own bits: no call per value
                    for i in k..<end { to.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: 8 * (i - k), as: UInt64.self) }
                case 8: for i in k..<end { to.storeBytes(of: word(values[i]).littleEndian, toByteOffset: 8 * (i - k), as: UInt64.self) }
                case 4: for i in k..<end { to.storeBytes(of: UInt32(truncatingIfNeeded: word(values[i])).littleEndian, toByteOffset: 4 * (i - k), as: UInt32.self) }
                case 2: for i in k..<end { to.storeBytes(of: UInt16(truncatingIfNeeded: word(values[i])).littleEndian, toByteOffset: 2 * (i - k), as: UInt16.self) }
                default: for i in k..<end { to.storeBytes(of: UInt8(truncatingIfNeeded: word(values[i])), toByteOffset: i - k, as: UInt8.self) }
                }
                used += width * (end - k)
                k = end
            }
        }
        if result != .bits { try write(width: 8, raw: true) { $0.bitPattern } }
        if result != .values { try write(width: format.bitsWidth) { format.bits($0) } }
        if used > 0 { try sink(UnsafeRawBufferPointer(rebasing: piece[..<used])) }
    }

    /// Writes `width` little-endian bytes of `word(value k)` for every value k to `sink`, in
    /// pieces of at most ``pieceBytes`` (the bits of a result whose values went out before).
    private static func writePieces<E: Error>(values: StridedDoubles, width: Int, to sink: (UnsafeRawBufferPointer) throws(E) -> Void,
                                              _ word: (Double) -> UInt64) throws(E) {
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: min(width * values.count, pieceBytes), alignment: 8)
        defer { piece.deallocate() }
        var k = 0
        while k < values.count {
            let end = min(values.count, k + piece.count / width)
            let to = piece.baseAddress!
            switch width {
            case 8: for i in k..<end { to.storeBytes(of: word(values[i]).littleEndian, toByteOffset: 8 * (i - k), as: UInt64.self) }
            case 4: for i in k..<end { to.storeBytes(of: UInt32(truncatingIfNeeded: word(values[i])).littleEndian, toByteOffset: 4 * (i - k), as: UInt32.self) }
            case 2: for i in k..<end { to.storeBytes(of: UInt16(truncatingIfNeeded: word(values[i])).littleEndian, toByteOffset: 2 * (i - k), as: UInt16.self) }
            default: for i in k..<end { to.storeBytes(of: UInt8(truncatingIfNeeded: word(values[i])), toByteOffset: i - k, as: UInt8.self) }
            }
            try sink(UnsafeRawBufferPointer(rebasing: piece[..<(width * (end - k))]))
            k = end
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
    public func respond(header: [UInt8], payload: FramePayload, _ answer: (DecodedRequest) throws -> [Double]) -> (frame: [UInt8], failed: Bool) {
        var frame: [UInt8] = []
        let answered = answerFrame(header: header, payload: payload, { AnswerValues(try answer($0)) }) { (bytes) throws(Never) in
            frame.append(contentsOf: bytes)
        }
        return (frame, !answered)
    }

    /// Answers every frame of `input` on `output`, in order, until the end of the input.
    ///
    /// - Throws: ``StreamError`` when reading or writing fails.
    public func serve(from input: inout BinaryFrameReader, to output: LineWriter,
                      _ answer: (DecodedRequest) throws -> [Double]) throws(StreamError) -> RequestServer.Summary {
        try serve(from: &input, to: output, answering: { AnswerValues(try answer($0)) })
    }

    /// ``serve(from:to:_:)`` with answers given as ``AnswerValues``: a result frame is written
    /// from the values where the answer holds them, in pieces of 64 KiB, never copied whole (the
    /// oracle's 10^5 outputs go out without a `[Double]` or a frame of 800 KB being built).
    /// `answer` owns the request it is given: the frame's payload and the decoded request are
    /// passed on, not kept, so its arrays are the request's alone (`eval` writes bce's outputs
    /// over its labels: ``SoftmaxOracle/Oracle/evaluateRounded(consuming:)``).
    ///
    /// - Throws: ``StreamError`` when reading or writing fails.
    public func serve(from input: inout BinaryFrameReader, to output: LineWriter,
                      answering answer: (consuming DecodedRequest) throws -> AnswerValues) throws(StreamError) -> RequestServer.Summary {
        var summary = RequestServer.Summary()
        while let item = try input.next() {
            summary.requests += 1
            switch consume item {
            case .frame(let header, let payload):
                let answered = try answerFrame(header: header, payload: consume payload, answer) { (bytes) throws(StreamError) in
                    try output.write(bytes: bytes.assumingMemoryBound(to: UInt8.self))
                }
                if !answered { summary.failures += 1 }
            case .bad(let message):
                summary.failures += 1
                try output.write(bytes: BinaryResultEncoder.frame(id: .null, error: message))
            }
        }
        return summary
    }

    /// Writes the result frame of one request frame to `sink`: the answer's values (in pieces,
    /// ``BinaryResultEncoder``), or an error frame naming what is wrong; false for an error frame.
    private func answerFrame<E: Error>(header: [UInt8], payload: consuming FramePayload,
                                       _ answer: (consuming DecodedRequest) throws -> AnswerValues,
                                       to sink: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) -> Bool {
        func fail(_ frame: [UInt8]) throws(E) -> Bool {
            try frame.withUnsafeBufferPointer { (b) throws(E) in try sink(UnsafeRawBufferPointer(b)) }
            return false
        }
        let decoded: DecodedRequest
        let result: BinaryResultKind
        do {
            (decoded, result) = try decoder.decodeFrame(header: header, payload: consume payload)
        } catch {
            return try fail(BinaryResultEncoder.frame(id: error.id, error: error.description))
        }
        let (id, rows, format) = (decoded.id, decoded.rowCount, decoded.request.format)
        let values: AnswerValues
        do {
            values = try answer(consume decoded)
        } catch {
            return try fail(BinaryResultEncoder.frame(id: id, error: String(describing: error)))
        }
        try values.withValues { (v) throws(E) in
            try BinaryResultEncoder.write(id: id, values: v, rows: rows, format: format, result: result, to: sink)
        }
        return true
    }
}
