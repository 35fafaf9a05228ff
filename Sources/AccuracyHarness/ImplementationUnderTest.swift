import SoftmaxOracle

/// An implementation of softmax-family functions that the harness scores against the oracle.
///
/// In-process kernels conform directly (or through ``AnyImplementation``, a few lines per
/// adapter); an external process speaking JSON Lines, or a file of stored results, can conform
/// as well: the protocol asks only for a name, a support table, and outputs for a request.
///
/// Outputs are binary64 numbers: for a request in format F they should be values of F (an output
/// off F's grid is scored as it is, and cannot be correctly rounded).
public protocol ImplementationUnderTest: Sendable {
    /// A short, unique name for reports ("naive", "shifted-f32", "torch-2.5").
    var name: String { get }

    /// Whether the implementation computes `function` in `format` at all. Cells where this is
    /// false are left out of a run (and out of reports).
    func supports(_ function: OracleFunction, format: Format) -> Bool

    /// The outputs for `request`, one per oracle output (K for the vector functions, 1 for
    /// logsumexp and the cross-entropies, N or 1 for the batch loss).
    ///
    /// Throw ``ImplementationError/unsupported(_:)`` for a request the implementation does not
    /// handle (e.g. probability targets, label smoothing): counted as *unsupported*. Any other
    /// error is counted as an *error*. Neither is scored.
    func evaluate(_ request: OracleRequest) throws -> [Double]
}

/// Errors an implementation under test may throw.
public enum ImplementationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request uses something the implementation does not implement.
    case unsupported(String)
    /// The implementation failed (a crash of an external process, a malformed reply, …).
    case failed(String)

    /// "unsupported: …" or "failed: …".
    public var description: String {
        switch self {
        case .unsupported(let why): "unsupported: \(why)"
        case .failed(let why): "failed: \(why)"
        }
    }
}

/// An implementation made of closures: the shortest way to adapt a kernel.
///
/// ```swift
/// let naive = AnyImplementation(name: "naive", functions: [.softmax], formats: [.f64]) { request in
///     naiveSoftmax(request.logits)
/// }
/// ```
public struct AnyImplementation: ImplementationUnderTest {
    /// The name given at creation.
    public let name: String
    private let supportsBody: @Sendable (OracleFunction, Format) -> Bool
    private let evaluateBody: @Sendable (OracleRequest) throws -> [Double]

    /// An implementation whose support table and outputs are the given closures.
    public init(name: String,
                supports: @escaping @Sendable (OracleFunction, Format) -> Bool,
                evaluate: @escaping @Sendable (OracleRequest) throws -> [Double]) {
        self.name = name
        self.supportsBody = supports
        self.evaluateBody = evaluate
    }

    /// An implementation that supports exactly `functions` × `formats`.
    public init(name: String, functions: Set<OracleFunction>, formats: Set<Format>,
                evaluate: @escaping @Sendable (OracleRequest) throws -> [Double]) {
        self.init(name: name, supports: { functions.contains($0) && formats.contains($1) }, evaluate: evaluate)
    }

    /// Calls the `supports` closure given at creation.
    public func supports(_ function: OracleFunction, format: Format) -> Bool {
        supportsBody(function, format)
    }

    /// Calls the `evaluate` closure given at creation.
    public func evaluate(_ request: OracleRequest) throws -> [Double] {
        try evaluateBody(request)
    }
}
