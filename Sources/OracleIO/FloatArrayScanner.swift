/// A top-level array member that the parser read straight into binary64, with no ``JSONValue``
/// per number: a flat array of floats, or an array of such arrays (rows).
///
/// Only arrays whose every element is a JSON number or a string without escapes that
/// ``HexFloat/parse(_:)`` accepts are read this way; anything else (and any syntax error) makes
/// the parser read the member as usual, so errors and offsets are the ones of the generic path.
struct FastFloatArray {
    /// The values, when the parser kept all of them.
    enum Values {
        /// `[x, y, …]`.
        case flat([Double])
        /// `[[x, …], [y, …], …]`.
        case rows([[Double]])
    }

    /// Where the array's JSON text lies in the line (for reading it as JSON after all).
    var range: Range<Int>
    /// The values read (a prefix of them when `complete` is false).
    var values: Values
    /// Floats in the array (all rows together), counted even past the parser's limit.
    var count: Int
    /// False when `count` passed the parser's ``JSONParser/floatLimit`` and values were dropped.
    var complete: Bool

    /// The number of elements of the top-level array: floats, or rows.
    var elementCount: Int {
        switch values {
        case .flat: count
        case .rows(let rows): rows.count
        }
    }
}

extension JSONParser {
    /// At `[`: the array as floats (flat or rows), leaving `i` after its `]`; nil (and `i`
    /// unchanged) when it holds anything else, is empty, or is not valid JSON.
    mutating func scanFloatArray() -> FastFloatArray? {
        let start = i
        i += 1
        skipWhitespace()
        guard i < bytes.count else { i = start; return nil }
        var total = 0
        if bytes[i] != UInt8(ascii: "[") {
            i = start
            guard let flat = scanFloatRow(&total), total > 0 else { i = start; return nil }
            return FastFloatArray(range: start..<i, values: .flat(flat), count: total, complete: total <= floatLimit)
        }
        var rows: [[Double]] = []
        while true {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "["), let row = scanFloatRow(&total) else { i = start; return nil }
            rows.append(row)
            skipWhitespace()
            if consume(UInt8(ascii: ",")) {
                skipWhitespace()
                continue
            }
            guard consume(UInt8(ascii: "]")) else { i = start; return nil }
            return FastFloatArray(range: start..<i, values: .rows(rows), count: total, complete: total <= floatLimit)
        }
    }

    /// At `[`: a flat array of floats (possibly empty), leaving `i` after its `]`; nil when an
    /// element is not a float or the syntax is wrong. Adds the elements to `total`; past
    /// ``floatLimit`` in all, they are counted and checked but not kept. A long row is read on
    /// two threads (``scanSplitRow(_:into:total:)``, same result).
    private mutating func scanFloatRow(_ total: inout Int) -> [Double]? {
        i += 1
        skipWhitespace()
        var out: [Double] = []
        if consume(UInt8(ascii: "]")) { return out }
        if total == 0 {
            // The first (or only) row: room for as many floats as the rest of the line could
            // hold (one digit and a comma each), capped by the limit. Only the pages that are
            // written become resident, so this costs address space, not memory, and spares the
            // copies (and fresh pages) of growing by doubling.
            out.reserveCapacity(min((bytes.count - i) / 2 + 1, floatLimit))
        }
        if let split = splitPoint(), let done = scanSplitRow(split, into: &out, total: &total) {
            return done ? out : nil
        }
        return scanElements(into: &out, total: &total, stoppingAt: nil) ? out : nil
    }

    /// The elements of a flat row from `i` (at the first element) on: each float appended to
    /// `out` while `total` (counting every element) stays within ``floatLimit``.
    ///
    /// Without `stop`: true when the row ends with its `]` (consumed), false when an element is
    /// not a float or the syntax is wrong. With `stop` (the offset of a `,`): true when an
    /// element ends (whitespace after it skipped) exactly at that comma, leaving `i` on it;
    /// false when the row ends, fails, or an element runs past `stop` (the comma was inside it).
    mutating func scanElements(into out: inout [Double], total: inout Int, stoppingAt stop: Int?) -> Bool {
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\""), scanWriterFormRun(into: &out, total: &total, before: stop ?? .max) {
                continue
            }
            let b = bytes[i]
            let x: Double
            if b == UInt8(ascii: "\"") {
                guard let v = scanFloatString() else { return false }
                x = v
            } else if b == UInt8(ascii: "-") || isDigit(b) {
                guard let v = scanFloatNumber() else { return false }
                x = v
            } else {
                return false
            }
            total += 1
            if total <= floatLimit { out.append(x) }
            skipWhitespace()
            // Only an element (and the whitespace after it) can reach `stop`: a comma before it
            // is consumed at a smaller offset, and whitespace never crosses a comma.
            if let stop, i >= stop { return i == stop }
            if consume(UInt8(ascii: ",")) {
                skipWhitespace()
                continue
            }
            return stop == nil && consume(UInt8(ascii: "]"))
        }
        return false
    }

    /// A JSON number (RFC 8259 grammar, as ``parseNumber()``) as the binary64 nearest to it,
    /// leaving `i` after it; nil when the grammar is broken (the generic path reports it).
    ///
    /// Correct rounding: ``DecimalDigits/fastValue()`` when it decides (see its proof), else
    /// `Double(_:)` of the literal, which is what ``JSONValue/floatValue`` computes.
    mutating func scanFloatNumber() -> Double? {
        let start = i
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let integerStart = i
        // The digits are accumulated while scanned (wrapping past 19 digits, when the exact
        // gathering below takes over).
        var w: UInt64 = 0
        guard i < bytes.count, isDigit(bytes[i]) else { return nil }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count && isDigit(bytes[i]) { return nil }
        } else {
            scanDigits(into: &w)
        }
        let integer = integerStart..<i
        var fraction = i..<i
        if consume(UInt8(ascii: ".")) {
            guard i < bytes.count, isDigit(bytes[i]) else { return nil }
            let fractionStart = i
            scanDigits(into: &w)
            fraction = fractionStart..<i
        }
        var d = integer.count + fraction.count <= DecimalDigits.maxDigits
            ? DecimalDigits(significand: w, exponent: -fraction.count, negative: negative)
            : DecimalDigits(bytes, integer: integer, fraction: fraction, negative: negative)
        if i < bytes.count && bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var negativeExponent = false
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                negativeExponent = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < bytes.count, isDigit(bytes[i]) else { return nil }
            var e = 0
            while i < bytes.count && isDigit(bytes[i]) {
                e = min(e * 10 + Int(bytes[i] &- UInt8(ascii: "0")), 10_000_000)
                i += 1
            }
            d.addExponent(negativeExponent ? -e : e)
        }
        if let x = d.fastValue() { return x }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
    }

    /// Steps over a run of decimal digits from `i`, accumulating them into `w` as `w·10 + d`
    /// per digit, wrapping (``scanFloatNumber()`` uses `w` only for at most 19 digits in all):
    /// eight digits at a time while eight bytes remain, then one at a time.
    ///
    /// Eight at a time gives the same `w`: `w·10^8 + (d1·10^7 + … + d8)` is the eight steps
    /// `w·10 + d` composed, in the integers modulo 2^64 too. It takes the serial chain of eight
    /// multiply-adds out of a 17-digit number's reading.
    @inline(__always)
    mutating func scanDigits(into w: inout UInt64) {
        while i &+ 8 <= bytes.count, let eight = Self.eightDigits(bytes.baseAddress! + i) {
            w = w &* 100_000_000 &+ eight
            i &+= 8
        }
        while i < bytes.count, case let digit = bytes[i] &- UInt8(ascii: "0"), digit < 10 {
            w = w &* 10 &+ UInt64(digit)
            i &+= 1
        }
    }

    /// The value of the eight bytes at `p` read as decimal digits (the first the most
    /// significant), when all eight are `0`–`9`; else nil.
    ///
    /// Test: a byte b is a digit when the high nibbles of b and of b + 6 are both 3 (b in
    /// 0x30…0x39). Adding 6 to every byte at once can carry into the next byte only from a byte
    /// ≥ 0xFA, which fails its own test, so all eight pass exactly when all are digits. Value:
    /// with d1 … d8 in the bytes from low to high (little-endian load), `x·10 + x >> 8` puts
    /// 10·d1 + d2, 10·d3 + d4, … (each < 100) in bytes 0, 2, 4, 6; two multiplies by
    /// 100 + 10^6·2^32 and 1 + 10^4·2^32 gather d1d2·10^6 + d5d6·100 and d3d4·10^4 + d7d8 in
    /// bits 32–63 (each part < 10^8 < 2^32, the low halves < 2^32: no carry between them).
    @inline(__always)
    static func eightDigits(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let v = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        guard (v & high) | (((v &+ 0x0606_0606_0606_0606) & high) >> 4) == 0x3333_3333_3333_3333 else { return nil }
        var x = v &- 0x3030_3030_3030_3030
        x = x &* 10 &+ (x >> 8)
        let lanes: UInt64 = 0x0000_00FF_0000_00FF
        x = ((x & lanes) &* (100 &+ 1_000_000 << 32) &+ ((x >> 16) & lanes) &* (1 &+ 10_000 << 32)) >> 32
        return x
    }

    /// Moves `i` to the next `"` at or after it (to the end when there is none): eight bytes at
    /// a time while eight remain, then one at a time.
    ///
    /// With x = the eight bytes XOR `""""""""`, a byte is a quote exactly when its byte of x is
    /// zero; `(x - 0x01…01) & ~x & 0x80…80` is nonzero exactly when x has a zero byte, and its
    /// lowest set bit is in the first one (a borrow only runs upward from a zero byte, so the
    /// bytes below the first zero are exact).
    @inline(__always)
    mutating func skipToQuote() {
        while i &+ 8 <= bytes.count {
            let v = UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self))
            let x = v ^ 0x2222_2222_2222_2222
            let zero = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            if zero != 0 {
                i &+= zero.trailingZeroBitCount / 8
                return
            }
            i &+= 8
        }
        while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i &+= 1 }
    }

    /// A string of printable ASCII without escapes that ``HexFloat/parse(_:)`` accepts, as its
    /// value, leaving `i` after the closing quote; nil otherwise.
    mutating func scanFloatString() -> Double? {
        i += 1
        let start = i
        skipToQuote()
        guard i < bytes.count else { return nil }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<i])
        i += 1
        // The fast forms hold only printable ASCII without `\` or `"`: when one matches the whole
        // text, that quote closed the string and no escape was in it.
        if let value = HexFloat.fastParse(text) { return value }
        for b in text where b < 0x20 || b >= 0x7F || b == UInt8(ascii: "\\") { return nil }
        return HexFloat.parse(utf8: text)
    }
}

extension JSONParser {
    /// From `i` (at an element's opening quote), the run of elements that are strings in the
    /// writer's form (``HexFloat/quotedWriterForm(_:)``) each followed by a `,` before offset
    /// `stop`: each counted in `total` and appended to `out` within ``floatLimit``, `i` left
    /// after the last one's comma and the whitespace after it; true when there was at least one. The
    /// element after the run (another element, the last one, or the one that ends at `stop`)
    /// is left to ``scanElements(into:total:stoppingAt:)``, which reads it as before.
    ///
    /// Same steps as the element loop: such a string is read by ``scanFloatString()`` to the
    /// same value (its first `"` after the opening one is its closing quote, and
    /// ``HexFloat/fastParse(_:)`` takes the same form to the same binary64), and a `,` right
    /// after it, before `stop`, is consumed by the loop with the whitespace after it. The
    /// values go through a small buffer on the stack, appended to `out` in blocks (one
    /// uniqueness and capacity check per block instead of one per value).
    mutating func scanWriterFormRun(into out: inout [Double], total: inout Int, before stop: Int) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let n = bytes.count
        let reach = HexFloat.quotedWriterFormReach + 1  // the opening quote and the text after it
        let start = i
        let blockSize = 64
        var position = i
        withUnsafeTemporaryAllocation(of: Double.self, capacity: blockSize) { block in
            let buffer = block.baseAddress!
            var kept = 0
            var counted = total
            let limit = floatLimit
            while position &+ reach <= n, let (value, length) = HexFloat.quotedWriterForm(base + (position &+ 1)) {
                let comma = position &+ 1 &+ length
                guard comma < stop, base[comma] == UInt8(ascii: ",") else { break }
                counted &+= 1
                if counted <= limit {
                    buffer[kept] = value
                    kept &+= 1
                    if kept == blockSize {
                        out.append(contentsOf: UnsafeBufferPointer(start: buffer, count: kept))
                        kept = 0
                    }
                }
                position = comma &+ 1
                if base[position] != UInt8(ascii: "\"") {
                    // The whitespace after the comma (`", "` rows), as skipWhitespace() steps over it.
                    while position < n, case let b = base[position], b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                        position &+= 1
                    }
                    if position >= n || base[position] != UInt8(ascii: "\"") { break }  // not a string next
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(start: buffer, count: kept))
            total = counted
        }
        guard position != start else { return false }
        i = position
        skipWhitespace()
        return true
    }
}
