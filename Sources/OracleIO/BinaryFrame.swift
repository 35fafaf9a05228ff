#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The binary transport's frame (docs/protocol.md, "Binary frames"): a 16-byte prefix, a JSON
/// header, a payload of raw little-endian arrays.
///
/// | bytes | content |
/// |---|---|
/// | 0–3 | magic `SOF1` (0x53 0x4F 0x46 0x31) |
/// | 4–7 | H, the header's length in bytes (unsigned 32-bit, little-endian) |
/// | 8–15 | P, the payload's length in bytes (unsigned 64-bit, little-endian) |
/// | 16… | the header: one JSON object, H bytes of UTF-8 |
/// | 16+H… | the payload: P bytes, the arrays the header's `arrays` lists, in its order |
///
/// No number of an array is ever written or read as text: the payload holds binary64 (`f64`)
/// and signed 64-bit integers (`i64`), little-endian.
public enum BinaryFrame {
    /// The four bytes every frame starts with: `SOF1`.
    public static let magic: [UInt8] = [0x53, 0x4F, 0x46, 0x31]
    /// The prefix's length: magic, H, P.
    public static let prefixBytes = 16
    /// The default for the longest header read (1 MiB): arrays go in the payload.
    public static let defaultMaxHeaderBytes = 1 << 20

    /// The frame of `header` (serialized compactly) and `payload`.
    public static func make(header: JSONValue, payload: [UInt8] = []) -> [UInt8] {
        make(header: header, payloadBytes: payload.count) { $0 += payload }
    }

    /// The frame of `header` and a payload of `payloadBytes` bytes that `writePayload` appends
    /// (written in place: no copy of the payload).
    static func make(header: JSONValue, payloadBytes: Int, _ writePayload: (inout [UInt8]) -> Void) -> [UInt8] {
        var frame = start(header: header, payloadBytes: payloadBytes, reserving: payloadBytes)
        let headerEnd = frame.count
        writePayload(&frame)
        precondition(frame.count == headerEnd + payloadBytes, "the payload has the declared length")
        return frame
    }

    /// A frame's first bytes: the prefix (declaring `payloadBytes`) and `header` (serialized
    /// compactly), with room reserved for `reserving` more bytes.
    static func start(header: JSONValue, payloadBytes: Int, reserving: Int) -> [UInt8] {
        var headerBytes: [UInt8] = []
        header.write(to: &headerBytes)
        var frame = magic
        frame.reserveCapacity(prefixBytes + headerBytes.count + reserving)
        appendLittleEndian(UInt32(headerBytes.count), to: &frame)
        appendLittleEndian(UInt64(payloadBytes), to: &frame)
        frame += headerBytes
        return frame
    }

    /// The byte lengths of the arrays `header` (a frame's JSON header) lists in `arrays`, in
    /// order, when there are at least two, all `f64` or `i64` (8 bytes an element) with shapes of
    /// non-negative integers, and they fill exactly `payloadBytes`; else nil. A hint for reading
    /// each array into storage of its own (``BinaryFrameReader``): nothing is checked or refused
    /// here (``BinaryRequestDecoder`` does that, the same way whatever this returns).
    static func arrayByteCounts(header: [UInt8], payloadBytes: Int) -> [Int]? {
        guard payloadBytes >= 16, payloadBytes % 8 == 0,
              case .success(let value) = header.withUnsafeBufferPointer({ JSONParser.parse($0, maxDepth: 8) }),
              let entries = value["arrays"]?.arrayValue, entries.count >= 2
        else { return nil }
        var lengths: [Int] = []
        var total = 0
        for entry in entries {
            guard let dtype = entry["dtype"]?.stringValue, BinaryArray.DType.named(dtype) != nil,
                  let dims = entry["shape"]?.arrayValue, dims.count <= 2 else { return nil }
            var bytes = 8
            for d in dims {
                guard case .number(let text) = d, let n = Int(text), n >= 0, n <= payloadBytes else { return nil }
                let (product, overflow) = bytes.multipliedReportingOverflow(by: n)
                guard !overflow, product <= payloadBytes else { return nil }
                bytes = product
            }
            total += bytes
            if total > payloadBytes { return nil }
            lengths.append(bytes)
        }
        return total == payloadBytes ? lengths : nil
    }

    /// Appends `x`'s bytes, least significant first.
    static func appendLittleEndian<T: FixedWidthInteger>(_ x: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The unsigned little-endian integer of `T`'s width at `offset` of `bytes`.
    static func readLittleEndian<T: FixedWidthInteger, C: RandomAccessCollection<UInt8>>(_: T.Type, _ bytes: C, at offset: C.Index) -> T {
        var x: T = 0
        for i in (0..<MemoryLayout<T>.size).reversed() { x = x << 8 | T(bytes[bytes.index(offset, offsetBy: i)]) }
        return x
    }
}

/// One array of a binary frame: its element type, shape and values.
public struct BinaryArray: Sendable, Hashable {
    /// The element types: binary64 and signed 64-bit integers, both little-endian, 8 bytes.
    public enum DType: String, Sendable, Hashable, CaseIterable {
        /// IEEE 754 binary64.
        case f64
        /// Two's complement signed 64-bit integer.
        case i64
    }

    /// The values, row-major.
    public enum Values: Sendable, Hashable {
        /// binary64 values.
        case f64([Double])
        /// 64-bit integers.
        case i64([Int])
    }

    /// The shape: `[]` for a scalar (one element), `[n]`, `[n, m]`.
    public var shape: [Int]
    /// The values, row-major; their count is the product of ``shape``.
    public var values: Values

    /// An array of `values` with `shape`.
    public init(shape: [Int], values: Values) {
        self.shape = shape
        self.values = values
    }

    /// A one-dimensional binary64 array.
    public init(_ values: [Double]) {
        self.init(shape: [values.count], values: .f64(values))
    }

    /// The element type.
    public var dtype: DType {
        switch values {
        case .f64: .f64
        case .i64: .i64
        }
    }

    /// How many elements the values hold.
    public var count: Int {
        switch values {
        case .f64(let v): v.count
        case .i64(let v): v.count
        }
    }

    /// Its entry in a header's `arrays`: `{"name":…,"dtype":…,"shape":[…]}`.
    func descriptor(name: String) -> JSONValue {
        .object([("name", .string(name)), ("dtype", .string(dtype.rawValue)),
                 ("shape", .array(shape.map { .number(String($0)) }))])
    }

    /// Appends the values' bytes, little-endian.
    func appendBytes(to bytes: inout [UInt8]) {
        switch values {
        case .f64(let v): Self.appendRaw(v, to: &bytes) { $0.bitPattern }
        case .i64(let v): Self.appendRaw(v, to: &bytes) { UInt64(bitPattern: Int64($0)) }
        }
    }

    /// Appends 8-byte elements: their memory on a little-endian machine, else `word` of each.
    private static func appendRaw<T>(_ values: [T], to bytes: inout [UInt8], _ word: (T) -> UInt64) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for x in values { BinaryFrame.appendLittleEndian(word(x), to: &bytes) }
        #endif
    }

    /// `count` 8-byte little-endian elements of `payload` from byte `offset` (the caller checked
    /// that they are there), made from their words by `make`.
    private static func readWords<T>(_ payload: FramePayload, offset: Int, count: Int, _ make: (UInt64) -> T) -> [T] {
        payload.withUnsafeBytes(offset..<(offset + 8 * count)) { raw in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                for i in 0..<count {
                    (buffer.baseAddress! + i).initialize(to: make(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
                initialized = count
            }
        }
    }

    /// The array of `dtype` and `shape` (`count` elements) whose bytes start at byte `offset` of
    /// `payload` (the caller checked that they are there). An f64 array that is a whole segment
    /// of the payload (``FramePayload``: the reader gives each array the header lists its own) is
    /// that segment's storage (no copy, on a little-endian machine).
    static func read(_ dtype: DType, shape: [Int], count: Int, from payload: FramePayload, offset: Int) -> BinaryArray {
        switch dtype {
        case .f64:
            #if _endian(little)
            if let words = payload.segmentWords(offset: offset, count: count) {
                return BinaryArray(shape: shape, values: .f64(words))
            }
            #endif
            return BinaryArray(shape: shape, values: .f64(readWords(payload, offset: offset, count: count, Double.init(bitPattern:))))
        case .i64:
            return BinaryArray(shape: shape, values: .i64(readWords(payload, offset: offset, count: count) { Int(Int64(bitPattern: $0)) }))
        }
    }
}
