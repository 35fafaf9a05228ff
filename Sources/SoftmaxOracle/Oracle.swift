import MPFR

/// One certified output: the correctly rounded value and the exact value it came from.
public struct OracleValue: Sendable, Hashable {
    /// The exact value rounded once, to nearest-even, into the request's format (a value of that
    /// format, carried as a binary64 number; ±inf on overflow, NaN in e4m3fn on overflow).
    public let rounded: Double
    /// The exact value (to ~106 bits), for measuring other outputs' errors in ULPs.
    public let exact: ExactValue
}

/// The oracle's answer to a request.
public struct OracleResult: Sendable, Hashable {
    public let values: [OracleValue]
    /// The working precision (bits) at which the last output was certified.
    public let precision: Int
    /// How many times the working precision was raised (0: the first precision certified all).
    public let escalations: Int

    public var rounded: [Double] { values.map(\.rounded) }
}

/// The certified reference for the softmax family.
///
/// Each output is enclosed in an interval computed with MPFR in directed rounding, then rounded
/// to nearest-even into the output format at both ends; when both ends give the same value, that
/// value is proven to be the correct rounding of the exact result (rounding is monotone). When they
/// differ, the working precision is doubled and the enclosure recomputed, up to `maxPrecision`,
/// past which the answer is `OracleError.notCertified` — never a guess. An enclosure of width zero
/// (every step exact, e.g. equal logits) is the exact value and is rounded directly, ties to even.
public struct Oracle: Sendable {
    /// The first working precision, in bits, is the format's precision plus this.
    public var guardBits: Int
    /// The precision cap, in bits.
    public var maxPrecision: Int
    /// Largest number of values one request may hold.
    public var maxValues: Int

    public init(guardBits: Int = 40, maxPrecision: Int = 1 << 16, maxValues: Int = 10_000_000) {
        self.guardBits = guardBits
        self.maxPrecision = maxPrecision
        self.maxValues = maxValues
    }

    /// Evaluates `request`, certified.
    public func evaluate(_ request: OracleRequest) throws(OracleError) -> OracleResult {
        fatalError("not yet")
    }
}
