import AccuracyHarness
import SoftmaxOracle

/// The limits `check` holds an implementation to.
///
/// - A per-function limit beats the global one; a function with neither has no limit on its
///   finite errors.
/// - A special-value mismatch (NaN or inf where the exact value is finite, or the reverse) fails
///   unless ``allowSpecialMismatch``.
/// - An error (a failed request, a missing stored result) fails: the cell is not covered.
/// - An output that is not a value of the requested format fails, whatever the limits.
/// - A row in which nothing was scored (every case unsupported or failed) fails unless
///   ``allowUnsupported``: it measured nothing.
/// - With a ``tolerance``, a case with an output outside atol + rtol·|v| fails.
public struct CheckThresholds: Sendable, Hashable {
    /// The limit in ULPs for every function without its own (nil: none).
    public var global: Double?
    /// Limits for single functions.
    public var perFunction: [OracleFunction: Double]
    /// Special-value mismatches do not fail.
    public var allowSpecialMismatch: Bool
    /// A row with nothing scored does not fail.
    public var allowUnsupported: Bool = false
    /// The `torch.testing.assert_close`-style tolerance checked besides ULPs.
    public var tolerance: ToleranceRule = .none

    /// The error above which a worst case is shrunk when no limit applies to its function: one
    /// ULP, i.e. anything that is not even faithfully rounded.
    public static let defaultShrinkLimit = 1.0

    /// Limits: `global` for every function, `perFunction` overriding it; nil and absent mean
    /// no ULP limit.
    public init(global: Double? = nil, perFunction: [OracleFunction: Double] = [:], allowSpecialMismatch: Bool = false,
                allowUnsupported: Bool = false, tolerance: ToleranceRule = .none) {
        self.global = global
        self.perFunction = perFunction
        self.allowSpecialMismatch = allowSpecialMismatch
        self.allowUnsupported = allowUnsupported
        self.tolerance = tolerance
    }

    /// Reads `--max-ulp` values: `N` (global) or `FUNCTION=N`; N a non-negative number or `inf`.
    ///
    /// - Throws: ``ThresholdError`` naming the value.
    public static func parse(_ specs: [String], allowSpecialMismatch: Bool = false) throws(ThresholdError) -> CheckThresholds {
        var t = CheckThresholds(allowSpecialMismatch: allowSpecialMismatch)
        for spec in specs {
            if let eq = spec.firstIndex(of: "=") {
                let name = String(spec[..<eq])
                guard let f = OracleFunction(rawValue: name) else {
                    throw ThresholdError(spec: spec, reason: "unknown function \"\(name)\" (expected one of: "
                        + OracleFunction.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                }
                t.perFunction[f] = try limit(String(spec[spec.index(after: eq)...]), spec)
            } else {
                t.global = try limit(spec, spec)
            }
        }
        return t
    }

    private static func limit(_ text: String, _ spec: String) throws(ThresholdError) -> Double {
        let lower = text.lowercased()
        if lower == "inf" || lower == "infinity" || lower == "none" { return .infinity }
        guard let x = Double(text), x.isFinite, x >= 0 else {
            throw ThresholdError(spec: spec, reason: "\"\(text)\" is not a non-negative number of ULPs (or inf)")
        }
        return x
    }

    /// The limit for `function`, if any.
    public func maxULP(for function: OracleFunction) -> Double? {
        perFunction[function] ?? global
    }

    /// Whether any limit on finite errors is set: a ULP limit or a tolerance.
    public var hasLimits: Bool { global != nil || !perFunction.isEmpty || tolerance.isSet }
}

/// A `--max-ulp` value that cannot be read.
public struct ThresholdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The value as given.
    public var spec: String
    /// What is wrong with it.
    public var reason: String
    /// `--max-ulp <spec>: <reason>`.
    public var description: String { "--max-ulp \(spec): \(reason)" }
}

/// One (function, format) that broke the limits.
public struct GateFailure: Sendable, Hashable, CustomStringConvertible {
    /// The function of the row.
    public var function: OracleFunction
    /// The format of the row.
    public var format: Format
    /// Why: "max 3.5 ulp > 1", "2 cases with special-value mismatches", "4 errors".
    public var reasons: [String]

    /// `softmax/f32: max 3.5 ulp > 1; 2 cases with special-value mismatches`.
    public var description: String {
        "\(function.rawValue)/\(format.rawValue): " + reasons.joined(separator: "; ")
    }
}

/// Applies ``CheckThresholds`` to the summary rows (implementation × function × format) of a
/// result.
public enum CheckGate {
    /// The rows that fail, in report order.
    public static func failures(_ result: HarnessResult, thresholds: CheckThresholds) -> [GateFailure] {
        var out: [GateFailure] = []
        for k in result.summaryKeys {
            let s = result.summary(implementation: k.implementation, function: k.function, format: k.format).statistics
            var reasons: [String] = []
            if let limit = thresholds.maxULP(for: k.function), let max = s.maxULP, max > limit {
                reasons.append("max \(ulpText(max)) ulp > \(ulpText(limit))")
            }
            if s.specialMismatchCases > 0 && !thresholds.allowSpecialMismatch {
                reasons.append("\(s.specialMismatchCases) case\(s.specialMismatchCases == 1 ? "" : "s") with special-value mismatches")
            }
            if s.offFormatCases > 0 {
                reasons.append("\(plural(s.offFormatCases, "case")) with outputs off the \(k.format.rawValue) grid (\(k.format.notAValueText))")
            }
            if let outside = s.outsideToleranceCases, outside > 0, let t = s.tolerance {
                reasons.append("\(plural(outside, "case")) outside the tolerance (\(t))")
            }
            if s.errors > 0 {
                reasons.append(plural(s.errors, "error"))
            }
            // Cases that all failed already fail as errors; the line is for rows the errors do not explain.
            if s.nothingScored && s.unsupported + s.oracleFailures > 0 && !thresholds.allowUnsupported {
                reasons.append("nothing scored: \(s.cases) of \(s.cases) cases unsupported or failed"
                    + " (\(s.unsupported) unsupported, \(s.errors) errors, \(s.oracleFailures) without a reference);"
                    + " pass --allow-unsupported to accept")
            }
            if !reasons.isEmpty { out.append(GateFailure(function: k.function, format: k.format, reasons: reasons)) }
        }
        return out
    }
}

/// A worst case and its shrunk reproducer.
public struct ShrunkFailure: Sendable, Hashable {
    /// The implementation's name.
    public var implementation: String
    /// What "still fails" meant while shrinking.
    public var criterion: FailureCriterion
    /// The worst case of its (function, format), as scored in the run.
    public var original: CaseRecord
    /// The shrunk case, rescored (nil if rescoring it failed: the process died meanwhile).
    public var shrunk: CaseRecord?
    /// Steps, attempts, fixpoint.
    public var shrinkResult: ShrinkResult
}

/// Shrinks the worst case of each (function, format) that fails, by querying the implementation
/// again on smaller inputs (``Shrinker`` with ``FailureCriterion``).
public enum CheckShrinking {
    /// For each summary row: the worst case (the worst *finite* case when special mismatches are
    /// allowed), shrunk when it fails `thresholds` — or, for a function without a limit, when it
    /// is off by more than ``CheckThresholds/defaultShrinkLimit`` ULP, is a special mismatch or
    /// has an output off the format's grid. Shrinking keeps the kind of failure
    /// (``FailureCriterion/sameKind(as:limit:)``): a special mismatch shrinks to a smaller special
    /// mismatch, an output off the grid to a smaller one, a finite error to a smaller case whose
    /// error is above the limit and within a factor of 16 of the original's.
    ///
    /// - Parameter shouldStop: checked between rows (a process that failed while shrinking).
    public static func shrinkFailures(_ result: HarnessResult, implementation: any ImplementationUnderTest,
                                      oracle: any ReferenceOracle, thresholds: CheckThresholds,
                                      shrinker: Shrinker = Shrinker(maxAttempts: 500),
                                      shouldStop: () -> Bool = { false }) -> [ShrunkFailure] {
        var out: [ShrunkFailure] = []
        for k in result.summaryKeys where k.implementation == implementation.name {
            if shouldStop() { break }
            let a = result.summary(implementation: k.implementation, function: k.function, format: k.format)
            guard let worst = thresholds.allowSpecialMismatch ? a.worstFinite : a.worst, !worst.outputMatches else { continue }
            let limit = thresholds.maxULP(for: k.function) ?? CheckThresholds.defaultShrinkLimit
            if worst.failureKind == .finiteError && !(worst.ulps > limit) { continue }
            let criterion = FailureCriterion.sameKind(as: worst, limit: limit)
            let predicate = criterion.predicate(implementation: implementation, oracle: oracle)
            let shrinkResult = shrinker.shrink(worst.request, stillFails: predicate)
            let rescored = score(shrinkResult.request, implementation: implementation, oracle: oracle, like: worst)
            out.append(ShrunkFailure(implementation: implementation.name, criterion: criterion, original: worst,
                                     shrunk: rescored, shrinkResult: shrinkResult))
        }
        return out
    }

    /// `request` scored again, as a record with `like`'s key and seed.
    static func score(_ request: OracleRequest, implementation: any ImplementationUnderTest, oracle: any ReferenceOracle,
                      like original: CaseRecord) -> CaseRecord? {
        guard let reference = try? oracle.reference(for: request),
              case .outputs(let ys) = ImplementationOutcome.run(implementation, on: request),
              let v = Scoring.verdict(outputs: ys, reference: reference, format: request.format), v.outputs > 0
        else { return nil }
        let e = v.worstElement
        return CaseRecord(key: original.key, seed: original.seed, request: request, element: e, output: ys[e],
                          expected: reference[e].rounded, ulps: v.maxULP, specialMismatch: v.hasSpecialMismatch,
                          offFormat: v.hasOffFormatOutput)
    }
}

/// A ULP figure for messages: "0.5", "3.25", "1.2e+16", "inf".
func ulpText(_ x: Double) -> String {
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x.isNaN { return "nan" }
    if x != 0 && (x >= 1e5 || x < 1e-3) {
        // Three significant digits in exponent form.
        var e = 0
        var m = x
        while m >= 10 { m /= 10; e += 1 }
        while m < 1 { m *= 10; e -= 1 }
        let r = (m * 100).rounded() / 100
        return "\(r)e\(e < 0 ? "-" : "+")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
    let r = (x * 1000).rounded() / 1000
    return r == r.rounded() ? String(Int(r)) : String(r)
}

/// "1 case", "3 cases".
func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
