#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A binary frame's payload (``BinaryFrame``): its bytes, held in 8-byte words, in one or more
/// pieces (segments), one after another.
///
/// Every array of a payload is made of 8-byte elements, so a payload read into words needs no
/// copy to become a request's `[Double]`. The reader (``BinaryFrameReader``) reads the payload
/// straight into this storage, one segment per array the header lists
/// (``BinaryFrame/arrayByteCounts(header:payloadBytes:)``), so that every `f64` array of a
/// request (logits, and labels, targets or weights beside them) is its own segment, which
/// ``BinaryArray`` takes as it is: a frame of 10^5 logits and 10^5 labels is written to memory
/// once, by `read(2)`, and never copied.
///
/// A payload whose length is not a multiple of 8 (a malformed frame, which the decoder reports)
/// has its last word partly used; the unused bytes are zero.
public struct FramePayload: Sendable {
    /// The first segment's bytes as words, in memory order (on a little-endian machine, word k
    /// holds bytes 8k ..< 8k + 8 as a little-endian binary64). When it is the only segment, its
    /// last word may be partly used (zeros past the payload's end).
    let head: [Double]
    /// The segments after ``head``, in order, each starting where the one before ends; empty for
    /// a payload of one segment (no array is made for it). All segments but the last hold whole
    /// words of the payload.
    let tail: [[Double]]
    /// The payload's length in bytes.
    public let count: Int

    /// A payload of `bytes`.
    public init(_ bytes: some Collection<UInt8>) {
        let byteCount = bytes.count
        self.init(byteCount: byteCount) { raw in
            raw.copyBytes(from: bytes)
            return byteCount
        }
    }

    /// A payload of `byteCount` bytes of which `fill` writes the first ones into the raw memory
    /// it is given (room for `byteCount` bytes, zeroed past them up to the next multiple of 8)
    /// and returns how many it wrote (≤ `byteCount`); ``count`` is that number. `fill` may
    /// throw; nothing is kept then.
    init<E: Error>(byteCount: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) {
        let (words, written) = try Self.words(byteCount: byteCount, fill)
        self.init(head: words, tail: [], count: written)
    }

    /// The payload of the segments `head` and `tail` (in order, each starting where the one
    /// before ends; all but the last holding whole words) of `count` bytes in all.
    init(head: [Double], tail: [[Double]], count: Int) {
        (self.head, self.tail, self.count) = (head, tail, count)
    }

    /// `byteCount` bytes' words of which `fill` writes the first ones (as ``init(byteCount:_:)``),
    /// and how many bytes it wrote.
    static func words<E: Error>(byteCount: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) -> ([Double], Int) {
        let wordCount = (byteCount + 7) / 8
        var written = 0
        var failure: E?
        let words = [Double](unsafeUninitializedCapacity: wordCount) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            do throws(E) {
                written = try fill(UnsafeMutableRawBufferPointer(rebasing: raw[..<byteCount]))
            } catch {
                failure = error
            }
            // The last word's bytes past what was written are zeroed; the words counted are the
            // ones written (all of them, or none after a failure).
            let usedWords = failure == nil ? (written + 7) / 8 : 0
            if written % 8 != 0 { memset(raw.baseAddress! + written, 0, 8 - written % 8) }
            initialized = usedWords
        }
        if let failure { throw failure }
        return (words, written)
    }

    /// The segment that starts at byte `offset` of the payload, and its length in bytes of the
    /// payload; nil when no segment starts there.
    private func segment(at offset: Int) -> (words: [Double], bytes: Int)? {
        if offset == 0 { return (head, tail.isEmpty ? count : 8 * head.count) }
        var at = 8 * head.count
        for (i, words) in tail.enumerated() {
            if at == offset { return (words, i == tail.count - 1 ? count - at : 8 * words.count) }
            at += 8 * words.count
            if at > offset { return nil }
        }
        return nil
    }

    /// The words of the segment that holds exactly bytes `offset ..< offset + 8 * count` of the
    /// payload, if there is one (then an array of the payload is that segment's storage, no copy).
    func segmentWords(offset: Int, count wordCount: Int) -> [Double]? {
        guard let s = segment(at: offset), s.bytes == 8 * wordCount, s.words.count == wordCount else { return nil }
        return s.words
    }

    /// `body` of the payload's bytes (valid only inside `body`): the storage itself for a payload
    /// of one segment, else a contiguous copy.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if tail.isEmpty {
            return try head.withUnsafeBufferPointer { (w) throws(E) -> R in
                try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(w)[..<count]))
            }
        }
        var joined = [UInt8]()
        joined.reserveCapacity(count)
        for words in [head] + tail {
            words.withUnsafeBytes { joined.append(contentsOf: $0.prefix(count - joined.count)) }
        }
        return try joined.withUnsafeBufferPointer { (b) throws(E) -> R in try body(UnsafeRawBufferPointer(b)) }
    }

    /// `body` of the payload's bytes `range` (within `0..<count`; valid only inside `body`): the
    /// storage of the segment that holds them, or a contiguous copy when they span segments.
    func withUnsafeBytes<R, E: Error>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        if tail.isEmpty {
            return try withUnsafeBytes { (all) throws(E) -> R in try body(UnsafeRawBufferPointer(rebasing: all[range])) }
        }
        var at = 0
        for words in [head] + tail {
            let end = at + 8 * words.count
            if range.lowerBound >= at && range.upperBound <= end {
                return try words.withUnsafeBufferPointer { (w) throws(E) -> R in
                    try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(w)[(range.lowerBound - at)..<(range.upperBound - at)]))
                }
            }
            if end > range.lowerBound { break }
            at = end
        }
        return try withUnsafeBytes { (all) throws(E) -> R in try body(UnsafeRawBufferPointer(rebasing: all[range])) }
    }

    /// The payload's bytes as an array (a copy).
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}

extension FramePayload: Hashable {
    public static func == (a: FramePayload, b: FramePayload) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
