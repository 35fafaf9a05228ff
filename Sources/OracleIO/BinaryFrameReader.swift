#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads binary frames (``BinaryFrame``) from a file descriptor (standard input by default),
/// with limits enforced before anything is allocated.
///
/// ``next()`` returns a frame's header and payload bytes, or ``Item/bad(_:)`` naming what is
/// wrong, after which the stream goes on:
/// - a prefix whose magic is not `SOF1`: the bytes up to the next `SOF1` are skipped;
/// - a header over ``maxHeaderBytes`` or a payload over ``maxPayloadBytes``: the declared bytes
///   are read and thrown away in 64 KiB chunks, never held (a declared length of 2^63 reads to
///   the end of the input and reports it truncated);
/// - the input ending inside a frame: the frame is reported truncated, then ``next()`` returns
///   nil. The reader never waits for bytes past the end of the input.
///
/// Memory stays within the limits plus 1 MiB, whatever the input.
///
/// A frame's payload is read straight into its own storage (``FramePayload``): the bytes already
/// read ahead are copied there, the rest is read into it with `read(2)`, never further than the
/// frame's end. When the header lists two or more 8-byte arrays that fill the payload
/// (``BinaryFrame/arrayByteCounts(header:payloadBytes:)``), each is read into storage of its own.
/// So a frame of 10^5 logits (and 10^5 labels) is written to memory once and becomes the
/// request's `[Double]` arrays without a copy.
///
/// Storage for an array of up to ``directPayloadBytes`` is taken at once; a longer one (a frame
/// may declare up to ``maxPayloadBytes``) grows as its bytes arrive, doubling, so that a frame
/// declaring 80 MB and ending after 100 bytes never has 80 MB allocated.
public struct BinaryFrameReader {
    /// What ``next()`` read.
    public enum Item: Sendable, Hashable {
        /// A frame's header (UTF-8 JSON, not yet parsed) and payload bytes.
        case frame(header: [UInt8], payload: FramePayload)
        /// A frame that cannot be read, and why (`frame 3 at byte 96: bad magic …`).
        case bad(String)
    }

    /// The descriptor read from.
    public let fileDescriptor: Int32
    /// The longest header read.
    public let maxHeaderBytes: Int
    /// The longest payload read.
    public let maxPayloadBytes: Int
    /// The longest payload segment whose storage is taken at once, before its bytes are read; a
    /// longer one grows as its bytes arrive (default ``defaultDirectPayloadBytes``).
    public let directPayloadBytes: Int
    /// The 1-based number of the frame ``next()`` returned last (0 before the first).
    public private(set) var frameNumber = 0
    /// Bytes of the input consumed so far.
    public private(set) var offset = 0
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    /// A reader of `fileDescriptor` with the given limits.
    public init(fileDescriptor: Int32 = 0, maxHeaderBytes: Int = BinaryFrame.defaultMaxHeaderBytes,
                maxPayloadBytes: Int, directPayloadBytes: Int = defaultDirectPayloadBytes) {
        self.fileDescriptor = fileDescriptor
        self.maxHeaderBytes = max(0, maxHeaderBytes)
        self.maxPayloadBytes = max(0, maxPayloadBytes)
        self.directPayloadBytes = max(8, directPayloadBytes)
    }

    /// The default of ``directPayloadBytes``: 16 MiB (two million values).
    public static let defaultDirectPayloadBytes = 1 << 24

    private var available: Int { buffer.count - start }

    /// The next frame, a bad frame's message, or nil at the end of the input (between frames).
    ///
    /// - Throws: ``StreamError`` when reading fails.
    public mutating func next() throws(StreamError) -> Item? {
        guard try fill(1) else { return nil }
        frameNumber += 1
        // Where the frame starts, for messages (made only for one: formatting it for every frame
        // showed in a one-request `eval`'s start-up).
        let number = frameNumber, frameStart = offset
        let at = { "frame \(number) at byte \(frameStart)" }
        guard try fill(BinaryFrame.prefixBytes) else {
            return .bad("\(at()): truncated: the input ends after \(dropAll()) of the \(BinaryFrame.prefixBytes) bytes of the frame's prefix")
        }
        let found = Array(buffer[start..<(start + 4)])
        if found != BinaryFrame.magic {
            let skipped = try skipToMagic()
            let hex = found.map { String($0, radix: 16, uppercase: true) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined(separator: " ")
            return .bad("\(at()): bad magic \(hex) (expected 53 4F 46 31, \"SOF1\"); skipped \(skipped) bytes to "
                + (atEnd && available == 0 ? "the end of the input" : "the next \"SOF1\""))
        }
        let h = Int(BinaryFrame.readLittleEndian(UInt32.self, buffer, at: start + 4))
        let p = BinaryFrame.readLittleEndian(UInt64.self, buffer, at: start + 8)
        consume(BinaryFrame.prefixBytes)
        if h > maxHeaderBytes || p > UInt64(maxPayloadBytes) {
            let what = h > maxHeaderBytes
                ? "a header of \(h) bytes is over the limit of \(maxHeaderBytes)"
                : "a payload of \(p) bytes is over the limit of \(maxPayloadBytes)"
            // h + p may pass 2^64 - 1: such a frame cannot be in any input, so everything left
            // is taken as its bytes (never a wrapped-around length, which would resume reading
            // inside this frame).
            let declared = UInt64(h).addingReportingOverflow(p)
            let (skipped, complete) = try discard(declared.overflow ? .max : declared.partialValue)
            let length = declared.overflow ? "\(h) + \(p)" : "\(declared.partialValue)"
            return .bad("\(at()): \(what); " + (complete && !declared.overflow
                ? "its \(skipped) bytes were skipped"
                : "truncated: the input ends after \(skipped) of its \(length) bytes"))
        }
        let total = h + Int(p)
        let truncated = { (present: Int) in
            Item.bad("\(at()): truncated: the input ends after \(present) of the \(total) bytes of its header (\(h)) and payload (\(p))")
        }
        guard try fill(h) else { return truncated(dropAll()) }
        let header = Array(buffer[start..<(start + h)])
        consume(h)
        let payload = try readPayload(Int(p), pieces: BinaryFrame.arrayByteCounts(header: header, payloadBytes: Int(p)))
        guard payload.count == Int(p) else { return truncated(h + payload.count) }
        return .frame(header: header, payload: payload)
    }

    /// The next `n` bytes (fewer when the input ends first), as a payload of segments of the
    /// lengths `pieces` (which add up to `n`, each a multiple of 8; nil: one segment): each read
    /// into its own storage, the bytes read ahead first, then the rest in reads of at most what
    /// is left of it.
    private mutating func readPayload(_ n: Int, pieces: [Int]?) throws(StreamError) -> FramePayload {
        guard let pieces else {
            let (words, got) = try readSegment(n)
            return FramePayload(head: words, tail: [], count: got)
        }
        var segments: [[Double]] = []
        segments.reserveCapacity(pieces.count)
        var done = 0
        for length in pieces where length > 0 {
            let (words, got) = try readSegment(length)
            segments.append(words)
            done += got
            if got < length { break }
        }
        return FramePayload(head: segments.first ?? [], tail: Array(segments.dropFirst()), count: done)
    }

    /// The next `n` bytes (fewer when the input ends first) as words (a segment of a ``FramePayload``),
    /// and how many there were: up to ``directPayloadBytes`` read into storage taken at once,
    /// beyond that into storage that doubles as the bytes arrive (then copied once into the
    /// words: a payload that long takes the oracle far longer than the copy).
    private mutating func readSegment(_ n: Int) throws(StreamError) -> ([Double], Int) {
        if n <= directPayloadBytes {
            return try FramePayload.words(byteCount: n) { (raw) throws(StreamError) -> Int in try readInto(raw.baseAddress!, n) }
        }
        var capacity = directPayloadBytes
        guard var storage = malloc(capacity) else { throw StreamError(operation: "cannot read a payload of \(n) bytes", reason: "out of memory") }
        defer { free(storage) }
        var done = 0
        while done < n {
            if done == capacity {
                capacity = min(n, 2 * capacity)
                guard let grown = realloc(storage, capacity) else {
                    throw StreamError(operation: "cannot read a payload of \(n) bytes", reason: "out of memory")
                }
                storage = grown
            }
            let wanted = capacity - done
            let got = try readInto(storage + done, wanted)
            done += got
            if got < wanted { break }  // the input ended
        }
        return FramePayload.words(byteCount: done) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(start: storage, count: done))
            return done
        }
    }

    /// Reads up to `n` bytes to `to`, the bytes read ahead first, then with `read(2)` until `n`
    /// or the end of the input; returns how many.
    private mutating func readInto(_ to: UnsafeMutableRawPointer, _ n: Int) throws(StreamError) -> Int {
        let ahead = min(available, n)
        if ahead > 0 {
            buffer.withUnsafeBytes { _ = memcpy(to, $0.baseAddress! + start, ahead) }
            consume(ahead)
        }
        var done = ahead
        while done < n && !atEnd {
            let got = try readRetrying(fileDescriptor, into: to + done, upTo: n - done)
            if got == 0 { atEnd = true }
            done += got
            offset += got
        }
        return done
    }

    private mutating func consume(_ n: Int) {
        start += n
        offset += n
    }

    /// Consumes what is left; returns its length.
    private mutating func dropAll() -> Int {
        let n = available
        consume(n)
        return n
    }

    /// Drops the byte at the read position, then the bytes up to the next `SOF1` (or to the end
    /// of the input); returns how many were dropped.
    private mutating func skipToMagic() throws(StreamError) -> Int {
        var skipped = 0
        repeat {
            consume(1)
            skipped += 1
            guard try fill(4) else { return skipped + dropAll() }
        } while !buffer[start..<(start + 4)].elementsEqual(BinaryFrame.magic)
        return skipped
    }

    /// Reads and throws away up to `n` bytes without holding them; returns how many and whether
    /// all `n` were there.
    private mutating func discard(_ n: UInt64) throws(StreamError) -> (UInt64, Bool) {
        var done: UInt64 = 0
        while done < n {
            if available == 0 {
                buffer.removeAll(keepingCapacity: true)
                start = 0
                guard try fill(1) else { return (done, false) }
            }
            let k = Int(min(UInt64(available), n - done))
            consume(k)
            done += UInt64(k)
        }
        return (done, true)
    }

    /// Makes at least `n` unread bytes available; false when the input ends first.
    private mutating func fill(_ n: Int) throws(StreamError) -> Bool {
        while available < n {
            if atEnd { return false }
            if start > 0 && start >= buffer.count / 2 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            if try appendRead(fileDescriptor, upTo: max(1 << 16, min(n - available, 1 << 20)), to: &buffer) == 0 {
                atEnd = true
            }
        }
        return true
    }
}
