/// Brain floating point: 1 sign bit, 8 exponent bits, 7 stored significand bits (precision 8),
/// the upper half of a binary32. Storage only: arithmetic is done in `Float`.
///
/// Conversions round to nearest, ties to even, in a single rounding (also from `Double`), keep
/// subnormals, overflow to ±inf (anything at or above 0x1.ffp+127 in magnitude, the midpoint
/// between the largest finite value 0x1.fep+127 and 2^128), and keep NaN a (quiet) NaN with its
/// sign.
///
/// Equality and hashing are bitwise (`+0 != -0`, a NaN equals itself): this is a storage type;
/// compare `floatValue`s for IEEE semantics.
public struct BFloat16: Sendable, Hashable, CustomStringConvertible, MixedPrecisionStorage {
    /// The 16 bits: sign, 8 exponent bits (bias 127), 7 fraction bits.
    public var bitPattern: UInt16

    /// The value with these 16 bits.
    public init(bitPattern: UInt16) {
        self.bitPattern = bitPattern
    }

    /// RN-even of a binary32 value.
    ///
    /// Adding 0x7FFF plus the bit that will become the last one, then truncating the low 16
    /// bits, is round-half-even on the magnitude's encoding (which is monotone across the
    /// subnormal/normal boundary and carries into the exponent, up to ±inf). NaN is handled
    /// first (it would otherwise round to inf or wrap): sign and top payload kept, quiet bit set.
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            self.init(bitPattern: UInt16(truncatingIfNeeded: bits >> 16) | 0x0040)
            return
        }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        self.init(bitPattern: UInt16(truncatingIfNeeded: rounded >> 16))
    }

    /// RN-even of a binary64 value, with a single rounding.
    ///
    /// The value is first rounded to binary32 *to odd* (RN, then, if inexact and even, the
    /// other neighbour); binary32 has 16 more bits than bfloat16 over the same exponent range,
    /// and rounding to odd with at least 2 extra bits followed by RN-even gives RN-even of the
    /// original (Boldo–Melquiond). Binary32 overflow (|value| beyond FLT_MAX + ulp/2) is far
    /// above bfloat16's overflow threshold, so ±inf is right there too.
    public init(_ value: Double) {
        if value.isNaN {
            self.init(Float(value))
            return
        }
        var f = Float(value)
        if f.isFinite && Double(f) != value && f.bitPattern & 1 == 0 {
            f = Double(f) < value ? f.nextUp : f.nextDown
        }
        self.init(f)
    }

    /// The exact value as binary32.
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    /// The exact value as binary64.
    public var doubleValue: Double { Double(floatValue) }

    /// True for a NaN.
    public var isNaN: Bool { floatValue.isNaN }
    /// True for ±inf.
    public var isInfinite: Bool { floatValue.isInfinite }
    /// True unless ±inf or NaN.
    public var isFinite: Bool { floatValue.isFinite }
    /// True for a nonzero value below 2^-126 in magnitude.
    public var isSubnormal: Bool { floatValue.isSubnormal }
    /// True for ±0.
    public var isZero: Bool { floatValue == 0 }

    /// +inf.
    public static let infinity = BFloat16(bitPattern: 0x7F80)
    /// The quiet NaN 0x7FC0.
    public static let nan = BFloat16(bitPattern: 0x7FC0)
    /// 0x1.fep+127.
    public static let greatestFiniteMagnitude = BFloat16(bitPattern: 0x7F7F)
    /// 2^-126.
    public static let leastNormalMagnitude = BFloat16(bitPattern: 0x0080)
    /// 2^-133.
    public static let leastNonzeroMagnitude = BFloat16(bitPattern: 0x0001)

    /// The value as `floatValue` prints it.
    public var description: String { floatValue.description }
}
