import SoftmaxOracle

/// A format's own encoding of its values, for result frames that ask for `"result":"bits"`
/// (docs/protocol.md, "Binary frames"): IEEE 754 binary64/32/16, bfloat16 (the top half of
/// binary32), OCP FP8 E5M2 (the top byte of binary16) and E4M3FN.
extension Format {
    /// The array dtype of this format's encoding: `u64`, `u32`, `u16` or `u8`.
    var bitsDType: String {
        switch self {
        case .f64: "u64"
        case .f32: "u32"
        case .f16, .bf16: "u16"
        case .e5m2, .e4m3fn: "u8"
        }
    }

    /// Bytes per encoded value.
    var bitsWidth: Int {
        switch self {
        case .f64: 8
        case .f32: 4
        case .f16, .bf16: 2
        case .e5m2, .e4m3fn: 1
        }
    }

    /// The encoding of `x`, a value of this format (``Format/contains(_:)``); every NaN is the
    /// format's quiet NaN with the sign bit clear (E4M3FN: 0x7F).
    ///
    /// Exact: `x` is representable, so the conversions to `Float` and `Float16` round nothing,
    /// and bfloat16 and E5M2 are binary32 and binary16 with their low bits zero.
    func bits(_ x: Double) -> UInt64 {
        switch self {
        case .f64: return x.isNaN ? Double.nan.bitPattern : x.bitPattern
        case .f32: return UInt64(Float(x.isNaN ? .nan : x).bitPattern)
        case .f16: return UInt64(Float16(x.isNaN ? .nan : x).bitPattern)
        case .bf16: return UInt64(Float(x.isNaN ? .nan : x).bitPattern >> 16)
        case .e5m2: return UInt64(Float16(x.isNaN ? .nan : x).bitPattern >> 8)
        case .e4m3fn:
            if x.isNaN { return 0x7F }
            let sign: UInt64 = x.sign == .minus ? 0x80 : 0
            let m = x.magnitude
            if m == 0 { return sign }
            if m < 0x1p-6 { return sign | UInt64(m * 0x1p9) }  // subnormal: m = k · 2^-9, k in 1...7
            return sign | UInt64(Int(m.exponent) + 7) << 3 | UInt64((m.significand - 1) * 8)
        }
    }
}
