// The storage formats of the mixed-precision kernels (Mixed.swift): narrow values loaded into
// `Float` for the arithmetic and rounded back once.

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
    /// The value itself.
    public var floatValue: Float { self }
}

extension Double: MixedPrecisionStorage {
    /// The value rounded to `Float` (exact for Float16; one rounding for Double).
    public var floatValue: Float { Float(self) }
}

#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
@available(macOS 11.0, iOS 14.0, tvOS 14.0, watchOS 7.0, *)
extension Float16: MixedPrecisionStorage {
    /// The value rounded to `Float` (exact for Float16; one rounding for Double).
    public var floatValue: Float { Float(self) }
}
#endif
