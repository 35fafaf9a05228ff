/// An output floating-point format: binary, round-to-nearest-even, with gradual underflow.
///
/// Every value of every format is a binary64 value, so results are carried as `Double`s that
/// lie on the format's grid (or are ±inf / NaN).
///
/// | format   | p  | min normal exponent | max finite              | overflow    |
/// |----------|----|---------------------|-------------------------|-------------|
/// | `f64`    | 53 | -1022               | 0x1.fffffffffffffp+1023 | ±inf        |
/// | `f32`    | 24 | -126                | 0x1.fffffep+127         | ±inf        |
/// | `f16`    | 11 | -14                 | 65504                   | ±inf        |
/// | `bf16`   | 8  | -126                | 0x1.fep+127             | ±inf        |
/// | `e5m2`   | 3  | -14                 | 57344                   | ±inf        |
/// | `e4m3fn` | 4  | -6                  | 448                     | NaN, no inf |
///
/// `e4m3fn` (OCP FP8) has no infinities and spends its top code on NaN: a value rounds as if the
/// grid went on (480 would be next after 448), and anything that then lies above 448 becomes NaN
/// (464 gives 448, 465 gives NaN), as `ml_dtypes.float8_e4m3fn` does. An infinite exact value also
/// gives NaN there.
public enum Format: String, CaseIterable, Sendable, Hashable, Codable {
    /// IEEE 754 binary64 (double).
    case f64
    /// IEEE 754 binary32 (float).
    case f32
    /// IEEE 754 binary16 (half).
    case f16
    /// bfloat16: binary32's exponent range with 8 significand bits.
    case bf16
    /// OCP FP8 E5M2: 5 exponent bits, 2 stored significand bits, with infinities.
    case e5m2
    /// OCP FP8 E4M3FN: 4 exponent bits, 3 stored significand bits, no infinities (overflow gives
    /// NaN).
    case e4m3fn

    /// Significand bits, counting the implicit one.
    public var precision: Int {
        switch self {
        case .f64: 53
        case .f32: 24
        case .f16: 11
        case .bf16: 8
        case .e5m2: 3
        case .e4m3fn: 4
        }
    }

    /// The exponent of the least positive normal number, 2^minNormalExponent.
    public var minNormalExponent: Int {
        switch self {
        case .f64: -1022
        case .f32, .bf16: -126
        case .f16, .e5m2: -14
        case .e4m3fn: -6
        }
    }

    /// The exponent of the largest binade whose values are finite in the format (the binade
    /// that holds `maxFinite`).
    public var maxExponent: Int {
        switch self {
        case .f64: 1023
        case .f32, .bf16: 127
        case .f16, .e5m2: 15
        case .e4m3fn: 8
        }
    }

    /// The largest finite value.
    public var maxFinite: Double {
        switch self {
        case .e4m3fn: 448
        default:
            // All significand bits set in the top binade: (2 - 2^(1-p)) · 2^maxExponent.
            Double(sign: .plus, exponent: maxExponent, significand: 2 - Double(sign: .plus, exponent: 1 - precision, significand: 1))
        }
    }

    /// True for `e4m3fn`, where overflow gives NaN because the format has no infinity.
    public var overflowIsNaN: Bool { self == .e4m3fn }

    /// The exponent of the least positive subnormal, 2^(minNormalExponent - precision + 1).
    public var minSubnormalExponent: Int { minNormalExponent - precision + 1 }

    /// The least positive (subnormal) value.
    public var leastPositive: Double { Double(sign: .plus, exponent: minSubnormalExponent, significand: 1) }

    /// MPFR's exponent range that emulates this format before `mpfr_subnormalize`. MPFR writes
    /// numbers as 0.1xxx₂ · 2^e, one more than the usual exponent, so the least subnormal
    /// 2^(minNormalExponent - p + 1) has MPFR exponent minNormalExponent - p + 2. For `e4m3fn`
    /// the range goes one binade past 448 (up to 480), the "grid goes on" rule.
    public var mpfrExponentRange: (emin: Int, emax: Int) {
        (minNormalExponent - precision + 2, maxExponent + 1)
    }

    /// The spacing of the format's grid at `|x|`'s binade, clamped at the subnormal spacing:
    /// 2^(max(floor(log2|x|), minNormalExponent) - p + 1). For zero, the subnormal spacing.
    public func quantumExponent(ofBinade exponent: Int) -> Int {
        Swift.max(exponent, minNormalExponent) - precision + 1
    }

    /// `x` rounded to nearest-even into this format, in plain binary64 arithmetic (independent of
    /// MPFR: the oracle's own rounding goes through MPFR, and tests compare the two).
    ///
    /// The rounding is exact in binary64: scaling by the quantum 2^q is a power of two whose
    /// result has at most p + 1 significant bits, `rounded(.toNearestOrEven)` of such a number is
    /// exact, and scaling back is exact.
    ///
    /// Edge cases: NaN stays NaN; ±inf stays ±inf (NaN in `e4m3fn`); ±0 keeps its sign; a value that
    /// rounds to zero keeps the sign of `x`; past the largest finite value the result is ±inf
    /// (NaN in `e4m3fn`, after rounding on the continued grid).
    ///
    /// Inlinable, with binary64 decided inline (every binary64 number is its own rounding; NaN
    /// becomes the canonical NaN): the tier rounds each output through it, and the call alone
    /// was about 6% of certifying a row of 10^5 sigmoid outputs in f64.
    @inlinable
    public func round(_ x: Double) -> Double {
        if self == .f64 { return x.isNaN ? .nan : x }
        return roundIntoNarrower(x)
    }

    /// ``round(_:)`` for the formats other than f64.
    @usableFromInline
    func roundIntoNarrower(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        if x.isInfinite { return overflowIsNaN ? .nan : x }
        if x == 0 { return x }
        let q = quantumExponent(ofBinade: Int(x.exponent))
        let scaled = Double(sign: .plus, exponent: -q, significand: x)  // exact: |scaled| < 2^p+1
        let r = Double(sign: .plus, exponent: q, significand: scaled.rounded(.toNearestOrEven))
        if r.magnitude > maxFinite {
            return overflowIsNaN ? .nan : (r < 0 ? -.infinity : .infinity)
        }
        return r == 0 ? (x.sign == .minus ? -0.0 : 0.0) : r
    }

    /// True when `x` is a value of this format (±0, a grid point within range, ±inf where the
    /// format has it, or NaN).
    public func contains(_ x: Double) -> Bool {
        if x.isNaN { return true }
        if x.isInfinite { return !overflowIsNaN }
        return round(x) == x
    }
}
