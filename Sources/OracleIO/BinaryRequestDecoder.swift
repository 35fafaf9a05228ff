import SoftmaxOracle

/// Turns one binary request frame (``BinaryFrame``) into an ``OracleRequest`` (or a
/// ``RowBatch``), or a ``RequestError`` naming what is wrong, with the request's `id`.
///
/// The header is a JSON Lines request (``RequestDecoder``'s fields) whose arrays may instead be
/// listed in `arrays` and carried in the payload:
///
///     {"id":1,"function":"log_softmax","format":"f32",
///      "arrays":[{"name":"logits","dtype":"f64","shape":[8,128000]}]}
///
/// The optional member `result` chooses the result frame's arrays: `values` (the default:
/// binary64), `bits` (the format's own encoding, ``BinaryResultKind``) or `both`.
///
/// Each entry names a request field (`logits`, `target`, `targets`, `weight`, …), its dtype
/// (`f64`: binary64, `i64`: class indices and other integers) and its shape (`[]` one number,
/// `[K]` a row, `[N, K]` rows: a row function's N × K `logits` is a batch). The payload is the
/// arrays' little-endian bytes, in the order listed, with nothing between or after them.
///
/// Checks, in this order: the header is JSON (at most ``BinaryFrame/defaultMaxHeaderBytes``;
/// the reader enforces it) and an object; `arrays` is a list of such entries (known dtypes,
/// shapes of at most 2 dimensions of non-negative integers); the arrays hold at most
/// ``RequestDecoder/maxValues`` numbers and exactly fill the payload; then every field check
/// of ``RequestDecoder`` (known names, each once, whether given in the header or as an array;
/// function and format; fields used and needed; types and shapes).
public struct BinaryRequestDecoder: Sendable {
    /// The field checks, shared with JSON Lines (its `defaultFormat` and `maxValues` apply).
    public var fields: RequestDecoder

    /// A decoder with `fields`' limits and default format.
    public init(fields: RequestDecoder = RequestDecoder()) {
        self.fields = fields
    }

    /// The request of a frame's `header` and `payload` bytes.
    public func decode(header: [UInt8], payload: [UInt8]) throws(RequestError) -> DecodedRequest {
        try decode(header: header, payload: payload[...])
    }

    /// The request of a frame's `header` and `payload` bytes (a slice of the reader's buffer).
    public func decode(header: [UInt8], payload: ArraySlice<UInt8>) throws(RequestError) -> DecodedRequest {
        try decodeFrame(header: header, payload: payload).request
    }

    /// The request of a frame and the arrays its result frame should carry (the header's
    /// `result` member).
    public func decodeFrame(header: [UInt8], payload: ArraySlice<UInt8>) throws(RequestError) -> (request: DecodedRequest, result: BinaryResultKind) {
        try decodeFrame(header: header, payload: FramePayload(payload))
    }

    /// The request of a frame as ``BinaryFrameReader`` reads it, and the arrays its result frame
    /// should carry: an `f64` array that fills the payload becomes the request's array without a
    /// copy.
    public func decodeFrame(header: [UInt8], payload: consuming FramePayload) throws(RequestError) -> (request: DecodedRequest, result: BinaryResultKind) {
        let value: JSONValue
        do throws(RequestError) {
            value = try RequestError.parse(utf8: header, maxLineBytes: Int.max)
        } catch {
            throw RequestError(field: nil, reason: "header: \(error.reason)", jsonError: error.jsonError)
        }
        let (id, decoded) = try RequestError.decodeObject(value, kind: "a frame header") { members throws(FieldProblem) in
            var inputs: [(String, FieldInput)] = []
            var arraysValue: JSONValue?
            var result = BinaryResultKind.values
            for (name, v) in members {
                if name == "result" {
                    let names = listing(BinaryResultKind.allCases.map(\.rawValue))
                    let text = try FieldRead.string(v, field: "result", expected: "one of: \(names)")
                    guard let kind = BinaryResultKind.named(text) else {
                        throw FieldProblem(field: "result", reason: "unknown result \(quoted(text)) (expected one of: \(names))")
                    }
                    result = kind
                } else if name == "arrays" {
                    guard arraysValue == nil else { throw FieldProblem(field: "arrays", reason: "appears more than once") }
                    arraysValue = v
                } else {
                    inputs.append((name, .json(v)))
                }
            }
            if let arraysValue { inputs += try arrays(arraysValue, payload) }
            return (try fields.decodeFields(inputs), result)
        }
        return (DecodedRequest(id: id, request: decoded.0.request, batch: decoded.0.batch), decoded.1)
    }

    /// The payload's arrays as the header's `arrays` lists them.
    private func arrays(_ list: JSONValue, _ payload: FramePayload) throws(FieldProblem) -> [(String, FieldInput)] {
        guard case .array(let entries) = list else {
            throw FieldProblem(field: "arrays", reason: "\(list.excerpt()) is not an array of {\"name\",\"dtype\",\"shape\"} objects")
        }
        var layout: [(name: String, dtype: BinaryArray.DType, shape: [Int], count: Int)] = []
        var total = 0
        for (i, entry) in entries.enumerated() {
            // The entry's path, made only for a message: made for every entry, it ran the
            // standard library's integer and string formatting (ten interpolation calls for one
            // array) in every binary request, touching code that nothing else in a request runs.
            func path() -> String { "arrays[\(i)]" }
            guard case .object(let members) = entry else {
                throw FieldProblem(field: path(), reason: "\(entry.excerpt()) is not an object {\"name\",\"dtype\",\"shape\"}")
            }
            var name: String?, dtype: BinaryArray.DType?, shape: [Int]?
            for (key, v) in members {
                switch key {
                case "name": name = try FieldRead.string(v, field: "\(path()).name", expected: "a request field")
                case "dtype":
                    let text = try FieldRead.string(v, field: "\(path()).dtype", expected: "f64 or i64")
                    guard let d = BinaryArray.DType.named(text) else {
                        throw FieldProblem(field: "\(path()).dtype", reason: "unknown dtype \(quoted(text)) (expected f64 or i64)")
                    }
                    dtype = d
                case "shape": shape = try Self.shape(v, "\(path()).shape")
                default: throw FieldProblem(field: "\(path()).\(key)", reason: "unknown member (the members are: name, dtype, shape)")
                }
            }
            guard let name else { throw FieldProblem(field: "\(path()).name", reason: "required but missing") }
            guard let dtype else { throw FieldProblem(field: "\(path()).dtype", reason: "required but missing (f64 or i64)") }
            guard let shape else { throw FieldProblem(field: "\(path()).shape", reason: "required but missing ([] for one number)") }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                if overflow || product > fields.maxValues {
                    throw FieldProblem(field: "\(path()).shape", reason: "\(shape) holds more than the limit of \(fields.maxValues) values")
                }
                count = product
            }
            total += count
            if total > fields.maxValues {
                throw FieldProblem(field: "\(path()).shape", reason: "the arrays hold \(total) values, over the limit of \(fields.maxValues)")
            }
            layout.append((name, dtype, shape, count))
        }
        if total * 8 != payload.count {
            throw FieldProblem(field: "arrays", reason: "the arrays take \(total * 8) bytes (\(total) values of 8 bytes), but the payload has \(payload.count)")
        }
        var offset = 0
        return layout.map { a in
            defer { offset += 8 * a.count }
            return (a.name, .array(BinaryArray.read(a.dtype, shape: a.shape, count: a.count, from: payload, offset: offset)))
        }
    }

    /// A shape: at most 2 non-negative integers (`path`, for messages, is made only for one).
    private static func shape(_ v: JSONValue, _ path: @autoclosure () -> String) throws(FieldProblem) -> [Int] {
        guard case .array(let dims) = v, dims.count <= 2 else {
            throw FieldProblem(field: path(), reason: "\(v.excerpt()) is not a shape ([] one number, [K] a row, [N, K] rows)")
        }
        var out: [Int] = []
        for (k, d) in dims.enumerated() {
            let n = try FieldRead.integer(d, "\(path())[\(k)]")
            if n < 0 { throw FieldProblem(field: "\(path())[\(k)]", reason: "\(n) is negative") }
            out.append(n)
        }
        return out
    }
}

/// What a result frame carries (the request header's `result` member).
public enum BinaryResultKind: String, Sendable, Hashable, CaseIterable {
    /// `values`: binary64 holding each rounded value exactly.
    case values
    /// `bits`: the format's own encoding (`u64`, `u32`, `u16` or `u8` per value).
    case bits
    /// `values`, then `bits`.
    case both
}
