import SoftmaxOracle

/// The values of one answer line, as ``RequestServer`` writes them: binary64 numbers, or the
/// rounded values of the oracle's results, read where the oracle left them (a row of 10^5
/// outputs is not copied into a `[Double]` before it is formatted). The line's bytes are the
/// same either way: the values, in order, one array per row of a batch.
public struct AnswerValues: Sendable {
    private enum Storage: Sendable {
        case doubles([Double])
        case results([RoundedResult])
    }

    private let storage: Storage

    /// The values `values`, in order.
    public init(_ values: [Double]) {
        storage = .doubles(values)
    }

    /// The rounded values of `results`, one result after another (a batch: one result per row).
    public init(results: [OracleResult]) {
        storage = .results(results.map(RoundedResult.init))
    }

    /// The rounded values of `results` (``SoftmaxOracle/Oracle/evaluateRounded(_:)-(OracleRequest)``),
    /// one result after another (a batch: one result per row).
    public init(rounded results: [RoundedResult]) {
        storage = .results(results)
    }

    /// The values as one `[Double]` (a copy of a result's rounded values).
    public var doubles: [Double] {
        switch storage {
        case .doubles(let values): values
        case .results(let results) where results.count == 1: results[0].rounded
        case .results(let results): results.flatMap(\.rounded)
        }
    }

    /// `body` of the values in order: numbers or a single result's rounded values in place;
    /// the rounded values of several results (a batch's rows) gathered into one array first.
    /// The view is valid only inside `body`.
    func withValues<R, E: Error>(_ body: (StridedDoubles) throws(E) -> R) throws(E) -> R {
        switch storage {
        case .results(let results) where results.count == 1:
            switch results[0].values {
            case .rounded(let values):
                try values.withUnsafeBufferPointer { (v) throws(E) -> R in try body(StridedDoubles(v)) }
            case .certified(let values):
                try values.withUnsafeBufferPointer { (v) throws(E) -> R in try body(StridedDoubles(rounded: v)) }
            }
        case .doubles(let values):
            try values.withUnsafeBufferPointer { (v) throws(E) -> R in try body(StridedDoubles(v)) }
        case .results:
            try doubles.withUnsafeBufferPointer { (v) throws(E) -> R in try body(StridedDoubles(v)) }
        }
    }
}

/// Binary64 values at a fixed distance from each other in memory: a `[Double]`'s elements, or the
/// `rounded` field of each element of an ``OracleValue`` buffer. Valid while its memory is.
struct StridedDoubles: @unchecked Sendable {  // read-only views handed to the formatting threads
    /// Value 0.
    let base: UnsafeRawPointer?
    /// Bytes from one value to the next.
    let stride: Int
    /// How many values.
    let count: Int

    /// The values of `buffer`.
    init(_ buffer: UnsafeBufferPointer<Double>) {
        base = buffer.baseAddress.map(UnsafeRawPointer.init)
        stride = MemoryLayout<Double>.stride
        count = buffer.count
    }

    /// The `rounded` fields of `values`, in place.
    init(rounded values: UnsafeBufferPointer<OracleValue>) {
        base = values.baseAddress.map { UnsafeRawPointer($0) + Self.roundedOffset }
        stride = MemoryLayout<OracleValue>.stride
        count = values.count
    }

    private init(base: UnsafeRawPointer?, stride: Int, count: Int) {
        (self.base, self.stride, self.count) = (base, stride, count)
    }

    /// Where `rounded` lies in an ``OracleValue`` (a stored property of a struct: its offset is
    /// known).
    private static let roundedOffset = MemoryLayout<OracleValue>.offset(of: \.rounded)!

    /// Value k (0 ≤ k < count).
    @inline(__always)
    subscript(k: Int) -> Double {
        base.unsafelyUnwrapped.load(fromByteOffset: k &* stride, as: Double.self)
    }

    /// Values `range` (within 0..<count).
    func slice(_ range: Range<Int>) -> StridedDoubles {
        StridedDoubles(base: base.map { $0 + range.lowerBound * stride }, stride: stride, count: range.count)
    }
}
