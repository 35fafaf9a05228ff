#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A binary frame's payload (``BinaryFrame``): its bytes, held in 8-byte words.
///
/// Every array of a payload is made of 8-byte elements, so a payload read into words needs no
/// copy to become a request's `[Double]`: when one `f64` array fills the whole payload (a row or
/// an N × K batch of logits, the common frame), ``BinaryArray`` takes ``words`` as it is. The
/// reader (``BinaryFrameReader``) reads the payload straight into this storage, so a frame of
/// 10^5 logits is written to memory once, by `read(2)`.
///
/// A payload whose length is not a multiple of 8 (a malformed frame, which the decoder reports)
/// has its last word partly used; the unused bytes are zero.
public struct FramePayload: Sendable {
    /// The bytes as words, in memory order (on a little-endian machine, word k holds bytes
    /// 8k ..< 8k + 8 as a little-endian binary64). Only ``count`` bytes are the payload's.
    let words: [Double]
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
        let wordCount = (byteCount + 7) / 8
        var written = 0
        var failure: E?
        words = [Double](unsafeUninitializedCapacity: wordCount) { buffer, initialized in
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
        count = written
    }

    /// `body` of the payload's bytes (valid only inside `body`).
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try words.withUnsafeBufferPointer { (w) throws(E) -> R in try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(w)[..<count])) }
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
