/// Reading a row of JSON strings in the writer's form (``HexFloat/format(_:)``:
/// `"-0x1.921fb54442d18p+1"`, `"0x0p+0"`, `"inf"`) straight from the line: no search for the
/// closing quote, no slice, no byte-by-byte loop.
///
/// The form is fixed enough that each part's place follows from a few word loads: the sign is
/// byte 0, `0x1.` the next four bytes, the fraction's length k is the first byte of two words
/// that is not a hex digit (it must be the `p`), and after `p` and its sign the exponent runs
/// to the first quote (its 1…4 bytes checked as decimal digits).
///
/// Values and errors are unchanged: the reader accepts only texts that ``HexFloat/fastParse(_:)``
/// reads to the same binary64 (the writer's normal form with a signed exponent of 1…4 digits in
/// -1022…1023, the zeros, `inf` and `nan` as written, and the same with uppercase hex digits or
/// leading zeros in the exponent); anything else (subnormal or out-of-range exponents, other
/// spellings, whitespace, escapes, syntax errors, the last bytes of the line) is declined and
/// read by the element loop as before, which also produces the errors.
extension HexFloat {
    /// The bytes that ``quotedWriterForm(_:)`` may read from its argument on (the longest form
    /// is 25 bytes with its quote; the words loaded reach 28 bytes).
    static let quotedWriterFormReach = 32

    /// The value of the JSON string whose first byte (after the opening quote) is at `s`, and
    /// the length of the string's text and closing quote, when the string is
    /// `[-]0x1.<1…13 hex digits>p<+|-><1…4 digits>"` or `[-]0x1p<+|-><1…4 digits>"` with an
    /// exponent in -1022…1023, or `[-]0x0p+0"`, `[-]inf"`, `[-]nan"`; else nil.
    /// ``quotedWriterFormReach`` bytes from `s` must be readable.
    ///
    /// Exact: the fraction's k digits are the top 4k bits of a 64-bit word whose low 12 bits
    /// are zero (k ≤ 13), so the binary64 fraction field is that word shifted down by 12, and
    /// 1.f·2^e with -1022 ≤ e ≤ 1023 is a normal binary64, placed in its fields without
    /// rounding: the value of the text, as ``normalFormValue`` computes it.
    ///
    /// The sign selects the offset arithmetically, not by a branch: signs come in random order,
    /// and a mispredicted branch per value cost more than the arithmetic (measured).
    @inline(__always)
    static func quotedWriterForm(_ s: UnsafePointer<UInt8>) -> (value: Double, length: Int)? {
        let w0 = load(s, 0)
        let negative = (((w0 & 0xFF) ^ 0x2D) &- 1) &>> 63  // 1 after "-", else 0
        let at = Int(truncatingIfNeeded: negative)
        let head = w0 &>> (negative &<< 3)  // the bytes after the sign
        let sign = negative &<< 63
        let k: Int      // fraction digits
        let pAt: Int    // offset of the `p` from s
        var fraction: UInt64 = 0
        if head & 0xFFFF_FFFF == 0x2E31_7830 {  // "0x1."
            let w1 = load(s, at &+ 4), w2 = load(s, at &+ 12)
            let k1 = notHexDigits(w1).trailingZeroBitCount &>> 3  // 0…8 (8: all eight are digits)
            let k2 = notHexDigits(w2).trailingZeroBitCount &>> 3
            k = k1 == 8 ? 8 &+ k2 : k1
            guard k >= 1, k <= 13 else { return nil }
            let rest = k &- k1  // digits in w2: 0…5
            // Masks of the first k1 (1…8) and `rest` (0…5) bytes: no shift reaches 64.
            let m1 = UInt64.max &>> UInt64(64 &- 8 &* k1), m2 = (1 &<< UInt64(8 &* rest)) &- 1
            fraction = gather(nibbles(w1) & m1) &<< 32 | gather(nibbles(w2) & m2)
            pAt = at &+ 4 &+ k
        } else if head & 0xFFFF_FFFF == 0x7031_7830 {  // "0x1p": a power of two
            k = 0
            pAt = at &+ 3
        } else {
            return specialWriterForm(head, sign: sign, at: at)
        }
        guard s[pAt] == UInt8(ascii: "p") else { return nil }
        // The exponent: its sign, then 1…4 digits, then the closing quote.
        let e = load(s, pAt &+ 1)
        let exponentSign = e & 0xFF
        // "+" (0x2B) or "-" (0x2D), tested without a branch per sign (exponent signs come in
        // random order too); bit 2 is set for "-" only.
        guard (exponentSign &- 0x2B) & ~2 == 0 else { return nil }
        let negativeExponent = Int(truncatingIfNeeded: (exponentSign &>> 2) & 1)
        // c: where the first quote after the sign is (as in JSONParser.skipToQuote: the lowest
        // zero byte of x is exact). The top byte, shifted in, is zero: c ≤ 7.
        let x = (e &>> 8) ^ 0x0022_2222_2222_2222
        let c = ((x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080).trailingZeroBitCount &>> 3
        guard c >= 1, c <= 4, let digits = fourDigits(UInt32(truncatingIfNeeded: e &>> 8), count: c) else { return nil }
        let magnitude = Int(digits)
        let exponent = (magnitude ^ (0 &- negativeExponent)) &+ negativeExponent  // -magnitude after "-"
        guard exponent >= -1022, exponent <= 1023 else { return nil }
        let bits = sign | UInt64(truncatingIfNeeded: exponent &+ 1023) &<< 52 | fraction &>> 12
        return (Double(bitPattern: bits), pAt &+ c &+ 3)  // `p`, sign, c digits, quote
    }

    /// The zeros, infinities and NaN as the writer spells them, `head` holding the bytes after
    /// the sign (`at` of them), with the closing quote: `0x0p+0"` (±0), `inf"`, `nan"`; else
    /// nil. `-nan` is NaN, as ``fastParse(_:)`` reads it.
    @inline(__always)
    private static func specialWriterForm(_ head: UInt64, sign: UInt64, at: Int) -> (value: Double, length: Int)? {
        if head & 0x00FF_FFFF_FFFF_FFFF == 0x0022_302B_7030_7830 {  // `0x0p+0"`
            return (Double(bitPattern: sign), at &+ 7)
        }
        switch head & 0xFFFF_FFFF {
        case 0x2266_6E69: return (sign == 0 ? .infinity : -.infinity, at &+ 4)  // `inf"`
        case 0x226E_616E: return (.nan, at &+ 4)  // `nan"`
        default: return nil
        }
    }

    /// The number written by the first `count` (1…4) bytes of `digits` (the first in the
    /// lowest byte, the first the most significant) when all are decimal digits, else nil. They
    /// are moved to the top of the word and `0` digits fill the bytes below (leading zeros);
    /// then the four are checked and combined by ``fourDigitsValue(_:)``, as in
    /// ``lastDigits(_:end:count:)``.
    @inline(__always)
    static func fourDigits(_ digits: UInt32, count: Int) -> UInt32? {
        let shift = UInt32(8 &* (4 &- count))  // 0…24
        return fourDigitsValue(digits &<< shift | 0x3030_3030 & ((1 &<< shift) &- 1))
    }

    /// The eight bytes at `s + offset`, the first in the lowest byte.
    @inline(__always)
    private static func load(_ s: UnsafePointer<UInt8>, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(s + offset).loadUnaligned(as: UInt64.self))
    }
}
