// Frames written by hand from docs/protocol.md ("Binary frames"), independently of BinaryFrame's
// encoder, for the binary-transport suites, and a pipe that delivers them in small pieces.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The little-endian bytes of `x`'s low `width` bytes.
func littleEndian(_ x: UInt64, width: Int) -> [UInt8] {
    (0..<width).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) }
}

/// A frame written by hand from docs/protocol.md: magic, H and P little-endian, header, payload.
func handFrame(_ header: String, _ payload: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    return Array("SOF1".utf8) + littleEndian(UInt64(h.count), width: 4) + littleEndian(UInt64(payload.count), width: 8) + h + payload
}

/// A descriptor that reads `bytes` through a pipe written in pieces of 997 bytes by another
/// thread (reads then return short counts), and ends after them. With `pausing`, the writer also
/// sleeps 100 µs whenever it has written a multiple of 9 bytes, so that some reads find the pipe
/// empty and wait.
func dribbled(_ bytes: [UInt8], pausing: Bool = false) -> Int32 {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    let writeEnd = fds[1]
    let writer = Thread {
        var at = 0
        while at < bytes.count {
            let n = min(997, bytes.count - at)
            _ = bytes[at..<(at + n)].withUnsafeBytes { write(writeEnd, $0.baseAddress, n) }
            at += n
            if pausing && at % 9 == 0 { usleep(100) }
        }
        close(writeEnd)
    }
    writer.start()
    return fds[0]
}
