#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OracleIO
import Testing

/// C's `%a` (glibc and Darwin agree with our form for normal numbers: `0x1.8p+1`).
private func cHexFloat(_ x: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    _ = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%a", $0) }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// True for `[-]0x1[.<hex digits, last not 0>]p(+|-)<digits>`, the canonical nonzero form.
private func isCanonical(_ s: String) -> Bool {
    var rest = Substring(s)
    if rest.hasPrefix("-") { rest = rest.dropFirst() }
    guard rest.hasPrefix("0x1") else { return false }
    rest = rest.dropFirst(3)
    if rest.hasPrefix(".") {
        rest = rest.dropFirst()
        let digits = rest.prefix(while: { $0.isHexDigit && !$0.isUppercase })
        guard !digits.isEmpty, digits.count <= 13, digits.last != "0" else { return false }
        rest = rest.dropFirst(digits.count)
    }
    guard rest.hasPrefix("p+") || rest.hasPrefix("p-") else { return false }
    let exponent = rest.dropFirst(2)
    return !exponent.isEmpty && exponent.allSatisfy(\.isNumber)
}

@Suite("Hex floats")
struct HexFloatTests {
    @Test func formatKnownValues() {
        // 3 = 1.5 · 2^1 and 1.5 = 0x1.8.
        #expect(HexFloat.format(3) == "0x1.8p+1")
        #expect(HexFloat.format(1) == "0x1p+0")
        #expect(HexFloat.format(0.5) == "0x1p-1")
        // -2.5 = -1.25 · 2^1 and 0.25 = 0x0.4.
        #expect(HexFloat.format(-2.5) == "-0x1.4p+1")
        // (2 - 2^-52) · 2^1023: 52 one bits = 13 hex digits f.
        #expect(HexFloat.format(-.greatestFiniteMagnitude) == "-0x1.fffffffffffffp+1023")
        #expect(HexFloat.format(.greatestFiniteMagnitude) == "0x1.fffffffffffffp+1023")
        // 0.1 rounds 1.6 · 2^-4 = 0x1.999…p-4 at 13 hex digits; the rest 0x0.999… > 1/2 rounds up.
        #expect(HexFloat.format(0.1) == "0x1.999999999999ap-4")
        #expect(HexFloat.format(.leastNormalMagnitude) == "0x1p-1022")
        #expect(HexFloat.format(.leastNonzeroMagnitude) == "0x1p-1074")
        // The largest subnormal (2^52 - 1) · 2^-1074 = (2 - 2^-51) · 2^-1023: 51 ones then a 0.
        #expect(HexFloat.format(Double(bitPattern: 0x000F_FFFF_FFFF_FFFF)) == "0x1.ffffffffffffep-1023")
        // 3 · 2^-1074 = 1.5 · 2^-1073.
        #expect(HexFloat.format(Double(bitPattern: 3)) == "0x1.8p-1073")
        #expect(HexFloat.format(0.0) == "0x0p+0")
        #expect(HexFloat.format(-0.0) == "-0x0p+0")
        #expect(HexFloat.format(.infinity) == "inf")
        #expect(HexFloat.format(-.infinity) == "-inf")
        #expect(HexFloat.format(.nan) == "nan")
        #expect(HexFloat.format(-.nan) == "nan")
        #expect(HexFloat.format(.signalingNaN) == "nan")
        #expect(HexFloat.format(Double(nan: 123, signaling: false)) == "nan")
    }

    @Test func formatEveryPowerOfTwo() {
        for e in -1074...1023 {
            #expect(HexFloat.format(pow2(e)) == "0x1p\(e >= 0 ? "+" : "")\(e)")
            #expect(HexFloat.format(-pow2(e)) == "-0x1p\(e >= 0 ? "+" : "")\(e)")
        }
    }

    @Test func parseKnownStrings() {
        #expect(HexFloat.parse("0x1.8p+1") == 3)
        #expect(HexFloat.parse("0X1.8P+1") == 3)
        #expect(HexFloat.parse("0x1.8p1") == 3)
        #expect(HexFloat.parse("+0x1.8p+1") == 3)
        #expect(HexFloat.parse("-0x1.8p+1") == -3)
        #expect(HexFloat.parse("0x1.8") == 1.5)  // no exponent: p+0
        #expect(HexFloat.parse("0x18p-3") == 3)  // 24 / 8
        #expect(HexFloat.parse("0x.8p1") == 1)  // 0.5 · 2
        #expect(HexFloat.parse("0x1.") == 1)
        #expect(HexFloat.parse("0xA.BCp0") == 10 + 11.0 / 16 + 12.0 / 256)  // exact: 2748/256
        #expect(HexFloat.parse("0x1p-1074") == .leastNonzeroMagnitude)
        #expect(HexFloat.parse("0x1.fffffffffffffp+1023") == .greatestFiniteMagnitude)
        #expect(HexFloat.parse("3") == 3)
        #expect(HexFloat.parse("-2.5") == -2.5)
        #expect(HexFloat.parse(".5") == 0.5)
        #expect(HexFloat.parse("5.") == 5)
        #expect(HexFloat.parse("25E-1") == 2.5)
        #expect(HexFloat.parse("1e+2") == 100)
        #expect(HexFloat.parse("0.1") == 0.1)  // the same rounding as the compiler's literal
        #expect(HexFloat.parse("0.1") == HexFloat.parse("0x1.999999999999ap-4"))
        #expect(HexFloat.parse("1e400") == .infinity)
        #expect(HexFloat.parse("-1e400") == -.infinity)
        #expect(HexFloat.parse("4.9406564584124654e-324") == pow2(-1074))
        // 2^-1075 = 2.47032822920623272088…e-324 is the midpoint between 0 and 2^-1074.
        #expect(HexFloat.parse("2.4703282292062328e-324") == pow2(-1074))
        #expect(HexFloat.parse("2.4703282292062327e-324")?.bitPattern == 0)
        #expect(HexFloat.parse("-2.4703282292062327e-324")?.bitPattern == (-0.0).bitPattern)
        #expect(HexFloat.parse("1e-400")?.bitPattern == 0)
        #expect(HexFloat.parse("-0")?.bitPattern == (-0.0).bitPattern)
        #expect(HexFloat.parse("-0x0p+0")?.bitPattern == (-0.0).bitPattern)
        #expect(HexFloat.parse("0x0p+0")?.bitPattern == 0)
    }

    @Test func parseRoundsToNearestEven() {
        // 2^53 + 1 is halfway between 2^53 (even significand) and 2^53 + 2 (odd): 2^53.
        #expect(HexFloat.parse("9007199254740993") == pow2(53))
        // 2^53 + 3 is halfway between 2^53 + 2 (odd) and 2^53 + 4 (even): 2^53 + 4.
        #expect(HexFloat.parse("9007199254740995") == pow2(53) + 4)
        // 1 + 2^-53 is halfway between 1 and 1 + 2^-52 (odd): 1.
        #expect(HexFloat.parse("0x1.00000000000008p0") == 1)
        // A bit beyond the halfway point goes up.
        #expect(HexFloat.parse("0x1.000000000000080000000001p0") == 1 + pow2(-52))
        // 1 + 3·2^-53 is halfway between 1 + 2^-52 (odd) and 1 + 2^-51 (even): 1 + 2^-51.
        #expect(HexFloat.parse("0x1.00000000000018p0") == 1 + pow2(-51))
        // Halfway between the largest finite value and 2^1024 rounds to 2^1024: overflow to inf.
        #expect(HexFloat.parse("0x1.fffffffffffff8p1023") == .infinity)
        #expect(HexFloat.parse("0x1.fffffffffffff7ffp1023") == .greatestFiniteMagnitude)
        // Subnormal rounding: 2^-1075 is a tie with 0 (even); 0.75 · 2^-1074 goes up;
        // 1.5 · 2^-1074 ties between 1 and 2 units of 2^-1074: 2 (even).
        #expect(HexFloat.parse("0x1p-1075")?.bitPattern == 0)
        #expect(HexFloat.parse("0x1.8p-1075") == pow2(-1074))
        #expect(HexFloat.parse("0x1.8p-1074") == pow2(-1073))
        // Huge exponents saturate instead of overflowing an integer.
        #expect(HexFloat.parse("0x1p+99999999999999999999") == .infinity)
        #expect(HexFloat.parse("1e-99999999999999999999")?.bitPattern == 0)
    }

    @Test func parseSpecials() {
        for s in ["inf", "+inf", "Inf", "INF", "infinity", "Infinity", "+INFINITY"] {
            #expect(HexFloat.parse(s) == .infinity, "\(s)")
        }
        for s in ["-inf", "-Inf", "-infinity", "-INFINITY"] {
            #expect(HexFloat.parse(s) == -.infinity, "\(s)")
        }
        for s in ["nan", "NaN", "NAN", "-nan", "+nan"] {
            #expect(HexFloat.parse(s)?.isNaN == true, "\(s)")
        }
    }

    @Test func parseRejectsJunkWithAReason() {
        let cases: [(String, String)] = [
            ("", "the text is empty"),
            (" 1", "a space at position 0 where a digit was expected"),
            ("1 ", "a space at position 1 is not allowed in a number"),
            ("\t1", "byte 0x09 at position 0 where a digit was expected"),
            ("1\n", "byte 0x0A at position 1 is not allowed in a number"),
            ("0x", "no hex digits after 0x"),
            ("0x.", "no hex digits after 0x"),
            ("0xp1", "no hex digits after 0x"),
            ("-0x", "no hex digits after 0x"),
            ("1e", "the exponent has no digits"),
            ("1e+", "the exponent has no digits"),
            ("0x1p", "the exponent has no digits"),
            ("0x1p-", "the exponent has no digits"),
            ("0x1.8e+1", "'+' at position 6 is not allowed in a hex float"),  // 'e' is a hex digit
            ("1.5p3", "'p' at position 3 is not allowed in a number"),
            ("0x1.8p+1.5", "'.' at position 8 is not allowed in a hex float"),
            ("1e1.5", "'.' at position 3 is not allowed in a number"),
            ("1.2.3", "'.' at position 3 is not allowed in a number"),
            ("0x1g", "'g' at position 3 is not allowed in a hex float"),
            ("0x1.g", "'g' at position 4 is not allowed in a hex float"),
            ("1_000", "'_' at position 1 is not allowed in a number"),
            ("1,5", "',' at position 1 is not allowed in a number"),
            ("-", "a sign with no digits after it"),
            ("+", "a sign with no digits after it"),
            ("--1", "'-' at position 1 where a digit was expected"),
            ("+-1", "'-' at position 1 where a digit was expected"),
            (".", "no digits"),
            ("-.", "no digits"),
            ("0x-1", "no hex digits after 0x"),
            ("0b101", "'b' at position 1 is not allowed in a number"),
            ("1f", "'f' at position 1 is not allowed in a number"),
            ("infinity junk", "not a number word"),
            ("nan(123)", "not a number word"),
            ("inff", "not a number word"),
            ("in", "not a number word"),
            ("e5", "not a number word"),
            ("x", "not a number word"),
            ("１", "byte 0xEF at position 0 where a digit was expected"),  // fullwidth digit one
        ]
        for (text, reason) in cases {
            #expect(HexFloat.parse(text) == nil, "\(text.debugDescription)")
            do {
                let value = try HexFloat.checkedParse(text)
                Issue.record("\(text.debugDescription) parsed as \(value)")
            } catch {
                #expect(error.text == text)
                #expect(error.reason.contains(reason), "\(text.debugDescription): \(error.reason)")
            }
        }
        #expect(throws: FloatSyntaxError(text: "1e", reason: "the exponent has no digits")) {
            try HexFloat.checkedParse("1e")
        }
        #expect(FloatSyntaxError(text: "1e", reason: "the exponent has no digits").description
            == #""1e" is not a number: the exponent has no digits"#)
    }

    @Test func exactRoundTripOfSpecialBitPatterns() {
        var patterns: [UInt64] = [
            0, 1, 2, 3, 0x000F_FFFF_FFFF_FFFF, 0x0008_0000_0000_0000, 0x0010_0000_0000_0000,  // zero, subnormals, least normal
            0x3FF0_0000_0000_0000, 0x3FF0_0000_0000_0001, 0x3FEF_FFFF_FFFF_FFFF,  // 1, next up, next down
            0x7FEF_FFFF_FFFF_FFFF, 0x7FE0_0000_0000_0000, 0x7FF0_0000_0000_0000,  // max, 2^1023, inf
        ]
        patterns += patterns.map { $0 | (1 << 63) }  // and their negatives
        for bits in patterns {
            let x = Double(bitPattern: bits)
            let text = HexFloat.format(x)
            #expect(HexFloat.parse(text)?.bitPattern == bits, "\(text)")
            #expect(Double(text)?.bitPattern == bits, "\(text)")  // the standard library agrees
        }
        // NaNs of every kind are written "nan" and read back as NaN.
        for bits: UInt64 in [0x7FF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0xFFF8_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF] {
            let text = HexFloat.format(Double(bitPattern: bits))
            #expect(text == "nan")
            #expect(HexFloat.parse(text)?.isNaN == true)
            #expect(HexFloat.shortestDecimal(Double(bitPattern: bits)) == "nan")
        }
    }

    @Test func exactRoundTripOfRandomBitPatterns() {
        var rng = SplitMix64(seed: 0x5EED_0F_0AC1E)
        var checkedAgainstC = 0
        for k in 0..<100_000 {
            var bits = rng.next()
            // Every fourth pattern: force a subnormal (exponent field 0) so they are well covered.
            if k % 4 == 0 { bits &= 0x800F_FFFF_FFFF_FFFF }
            let x = Double(bitPattern: bits)
            let text = HexFloat.format(x)
            if x.isNaN {
                #expect(text == "nan")
                continue
            }
            #expect(HexFloat.parse(text)?.bitPattern == bits, "\(text)")
            #expect(Double(text)?.bitPattern == bits, "\(text)")
            // "-0x1." + 13 digits + "p-1022" is the longest form: 24 bytes.
            #expect(text.utf8.count <= 24)
            if x != 0 { #expect(isCanonical(text), "\(text)") }
            if x.isNormal {
                #expect(text == cHexFloat(x))
                checkedAgainstC += 1
            }
            let decimal = HexFloat.shortestDecimal(x)
            #expect(HexFloat.parse(decimal)?.bitPattern == bits, "\(decimal)")
        }
        #expect(checkedAgainstC > 50_000)
    }

    @Test func writeAppendsTheSameText() {
        var bytes = Array("[".utf8)
        for x in [3, -.greatestFiniteMagnitude, -pow2(-1074), -0.0, .nan, -.infinity] as [Double] {
            HexFloat.write(x, to: &bytes)
            bytes.append(UInt8(ascii: ","))
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "[0x1.8p+1,-0x1.fffffffffffffp+1023,-0x1p-1074,-0x0p+0,nan,-inf,")
        // The longest forms: 13 fraction digits with a 4-digit negative exponent.
        let largestSubnormalBelowNormal = -Double.leastNormalMagnitude.nextDown  // -(2 - 2^-51) · 2^-1023
        #expect(HexFloat.format(largestSubnormalBelowNormal) == "-0x1.ffffffffffffep-1023")
        #expect(HexFloat.format(-Double.leastNormalMagnitude.nextUp) == "-0x1.0000000000001p-1022")
    }

    @Test func splitMix64MatchesTheReference() {
        // First outputs of Vigna's splitmix64.c seeded with 0.
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func shortestDecimal() {
        #expect(HexFloat.shortestDecimal(0.1) == "0.1")
        #expect(HexFloat.shortestDecimal(3) == "3.0")
        #expect(HexFloat.shortestDecimal(pow2(-1074)) == "5e-324")
        #expect(HexFloat.shortestDecimal(-0.0) == "-0.0")
        #expect(HexFloat.shortestDecimal(.infinity) == "inf")
        #expect(HexFloat.shortestDecimal(-.infinity) == "-inf")
        #expect(HexFloat.shortestDecimal(-.nan) == "nan")
    }
}
