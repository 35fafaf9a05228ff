import SoftmaxOracle

/// What an implementation did with one request.
public enum ImplementationOutcome: Sendable, Hashable {
    /// It returned these outputs.
    case outputs([Double])
    /// It threw ``ImplementationError/unsupported(_:)``.
    case unsupported(String)
    /// It threw any other error.
    case failed(String)

    /// Runs `implementation` on `request`, catching what it throws.
    public static func run(_ implementation: any ImplementationUnderTest, on request: OracleRequest) -> ImplementationOutcome {
        do {
            return .outputs(try implementation.evaluate(request))
        } catch let ImplementationError.unsupported(why) {
            return .unsupported(why)
        } catch {
            return .failed(String(describing: error))
        }
    }
}

/// The score of one case: every output element scored with `ULP.score`, the case's error being
/// its largest element error.
public struct CaseVerdict: Sendable, Hashable {
    /// The largest element error in ULPs; +inf when an element is a special-value mismatch.
    public var maxULP: Double
    /// The element with the largest error (the first one, on ties).
    public var worstElement: Int
    /// Output elements scored.
    public var outputs: Int
    /// Elements equal to the correctly rounded result.
    public var correctlyRoundedOutputs: Int
    /// Elements that are special-value mismatches.
    public var specialMismatches: Int
    /// Elements that are a zero of the wrong sign (counted as correctly rounded).
    public var signedZeroNotes: Int
    /// Elements that are not values of the requested format (e.g. binary64 values answered for
    /// an f32 request): a failure of their own, never counted as close.
    public var offFormatOutputs: Int = 0
    /// Elements outside the tolerance (0 when none was given).
    public var outsideTolerance: Int = 0
    /// The element farthest outside the tolerance, as |y − v| / (atol + rtol·|v|) (+inf for a
    /// special-value mismatch); nil when no tolerance was given.
    public var toleranceRatio: Double?
    /// The element with the largest tolerance ratio.
    public var worstToleranceElement: Int = 0

    /// Every element is correctly rounded.
    public var isCorrectlyRounded: Bool { correctlyRoundedOutputs == outputs }
    /// Some element is a special-value mismatch.
    public var hasSpecialMismatch: Bool { specialMismatches > 0 }
    /// Some element is not a value of the requested format.
    public var hasOffFormatOutput: Bool { offFormatOutputs > 0 }
}

/// Scoring outputs against reference values.
public enum Scoring {
    /// Scores every element of `outputs` against `reference` in `format`.
    ///
    /// Returns nil when the lengths differ (the outputs do not answer the request; the runner
    /// counts that as an error). An element whose score is not a number is treated as +inf.
    ///
    /// An element that is not a value of `format` (``Format/contains(_:)``) is counted in
    /// ``CaseVerdict/offFormatOutputs`` and keeps its ULP distance; the worst element is a
    /// special mismatch if there is one, else an off-format element if there is one, else the
    /// largest error. With a `tolerance`, every element is also checked against it.
    public static func verdict(outputs: [Double], reference: [ReferenceValue], format: Format,
                               tolerance: Tolerance? = nil) -> CaseVerdict? {
        guard outputs.count == reference.count else { return nil }
        var v = CaseVerdict(maxULP: 0, worstElement: 0, outputs: outputs.count, correctlyRoundedOutputs: 0,
                            specialMismatches: 0, signedZeroNotes: 0)
        var worstRank = -1
        if tolerance != nil { v.toleranceRatio = 0 }
        for (i, (y, r)) in zip(outputs, reference).enumerated() {
            let s = ULP.score(y, exact: r.exact, correctlyRounded: r.rounded, format: format)
            var ulps = s.ulps.isNaN ? .infinity : s.ulps
            var rank = 0
            switch s.outcome {
            case .correctlyRounded: v.correctlyRoundedOutputs += 1
            case .specialMismatch: v.specialMismatches += 1; ulps = .infinity; rank = 2
            case .finiteError: break
            }
            if rank == 0 && !format.contains(y) { v.offFormatOutputs += 1; rank = 1 }
            if s.signedZeroMismatch { v.signedZeroNotes += 1 }
            if rank > worstRank || (rank == worstRank && ulps > v.maxULP) {
                v.maxULP = ulps
                v.worstElement = i
                worstRank = rank
            }
            if let tolerance, let worst = v.toleranceRatio {
                let exact = r.exact.kind == .nan ? r.rounded : r.exact.approximateDouble
                // A correctly rounded output is always close; a special mismatch never is.
                let ratio: Double = switch s.outcome {
                case .correctlyRounded: 0
                case .specialMismatch: .infinity
                case .finiteError: tolerance.accepts(y, exact: exact) ? 0 : Self.ratio(y, exact, tolerance)
                }
                if ratio > 0 { v.outsideTolerance += 1 }
                if ratio > worst { v.toleranceRatio = ratio; v.worstToleranceElement = i }
            }
        }
        return v
    }

    /// |y − v| / (atol + rtol·|v|) for an output outside the tolerance; +inf for special values
    /// and a zero tolerance.
    static func ratio(_ y: Double, _ v: Double, _ t: Tolerance) -> Double {
        guard y.isFinite, v.isFinite else { return .infinity }
        let bound = t.atol + t.rtol * v.magnitude
        let r = (y - v).magnitude / bound
        return r.isNaN ? .infinity : r
    }
}

