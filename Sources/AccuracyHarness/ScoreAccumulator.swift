import SoftmaxOracle

/// The score of one scored case, as kept for statistics and plots.
public struct CaseScore: Sendable, Hashable {
    /// The case.
    public var key: CaseKey
    /// The case's logit spread (``HarnessCase/spread``).
    public var spread: Double
    /// The case's error: its largest element error in ULPs, +inf for a special mismatch.
    public var ulps: Double
    /// Every output element was correctly rounded.
    public var correctlyRounded: Bool
    /// Some output element was a special-value mismatch.
    public var specialMismatch: Bool
    /// Some output element was not a value of the requested format.
    public var offFormat: Bool = false
    /// Some output element was outside the tolerance (false when none was given).
    public var outsideTolerance: Bool = false
}

/// A case worth showing: its inputs, and its worst output next to the expected one.
public struct CaseRecord: Sendable, Hashable {
    /// The case (with `seed`, enough to regenerate it).
    public var key: CaseKey
    /// The run seed.
    public var seed: UInt64
    /// The inputs (hex floats in reports).
    public var request: OracleRequest
    /// The output element with the largest error.
    public var element: Int
    /// What the implementation returned there.
    public var output: Double
    /// The correctly rounded result there.
    public var expected: Double
    /// Its error in ULPs (+inf for a special mismatch).
    public var ulps: Double
    /// The case has a special-value mismatch (the element shown is the first one).
    public var specialMismatch: Bool
    /// The case has an output that is not a value of the requested format (the element shown is
    /// one, unless there is also a special mismatch).
    public var offFormat: Bool
    /// For the worst case by tolerance: |y − v| / (atol + rtol·|v|) at the element shown.
    public var toleranceRatio: Double?

    /// The kind of failure the case shows: what shrinking keeps.
    public var failureKind: FailureKind {
        specialMismatch ? .specialMismatch : offFormat ? .offFormat : .finiteError
    }

    /// A record from its parts (normally made by ``ScoreAccumulator``).
    public init(key: CaseKey, seed: UInt64, request: OracleRequest, element: Int, output: Double,
                expected: Double, ulps: Double, specialMismatch: Bool, offFormat: Bool = false,
                toleranceRatio: Double? = nil) {
        self.offFormat = offFormat
        self.toleranceRatio = toleranceRatio
        self.key = key
        self.seed = seed
        self.request = request
        self.element = element
        self.output = output
        self.expected = expected
        self.ulps = ulps
        self.specialMismatch = specialMismatch
    }

    /// The output there is the correctly rounded result (NaN matching NaN; a zero of either
    /// sign matching zero).
    public var outputMatches: Bool {
        output == expected || (output.isNaN && expected.isNaN)
    }

    /// True when `self` should be shown instead of `other`: a special mismatch beats an output
    /// off the format's grid, which beats a finite error; a larger tolerance ratio (when both
    /// have one), else a larger error, beats a smaller one; and on equal errors the smaller key
    /// wins (so the choice does not depend on the order of accumulation).
    public func isWorse(than other: CaseRecord) -> Bool {
        if failureKind != other.failureKind { return failureKind > other.failureKind }
        if let a = toleranceRatio, let b = other.toleranceRatio, a != b { return a > b }
        if ulps != other.ulps { return ulps > other.ulps }
        return key < other.key
    }
}

extension Format {
    /// "not an f32 value", "not a bf16 value": what an output off this format's grid is.
    public var notAValueText: String { "not \(self == .bf16 ? "a" : "an") \(rawValue) value" }
}

/// The kinds of failure of a case, from the mildest.
public enum FailureKind: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// A finite error (possibly zero).
    case finiteError
    /// An output that is not a value of the requested format.
    case offFormat
    /// NaN or ±inf where the exact value is finite, or the reverse, or the wrong infinity.
    case specialMismatch

    /// Orders kinds by severity (finite error < off the format < special mismatch).
    public static func < (a: FailureKind, b: FailureKind) -> Bool { a.rawValue < b.rawValue }

    /// "finite error", "output not in the format", "special-value mismatch".
    public var description: String {
        switch self {
        case .finiteError: "finite error"
        case .offFormat: "output not in the format"
        case .specialMismatch: "special-value mismatch"
        }
    }
}

/// A note about one unscored case (unsupported, error, oracle failure).
public struct CaseNote: Sendable, Hashable {
    /// The case.
    public var key: CaseKey
    /// What happened.
    public var message: String

    /// A note of `message` about the case `key`.
    public init(key: CaseKey, message: String) {
        self.key = key
        self.message = message
    }
}

/// Summary of one cell (implementation × function × format × family).
public struct ScoreStatistics: Sendable, Hashable {
    /// Cases attempted: scored + unsupported + errors + oracle failures.
    public var cases: Int
    /// Cases with outputs scored.
    public var scored: Int
    /// Cases the implementation declined (``ImplementationError/unsupported(_:)``).
    public var unsupported: Int
    /// Cases where it threw another error or returned the wrong number of outputs.
    public var errors: Int
    /// Cases the oracle could not certify (no implementation is scored on them).
    public var oracleFailures: Int
    /// Output elements scored.
    public var outputs: Int
    /// Largest case error over the scored cases without a special mismatch or an output off the
    /// format (nil if none).
    public var maxULP: Double?
    /// Mean case error over the same cases.
    public var meanULP: Double?
    /// Nearest-rank 99th percentile of the case error over the same cases.
    public var p99ULP: Double?
    /// Scored cases whose every output is correctly rounded.
    public var correctlyRoundedCases: Int
    /// correctlyRoundedCases / scored (nil when nothing was scored).
    public var correctlyRoundedShare: Double?
    /// Scored cases with at least one special-value mismatch.
    public var specialMismatchCases: Int
    /// Output elements that are special-value mismatches.
    public var specialMismatchOutputs: Int
    /// Output elements that are a zero of the wrong sign.
    public var signedZeroNotes: Int
    /// Scored cases with an output that is not a value of the requested format (left out of
    /// the ULP figures, like special mismatches).
    public var offFormatCases: Int = 0
    /// Scored cases with an output outside the tolerance; nil when no tolerance was given.
    public var outsideToleranceCases: Int?
    /// The tolerance applied in this cell's format, if any.
    public var tolerance: Tolerance?

    /// Every attempted case went unscored (unsupported, failed, or no reference): nothing was
    /// measured, so no accuracy claim can be made.
    public var nothingScored: Bool { cases > 0 && scored == 0 }
}

/// Accumulates case scores for one cell. `Sendable` and mergeable: cases can be scored in any
/// order, on any threads, into separate accumulators, and merged; ``statistics`` and the worst
/// cases do not depend on how the work was split (ties are broken by case key, and statistics
/// sort before they sum).
public struct ScoreAccumulator: Sendable, Hashable {
    /// The tolerance checked besides ULPs (``ToleranceRule/none``: none).
    public private(set) var toleranceRule: ToleranceRule = .none
    /// Every scored case (in accumulation order; see ``sortedScores``).
    public private(set) var scores: [CaseScore] = []
    /// Cases declined by the implementation.
    public private(set) var unsupported = 0
    /// Cases where the implementation failed or answered with the wrong number of outputs.
    public private(set) var errors = 0
    /// Cases without a reference.
    public private(set) var oracleFailures = 0
    /// Output elements scored.
    public private(set) var outputs = 0
    /// Output elements equal to the correctly rounded result.
    public private(set) var correctlyRoundedOutputs = 0
    /// Output elements that are special-value mismatches.
    public private(set) var specialMismatchOutputs = 0
    /// Output elements that are a zero of the wrong sign.
    public private(set) var signedZeroNotes = 0
    /// The worst case (special mismatches first, then the largest error).
    public private(set) var worst: CaseRecord?
    /// The worst case without a special mismatch.
    public private(set) var worstFinite: CaseRecord?
    /// The case farthest outside the tolerance (nil without a tolerance or when every case is
    /// within it).
    public private(set) var worstOutsideTolerance: CaseRecord?
    /// The first (by key) unsupported case, and why.
    public private(set) var firstUnsupported: CaseNote?
    /// The first (by key) error, and what it was.
    public private(set) var firstError: CaseNote?

    /// An accumulator with nothing recorded, checking `tolerance` besides ULPs.
    public init(tolerance: ToleranceRule = .none) {
        self.toleranceRule = tolerance
    }

    /// The scores sorted by case key.
    public var sortedScores: [CaseScore] { scores.sorted { $0.key < $1.key } }

    /// Scores `outcome` for `harnessCase` against `reference` and adds it. Returns the verdict
    /// when outputs were scored.
    @discardableResult
    public mutating func record(_ harnessCase: HarnessCase, reference: [ReferenceValue],
                                outcome: ImplementationOutcome) -> CaseVerdict? {
        let key = harnessCase.key
        switch outcome {
        case .unsupported(let why):
            unsupported += 1
            Self.keepFirst(&firstUnsupported, CaseNote(key: key, message: why))
            return nil
        case .failed(let why):
            errors += 1
            Self.keepFirst(&firstError, CaseNote(key: key, message: why))
            return nil
        case .outputs(let ys):
            let format = harnessCase.request.format
            guard let v = Scoring.verdict(outputs: ys, reference: reference, format: format,
                                          tolerance: toleranceRule.tolerance(for: format)) else {
                errors += 1
                Self.keepFirst(&firstError, CaseNote(key: key, message: "returned \(ys.count) outputs, expected \(reference.count)"))
                return nil
            }
            scores.append(CaseScore(key: key, spread: harnessCase.spread, ulps: v.maxULP,
                                    correctlyRounded: v.isCorrectlyRounded, specialMismatch: v.hasSpecialMismatch,
                                    offFormat: v.hasOffFormatOutput, outsideTolerance: v.outsideTolerance > 0))
            outputs += v.outputs
            correctlyRoundedOutputs += v.correctlyRoundedOutputs
            specialMismatchOutputs += v.specialMismatches
            signedZeroNotes += v.signedZeroNotes
            if v.outputs > 0 {
                let e = v.worstElement
                let record = CaseRecord(key: key, seed: harnessCase.seed, request: harnessCase.request, element: e,
                                        output: ys[e], expected: reference[e].rounded, ulps: v.maxULP,
                                        specialMismatch: v.hasSpecialMismatch, offFormat: v.hasOffFormatOutput)
                Self.keepWorse(&worst, record)
                if !v.hasSpecialMismatch { Self.keepWorse(&worstFinite, record) }
                if let ratio = v.toleranceRatio, ratio > 0 {
                    let t = v.worstToleranceElement
                    Self.keepWorse(&worstOutsideTolerance, CaseRecord(
                        key: key, seed: harnessCase.seed, request: harnessCase.request, element: t, output: ys[t],
                        expected: reference[t].rounded, ulps: v.maxULP, specialMismatch: v.hasSpecialMismatch,
                        offFormat: v.hasOffFormatOutput, toleranceRatio: ratio))
                }
            }
            return v
        }
    }

    /// Counts a case the oracle could not answer.
    public mutating func recordOracleFailure(_ harnessCase: HarnessCase) {
        oracleFailures += 1
    }

    /// Adds everything `other` accumulated.
    public mutating func merge(_ other: ScoreAccumulator) {
        scores += other.scores
        unsupported += other.unsupported
        errors += other.errors
        oracleFailures += other.oracleFailures
        outputs += other.outputs
        correctlyRoundedOutputs += other.correctlyRoundedOutputs
        specialMismatchOutputs += other.specialMismatchOutputs
        signedZeroNotes += other.signedZeroNotes
        if let w = other.worst { Self.keepWorse(&worst, w) }
        if let w = other.worstFinite { Self.keepWorse(&worstFinite, w) }
        if let w = other.worstOutsideTolerance { Self.keepWorse(&worstOutsideTolerance, w) }
        if !toleranceRule.isSet { toleranceRule = other.toleranceRule }
        if let n = other.firstUnsupported { Self.keepFirst(&firstUnsupported, n) }
        if let n = other.firstError { Self.keepFirst(&firstError, n) }
    }

    /// `self` and `other` merged.
    public func merged(with other: ScoreAccumulator) -> ScoreAccumulator {
        var m = self
        m.merge(other)
        return m
    }

    /// The cell's summary.
    public var statistics: ScoreStatistics {
        let finite = scores.filter { !$0.specialMismatch && !$0.offFormat }.map(\.ulps)
        let correct = scores.count(where: \.correctlyRounded)
        return ScoreStatistics(
            cases: scores.count + unsupported + errors + oracleFailures,
            scored: scores.count, unsupported: unsupported, errors: errors, oracleFailures: oracleFailures,
            outputs: outputs,
            maxULP: Statistics.maximum(finite), meanULP: Statistics.mean(finite),
            p99ULP: Statistics.percentile(finite, 99),
            correctlyRoundedCases: correct,
            correctlyRoundedShare: scores.isEmpty ? nil : Double(correct) / Double(scores.count),
            specialMismatchCases: scores.count(where: \.specialMismatch),
            specialMismatchOutputs: specialMismatchOutputs, signedZeroNotes: signedZeroNotes,
            offFormatCases: scores.count(where: \.offFormat),
            outsideToleranceCases: toleranceRule.isSet ? scores.count(where: \.outsideTolerance) : nil,
            tolerance: scores.first.flatMap { toleranceRule.tolerance(for: $0.key.format) })
    }

    private static func keepWorse(_ slot: inout CaseRecord?, _ candidate: CaseRecord) {
        if let current = slot, !candidate.isWorse(than: current) { return }
        slot = candidate
    }

    private static func keepFirst(_ slot: inout CaseNote?, _ candidate: CaseNote) {
        if let current = slot, !(candidate.key < current.key) { return }
        slot = candidate
    }
}
