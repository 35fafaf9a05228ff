/// Correctly rounded decimal → binary64 without a string: the fast reader behind JSON numbers and
/// decimal strings, with the C library's `strtod` (through `Double(_:)`) as the exact fallback.
///
/// A decimal numeral is gathered into ``DecimalDigits``: its first 19 significant digits as an
/// integer w < 10^19 < 2^64 and a power of ten q, so that the value is exactly w × 10^q whenever
/// no nonzero digit was dropped. ``DecimalDigits/fastValue()`` then either returns the correctly
/// rounded binary64 of w × 10^q (nearest, ties to even) or nil when it cannot prove which way
/// the value rounds; the callers then read the text with `Double(_:)` (glibc's `strtod`, exact).
struct DecimalDigits {
    /// The first (at most 19) significant digits as an integer.
    var significand: UInt64 = 0
    /// How many significant digits `significand` holds.
    var count = 0
    /// The value is significand × 10^exponent (when `truncated` is false).
    var exponent = 0
    /// A nonzero digit after the 19th significant one was dropped: the value is not exact.
    var truncated = false
    /// A leading minus sign.
    var negative = false

    /// The most significant digits kept: 10^19 - 1 < 2^64.
    static let maxDigits = 19

    /// significand × 10^exponent, for a significand of at most 19 digits gathered by the caller.
    @inline(__always)
    init(significand: UInt64, exponent: Int, negative: Bool) {
        self.significand = significand
        self.exponent = exponent
        self.negative = negative
    }

    /// The numeral whose integer digits are `bytes[integer]` and fraction digits
    /// `bytes[fraction]` (ASCII digits only; either range may be empty), exponent not yet added.
    @inline(__always)
    init(_ bytes: UnsafeBufferPointer<UInt8>, integer: Range<Int>, fraction: Range<Int>, negative: Bool) {
        self.negative = negative
        if integer.count + fraction.count <= Self.maxDigits {
            // At most 19 digits, leading zeros included: w < 10^19 exactly, one multiply-add each.
            var w: UInt64 = 0
            for k in integer { w = w &* 10 &+ UInt64(bytes[k] &- UInt8(ascii: "0")) }
            for k in fraction { w = w &* 10 &+ UInt64(bytes[k] &- UInt8(ascii: "0")) }
            significand = w
            exponent = -fraction.count
            return
        }
        for k in integer { integerDigit(UInt64(bytes[k] &- UInt8(ascii: "0"))) }
        for k in fraction { fractionDigit(UInt64(bytes[k] &- UInt8(ascii: "0"))) }
    }

    /// Takes one digit of the integer part (0...9).
    @inline(__always)
    mutating func integerDigit(_ d: UInt64) {
        if count < Self.maxDigits {
            if significand != 0 || d != 0 {
                significand = significand &* 10 &+ d
                count += 1
            }
        } else {
            exponent += 1
            if d != 0 { truncated = true }
        }
    }

    /// Takes one digit after the decimal point (0...9).
    @inline(__always)
    mutating func fractionDigit(_ d: UInt64) {
        if count < Self.maxDigits {
            exponent -= 1
            if significand != 0 || d != 0 {
                significand = significand &* 10 &+ d
                count += 1
            }
        } else if d != 0 {
            truncated = true
        }
    }

    /// Adds the written exponent (`e-5` gives -5), saturated far beyond the table so that huge
    /// exponents cannot overflow `Int` (they take the exact fallback).
    @inline(__always)
    mutating func addExponent(_ written: Int) {
        exponent += max(-1_000_000, min(1_000_000, written))
    }

    /// The binary64 nearest to significand × 10^exponent (ties to even), or nil when this method
    /// cannot decide it (then read the text with `Double(_:)`).
    ///
    /// Why the answer is exact (error bound and decision rule):
    /// - w = significand ≠ 0 is shifted to wn = w·2^s with 2^63 ≤ wn < 2^64.
    /// - The table (``PowersOfFive``, generated with exact integers) gives P, 2^127 ≤ P < 2^128,
    ///   with 5^q = (P + d)·2^e and 0 ≤ d < 1. So the value is V = R·2^(e + q - s) with
    ///   R = wn·(P + d), and the exact 192-bit product Z = wn·P satisfies Z ≤ R < Z + 2^64
    ///   (since wn·d < wn < 2^64): the only error is this one-sided bracket, nothing is rounded.
    /// - Z ≥ 2^190, so its top 53 bits m sit above L = 128 + shift discarded bits, shift ∈ {10, 11},
    ///   and the midpoint between m and m + 1 is M = 2^(L-1) ≥ 2^137 in the discarded tail T.
    ///   If T + 2^64 ≤ M, every R in the bracket lies strictly below the midpoint and above
    ///   m·2^L: R rounds to m. If T > M, every R lies strictly above the midpoint and below
    ///   (m + 1)·2^L + 2^64 < (m + 1)·2^L + M: R rounds to m + 1 (which may be 2^53, a new
    ///   binade: renormalized). Otherwise (M - 2^64 < T ≤ M, which holds for every exact tie)
    ///   nothing is claimed: nil.
    /// - Only normal results are formed here (biased exponent 1...2046 before rounding up, and
    ///   still ≤ 2046 after), where binary64 has 53 significant bits; subnormal, overflowing and
    ///   out-of-table results return nil, as do truncated digit strings (more than 19
    ///   significant digits with a nonzero one dropped).
    func fastValue() -> Double? {
        if truncated { return nil }
        if significand == 0 { return negative ? -0.0 : 0.0 }
        let q = exponent
        guard q >= PowersOfFive.minExponent && q <= PowersOfFive.maxExponent else { return nil }
        let s = significand.leadingZeroBitCount
        let wn = significand << UInt64(s)
        let k = q - PowersOfFive.minExponent
        let (hi, lo, e) = PowersOfFive.significands.withUnsafeBufferPointer { table in
            PowersOfFive.exponents.withUnsafeBufferPointer { (table[2 &* k], table[2 &* k &+ 1], Int($0[k])) }
        }
        let (a1, a0) = wn.multipliedFullWidth(by: hi)
        let (b1, b0) = wn.multipliedFullWidth(by: lo)
        let (z1, carry) = a0.addingReportingOverflow(b1)
        let z2 = a1 &+ (carry ? 1 : 0)  // Z < 2^192: no overflow
        let z0 = b0
        let shift = UInt64(11 - z2.leadingZeroBitCount)  // Z ≥ 2^190: z2 ≥ 2^62
        var m = z2 >> shift
        let tailTop = z2 & ((1 << shift) - 1)  // T = tailTop·2^128 + z1·2^64 + z0
        let half: UInt64 = 1 << (shift - 1)  // M = half·2^128
        if tailTop < half - 1 || (tailTop == half - 1 && z1 != .max) {
            // T + 2^64 ≤ M: round down.
        } else if tailTop > half || (tailTop == half && (z1 | z0) != 0) {
            m += 1  // T > M: round up
        } else {
            return nil
        }
        // V ≈ m·2^(L + e + q - s) with m in [2^52, 2^53]: unbiased exponent 52 + L + e + q - s.
        var unbiased = 52 + 128 + Int(shift) + e + q - s
        guard unbiased >= -1022 else { return nil }
        if m == 1 << 53 {
            m >>= 1
            unbiased += 1
        }
        guard unbiased <= 1023 else { return nil }
        let bits = (negative ? 1 << 63 : 0) | UInt64(unbiased + 1023) << 52 | (m & ((1 << 52) - 1))
        return Double(bitPattern: bits)
    }
}

/// Correctly rounded hex float → binary64 for the common case, without a string.
struct HexDigits {
    /// The hex digits read, as an integer.
    var significand: UInt64 = 0
    /// The value is significand × 2^exponent (when `truncated` is false).
    var exponent = 0
    /// More than 16 hex digits: not held.
    var truncated = false
    /// A leading minus sign.
    var negative = false

    /// The value `significand` × 2^`exponent`, negated when `negative` (digits already read).
    @inline(__always)
    init(significand: UInt64, exponent: Int, negative: Bool) {
        self.significand = significand
        self.exponent = exponent
        self.negative = negative
    }

    /// The hex numeral whose digits are `bytes[integer]` and `bytes[fraction]` (hex digits
    /// only), exponent not yet added; `truncated` when they are more than 16 (leading zeros
    /// included: such texts take the exact path).
    @inline(__always)
    init(_ bytes: UnsafeBufferPointer<UInt8>, integer: Range<Int>, fraction: Range<Int>, negative: Bool) {
        self.negative = negative
        guard integer.count + fraction.count <= 16 else {
            truncated = true
            return
        }
        var m: UInt64 = 0
        // A hex digit's value without a branch: its low nibble, plus 9 for a letter (0x41…, 0x61…).
        for k in integer { m = m << 4 | UInt64(bytes[k] & 0xF) + 9 * UInt64(bytes[k] >> 6) }
        for k in fraction { m = m << 4 | UInt64(bytes[k] & 0xF) + 9 * UInt64(bytes[k] >> 6) }
        significand = m
        exponent = -4 * fraction.count
    }

    /// significand × 2^exponent when that is a binary64 exactly (no rounding at all: at most 53
    /// significant bits, and the value neither overflows nor has bits below 2^-1074); else nil
    /// (then `Double(_:)`, which rounds correctly, reads the text).
    ///
    /// Exact by construction: the bits are placed in the binary64 fields, never rounded. Zero
    /// bits at the bottom of `significand` are dropped (`s >> d` with the low `d` bits zero is
    /// s / 2^d exactly) where the fields cannot hold them: past 53 significant bits, and below
    /// 2^-1074 (the writer's subnormals, e.g. `0x1.8p-1073` = 3·2^-1074, are of this kind).
    func exactValue() -> Double? {
        if truncated { return nil }
        let sign: UInt64 = negative ? 1 << 63 : 0
        if significand == 0 { return Double(bitPattern: sign) }
        var s = significand, e = exponent
        var width = 64 - s.leadingZeroBitCount  // significant bits
        if width > 53 {
            let d = width - 53
            guard s.trailingZeroBitCount >= d else { return nil }  // more than 53 bits: rounding
            s >>= UInt64(d)
            e += d
            width = 53
        }
        let unbiased = width - 1 + e
        if unbiased > 1023 { return nil }
        if unbiased >= -1022 {
            let fraction = (s << UInt64(53 - width)) & ((1 << 52) - 1)
            return Double(bitPattern: sign | UInt64(unbiased + 1023) << 52 | fraction)
        }
        // Subnormal: the value is s·2^e = (s·2^(e + 1074))·2^-1074, and s·2^(e + 1074) < 2^52
        // (unbiased < -1022 means width + e + 1074 < 53).
        let up = e + 1074
        if up >= 0 { return Double(bitPattern: sign | s << UInt64(up)) }
        // Bits below 2^-1074 must be zeros (at most 63: s ≠ 0); else rounding is needed.
        guard s.trailingZeroBitCount >= -up else { return nil }
        return Double(bitPattern: sign | s >> UInt64(-up))
    }
}

/// For each byte, 1 when it is an ASCII hex digit (0-9, a-f, A-F), else 0: a table, since a
/// test by ranges mispredicts on the random mix of digits and letters in hex floats.
let hexDigitFlags: [UInt8] = (0..<256).map { b in
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(UInt8(b)) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(UInt8(b) | 0x20) ? 1 : 0
}
