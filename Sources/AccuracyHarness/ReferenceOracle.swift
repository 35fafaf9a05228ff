import SoftmaxOracle

/// One reference output: the correctly rounded value and the exact value it rounds.
public struct ReferenceValue: Sendable, Hashable {
    /// The correctly rounded result in the request's format.
    public var rounded: Double
    /// The exact result (to ~106 bits), for ULP distances.
    public var exact: ExactValue

    /// A reference of the correctly rounded `rounded` and the exact value `exact` it rounds.
    public init(rounded: Double, exact: ExactValue) {
        self.rounded = rounded
        self.exact = exact
    }

    /// A reference whose exact value is the binary64 number `x` itself (rounded into `format`).
    /// For tests and for outputs that are exact by construction.
    public init(exactly x: Double, format: Format) {
        self.init(rounded: format.round(x), exact: ExactValue(x))
    }
}

/// The source of truth the harness scores against: the certified ``Oracle`` in production, a
/// fake in unit tests, a fixture file for regression gates.
public protocol ReferenceOracle: Sendable {
    /// The reference outputs for `request`, in the order the implementations return theirs.
    /// Throws when no certified answer exists (invalid request, not certified): the case is then
    /// counted as an oracle failure and no implementation is scored on it.
    func reference(for request: OracleRequest) throws -> [ReferenceValue]
}

extension Oracle: ReferenceOracle {
    /// `evaluate(request)`, as reference values.
    public func reference(for request: OracleRequest) throws -> [ReferenceValue] {
        try evaluate(request).values.map { ReferenceValue(rounded: $0.rounded, exact: $0.exact) }
    }
}
