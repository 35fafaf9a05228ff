#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read or write that failed, e.g. `cannot write to standard output: No space left on device`
/// or `cannot read standard input: Is a directory`.
public struct StreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed, e.g. `cannot write to standard output`.
    public var operation: String
    /// The system's reason (`strerror` of the `errno`).
    public var reason: String

    /// `operation: reason`.
    public var description: String { "\(operation): \(reason)" }

    /// The failure of `operation` (e.g. `cannot write to standard output`) for `reason`.
    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// The failure of `operation` with the current `errno`.
    static func fromErrno(_ operation: String) -> StreamError {
        StreamError(operation: operation, reason: String(cString: strerror(errno)))
    }
}

/// The name of a descriptor in messages: "standard input", "standard output", "standard error",
/// else "file descriptor N".
func descriptorName(_ fd: Int32) -> String {
    switch fd {
    case 0: "standard input"
    case 1: "standard output"
    case 2: "standard error"
    default: "file descriptor \(fd)"
    }
}

/// Reads lines of bytes from a file descriptor (standard input by default), enforcing a line
/// length limit while reading.
///
/// A line ends at `\n`; the `\n`, and a `\r` just before it, are not part of the line. A last
/// line without `\n` is returned as it is. The bytes are returned as they were read: no UTF-8
/// decoding or repair happens here (the JSON reader validates UTF-8 and names the offset of a
/// bad byte).
///
/// A line longer than ``maxLineBytes`` is never held whole: once the limit is passed, the rest
/// of the line is read and counted in 64 KiB chunks and thrown away, and ``next()`` returns
/// ``Line/tooLong(byteCount:)``; the lines after it are read as usual. So memory stays within
/// about twice ``maxLineBytes`` (the buffer's growth) plus 64 KiB, whatever the input.
///
/// The bytes are read into one buffer that is reused from line to line and grows with
/// `realloc` (copies of a reader share it: use one copy). A regular file (stdin redirected from
/// a file) is sized with `fstat` and read in one `read` into one allocation when it is at most
/// 8 MiB (in 8 MiB reads when larger): no growing, copying or 64 KiB steps (the lines' pages are
/// given back as they are answered). The reader owns its buffer, not the
/// descriptor (it never closes it).
public struct LineReader {
    /// The default for ``maxLineBytes``: 1 GiB.
    public static let defaultMaxLineBytes = 1 << 30

    /// One line read.
    public enum Line: Sendable, Hashable {
        /// The line's bytes, without the line end.
        case bytes([UInt8])
        /// A line of `byteCount` bytes (line end excluded), more than ``maxLineBytes``: its bytes
        /// were skipped.
        case tooLong(byteCount: Int)
    }

    /// One line read, its bytes still in the reader's buffer (valid until the next read).
    enum View {
        /// The line's bytes, without the line end.
        case bytes(UnsafeBufferPointer<UInt8>)
        /// A line over the limit, of `byteCount` bytes.
        case tooLong(byteCount: Int)
    }

    /// The descriptor read from.
    public let fileDescriptor: Int32
    /// The longest line, in bytes without the line end, that ``next()`` returns whole.
    public let maxLineBytes: Int
    /// The 1-based number of the line ``next()`` returned last (0 before the first).
    public private(set) var lineNumber = 0
    private var buffer = ByteBuffer()
    /// Where the unread bytes of `buffer` start.
    private var start = 0
    /// Bytes of `buffer` after `start` already searched for `\n` (none found).
    private var scanned = 0
    private var atEnd = false
    /// Whether the descriptor is a regular file (nil until the first read).
    private var isRegularFile: Bool?
    /// The bytes of `buffer` before this offset were given back by ``releaseLine()``.
    private var discarded = 0

    /// A reader of `fileDescriptor` (0: standard input) with a line limit of `maxLineBytes`.
    public init(fileDescriptor: Int32 = 0, maxLineBytes: Int = LineReader.defaultMaxLineBytes) {
        self.fileDescriptor = fileDescriptor
        self.maxLineBytes = max(0, maxLineBytes)
    }

    /// The next line, or nil at the end of the input.
    ///
    /// - Throws: ``StreamError`` when reading fails (e.g. `cannot read standard input: Is a
    ///   directory`); the lines before it were returned.
    public mutating func next() throws(StreamError) -> Line? {
        switch try nextView() {
        case .bytes(let bytes)?: .bytes(Array(bytes))
        case .tooLong(let count)?: .tooLong(byteCount: count)
        case nil: nil
        }
    }

    /// As ``next()``, without copying the line: its bytes stay valid until the next call.
    mutating func nextView() throws(StreamError) -> View? {
        while true {
            if let newline = firstNewline(from: start + scanned) {
                var end = newline
                if end > start && buffer.base[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line: View = end - start > maxLineBytes ? .tooLong(byteCount: end - start) : .bytes(buffer.bytes(start..<end))
                start = newline + 1
                scanned = 0
                lineNumber += 1
                return line
            }
            scanned = buffer.count - start
            // One byte of slack for a `\r` before the `\n` still to come.
            if scanned > maxLineBytes + 1 {
                lineNumber += 1
                return .tooLong(byteCount: try skipRestOfLine())
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                lineNumber += 1
                if scanned > maxLineBytes { return .tooLong(byteCount: scanned) }
                let line = buffer.bytes(start..<buffer.count)
                start = buffer.count
                scanned = 0
                return .bytes(line)
            }
            try fill()
        }
    }

    /// Gives back the memory of the lines returned so far (the last one's view becomes invalid),
    /// when the buffer has grown past 1 MiB: if at most 1 MiB is not yet returned, it moves to a
    /// new buffer of its size and the large one is freed; else (a regular file read ahead, many
    /// lines in the buffer) the whole pages of what was returned, once 1 MiB or more, are given
    /// back in place (`MADV_DONTNEED`), so nothing large is copied line after line. For a server
    /// that keeps the decoded values, not the text, while it computes.
    mutating func releaseLine() {
        guard buffer.capacity > 1 << 20 else { return }
        if buffer.count - start <= 1 << 20 {
            let fresh = ByteBuffer(capacity: max(1 << 16, buffer.count - start))
            fresh.append(UnsafeRawBufferPointer(buffer.bytes(start..<buffer.count)))
            buffer = fresh
            start = 0
            discarded = 0
        } else if start - discarded >= 1 << 20 {
            buffer.discardPages(discarded..<start)
            discarded = start
        }
    }

    /// Throws away the current line (the unread bytes hold its start and no `\n`) up to its
    /// line end; returns its length without the line end.
    private mutating func skipRestOfLine() throws(StreamError) -> Int {
        var count = buffer.count - start
        var lastByte = buffer.count > start ? buffer.base[buffer.count - 1] : nil
        buffer.count = 0
        start = 0
        discarded = 0
        scanned = 0
        while true {
            try fill(atMost: 1 << 16)
            if let newline = firstNewline(from: 0) {
                count += newline
                if newline > 0 { lastByte = buffer.base[newline - 1] }
                if lastByte == UInt8(ascii: "\r") { count -= 1 }
                start = newline + 1
                return count
            }
            count += buffer.count
            if buffer.count > 0 { lastByte = buffer.base[buffer.count - 1] }
            buffer.count = 0
            if atEnd { return count }
        }
    }

    /// Room to make before a read: for a regular file, the bytes left in it plus one (all of it
    /// in one read into one allocation, and the read that finds the end needs no more room), but
    /// at most max(64 KiB, min(line limit, 8 MiB)), so a large file of many lines is not held
    /// whole; else (pipes, terminals) 64 KiB, the buffer doubling as it fills.
    private mutating func roomWanted() -> Int {
        let chunk = 1 << 16
        var info = stat()
        if isRegularFile == nil {
            isRegularFile = fstat(fileDescriptor, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        }
        guard isRegularFile == true else { return chunk }
        let position = lseek(fileDescriptor, 0, SEEK_CUR)
        guard position >= 0, fstat(fileDescriptor, &info) == 0 else { return chunk }
        let left = Int(info.st_size) - Int(position)
        guard left >= 0 else { return chunk }
        return min(left + 1, max(chunk, min(maxLineBytes + 3, 1 << 23)))
    }

    /// The index of the first `\n` at or after `from` in `buffer`, if any.
    private func firstNewline(from: Int) -> Int? {
        guard from < buffer.count else { return nil }
        guard let hit = memchr(buffer.base + from, Int32(UInt8(ascii: "\n")), buffer.count - from) else { return nil }
        return UnsafeRawPointer(buffer.base).distance(to: UnsafeRawPointer(hit))
    }

    /// Reads more (at most `limit` bytes, into at least ``roomWanted()`` of room), first dropping
    /// the consumed bytes; sets `atEnd` at the end of the input.
    private mutating func fill(atMost limit: Int = .max) throws(StreamError) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
            discarded = 0
        }
        buffer.reserveFree(min(limit, roomWanted()))
        let n = try readRetrying(fileDescriptor, into: buffer.base + buffer.count,
                                 upTo: min(limit, buffer.capacity - buffer.count))
        buffer.count += n
        if n == 0 { atEnd = true }
    }
}

/// A growable byte buffer on `malloc` memory (grown with `realloc`, which can move large blocks
/// without copying), for the line reader and the answer writer.
final class ByteBuffer {
    /// The bytes; `count` of them are in use, `capacity` allocated.
    private(set) var base: UnsafeMutablePointer<UInt8>
    /// Bytes allocated.
    private(set) var capacity: Int
    /// Bytes in use, from `base`.
    var count = 0

    /// Where the bytes go when ``drainIfLarge(threshold:)`` finds the buffer large (the serving
    /// loop's writer: the start of a long answer line is written before its end is formatted);
    /// it returns the error of a failed write. nil: the buffer keeps everything.
    var drain: ((UnsafeBufferPointer<UInt8>) -> StreamError?)?
    /// The first error `drain` returned; after it, drained bytes are dropped.
    var drainError: StreamError?

    init(capacity: Int = 1 << 16) {
        (base, self.capacity) = Self.allocate(max(capacity, 16))
    }

    deinit { free(base) }

    /// The bytes in `range` (valid until the buffer changes).
    func bytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Makes room for at least `n` more bytes after `count` (doubling the capacity at least).
    @inline(__always)
    func reserveFree(_ n: Int) {
        if capacity - count < n { grow(to: count + n) }
    }

    private func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        // Huge pages for a fresh large buffer (little to copy); a full one grows in place
        // (`realloc` moves a large block's pages without copying them).
        if newCapacity < Self.hugePage || count > 1 << 20 {
            guard let p = realloc(base, newCapacity) else { fatalError("out of memory: \(newCapacity) bytes") }
            base = p.assumingMemoryBound(to: UInt8.self)
            capacity = newCapacity
            return
        }
        let (p, given) = Self.allocate(newCapacity)
        memcpy(p, base, count)
        free(base)
        (base, capacity) = (p, given)
    }

    /// The size of a huge page on x86-64 and arm64 Linux: 2 MiB.
    private static let hugePage = 1 << 21

    /// Memory for `capacity` bytes, and how many it holds: `malloc` below 2 MiB or when the heap
    /// is on huge pages (``HeapReuse/heapOnHugePages``); else whole 2 MiB-aligned huge pages that
    /// Linux is asked to use (`MADV_HUGEPAGE`, honoured when transparent huge pages are `madvise`
    /// or `always`): a page fault and a zeroing per 2 MiB instead of 512. Freed with `free`.
    private static func allocate(_ capacity: Int) -> (UnsafeMutablePointer<UInt8>, Int) {
        #if os(Linux)
        if capacity >= hugePage && !HeapReuse.heapOnHugePages {
            let rounded = (capacity + hugePage - 1) & ~(hugePage - 1)
            var p: UnsafeMutableRawPointer?
            guard posix_memalign(&p, hugePage, rounded) == 0, let p else { fatalError("out of memory: \(rounded) bytes") }
            _ = madvise(p, rounded, MADV_HUGEPAGE)  // advice only: on failure, ordinary pages
            return (p.assumingMemoryBound(to: UInt8.self), rounded)
        }
        #endif
        guard let p = malloc(capacity) else { fatalError("out of memory: \(capacity) bytes") }
        return (p.assumingMemoryBound(to: UInt8.self), capacity)
    }

    /// Passes the bytes in use to ``drain`` (if any) and empties the buffer, when they are at
    /// least `threshold` bytes.
    func drainIfLarge(threshold: Int = 1 << 20) {
        guard let drain, count >= threshold else { return }
        if drainError == nil { drainError = drain(bytes(0..<count)) }
        count = 0
    }

    /// ``drainIfLarge(threshold:)`` at 64 KiB when fewer than `n` bytes are free: the `n` bytes
    /// to come then fit without growing the buffer (fresh memory).
    func drainUnlessRoom(_ n: Int) {
        if capacity - count < n { drainIfLarge(threshold: 1 << 16) }
    }

    /// Gives the whole pages inside `range` (offsets in use) back to the system, in place: their
    /// bytes read as zeros afterwards; nothing moves. Does nothing off Linux.
    func discardPages(_ range: Range<Int>) {
        #if os(Linux)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let from = (Int(bitPattern: base + range.lowerBound) + page - 1) & ~(page - 1)
        let to = Int(bitPattern: base + range.upperBound) & ~(page - 1)
        if to > from { _ = madvise(UnsafeMutableRawPointer(bitPattern: from), to - from, MADV_DONTNEED) }
        #endif
    }

    /// Drops the first `n` bytes in use, moving the rest to the start.
    func removeFirst(_ n: Int) {
        memmove(base, base + n, count - n)
        count -= n
    }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) {
        reserveFree(bytes.count)
        if let from = bytes.baseAddress { memcpy(base + count, from, bytes.count) }
        count += bytes.count
    }

    /// Appends one byte.
    @inline(__always)
    func append(_ byte: UInt8) {
        reserveFree(1)
        base[count] = byte
        count += 1
    }
}

/// read(2) of up to `count` bytes of `fd` into `into`, retried after EINTR; how many were read
/// (0 at the end of the input). The one read loop of ``LineReader`` and ``BinaryFrameReader``.
///
/// - Throws: ``StreamError`` (`cannot read standard input: Is a directory`) when reading fails.
func readRetrying(_ fd: Int32, into: UnsafeMutableRawPointer, upTo count: Int) throws(StreamError) -> Int {
    while true {
        let n = read(fd, into, count)
        if n >= 0 { return n }
        if errno != EINTR { throw StreamError.fromErrno("cannot read \(descriptorName(fd))") }
    }
}

/// Reads up to `chunk` bytes of `fd` (``readRetrying(_:into:upTo:)``) and appends them to
/// `buffer`; returns how many (0 at the end of the input). Used by ``BinaryFrameReader``.
///
/// - Throws: ``StreamError`` when reading fails.
func appendRead(_ fd: Int32, upTo chunk: Int, to buffer: inout [UInt8]) throws(StreamError) -> Int {
    try withUnsafeTemporaryAllocation(byteCount: chunk, alignment: 1) { (scratch) throws(StreamError) -> Int in
        let n = try readRetrying(fd, into: scratch.baseAddress!, upTo: chunk)
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
        return n
    }
}

/// Writes text to a file descriptor (standard output by default), each piece written at once
/// (no buffering), so that a driver reading the other end sees every answer as soon as it is
/// written; every write is checked.
public struct LineWriter: Sendable {
    /// The descriptor written to.
    public let fileDescriptor: Int32

    /// A writer to `fileDescriptor` (1: standard output).
    public init(fileDescriptor: Int32 = 1) {
        self.fileDescriptor = fileDescriptor
    }

    /// Writes `line` and `\n`.
    ///
    /// - Throws: ``StreamError`` (`cannot write to standard output: No space left on device`)
    ///   when the descriptor does not take every byte.
    public func write(_ line: String) throws(StreamError) {
        try write(text: line + "\n")
    }

    /// Writes `text` as it is (no newline added).
    ///
    /// - Throws: ``StreamError`` as ``write(_:)``.
    public func write(text: String) throws(StreamError) {
        var text = text
        let ok = text.withUTF8 { writeAll($0) }
        if !ok { throw StreamError.fromErrno("cannot write to \(descriptorName(fileDescriptor))") }
    }

    /// Writes `bytes` as they are.
    ///
    /// - Throws: ``StreamError`` as ``write(_:)``.
    func write(bytes: UnsafeBufferPointer<UInt8>) throws(StreamError) {
        if let error = written(bytes) { throw error }
    }

    /// Writes `bytes` as they are (a binary frame, ``BinaryFrame``).
    ///
    /// - Throws: ``StreamError`` as ``write(_:)``.
    public func write(bytes: [UInt8]) throws(StreamError) {
        try bytes.withUnsafeBufferPointer { (b) throws(StreamError) in try write(bytes: b) }
    }

    /// Writes `bytes`; the error, or nil when every byte was written.
    func written(_ bytes: UnsafeBufferPointer<UInt8>) -> StreamError? {
        writeAll(bytes) ? nil : StreamError.fromErrno("cannot write to \(descriptorName(fileDescriptor))")
    }

    /// Writes every byte, retrying after signals; false (errno set) on failure.
    private func writeAll(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Self.systemWrite(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    private static func systemWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Int(Glibc.write(fd, pointer, count))
        #elseif canImport(Musl)
        return Int(Musl.write(fd, pointer, count))
        #elseif canImport(Darwin)
        return Int(Darwin.write(fd, pointer, count))
        #else
        return -1
        #endif
    }
}
