@testable import OracleIO
import Testing

/// `x`'s hex-float text built from the standard library's radix-16 printing of its fields: the
/// reference for ``HexFloat/format(_:)`` (finite, nonzero, normal `x`).
private func reference(_ x: Double) -> String {
    var digits = String(x.significandBitPattern, radix: 16)
    digits = String(repeating: "0", count: 13 - digits.count) + digits
    while digits.last == "0" { digits.removeLast() }
    let exponent = Int(x.exponentBitPattern) - 1023
    return (x.sign == .minus ? "-" : "") + "0x1" + (digits.isEmpty ? "" : "." + digits) + "p" + (exponent < 0 ? "-" : "+") + String(abs(exponent))
}

@Suite("Hex digits eight at a time (HexFloat.swift)")
struct HexDigitWriterTests {
    @Test("hexDigits: every nibble value in every position, against String(radix: 16)")
    func everyNibble() {
        for position in 0..<8 {
            for nibble in UInt32(0)...15 {
                for background: UInt32 in [0, 0xFFFF_FFFF, 0x1234_5678, 0x9ABC_DEF0] {
                    let h = background & ~(0xF << (4 * position)) | nibble << (4 * position)
                    let word = HexFloat.hexDigits(h)
                    let text = String(decoding: (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }, as: UTF8.self)
                    let expected = String(h, radix: 16)
                    #expect(text == String(repeating: "0", count: 8 - expected.count) + expected, "\(h)")
                }
            }
        }
    }

    @Test("property: format of random normal doubles, and of each trailing-zero count, against String(radix: 16) (seed printed)")
    func randomDoubles() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for k in 0..<20_000 {
            var bits = rng.next()
            bits &= ~(UInt64.max >> UInt64(64 - 4 * (k % 14)))  // k % 14 trailing zero nibbles (of 13 fraction digits)
            let x = Double(bitPattern: bits)
            guard x.isNormal else { continue }
            #expect(HexFloat.format(x) == reference(x), "seed \(seed): \(bits)")
        }
    }
}
