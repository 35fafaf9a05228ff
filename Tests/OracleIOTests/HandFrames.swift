// Frames written by hand from docs/protocol.md ("Binary frames"), independently of BinaryFrame's
// encoder, for the binary-transport suites.

/// The little-endian bytes of `x`'s low `width` bytes.
func littleEndian(_ x: UInt64, width: Int) -> [UInt8] {
    (0..<width).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) }
}

/// A frame written by hand from docs/protocol.md: magic, H and P little-endian, header, payload.
func handFrame(_ header: String, _ payload: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    return Array("SOF1".utf8) + littleEndian(UInt64(h.count), width: 4) + littleEndian(UInt64(payload.count), width: 8) + h + payload
}
