import SoftmaxOracle

/// An absolute and a relative tolerance, as `torch.testing.assert_close` applies them: a finite
/// output y is close to the exact value v when |y − v| ≤ atol + rtol·|v|.
///
/// Here v is the exact value rounded to binary64 (the oracle knows it to ~106 bits), not the
/// correctly rounded value of the output format: in f32 the two differ by at most half an f32
/// ULP, far below any tolerance a user states.
///
/// Special values are not a matter of tolerance (unlike `assert_close`'s `equal_nan=False`, NaN
/// matches NaN): NaN against a number, ±inf against a finite value, and an infinity of the
/// wrong sign are never close; equal infinities and NaN against NaN are.
public struct Tolerance: Sendable, Hashable, CustomStringConvertible {
    /// The absolute tolerance (≥ 0).
    public var atol: Double
    /// The relative tolerance (≥ 0).
    public var rtol: Double

    /// A tolerance of `atol` + `rtol`·|v|.
    public init(atol: Double, rtol: Double) {
        self.atol = atol
        self.rtol = rtol
    }

    /// Whether output `y` is close to the exact value `v` (see the type's documentation).
    public func accepts(_ y: Double, exact v: Double) -> Bool {
        if y.isNaN || v.isNaN { return y.isNaN && v.isNaN }
        if y.isInfinite || v.isInfinite { return y == v }
        return (y - v).magnitude <= atol + rtol * v.magnitude
    }

    /// `atol 1e-05, rtol 1.3e-06`.
    public var description: String { "atol \(atol), rtol \(rtol)" }

    /// `torch.testing.assert_close`'s defaults for the output format (PyTorch's
    /// `torch.testing._comparison._DTYPE_PRECISIONS`, as (rtol, atol)): float64 (1e-7, 1e-7),
    /// float32 (1.3e-6, 1e-5), float16 (1e-3, 1e-5), bfloat16 (1.6e-2, 1e-5).
    ///
    /// PyTorch has no defaults for the FP8 formats (it compares them exactly). Ours follow
    /// float16's pattern, rtol about one machine epsilon 2^(1−p): e4m3fn rtol 2^-3, e5m2 rtol
    /// 2^-2; and atol the format's least positive value (e4m3fn 2^-9, e5m2 2^-16), so that an
    /// output one grid step from zero is close, as atol 1e-5 allows in the wider formats.
    public static func torchDefault(for format: Format) -> Tolerance {
        switch format {
        case .f64: Tolerance(atol: 1e-7, rtol: 1e-7)
        case .f32: Tolerance(atol: 1e-5, rtol: 1.3e-6)
        case .f16: Tolerance(atol: 1e-5, rtol: 1e-3)
        case .bf16: Tolerance(atol: 1e-5, rtol: 1.6e-2)
        case .e4m3fn, .e5m2: Tolerance(atol: format.leastPositive, rtol: Double(sign: .plus, exponent: 1 - format.precision, significand: 1))
        }
    }
}

/// The tolerance a run applies, per output format: none, one fixed pair, or a preset with
/// optional overrides.
public struct ToleranceRule: Sendable, Hashable {
    /// Presets of per-format tolerances.
    public enum Preset: String, Sendable, Hashable, CaseIterable {
        /// ``Tolerance/torchDefault(for:)``.
        case torch
    }

    /// The preset, if any.
    public var preset: Preset?
    /// An absolute tolerance for every format (overrides the preset's).
    public var atol: Double?
    /// A relative tolerance for every format (overrides the preset's).
    public var rtol: Double?

    /// A rule. Without a preset, a missing `atol` or `rtol` is 0 (when the other is given).
    public init(preset: Preset? = nil, atol: Double? = nil, rtol: Double? = nil) {
        self.preset = preset
        self.atol = atol
        self.rtol = rtol
    }

    /// No tolerance.
    public static let none = ToleranceRule()

    /// Whether the rule sets any tolerance.
    public var isSet: Bool { preset != nil || atol != nil || rtol != nil }

    /// The tolerance for outputs in `format`, nil when the rule sets none.
    public func tolerance(for format: Format) -> Tolerance? {
        guard isSet else { return nil }
        let base = preset.map { _ in Tolerance.torchDefault(for: format) } ?? Tolerance(atol: 0, rtol: 0)
        return Tolerance(atol: atol ?? base.atol, rtol: rtol ?? base.rtol)
    }

    /// `torch (assert_close defaults per format)`, `atol 1e-05, rtol 0`, or `none`.
    public var description: String {
        guard isSet else { return "none" }
        var parts: [String] = []
        if let preset { parts.append("\(preset.rawValue) (assert_close's defaults per format)") }
        if let atol { parts.append("atol \(atol)") }
        if let rtol { parts.append("rtol \(rtol)") }
        if preset == nil { if atol == nil { parts.append("atol 0") } else if rtol == nil { parts.append("rtol 0") } }
        return parts.joined(separator: ", ")
    }
}
