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

    /// Every element is correctly rounded.
    public var isCorrectlyRounded: Bool { correctlyRoundedOutputs == outputs }
    /// Some element is a special-value mismatch.
    public var hasSpecialMismatch: Bool { specialMismatches > 0 }
}

/// Scoring outputs against reference values.
public enum Scoring {
    /// Scores every element of `outputs` against `reference` in `format`.
    ///
    /// Returns nil when the lengths differ (the outputs do not answer the request; the runner
    /// counts that as an error). An element whose score is not a number is treated as +inf.
    public static func verdict(outputs: [Double], reference: [ReferenceValue], format: Format) -> CaseVerdict? {
        guard outputs.count == reference.count else { return nil }
        var v = CaseVerdict(maxULP: 0, worstElement: 0, outputs: outputs.count, correctlyRoundedOutputs: 0,
                            specialMismatches: 0, signedZeroNotes: 0)
        for (i, (y, r)) in zip(outputs, reference).enumerated() {
            let s = ULP.score(y, exact: r.exact, correctlyRounded: r.rounded, format: format)
            var ulps = s.ulps.isNaN ? .infinity : s.ulps
            switch s.outcome {
            case .correctlyRounded: v.correctlyRoundedOutputs += 1
            case .specialMismatch: v.specialMismatches += 1; ulps = .infinity
            case .finiteError: break
            }
            if s.signedZeroMismatch { v.signedZeroNotes += 1 }
            if i == 0 || ulps > v.maxULP {
                v.maxULP = ulps
                v.worstElement = i
            }
        }
        return v
    }
}
