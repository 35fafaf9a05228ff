import OracleIO
import SoftmaxOracle

/// The report as JSON, for machines: stable key order, two-space indentation, arrays of
/// scalars on one line (``OracleIO/JSONValue/prettyPrinted``), a trailing newline.
/// Deterministic: the same result gives the same bytes.
///
/// Floats that are inputs or outputs are exact hex-float strings (`"0x1.8p+1"`, `"inf"`, `"nan"`);
/// ULP statistics are JSON numbers (shortest round-trip decimal), `"inf"` when infinite, `null`
/// when there is nothing to summarize. Worst cases carry the seed, family, format, function and
/// index, which regenerate them; inputs are written out in full up to `fullInputLimit` values.
///
/// Layout (schema `softmax-oracle.harness-report/1`):
/// ```
/// { "schema", "seed", "cases", "implementations": [..],
///   "summary": [ {implementation, function, format, family: null, ...statistics} ],
///   "cells":   [ {implementation, function, format, family, ...statistics, "worst": {...}|null} ],
///   "oracle_failures": [ {"case", "message"} ] }
/// ```
public enum JSONReport {
    /// The schema name and version written as the first member.
    public static let schema = "softmax-oracle.harness-report/1"

    /// The JSON text of `result` (see the layout above), with a trailing newline.
    public static func render(_ result: HarnessResult, fullInputLimit: Int = 256,
                              maxMessageLength: Int = 2_000) -> String {
        value(result, fullInputLimit: fullInputLimit, maxMessageLength: maxMessageLength).prettyPrinted + "\n"
    }

    /// The report as a `JSONValue` (ordered members). Messages longer than `maxMessageLength`
    /// characters are cut (an oracle's "not certified" message can carry a 65 536-bit enclosure).
    public static func value(_ result: HarnessResult, fullInputLimit: Int = 256,
                             maxMessageLength: Int = 2_000) -> JSONValue {
        let note = { (n: CaseNote) -> JSONValue in
            .object([("case", .string(n.key.description)),
                     ("message", .string(NumberText.truncated(n.message, maxMessageLength)))])
        }
        let summary = result.summaryKeys.map { k in
            row(implementation: k.implementation, function: k.function, format: k.format, family: nil,
                accumulator: result.summary(implementation: k.implementation, function: k.function, format: k.format),
                worst: false, limit: fullInputLimit, note: note)
        }
        let cells = result.cells.map {
            row(implementation: $0.implementation, function: $0.function, format: $0.format, family: $0.family,
                accumulator: $0.accumulator, worst: true, limit: fullInputLimit, note: note)
        }
        return .object([
            ("schema", .string(schema)),
            ("seed", .string(NumberText.hex64(result.seed))),
            ("cases", .number(result.caseCount)),
            ("implementations", .array(result.implementations.map { .string($0) })),
            ("summary", .array(summary)),
            ("cells", .array(cells)),
            ("oracle_failures", .array(result.oracleFailures.map(note))),
        ])
    }

    static func row(implementation: String, function: OracleFunction, format: Format, family: Family?,
                    accumulator a: ScoreAccumulator, worst includeWorst: Bool, limit: Int,
                    note: (CaseNote) -> JSONValue) -> JSONValue {
        let s = a.statistics
        var members: [(String, JSONValue)] = [
            ("implementation", .string(implementation)),
            ("function", .string(function.rawValue)),
            ("format", .string(format.rawValue)),
            ("family", family.map { .string($0.rawValue) } ?? .null),
            ("cases", .number(s.cases)),
            ("scored", .number(s.scored)),
            ("unsupported", .number(s.unsupported)),
            ("errors", .number(s.errors)),
            ("oracle_failures", .number(s.oracleFailures)),
            ("outputs", .number(s.outputs)),
            ("max_ulp", ulp(s.maxULP)),
            ("mean_ulp", ulp(s.meanULP)),
            ("p99_ulp", ulp(s.p99ULP)),
            ("correctly_rounded_cases", .number(s.correctlyRoundedCases)),
            ("correctly_rounded_share", ulp(s.correctlyRoundedShare)),
            ("special_mismatch_cases", .number(s.specialMismatchCases)),
            ("special_mismatch_outputs", .number(s.specialMismatchOutputs)),
            ("signed_zero_notes", .number(s.signedZeroNotes)),
        ]
        if includeWorst {
            members.append(("worst", a.worst.map { record($0, limit: limit) } ?? .null))
            members.append(("first_unsupported", a.firstUnsupported.map(note) ?? .null))
            members.append(("first_error", a.firstError.map(note) ?? .null))
        }
        return .object(members)
    }

    static func record(_ r: CaseRecord, limit: Int) -> JSONValue {
        let q = r.request
        var members: [(String, JSONValue)] = [
            ("function", .string(r.key.function.rawValue)),
            ("format", .string(r.key.format.rawValue)),
            ("family", .string(r.key.family.rawValue)),
            ("index", .number(r.key.index)),
            ("seed", .string(NumberText.hex64(r.seed))),
            ("element", .number(r.element)),
            ("output", .string(NumberText.hex(r.output))),
            ("expected", .string(NumberText.hex(r.expected))),
            ("ulps", ulp(r.ulps)),
            ("special_mismatch", .bool(r.specialMismatch)),
        ]
        let count = HarnessCase.allLogits(of: q).count
        members.append(("logit_count", .number(count)))
        if count <= limit {
            if let batch = q.batch {
                members.append(("batch", .array(batch.map(hexArray))))
            } else {
                members.append(("logits", hexArray(q.logits)))
            }
            switch q.target {
            case .index(let t)?: members.append(("target", .number(t)))
            case .probabilities(let p)?: members.append(("targets", hexArray(p)))
            case nil: break
            }
            switch q.batchTargets {
            case .indices(let t)?: members.append(("targets", .array(t.map { .number($0) })))
            case .probabilities(let p)?: members.append(("targets", .array(p.map(hexArray))))
            case nil: break
            }
            if q.labelSmoothing != 0 { members.append(("label_smoothing", .string(NumberText.hex(q.labelSmoothing)))) }
            if let w = q.weight { members.append(("weight", hexArray(w))) }
            if let z = q.labels { members.append(("labels", hexArray(z))) }
            if let w = q.posWeight { members.append(("pos_weight", hexArray(w))) }
            if let d = q.gradOutput { members.append(("grad_output", hexArray(d))) }
            if q.function.isBatchLoss {
                members.append(("ignore_index", .number(q.ignoreIndex)))
                members.append(("reduction", .string(q.reduction.rawValue)))
            }
            if let c = q.softcap { members.append(("softcap", .string(NumberText.hex(c)))) }
            if q.zLoss != 0 { members.append(("z_loss", .string(NumberText.hex(q.zLoss)))) }
            if let t = q.temperature { members.append(("temperature", .string(NumberText.hex(t)))) }
        }
        return .object(members)
    }

    static func hexArray(_ xs: [Double]) -> JSONValue {
        .array(xs.map { .string(NumberText.hex($0)) })
    }

    /// A statistic: a JSON number, "inf", or null.
    static func ulp(_ x: Double?) -> JSONValue {
        x.map(JSONValue.numberOrSpecial) ?? .null
    }
}
