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

    public var isNaN: Bool { floatValue.isNaN }
    public var isInfinite: Bool { floatValue.isInfinite }
    public var isFinite: Bool { floatValue.isFinite }
    public var isSubnormal: Bool { floatValue.isSubnormal }
    public var isZero: Bool { floatValue == 0 }

    public static let infinity = BFloat16(bitPattern: 0x7F80)
    public static let nan = BFloat16(bitPattern: 0x7FC0)
    /// 0x1.fep+127.
    public static let greatestFiniteMagnitude = BFloat16(bitPattern: 0x7F7F)
    /// 2^-126.
    public static let leastNormalMagnitude = BFloat16(bitPattern: 0x0080)
    /// 2^-133.
    public static let leastNonzeroMagnitude = BFloat16(bitPattern: 0x0001)

    public var description: String { floatValue.description }
}

/// A storage format that mixed-precision kernels load into `Float` and round results back to.
public protocol MixedPrecisionStorage: Sendable {
    /// The value rounded (to nearest, ties to even) from a `Float`.
    init(_ value: Float)
    /// The value rounded (to nearest, ties to even, once) from a `Double`.
    init(_ value: Double)
    /// The value as a `Float` (exact for every narrow format).
    var floatValue: Float { get }
}

extension Float: MixedPrecisionStorage {
    public var floatValue: Float { self }
}

extension Double: MixedPrecisionStorage {
    public var floatValue: Float { Float(self) }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
@available(macOS 11.0, iOS 14.0, tvOS 14.0, watchOS 7.0, *)
extension Float16: MixedPrecisionStorage {
    public var floatValue: Float { Float(self) }
}
#endif
