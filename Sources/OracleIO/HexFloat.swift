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
        var n = 0
        func put(_ b: UInt8) {
            out[n] = b
            n += 1
        }
        func put(_ s: StaticString) {
            for k in 0..<s.utf8CodeUnitCount { put(s.utf8Start[k]) }
        }
        if x.isNaN { put("nan"); return n }
        if x.sign == .minus { put(UInt8(ascii: "-")) }
        if x.isInfinite { put("inf"); return n }
        if x == 0 { put("0x0p+0"); return n }
        let fractionBits = Double.significandBitCount  // 52
        var fraction = x.significandBitPattern
        var exponent = Int(x.exponentBitPattern) - 1023  // the binary64 exponent bias
        if x.isSubnormal {
            // The leading one is at bit (63 - lzc); move it to bit 52, where it becomes implicit.
            let shift = fraction.leadingZeroBitCount - (64 - fractionBits - 1)
            fraction = (fraction << shift) & ((1 << fractionBits) - 1)
            exponent = -1022 - shift  // 2^-1022 is the least normal binade
        }
        put("0x1")
        if fraction != 0 {
            // 52 bits = 13 hex digits, most significant first; trailing zero digits dropped.
            put(UInt8(ascii: "."))
            let count = fractionBits / 4 - fraction.trailingZeroBitCount / 4
            for k in 0..<count {
                let nibble = Int((fraction >> UInt64(fractionBits - 4 - 4 * k)) & 0xF)
                put(nibble < 10 ? UInt8(ascii: "0") + UInt8(nibble) : UInt8(ascii: "a") + UInt8(nibble - 10))
            }
        }
        put(UInt8(ascii: "p"))
        put(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        // |exponent| <= 1074: at most 4 decimal digits.
        let magnitude = abs(exponent)
        var started = false
        for divisor in [1000, 100, 10, 1] {
            let digit = magnitude / divisor % 10
            if digit != 0 || started || divisor == 1 {
                put(UInt8(ascii: "0") + UInt8(digit))
                started = true
            }
        }
        return n
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
        try? checkedParse(text)
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
        let verdict = copy.withUTF8 { classify($0) }
        switch verdict {
        case .special(let value):
            return value
        case .invalid(let reason):
            throw FloatSyntaxError(text: text, reason: reason)
        case .finite:
            // The syntax is now a subset of what Double(_: StringProtocol) reads, correctly rounded.
            guard let value = Double(text) else {
                throw FloatSyntaxError(text: text, reason: "not readable as a binary64 value")
            }
            return value
        }
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
