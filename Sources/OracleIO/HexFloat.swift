/// Exact text for binary64 values: hex-float output, a strict reader of hex-float and decimal
/// strings, and the shortest round-trip decimal for people.
///
/// Every file and message of the project writes floats with ``format(_:)``, which is exact and
/// round-trips through ``parse(_:)`` bit for bit (except NaN payloads and NaN sign: every NaN is
/// written `"nan"`).
public enum HexFloat {
    /// The exact hex-float text of `x`, normalized like C's `%a` for normal numbers:
    /// `[-]0x1.<hex>p<±exp>` with trailing zero hex digits removed (and the `.` with them).
    ///
    /// - `3` → `"0x1.8p+1"`, `1` → `"0x1p+0"`, `-greatestFiniteMagnitude` →
    ///   `"-0x1.fffffffffffffp+1023"`, `0.1` → `"0x1.999999999999ap-4"`.
    /// - Subnormals are normalized too (unlike glibc's `%a`): 2^-1074 → `"0x1p-1074"`,
    ///   2^-1023 → `"0x1p-1023"`.
    /// - Zeros keep their sign: `"0x0p+0"`, `"-0x0p+0"`.
    /// - Specials: `"inf"`, `"-inf"`, and `"nan"` for every NaN (sign and payload dropped).
    ///
    /// Postcondition: `parse(format(x))` has the bit pattern of `x` for every non-NaN `x`.
    public static func format(_ x: Double) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxFormattedLength) { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[..<write(x, into: buffer)]), as: UTF8.self)
        }
    }

    /// Appends ``format(_:)`` of `x`, as UTF-8, to `bytes` (for writers of long lines).
    public static func write(_ x: Double, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxFormattedLength) { buffer in
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<write(x, into: buffer)]))
        }
    }

    /// The longest output of ``format(_:)``: `-0x1.` (5) + 13 hex digits + `p-1074` (6) = 24.
    static let maxFormattedLength = 24

    /// Writes ``format(_:)`` of `x` into `out` (at least ``maxFormattedLength`` bytes) and returns
    /// the number of bytes written.
    static func write(_ x: Double, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(out.count >= maxFormattedLength)
        return write(x, to: out.baseAddress!)
    }

    /// Writes ``format(_:)`` of `x` at `p` (room for ``maxFormattedLength`` bytes) and returns
    /// the number of bytes written. Straight-line stores, no allocation; the bytes after the
    /// returned count, up to ``maxFormattedLength``, may be overwritten (scratch).
    @inline(__always)
    static func write(_ x: Double, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let bits = x.bitPattern
        var n = 0
        if x.isNaN {
            p[0] = UInt8(ascii: "n"); p[1] = UInt8(ascii: "a"); p[2] = UInt8(ascii: "n")
            return 3
        }
        if bits >> 63 != 0 {
            p[0] = UInt8(ascii: "-")
            n = 1
        }
        if x.isInfinite {
            p[n] = UInt8(ascii: "i"); p[n + 1] = UInt8(ascii: "n"); p[n + 2] = UInt8(ascii: "f")
            return n + 3
        }
        p[n] = UInt8(ascii: "0"); p[n + 1] = UInt8(ascii: "x")
        if x == 0 {
            p[n + 2] = UInt8(ascii: "0"); p[n + 3] = UInt8(ascii: "p"); p[n + 4] = UInt8(ascii: "+"); p[n + 5] = UInt8(ascii: "0")
            return n + 6
        }
        p[n + 2] = UInt8(ascii: "1")
        n += 3
        let fractionBits = Double.significandBitCount  // 52
        var fraction = x.significandBitPattern
        var exponent = Int(x.exponentBitPattern) - 1023  // the binary64 exponent bias
        if x.isSubnormal {
            // The leading one is at bit (63 - lzc); move it to bit 52, where it becomes implicit.
            let shift = fraction.leadingZeroBitCount - (64 - fractionBits - 1)
            fraction = (fraction << UInt64(shift)) & ((1 << UInt64(fractionBits)) - 1)
            exponent = -1022 - shift  // 2^-1022 is the least normal binade
        }
        if fraction != 0 {
            // 52 bits = 13 hex digits, most significant first; trailing zero digits dropped.
            // All 16 digits of fraction·2^12 are stored (two 8-byte stores, ending at most at
            // byte 5 + 16 = 21 < maxFormattedLength) and `n` moves past the ones kept.
            p[n] = UInt8(ascii: ".")
            n += 1
            let count = fractionBits / 4 - fraction.trailingZeroBitCount / 4
            let f = fraction << 12  // the 13 digits at the top of 64 bits
            let digits = UnsafeMutableRawPointer(p + n)
            digits.storeBytes(of: hexDigits(UInt32(truncatingIfNeeded: f >> 32)).littleEndian, as: UInt64.self)
            (digits + 8).storeBytes(of: hexDigits(UInt32(truncatingIfNeeded: f)).littleEndian, as: UInt64.self)
            n += count
        }
        p[n] = UInt8(ascii: "p")
        p[n + 1] = exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
        n += 2
        // |exponent| <= 1074: at most 4 decimal digits, no leading zeros.
        let magnitude = abs(exponent)
        if magnitude >= 1000 { p[n] = UInt8(ascii: "0") &+ UInt8(magnitude / 1000); n += 1 }
        if magnitude >= 100 { p[n] = UInt8(ascii: "0") &+ UInt8(magnitude / 100 % 10); n += 1 }
        if magnitude >= 10 { p[n] = UInt8(ascii: "0") &+ UInt8(magnitude / 10 % 10); n += 1 }
        p[n] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
        return n + 1
    }

    /// The eight hex digits of `h` in lowercase ASCII, most significant first when the result
    /// is stored little-endian (its lowest byte is the first digit).
    ///
    /// Three shift-and-mask steps spread the nibbles one per byte (byte k holds nibble k, no
    /// bits overlap); the byte swap puts nibble 7 first. Each byte d becomes '0' + d, plus 39
    /// more when d ≥ 10 ('a' = '0' + 10 + 39): d + 6 carries into bit 4 exactly then, and no
    /// byte exceeds 0x66, so no carry crosses bytes.
    @inline(__always)
    static func hexDigits(_ h: UInt32) -> UInt64 {
        var x = UInt64(h)
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
        x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        x = x.byteSwapped
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return x &+ 0x3030_3030_3030_3030 &+ letters &* 39
    }

    /// The shortest decimal text that reads back as `x` (Swift's `description`: `"0.1"`,
    /// `"5e-324"`, `"1e+300"`), and `"inf"`, `"-inf"`, `"nan"` (every NaN). For people: files
    /// carry ``format(_:)``. Round-trips through ``parse(_:)`` except for NaN payloads.
    public static func shortestDecimal(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return x.description
    }

    /// The binary64 value of `text`, or `nil` if it is not one of the accepted forms
    /// (see ``checkedParse(_:)`` for the forms and for a reason on failure).
    public static func parse(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { parse(utf8: $0) }
    }

    /// The binary64 value of `text`, correctly rounded (nearest, ties to even), with the syntax
    /// checked strictly first.
    ///
    /// Accepted forms (an optional leading `+` or `-` on each):
    /// - hex float: `0x` or `0X`, hex digits with an optional `.` (at least one digit in all),
    ///   optional binary exponent `p`/`P`, optional sign, decimal digits: `0x1.8p+1`, `0X1P-1074`,
    ///   `0x.8p1`, `0x1.8` (no exponent means `p+0`);
    /// - decimal: digits with an optional `.` (at least one digit), optional exponent `e`/`E`,
    ///   optional sign, digits: `3`, `-0.5`, `.5`, `5.`, `1e-300`, `2.5E+10`;
    /// - specials, any letter case: `inf`, `infinity`, `nan` (`-nan` is NaN too).
    ///
    /// Rejected: empty text, any whitespace (`" 1"`, `"1 "`), `0x` without digits, an exponent
    /// marker without digits (`1e`, `0x1p`), NaN payloads (`nan(123)`), digit separators, and any
    /// other trailing text.
    ///
    /// Rounding: out-of-range magnitudes give ±inf (`1e400`) or ±0 (`1e-400`), after rounding:
    /// `2.4703282292062328e-324` (just above 2^-1075) gives 2^-1074, `2.4703282292062327e-324`
    /// (just below) gives 0. A hex float with more than 53 significant bits is rounded too.
    ///
    /// - Throws: ``FloatSyntaxError`` naming the text and what is wrong with it.
    public static func checkedParse(_ text: String) throws(FloatSyntaxError) -> Double {
        var copy = text
        let value = copy.withUTF8 { parse(utf8: $0) }
        if let value { return value }
        var again = text
        if case .invalid(let reason) = again.withUTF8({ classify($0) }) {
            throw FloatSyntaxError(text: text, reason: reason)
        }
        throw FloatSyntaxError(text: text, reason: "not readable as a binary64 value")
    }

    /// ``parse(_:)`` of the text `bytes` hold (UTF-8), or nil; one pass over the bytes for the
    /// common forms (a decimal of at most 19 significant digits, a hex float of at most 53
    /// significant bits, in the normal range), the exact checked path for everything else.
    static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        if let value = fastParse(bytes) { return value }
        switch classify(bytes) {
        case .special(let value):
            return value
        case .invalid:
            return nil
        case .finite:
            // The syntax is now a subset of what Double(_: StringProtocol) reads (glibc strtod),
            // correctly rounded.
            return Double(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// The value of `bytes` when they are `[+-]digits[.digits][e[+-]digits]` or
    /// `[+-]0x hexdigits[.hexdigits][p[+-]digits]` (the syntax of ``checkedParse(_:)``) and
    /// ``DecimalDigits/fastValue()`` or ``HexDigits/exactValue()`` decides it; else nil (the
    /// caller takes the checked path, which also produces the error). Hex floats are tried
    /// eight bytes at a time first (``eightAtOnceHexValue(_:after:negative:)``), then byte by byte.
    static func fastParse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = bytes.count
        var i = 0
        var negative = false
        if n > 0 && (bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+")) {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        if n - i == 3 {
            // The specials the protocol writes, in lowercase (other spellings: the checked path).
            let word = (bytes[i], bytes[i + 1], bytes[i + 2])
            if word == (UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "f")) { return negative ? -.infinity : .infinity }
            if word == (UInt8(ascii: "n"), UInt8(ascii: "a"), UInt8(ascii: "n")) { return .nan }
        }
        let isHex = n - i >= 2 && bytes[i] == UInt8(ascii: "0") && bytes[i + 1] | 0x20 == UInt8(ascii: "x")
        if isHex {
            i += 2
            if let value = eightAtOnceHexValue(bytes, after: i, negative: negative) { return value }
        }
        // The digit runs before and after the point (plain loops: a closure capturing `i` would
        // cost a dynamic exclusivity check per byte).
        let integerStart = i
        var fractionStart = -1
        if isHex {
            hexDigitFlags.withUnsafeBufferPointer { flags in
                while i < n && flags[Int(bytes[i])] != 0 { i += 1 }
                if i < n && bytes[i] == UInt8(ascii: ".") {
                    i += 1
                    fractionStart = i
                    while i < n && flags[Int(bytes[i])] != 0 { i += 1 }
                }
            }
        } else {
            while i < n && bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            if i < n && bytes[i] == UInt8(ascii: ".") {
                i += 1
                fractionStart = i
                while i < n && bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            }
        }
        let integer = integerStart..<(fractionStart < 0 ? i : fractionStart - 1)
        let fraction = fractionStart < 0 ? i..<i : fractionStart..<i
        guard integer.count + fraction.count > 0 else { return nil }
        var exponent = 0
        if i < n {
            guard bytes[i] | 0x20 == (isHex ? UInt8(ascii: "p") : UInt8(ascii: "e")),
                  let e = exponentValue(bytes, from: i + 1) else { return nil }
            exponent = e
        }
        if isHex {
            var h = HexDigits(bytes, integer: integer, fraction: fraction, negative: negative)
            h.exponent += exponent
            return h.exactValue()
        }
        var d = DecimalDigits(bytes, integer: integer, fraction: fraction, negative: negative)
        d.addExponent(exponent)
        return d.fastValue()
    }

    /// `[+-]digits` from `from` to the end of `bytes`, saturated at ±10^7; nil if that is not
    /// the whole rest.
    private static func exponentValue(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = from
        var negative = false
        if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < bytes.count else { return nil }
        var e = 0
        while i < bytes.count {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            e = min(e * 10 + Int(d), 10_000_000)
            i += 1
        }
        return negative ? -e : e
    }

    private enum Verdict {
        case special(Double)
        case finite
        case invalid(String)
    }

    /// The syntax check of ``checkedParse(_:)``, one pass over the UTF-8 bytes.
    private static func classify(_ bytes: UnsafeBufferPointer<UInt8>) -> Verdict {
        func describe(_ k: Int) -> String {
            let b = bytes[k]
            if (0x21...0x7E).contains(b) { return "'\(Character(Unicode.Scalar(b)))' at position \(k)" }
            if b == 0x20 { return "a space at position \(k)" }
            let hex = String(b, radix: 16, uppercase: true)
            return "byte 0x\(hex.count == 1 ? "0" + hex : hex) at position \(k)"
        }
        guard !bytes.isEmpty else { return .invalid("the text is empty") }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < bytes.count else { return .invalid("a sign with no digits after it") }
        if isLetter(bytes[i]) {
            let word = String(decoding: bytes[i...].map { isLetter($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
            if word == "inf" || word == "infinity" { return .special(negative ? -.infinity : .infinity) }
            if word == "nan" { return .special(.nan) }
            return .invalid("not a number word (the accepted words are inf, infinity and nan, in any case)")
        }

        let isHex = bytes.count - i >= 2 && bytes[i] == UInt8(ascii: "0")
            && (bytes[i + 1] == UInt8(ascii: "x") || bytes[i + 1] == UInt8(ascii: "X"))
        if isHex { i += 2 }
        func isMantissaDigit(_ b: UInt8) -> Bool { isHex ? isHexDigit(b) : isDecimalDigit(b) }
        var digits = 0
        while i < bytes.count && isMantissaDigit(bytes[i]) { i += 1; digits += 1 }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count && isMantissaDigit(bytes[i]) { i += 1; digits += 1 }
        }
        if digits == 0 {
            if isHex { return .invalid("no hex digits after 0x") }
            if i < bytes.count { return .invalid("\(describe(i)) where a digit was expected") }
            return .invalid("no digits")
        }
        if i < bytes.count && (bytes[i] | 0x20) == (isHex ? UInt8(ascii: "p") : UInt8(ascii: "e")) {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            var exponentDigits = 0
            while i < bytes.count && isDecimalDigit(bytes[i]) { i += 1; exponentDigits += 1 }
            if exponentDigits == 0 { return .invalid("the exponent has no digits") }
        }
        if i < bytes.count {
            return .invalid("\(describe(i)) is not allowed" + (isHex ? " in a hex float" : " in a number"))
        }
        return .finite
    }

    private static func isDecimalDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
    private static func isHexDigit(_ b: UInt8) -> Bool {
        isDecimalDigit(b) || (b | 0x20) &- UInt8(ascii: "a") < 6
    }
    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- UInt8(ascii: "a") < 26 }
}

/// Why a text is not a float: the text and the reason.
public struct FloatSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text as given.
    public var text: String
    /// What is wrong, e.g. `"the exponent has no digits"`.
    public var reason: String

    /// An error for `text`, saying `reason`.
    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    /// `"1e" is not a number: the exponent has no digits`.
    public var description: String {
        "\(quoted(text)) is not a number: \(reason)"
    }
}
