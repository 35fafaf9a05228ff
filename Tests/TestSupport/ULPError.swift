/// ULP error as docs/formats.md defines it ("The ULP measure"): |y − v| / ulp(v),
/// ulp(v) = 2^(max(⌊log₂|v|⌋, e_min) − p + 1), v = 0 using the subnormal ulp. `v` is a reference
/// value (exact, or correctly rounded). Equal values score 0; a NaN or infinity on either side
/// that is not equal scores +inf. Written apart from `ULP.error` of the oracle, which the tests
/// check.
public func ulpError(_ y: Double, _ v: Double, precision p: Int = 53, minNormalExponent emin: Int = -1022) -> Double {
    if y == v { return 0 }
    if y.isNaN || v.isNaN || y.isInfinite || v.isInfinite { return .infinity }
    let e = v == 0 ? emin : max(Int(v.exponent), emin)
    let ulp = Double(sign: .plus, exponent: e - p + 1, significand: 1)
    return (y - v).magnitude / ulp
}

/// `ulpError` in binary32 (p = 24, e_min = −126).
public func ulpError(_ y: Float, _ v: Float) -> Double {
    ulpError(Double(y), Double(v), precision: 24, minNormalExponent: -126)
}

#if arch(x86_64) && !os(Windows)
/// ULP error of a binary64 result against a Float80 reference (64-bit significand), in binary64
/// ulps of the reference.
public func ulpError(_ y: Double, _ v: Float80) -> Double {
    if Float80(y) == v { return 0 }
    if y.isNaN || v.isNaN || y.isInfinite || v.isInfinite { return .infinity }
    let e = v == 0 ? -1022 : max(Int(v.exponent), -1022)
    let ulp = Float80(sign: .plus, exponent: e - 52, significand: 1)
    return Double((Float80(y) - v).magnitude / ulp)
}
#endif
