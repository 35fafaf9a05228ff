/// 2^e, built from its parts (no arithmetic that could round).
public func pow2(_ e: Int) -> Double { Double(sign: .plus, exponent: e, significand: 1) }

/// The exact hexadecimal text of `x` ("0x1.8p+1", "-0x0p+0", "inf", "nan"), independent of
/// Foundation and of the project's own codecs (`HexFloat`, which the tests check against it).
/// All NaNs print as "nan", so comparing `hex` strings compares bit patterns, with every NaN
/// equal to every other.
public func hex(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    let sign = x.sign == .minus ? "-" : ""
    if x == 0 { return sign + "0x0p+0" }
    let e = Int(x.exponent)
    let m = Double(sign: .plus, exponent: -e, significand: x.magnitude)  // in [1, 2), normal
    var bits = m.significandBitPattern
    var digits = 13
    while digits > 0 && bits & 0xF == 0 {
        bits >>= 4
        digits -= 1
    }
    var fraction = ""
    if digits > 0 {
        let h = String(bits, radix: 16)
        fraction = "." + String(repeating: "0", count: digits - h.count) + h
    }
    return "\(sign)0x1\(fraction)p\(e < 0 ? "" : "+")\(e)"
}

/// `hex` of each element, as "[a, b, …]".
public func hex(_ xs: [Double]) -> String { "[" + xs.map { hex($0) }.joined(separator: ", ") + "]" }
