import Foundation
@testable import OracleIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hex digit of value `d` (0…15) in the given letter case.
private func hexDigit(_ d: Int, upper: Bool) -> Character {
    Character(String(d, radix: 16, uppercase: upper))
}

/// Whether `text` is a hex float that `HexFloat.checkedParse` accepts, by its strict syntax
/// written as a pattern (a reference independent of the parser's code).
private func isValidHex(_ text: String) -> Bool {
    text.wholeMatch(of: /[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?[0-9]+)?/) != nil
}

/// Runs `body` on the bytes of `text` placed against an unreadable page, at the end of a
/// readable page (a read past the last byte faults) and then at its start (a read before the
/// first byte faults): the eight-at-once reader must stay inside the text's bytes.
private func withGuardedBytes<T>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> [T] {
    withGuardedBytes(Array(text.utf8), body)
}

/// `withGuardedBytes` of raw bytes (not necessarily UTF-8); also used by QuotedWriterFormTests.
func withGuardedBytes<T>(_ bytes: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> T) -> [T] {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    precondition(bytes.count <= page)
    guard let region = mmap(nil, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
          region != MAP_FAILED else { fatalError("mmap failed") }
    defer { munmap(region, 3 * page) }
    let base = region.assumingMemoryBound(to: UInt8.self)
    mprotect(region, page, PROT_NONE)
    mprotect(base + 2 * page, page, PROT_NONE)
    var results: [T] = []
    for start in [2 * page - bytes.count, page] {
        bytes.withUnsafeBufferPointer { memcpy(base + start, $0.baseAddress!, bytes.count) }
        results.append(body(UnsafeBufferPointer(start: base + start, count: bytes.count)))
    }
    return results
}

/// `fastParse` of `text` (against guard pages), as bits (nil: declined, the exact path
/// decides); both placements must agree.
private func fastBits(_ text: String) -> UInt64? {
    let both = withGuardedBytes(text) { HexFloat.fastParse($0).map(\.bitPattern) }
    precondition(both[0] == both[1])
    return both[0]
}

/// The eight-at-once reader alone on `text` (after its sign and `0x`), as bits (nil: declined).
private func eightAtOnceBits(_ text: String) -> UInt64? {
    let signed = text.first == "-" || text.first == "+"
    let both = withGuardedBytes(text) {
        HexFloat.eightAtOnceHexValue($0, after: signed ? 3 : 2, negative: text.first == "-").map(\.bitPattern)
    }
    precondition(both[0] == both[1])
    return both[0]
}

/// `body` of the eight bytes of `text` with the byte at each position replaced by each of the
/// 256 byte values in turn (8 · 256 calls).
func forEachByteInEachPosition(of text: String, _ body: ([UInt8]) -> Void) {
    for position in 0..<8 {
        for b in UInt8.min...UInt8.max {
            var bytes = Array(text.utf8)
            bytes[position] = b
            body(bytes)
        }
    }
}

@Suite("Hex floats read eight bytes at a time (HexDigitsEightAtOnce.swift)")
struct HexEightAtOnceTests {
    /// Hex digits and the bytes next to their ranges, with and without the top bit.
    static let alphabet: [UInt8] = Array("0123456789abcdefABCDEF".utf8)
        + [0x2F, 0x3A, 0x40, 0x47, 0x60, 0x67, 0x2E, 0x70, 0x50, 0x2B, 0x2D, 0x22, 0x00, 0x20,
           0xB0, 0xB9, 0xC1, 0xE1, 0xE6, 0xFF, 0x10, 0x19, 0x21, 0x26]

    /// Reference: the leading run of hex digits, one byte at a time.
    static func referenceRun(_ bytes: [UInt8]) -> Int {
        bytes.prefix { Character(Unicode.Scalar($0)).isHexDigit && $0 < 0x80 }.count
    }

    @Test("property: leading hex digits and their value, random words (seed printed)")
    func wordProperties() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        var failures = 0
        for round in 0..<200_000 where failures < 5 {
            let bytes: [UInt8] = (0..<8).map { _ in
                round % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : rng.pick(Self.alphabet)
            }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            let run = Self.referenceRun(bytes)
            let got = HexFloat.leadingHexDigits(UInt64(littleEndian: word))
            var value: UInt64 = 0
            for b in bytes.prefix(run) { value = value * 16 + UInt64(Int(String(Unicode.Scalar(b)), radix: 16)!) }
            let gotValue = run == 0 ? 0 : HexFloat.hexValue(UInt64(littleEndian: word), digits: run)
            if got != run || gotValue != value {
                failures += 1
                Issue.record("seed \(seed): \(bytes): run \(got) (expected \(run)), value \(gotValue) (expected \(value))")
            }
        }
    }

    @Test("every byte value in every position of a word of hex digits")
    func everyByteEveryPosition() {
        forEachByteInEachPosition(of: "9aF0b1E7") { bytes in
            let word = UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            #expect(HexFloat.leadingHexDigits(word) == Self.referenceRun(bytes), "\(bytes)")
        }
    }

    @Test("exponents of 1 to 4 digits, and what is not one")
    func exponentDigits() {
        for count in 0...5 {
            for text in ["xxxx0", "xxx12", "xx345", "x6789", "99999", "00000", "xxx1:", "xx/12", "xx1 2"] {
                let bytes = Array(text.utf8)
                let digits = bytes.suffix(count)
                let expected: Int? = (1...4).contains(count) && digits.allSatisfy { (48...57).contains($0) }
                    ? Int(String(decoding: digits, as: UTF8.self)) : nil
                let got = bytes.withUnsafeBufferPointer { HexFloat.lastDigits($0.baseAddress!, end: 5, count: count) }
                #expect(got == expected, "\(text) count \(count)")
            }
        }
    }

    /// Random bit patterns written in many spellings of the syntax (case, leading zeros, point
    /// placement, 1–20 digit mantissas, exponent forms), read as glibc's strtod (`Double(_:)`)
    /// reads them; the writer's own text must take the eight-at-once path.
    @Test("property: random values in random spellings match strtod (seed printed)")
    func randomSpellings() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        var failures = 0
        var declined = 0
        func check(_ text: String) {
            guard failures < 10 else { return }
            let reference = Double(text)
            let got = fastBits(text)
            // nil from fastParse means "take the exact path": then parse(utf8:) must still match.
            let parsed = HexFloat.parse(text)
            let eight = eightAtOnceBits(text)
            if (got != nil && got != reference?.bitPattern) || parsed?.bitPattern != reference?.bitPattern
                || (eight != nil && eight != reference?.bitPattern) {
                failures += 1
                Issue.record("seed \(seed): \(text): fast \(String(describing: got)), parse \(String(describing: parsed?.bitPattern)), strtod \(String(describing: reference?.bitPattern))")
            }
        }
        for round in 0..<30_000 {
            var x = Double(bitPattern: rng.next())
            if round % 5 == 0 { x = Double(bitPattern: rng.next() & 0x800F_FFFF_FFFF_FFFF) }  // subnormals and zeros
            if round % 7 == 0 { x = rng.pick([0.0, -0.0, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, 1, -2]) }
            guard x.isFinite else { continue }
            let written = HexFloat.format(x)
            check(written)
            if written.utf8.count >= 8, eightAtOnceBits(written) == nil { declined += 1 }
            // Another spelling of a random value: m·2^e with m of 1–20 hex digits.
            let digitCount = rng.int(1...20)
            let upper = rng.oneIn(2)
            var digits = ""
            for k in 0..<digitCount { digits.append(hexDigit(k == 0 && rng.oneIn(3) ? 0 : rng.int(0...15), upper: upper)) }
            let point = rng.int(0...digitCount)
            let mantissa0 = String(digits.prefix(point)) + (rng.oneIn(4) && point == digitCount ? "" : ".") + digits.dropFirst(point)
            let mantissa = (rng.oneIn(5) ? String(repeating: "0", count: rng.int(1...6)) : "") + mantissa0
            let sign = rng.pick(["", "-", "+"])
            let exponent: String = rng.oneIn(6) ? "" : rng.pick(["p", "P"]) + rng.pick(["", "+", "-"])
                + String(rng.pick([rng.int(0...9), rng.int(0...99), rng.int(0...1100), rng.int(1000...1100), rng.int(0...99_999)]))
            check(sign + rng.pick(["0x", "0X"]) + mantissa + exponent)
        }
        #expect(declined == 0, "seed \(seed): the writer's text took the byte-by-byte path \(declined) times")
    }

    /// Valid texts with one byte replaced, inserted or removed: every text the pattern rejects
    /// is rejected by both readers (so it reaches the checked path, which names the error), and
    /// every text it accepts reads as strtod reads it.
    @Test("property: mutated texts are rejected exactly when the syntax is broken (seed printed)")
    func mutations() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        let alphabet = Array("0123456789abcdefABCDEFxXpP.+-gG :\"\\/@`e".utf8) + [0xFF, 0x00, 0xC3]
        var failures = 0
        for _ in 0..<30_000 where failures < 10 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            var bytes = Array(HexFloat.format(x).utf8)
            switch rng.int(0...2) {
            case 0: bytes[rng.index(bytes.count)] = rng.pick(alphabet)
            case 1: bytes.insert(rng.pick(alphabet), at: rng.int(0...bytes.count))
            default: bytes.remove(at: rng.index(bytes.count))
            }
            let valid = String(validating: bytes, as: UTF8.self).map(isValidHex) ?? false
            let both = withGuardedBytes(bytes) { (HexFloat.parse(utf8: $0)?.bitPattern, HexFloat.fastParse($0)?.bitPattern) }
            let (got, fast) = both[0]
            #expect(both[1].0 == got && both[1].1 == fast, "seed \(seed): \(bytes)")
            let reference = valid ? Double(String(decoding: bytes, as: UTF8.self))?.bitPattern : nil
            let ok = valid ? (got == reference && (fast == nil || fast == reference)) : (got == nil && fast == nil)
            if !ok {
                failures += 1
                Issue.record("seed \(seed): \(bytes) valid \(valid): parse \(String(describing: got)), fast \(String(describing: fast)), strtod \(String(describing: reference))")
            }
        }
    }

    @Test("edge values and forms")
    func edges() {
        let cases: [(String, Double?)] = [
            ("0x1.fffffffffffffp+1023", .greatestFiniteMagnitude), ("-0x1.fffffffffffffp+1023", -.greatestFiniteMagnitude),
            ("0x1p-1074", .leastNonzeroMagnitude), ("0x1p-1022", .leastNormalMagnitude),
            ("0x0.0000000000001p-1022", .leastNonzeroMagnitude), ("0x1.ffffffffffffep-1023", 0x1.ffffffffffffep-1023),
            ("0x0p+0000", 0), ("-0x0.000p+0", -0.0), ("0x00000000000000001p0", 1), ("0x1.0000000000000000", 1),
            ("0X1.8P+1", 3), ("0x.8p1", 1), ("0x1.p1", 2), ("0x1.8", 1.5), ("+0x1.8p-1", 0.75),
            ("0x1.fffffffffffff8p+1023", .infinity), ("0x1p+1024", .infinity), ("0x1p-1075", 0), ("0x1.8p-1075", 0x1p-1074),
            ("0x1.p+3", 8), ("0x1.P3", 8), ("0x1.8P-0003", 0.1875), ("0x1.00000000000001p0", 0x1.00000000000001p0),
            ("0x1.0000000000001p-1022", 0x1.0000000000001p-1022), ("-0x1.abcdefABCDEF1p+1000", -0x1.abcdefabcdef1p+1000),
            ("0x1p+1023", 0x1p+1023), ("0x1.8p+1024", .infinity), ("0x1.8p-1023", 0x1.8p-1023), ("0x1.8p1p1", nil),
            ("0x1.8pp1", nil), ("0x1.8p-+1", nil), ("0x1.8.p+1", nil), ("0x1:8p+12", nil), ("0x1.8gp+1", nil), ("0x1.8p+1x", nil),
            ("0x1p+99999", .infinity), ("0x1p-99999", 0), ("0x123456789abcdef0p-4", 0x123456789abcdef0p-4),
            ("0x1p", nil), ("0x1p+", nil), ("0x.p1", nil), ("0x1.8p1.5", nil), ("0x1.8p+1 ", nil), ("0x1.8q+1", nil),
            ("0x1.8p+1\"", nil), ("0x1..8p+1", nil), ("0x1g8p+1", nil), ("0xp+12345", nil), ("0x1.8p++1", nil),
        ]
        for (text, expected) in cases {
            #expect(HexFloat.parse(text)?.bitPattern == expected?.bitPattern, "\(text)")
            if let got = fastBits(text) { #expect(got == expected?.bitPattern, "\(text)") }
        }
        // Errors are the checked path's, named as before.
        #expect(throws: FloatSyntaxError(text: "0x1.8p+", reason: "the exponent has no digits")) { try HexFloat.checkedParse("0x1.8p+") }
        #expect(throws: FloatSyntaxError(text: "0x1.8g+1", reason: "'g' at position 5 is not allowed in a hex float")) {
            try HexFloat.checkedParse("0x1.8g+1")
        }
    }
}
