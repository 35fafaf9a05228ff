@testable import OracleIO
import Testing

/// The reference: the eight bytes' value as decimal digits, or nil when one is not `0`–`9`.
private func reference(_ bytes: [UInt8]) -> UInt64? {
    var value: UInt64 = 0
    for b in bytes {
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) else { return nil }
        value = value * 10 + UInt64(b - UInt8(ascii: "0"))
    }
    return value
}

@Suite("Eight decimal digits at once (FloatArrayScanner.swift)")
struct EightDigitTests {
    /// Bytes next to the digits and the ones whose +6 carries into the next byte.
    static let alphabet: [UInt8] = Array(UInt8(ascii: "0")...UInt8(ascii: "9"))
        + [0x2F, 0x3A, 0x3F, 0x40, 0x20, 0x2C, 0x2E, 0x65, 0x00, 0x29, 0x39 + 0x80, 0xF9, 0xFA, 0xFF, 0xB0, 0x13]

    @Test("every digit in every position, and each non-digit in every position, against the byte-by-byte value")
    func positions() {
        forEachByteInEachPosition(of: "31415926") { bytes in
            #expect(bytes.withUnsafeBufferPointer { JSONParser.eightDigits($0.baseAddress!) } == reference(bytes), "\(bytes)")
        }
        for text in ["00000000", "99999999", "12345678", "10000000", "00000001"] {
            #expect(Array(text.utf8).withUnsafeBufferPointer { JSONParser.eightDigits($0.baseAddress!) } == UInt64(text)!)
        }
    }

    @Test("property: random mixes of digits and near-digits (seed printed)")
    func randomBytes() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for _ in 0..<20_000 {
            let digitsOnly = Bool.random(using: &rng)
            let bytes = (0..<8).map { _ in
                digitsOnly ? UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &rng) : Self.alphabet.randomElement(using: &rng)!
            }
            #expect(bytes.withUnsafeBufferPointer { JSONParser.eightDigits($0.baseAddress!) } == reference(bytes), "seed \(seed): \(bytes)")
        }
    }
}

@Suite("Finding the closing quote eight bytes at a time (FloatArrayScanner.swift)")
struct QuoteSearchTests {
    @Test("the first quote at every position of texts of 0 to 40 bytes, or none, among bytes that differ from it by one bit or a borrow")
    func everyPosition() {
        let background: [UInt8] = [0x21, 0x23, 0xA2, 0x02, 0x00, 0xFF, 0x20, 0x62, 0x01, 0x30]
        for length in 0...40 {
            for quote in [nil] + Array(0..<length) as [Int?] {
                for start in [0, 1, 3] where start <= length {
                    var bytes = (0..<length).map { background[$0 % background.count] }
                    if let quote {
                        bytes[quote] = UInt8(ascii: "\"")
                        if quote + 1 < length { bytes[quote + 1] = UInt8(ascii: "\"") }  // a second one after it
                    }
                    let expected = bytes.indices.first { $0 >= start && bytes[$0] == UInt8(ascii: "\"") } ?? length
                    let found = bytes.withUnsafeBufferPointer { buffer in
                        var parser = JSONParser(bytes: buffer, maxDepth: 4)
                        parser.i = start
                        parser.skipToQuote()
                        return parser.i
                    }
                    #expect(found == expected, "length \(length), quote \(String(describing: quote)), start \(start)")
                }
            }
        }
    }
}
