import SoftmaxOracle

/// Walking a format's grid of values, and decoding its bit patterns, in exact binary64 arithmetic.
///
/// A namespace rather than an extension of `Format`, so that it cannot collide with extensions
/// other modules add.
public enum FormatGrid {
    /// The value of `format` nearest to `x` (`Format.round`), but finite: where rounding would
    /// overflow (to ±inf, or NaN in e4m3fn), ±maxFinite. NaN and infinities pass through.
    public static func finiteRound(_ x: Double, _ format: Format) -> Double {
        if !x.isFinite { return x }
        let r = format.round(x)
        if r.isFinite { return r }
        return x < 0 ? -format.maxFinite : format.maxFinite
    }

    /// The least value of `format` above `x` (a finite value of the format), saturating at
    /// maxFinite. For ±0 it is the least positive subnormal.
    public static func nextUp(_ x: Double, _ format: Format) -> Double {
        precondition(x.isFinite)
        if x == 0 { return format.leastPositive }
        if x < 0 { return -nextDown(-x, format) }
        let q = format.quantumExponent(ofBinade: Int(x.exponent))
        let y = x + Double(sign: .plus, exponent: q, significand: 1)
        return Swift.min(y, format.maxFinite)
    }

    /// The greatest value of `format` below `x` (a finite value of the format), saturating at
    /// −maxFinite. For ±0 it is minus the least positive subnormal.
    public static func nextDown(_ x: Double, _ format: Format) -> Double {
        precondition(x.isFinite)
        if x == 0 { return -format.leastPositive }
        if x < 0 { return -nextUp(-x, format) }
        let e = Int(x.exponent)
        // Just below a power of two the spacing is that of the binade below.
        let binade = (x.significand == 1) ? e - 1 : e
        let q = format.quantumExponent(ofBinade: binade)
        return x - Double(sign: .plus, exponent: q, significand: 1)
    }

    /// `x` moved `steps` grid points up (positive) or down (negative), saturating at ±maxFinite.
    public static func step(_ x: Double, by steps: Int, _ format: Format) -> Double {
        var y = x
        if steps > 0 {
            for _ in 0..<steps { y = nextUp(y, format) }
        } else if steps < 0 {
            for _ in 0..<(-steps) { y = nextDown(y, format) }
        }
        return y
    }

    /// The least value of `format` that is >= x (x finite and within ±maxFinite).
    public static func roundUp(_ x: Double, _ format: Format) -> Double {
        let r = finiteRound(x, format)
        return r < x ? nextUp(r, format) : r
    }

    /// The greatest value of `format` that is <= x (x finite and within ±maxFinite).
    public static func roundDown(_ x: Double, _ format: Format) -> Double {
        let r = finiteRound(x, format)
        return r > x ? nextDown(r, format) : r
    }

    /// The width of the format's encoding in bits: 64, 32, 16, 16, 8, 8.
    public static func bitWidth(_ format: Format) -> Int {
        switch format {
        case .f64: 64
        case .f32: 32
        case .f16, .bf16: 16
        case .e5m2, .e4m3fn: 8
        }
    }

    /// The value of the low `bitWidth(format)` bits of `bits` as an encoding of `format`
    /// (IEEE 754 layout: sign, biased exponent, trailing significand; e4m3fn spends only
    /// exponent 1111 with significand 111 on NaN and has no infinities).
    public static func decode(bits: UInt64, _ format: Format) -> Double {
        switch format {
        case .f64: return Double(bitPattern: bits)
        case .f32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        default: break
        }
        let (exponentBits, fractionBits): (Int, Int) = switch format {
        case .f16: (5, 10)
        case .bf16: (8, 7)
        case .e5m2: (5, 2)
        default: (4, 3)  // e4m3fn
        }
        let fraction = bits & ((1 << UInt64(fractionBits)) - 1)
        let biased = Int((bits >> UInt64(fractionBits)) & ((1 << UInt64(exponentBits)) - 1))
        let negative = (bits >> UInt64(fractionBits + exponentBits)) & 1 == 1
        let bias = (1 << (exponentBits - 1)) - 1
        let allOnes = (1 << exponentBits) - 1
        let magnitude: Double
        if format == .e4m3fn && biased == allOnes && fraction == (1 << UInt64(fractionBits)) - 1 {
            return .nan
        } else if format != .e4m3fn && biased == allOnes {
            magnitude = fraction == 0 ? .infinity : .nan
        } else if biased == 0 {
            magnitude = Double(fraction) * Double(sign: .plus, exponent: 1 - bias - fractionBits, significand: 1)
        } else {
            magnitude = Double(sign: .plus, exponent: biased - bias,
                               significand: 1 + Double(fraction) * Double(sign: .plus, exponent: -fractionBits, significand: 1))
        }
        if magnitude.isNaN { return .nan }
        return negative ? -magnitude : magnitude
    }
}
