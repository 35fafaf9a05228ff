/// Reading a hex float's digits eight bytes at a time (SWAR: one 64-bit word holds eight bytes),
/// the reader's mirror of ``HexFloat/hexDigits(_:)``.
///
/// ``HexFloat/fastParse(_:)`` tries ``HexFloat/eightAtOnceHexValue(_:after:negative:)`` first on
/// every hex float of at least eight bytes. It accepts only the exact syntax of
/// ``HexFloat/checkedParse(_:)`` and only values that ``HexDigits/exactValue()`` places without
/// rounding; everything else (more than 16 mantissa digits, exponents of more than 4 digits,
/// values that round, any syntax error) returns nil and takes the byte-by-byte path, which
/// decides the value or the error exactly as before. So values and error messages are unchanged.
extension HexFloat {
    /// The value of the hex float in `bytes` whose `0x` ends at `start` (sign, if any, before
    /// it: `negative`), when it is `hexdigits[.hexdigits][p[+-]digits]` up to the end with at
    /// most 16 mantissa digits (at least one), at most 4 exponent digits, and a value that is a
    /// binary64 exactly; else nil. Needs `bytes.count >= 8` (nil otherwise).
    ///
    /// The writer's form of a normal number is read first, with no branch on its length
    /// (``normalFormValue(_:_:after:negative:)``); other texts run by run, a word at a time
    /// (``hexRun(_:_:_:_:)``), instead of a table lookup and a branch per byte.
    @inline(__always)
    static func eightAtOnceHexValue(_ bytes: UnsafeBufferPointer<UInt8>, after start: Int, negative: Bool) -> Double? {
        let n = bytes.count
        guard n >= 8, let base = bytes.baseAddress else { return nil }
        if let value = normalFormValue(base, n, after: start, negative: negative) { return value }
        var i = start
        var m: UInt64 = 0
        let integerDigits = hexRun(base, n, &i, &m)
        var fractionDigits = 0
        if i < n && base[i] == UInt8(ascii: ".") {
            i &+= 1
            fractionDigits = hexRun(base, n, &i, &m)
        }
        let digits = integerDigits &+ fractionDigits
        guard digits > 0, digits <= 16 else { return nil }
        var exponent = 0
        if i < n {
            guard base[i] | 0x20 == UInt8(ascii: "p") else { return nil }
            i &+= 1
            var negativeExponent = false
            if i < n && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) {
                negativeExponent = base[i] == UInt8(ascii: "-")
                i &+= 1
            }
            // i ≥ 3 here (after `0x`, a digit and `p`), and n ≥ 8: the four bytes before n exist.
            guard let e = lastDigits(base, end: n, count: n &- i) else { return nil }
            exponent = negativeExponent ? -e : e
        }
        let value = HexDigits(significand: m, exponent: exponent &- 4 &* fractionDigits, negative: negative)
        return value.exactValue()
    }

    /// The value of the text when, after `0x` (ending at `start`), it is the writer's form of a
    /// normal number: `1`, optionally `.` and 0…13 hex digits, then `p`/`P`, an optional sign and
    /// 1…4 decimal digits up to the end, with an exponent in -1022…1023; else nil. `n` ≥ 8.
    ///
    /// No step depends on the digit count through a branch: the `p` is found in the last eight
    /// bytes (the exponent takes at most six), the fraction's k digits are the first k bytes of
    /// two words (masked), checked and gathered left-aligned, so they are the top 4k bits of a
    /// 64-bit fraction whose low 12 bits are zero (k ≤ 13): shifted down by 12 they are the
    /// binary64 fraction field exactly, and the value 1.f·2^e is placed in the fields.
    @inline(__always)
    private static func normalFormValue(_ base: UnsafePointer<UInt8>, _ n: Int, after start: Int, negative: Bool) -> Double? {
        guard start &+ 2 <= n, base[start] == UInt8(ascii: "1") else { return nil }
        let hasPoint = base[start &+ 1] == UInt8(ascii: ".")
        let fractionStart = start &+ (hasPoint ? 2 : 1)
        // The last `p` or `P` among the last eight bytes (b | 0x20 == 'p' only for those two):
        // a byte of x is zero exactly there; the test below is exact per byte (no carries).
        let last = word(base, n, at: n &- 8)
        let x = (last | 0x2020_2020_2020_2020) ^ 0x7070_7070_7070_7070
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        let zero = ~(((x & low7) &+ low7) | x | low7)
        guard zero != 0 else { return nil }
        let p = n &- 8 &+ (63 &- zero.leadingZeroBitCount) / 8
        let k = p &- fractionStart
        guard k >= 0, k <= 13, hasPoint || k == 0 else { return nil }
        // The exponent: an optional sign and 1…4 digits after the `p`, up to the end.
        var digitsStart = p &+ 1
        let signByte = digitsStart < n ? base[digitsStart] : 0
        if signByte == UInt8(ascii: "+") || signByte == UInt8(ascii: "-") { digitsStart &+= 1 }
        guard let e = lastDigits(base, end: n, count: n &- digitsStart) else { return nil }
        let exponent = signByte == UInt8(ascii: "-") ? -e : e
        guard exponent >= -1022, exponent <= 1023 else { return nil }
        // The fraction's digits: the first min(k, 8) bytes of one word, the next k - 8 of another
        // (masks of 0…8 bytes; a shift by 64 gives 0).
        let w1 = word(base, n, at: fractionStart), w2 = word(base, n, at: fractionStart &+ 8)
        let k1 = min(k, 8)
        let m1 = UInt64.max >> UInt64(64 &- 8 &* k1), m2 = UInt64.max >> UInt64(64 &- 8 &* (k &- k1))
        guard (notHexDigits(w1) & m1) | (notHexDigits(w2) & m2) == 0 else { return nil }
        let fraction = gather(nibbles(w1) & m1) << 32 | gather(nibbles(w2) & m2)
        let sign: UInt64 = negative ? 1 << 63 : 0
        return Double(bitPattern: sign | UInt64(exponent &+ 1023) << 52 | fraction >> 12)
    }

    /// The eight bytes from `at` (the first in the lowest byte), zeros past the end `n`: the
    /// last eight bytes shifted down when fewer than eight remain (`n` ≥ 8; `at` ≥ 0).
    @inline(__always)
    private static func word(_ base: UnsafePointer<UInt8>, _ n: Int, at: Int) -> UInt64 {
        let from = min(at, n &- 8)
        let loaded = UInt64(littleEndian: UnsafeRawPointer(base + from).loadUnaligned(as: UInt64.self))
        return loaded >> UInt64(8 &* (at &- from))  // a shift of 64 or more gives 0
    }

    /// Steps `i` over the run of hex digits at it (stopping after 17 digits at most: more than
    /// 16 make the caller decline) and appends their values to `m` (`m·16 + d` per digit,
    /// wrapping past 16 digits); returns how many digits it stepped over.
    ///
    /// Each step reads the eight bytes at `i` (or, within eight of the end, the last eight bytes
    /// shifted down so that the bytes before `i` drop out and zeros, which are not hex digits,
    /// come in at the top), takes the leading run of hex digits among them, and stops when the
    /// run is shorter than eight.
    @inline(__always)
    private static func hexRun(_ base: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int, _ m: inout UInt64) -> Int {
        var count = 0
        while count <= 16 {
            let word: UInt64
            if i &+ 8 <= n {
                word = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            } else {
                guard i < n else { return count }
                let last = UInt64(littleEndian: UnsafeRawPointer(base + (n &- 8)).loadUnaligned(as: UInt64.self))
                word = last >> UInt64(8 &* (i &+ 8 &- n))  // 8…56 bits: i > n - 8
            }
            let run = leadingHexDigits(word)
            if run > 0 {
                // run ≤ 8: a shift of 32 when run = 8 (m << 32 is defined for UInt64).
                m = m &<< UInt64(4 &* run) | hexValue(word, digits: run)
                i &+= run
                count &+= run
            }
            if run < 8 { return count }
        }
        return count
    }

    /// How many of the eight bytes of `word` (the first in its lowest byte) are hex digits
    /// before the first that is not (0…8).
    ///
    /// With a = the bytes' low seven bits (each < 0x80), adding 0x80 - c to every byte sets the
    /// byte's top bit exactly when a ≥ c, and no byte carries into the next (a + 0x50 ≤ 0xCF).
    /// A byte is a digit when a ≥ 0x30 and not a ≥ 0x3A, a letter when a | 0x20 ≥ 0x61 and not
    /// ≥ 0x67, and a hex digit when one of the two holds and its own top bit was clear (bytes
    /// ≥ 0x80 are never hex digits). The first byte that is not one is the lowest set top bit of
    /// the complement.
    @inline(__always)
    static func leadingHexDigits(_ word: UInt64) -> Int {
        notHexDigits(word).trailingZeroBitCount / 8
    }

    /// The top bit of each byte of `word` that is not an ASCII hex digit (see
    /// ``leadingHexDigits(_:)`` for the test); the other bits zero.
    @inline(__always)
    static func notHexDigits(_ word: UInt64) -> UInt64 {
        let top: UInt64 = 0x8080_8080_8080_8080
        let a = word & ~top
        let digit = (a &+ 0x5050_5050_5050_5050) & ~(a &+ 0x4646_4646_4646_4646)
        let lower = a | 0x2020_2020_2020_2020
        let letter = (lower &+ 0x1F1F_1F1F_1F1F_1F1F) & ~(lower &+ 0x1919_1919_1919_1919)
        return ~(digit | letter) & top | (word & top)
    }

    /// Each byte of `word` (a hex digit) replaced by its value: its low nibble, plus 9 for a
    /// letter (bit 6 set: 0x41…, 0x61…), at most 15.
    @inline(__always)
    static func nibbles(_ word: UInt64) -> UInt64 {
        (word & 0x0F0F_0F0F_0F0F_0F0F) &+ ((word >> 6) & 0x0101_0101_0101_0101) &* 9
    }

    /// The eight nibbles of `x` (one per byte, each < 16, the first in the lowest byte) as a
    /// 32-bit number, the first the most significant: the byte swap puts the first in the top
    /// byte; three shift-or-mask steps gather them (byte 2k + 1's nibble above byte 2k's, then
    /// pairs of bytes, then pairs of 16-bit halves), the inverse of ``HexFloat/hexDigits(_:)``.
    @inline(__always)
    static func gather(_ nibbles: UInt64) -> UInt64 {
        var x = nibbles.byteSwapped
        x = (x | x >> 4) & 0x00FF_00FF_00FF_00FF
        x = (x | x >> 8) & 0x0000_FFFF_0000_FFFF
        return (x | x >> 16) & 0xFFFF_FFFF
    }

    /// The value of the first `digits` bytes of `word` (1…8, all hex digits; the first the most
    /// significant) as a hexadecimal number: the bytes not taken are shifted out at the top, so
    /// the ``gather(_:)`` of the rest is the number.
    @inline(__always)
    static func hexValue(_ word: UInt64, digits: Int) -> UInt64 {
        gather(nibbles(word) &<< UInt64(64 &- 8 &* digits))
    }

    /// The value of the `count` bytes before `end` as decimal digits, when `count` is 1…4 and
    /// all are `0`–`9`; else nil. Reads the four bytes before `end` (they must exist).
    ///
    /// The bytes before the digits (the low bytes of the little-endian load) are replaced by `0`
    /// digits (leading zeros), then the four are checked and combined as in ``JSONParser/eightDigits(_:)``: a byte b is
    /// a digit when the high nibbles of b and b + 6 are both 3 (no carry leaves a byte that
    /// passes); `x·10 + x >> 8` puts 10·d1 + d2 and 10·d3 + d4 in bytes 0 and 2, and
    /// `x·100 + x >> 16` their combination (≤ 9999) in the low 16 bits.
    @inline(__always)
    static func lastDigits(_ base: UnsafePointer<UInt8>, end: Int, count: Int) -> Int? {
        guard count >= 1, count <= 4 else { return nil }
        let loaded = UInt32(littleEndian: UnsafeRawPointer(base + (end &- 4)).loadUnaligned(as: UInt32.self))
        let before: UInt32 = (1 &<< UInt32(8 &* (4 &- count))) &- 1  // the low 0…24 bits: bytes before the digits
        return fourDigitsValue(loaded & ~before | 0x3030_3030 & before).map(Int.init)
    }

    /// The number written by the four bytes of `v` (the first in the lowest byte, the first the
    /// most significant) when all four are decimal digits, else nil: each byte's high nibble
    /// must be 3 and stay 3 after adding 6 (0x30…0x39), then pairs of digits are combined
    /// (byte 2k·10 + byte 2k+1), then the two pairs (·100).
    @inline(__always)
    static func fourDigitsValue(_ v: UInt32) -> UInt32? {
        let high: UInt32 = 0xF0F0_F0F0
        guard (v & high) | (((v &+ 0x0606_0606) & high) >> 4) == 0x3333_3333 else { return nil }
        var x = v &- 0x3030_3030
        x = (x &* 10 &+ (x >> 8)) & 0x00FF_00FF
        return (x &* 100 &+ (x >> 16)) & 0xFFFF
    }
}
