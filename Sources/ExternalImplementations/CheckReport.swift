import AccuracyHarness
import OracleIO
import SoftmaxOracle

/// Everything one `check` found: the scores, the verdict, the shrunk reproducers, and a protocol
/// failure if there was one.
public struct CheckOutcome: Sendable, Hashable {
    /// What was checked: the command, or the results and fixtures files.
    public var subject: String
    /// The run.
    public var run: ExternalRunResult
    /// The limits applied.
    public var thresholds: CheckThresholds
    /// The (function, format) rows over the limits.
    public var gateFailures: [GateFailure]
    /// The shrunk worst cases.
    public var shrunk: [ShrunkFailure]
    /// The process or file failure that makes the run unusable (exit status 2), if any.
    public var protocolError: String?
    /// Other things worth saying (results for unknown ids, fixture lines without a family, …).
    public var notes: [String]
    /// False for stored results, which cannot answer the smaller inputs shrinking asks about.
    public var canShrink: Bool

    /// An outcome from its parts (made by `check`).
    public init(subject: String, run: ExternalRunResult, thresholds: CheckThresholds, gateFailures: [GateFailure],
                shrunk: [ShrunkFailure], protocolError: String? = nil, notes: [String] = [], canShrink: Bool = true) {
        self.subject = subject
        self.run = run
        self.thresholds = thresholds
        self.gateFailures = gateFailures
        self.shrunk = shrunk
        self.protocolError = protocolError
        self.notes = notes
        self.canShrink = canShrink
    }

    /// 2 on a protocol error, 1 when a row is over the limits, 0 otherwise.
    public var exitCode: Int32 {
        if protocolError != nil { return 2 }
        return gateFailures.isEmpty ? 0 : 1
    }

    /// "pass", "fail" or "error".
    public var verdict: String {
        switch exitCode {
        case 0: "pass"
        case 1: "fail"
        default: "error"
        }
    }
}

/// The output formats of `check`: the harness's report styles.
public typealias CheckOutputFormat = ReportStyle

/// Renders a ``CheckOutcome``: the harness's own report (``TextReport``, ``MarkdownReport`` or
/// ``JSONReport``, the same tables as `report`), then the check's sections: the verdict against
/// the limits, errors (each named), protocol failure, and the shrunk reproducers (inputs as exact
/// hex floats, and as a request line that `eval` and the adapter accept).
///
/// In JSON, the harness report's object gets one more member, `"check"`:
/// `{"subject", "verdict": "pass"|"fail"|"error", "exit_code", "limits": {"max_ulp", "per_function",
/// "allow_special_mismatch"}, "failures": [{"function", "format", "reasons"}], "protocol_error",
/// "not_run", "errors": [{"case", "message"}], "notes", "shrinking" (false for stored results),
/// "shrunk": [{"function", "format",
/// "criterion", "original", "shrunk", "steps", "attempts", "fixpoint"}]}`, where `original` and
/// `shrunk` hold the case, the worst element's output and expected value (hex), its error, and
/// the request line.
public enum CheckReport {
    /// At most this many errors are listed one by one.
    public static let maxListedErrors = 20
    /// Shrunk requests with more logits than this are not printed as a request line in text
    /// and Markdown (JSON always has it).
    public static let maxRequestLineValues = 64

    static func valueCount(_ r: OracleRequest) -> Int {
        r.batch.map { $0.reduce(0) { $0 + $1.count } } ?? r.logits.count
    }

    /// `outcome` in `format`: the harness tables in that style followed by the check's sections,
    /// or one JSON object with the `"check"` member (see the type's documentation).
    public static func render(_ outcome: CheckOutcome, format: CheckOutputFormat,
                              options: ReportOptions = .default) -> String {
        switch format {
        case .text: return format.render(outcome.run.harness, options: options) + "\n" + text(outcome, options)
        case .markdown: return format.render(outcome.run.harness, options: options) + "\n" + markdown(outcome, options)
        case .json: return json(outcome)
        }
    }

    // MARK: text

    static func text(_ o: CheckOutcome, _ options: ReportOptions) -> String {
        var out = "Check of \(o.subject)\n"
        out += "limits: \(limitsText(o.thresholds))\n"
        if let error = o.protocolError {
            out += "verdict: ERROR (exit 2): \(error)\n"
            if o.run.notRun > 0 { out += "\(o.run.notRun) case\(o.run.notRun == 1 ? "" : "s") not run after the failure\n" }
        }
        if o.gateFailures.isEmpty {
            if o.protocolError == nil { out += "verdict: PASS (exit 0): every function and format within the limits\n" }
        } else {
            out += (o.protocolError == nil ? "verdict: FAIL (exit 1): " : "also over the limits: ")
                + "\(o.gateFailures.count) function/format row\(o.gateFailures.count == 1 ? "" : "s") over the limits\n"
            for f in o.gateFailures { out += "- \(f)\n" }
        }
        out += errorsAndNotes(o, options, .text)
        out += "\nShrunk reproducers"
        if !o.canShrink {
            return out + ": not available (stored results cannot answer the smaller inputs shrinking tries; worst cases are listed above)\n"
        }
        if o.shrunk.isEmpty {
            out += ": none (no worst case to shrink)\n"
            return out
        }
        out += " (the worst case of each function/format that fails, shrunk by querying the implementation again)\n"
        for s in o.shrunk {
            let r = s.original
            out += "- \(s.implementation) · \(r.key.function.rawValue) · \(r.key.format.rawValue) · "
                + "\(r.key.family.rawValue) #\(r.key.index) (seed \(NumberText.hex64(r.seed))); still fails means: \(criterionText(s.criterion))\n"
            out += "    original: \(verdictText(r))\n"
            out += "      \(inputsText(r.request, limit: options.inputLimit))\n"
            if let shrunk = s.shrunk {
                out += "    shrunk (\(s.shrinkResult.steps) steps, \(s.shrinkResult.attempts) attempts\(s.shrinkResult.reachedFixpoint ? ", minimal" : ", budget spent")): "
                    + verdictText(shrunk) + "\n"
                out += "      \(inputsText(shrunk.request, limit: options.inputLimit))\n"
                out += "      request: " + (valueCount(shrunk.request) <= maxRequestLineValues
                    ? requestLine(shrunk.request)
                    : "(\(valueCount(shrunk.request)) logits: too long to print; --output json has it)") + "\n"
            } else {
                out += "    shrunk: not available (the implementation gave no answer to rescore)\n"
            }
        }
        return out
    }

    // MARK: markdown

    static func markdown(_ o: CheckOutcome, _ options: ReportOptions) -> String {
        var out = "## Check\n\n"
        out += "Subject: `\(o.subject)`. Limits: \(limitsText(o.thresholds)).\n\n"
        if let error = o.protocolError {
            out += "**Verdict: ERROR (exit 2).** \(escape(error))\n\n"
            if o.run.notRun > 0 { out += "\(o.run.notRun) cases not run after the failure.\n\n" }
        }
        if o.gateFailures.isEmpty {
            if o.protocolError == nil { out += "**Verdict: PASS (exit 0)**: every function and format within the limits.\n" }
        } else {
            out += o.protocolError == nil ? "**Verdict: FAIL (exit 1)**\n\n" : "Also over the limits:\n\n"
            for f in o.gateFailures { out += "- `\(f.function.rawValue)/\(f.format.rawValue)`: \(escape(f.reasons.joined(separator: "; ")))\n" }
        }
        out += errorsAndNotes(o, options, .markdown)
        out += "\n### Shrunk reproducers\n\n"
        if !o.canShrink { return out + "Not available: stored results cannot answer the smaller inputs shrinking tries.\n" }
        if o.shrunk.isEmpty { return out + "None: no worst case to shrink.\n" }
        for s in o.shrunk {
            let r = s.original
            out += "- **\(escape("\(s.implementation) · \(r.key.function.rawValue) · \(r.key.format.rawValue) · \(r.key.family.rawValue) #\(r.key.index)"))**"
                + " (seed `\(NumberText.hex64(r.seed))`; still fails means: \(criterionText(s.criterion)))\n"
            out += "  - original: \(verdictText(r)): `\(inputsText(r.request, limit: options.inputLimit))`\n"
            if let shrunk = s.shrunk {
                out += "  - shrunk (\(s.shrinkResult.steps) steps, \(s.shrinkResult.attempts) attempts): \(verdictText(shrunk))\n"
                if valueCount(shrunk.request) <= maxRequestLineValues { out += "    `\(requestLine(shrunk.request))`\n" }
            }
        }
        return out
    }

    /// The errors (at most ``maxListedErrors``) and the notes, as sections of `markup`.
    static func errorsAndNotes(_ o: CheckOutcome, _ options: ReportOptions, _ markup: ReportMarkup) -> String {
        var out = ""
        if !o.run.errors.isEmpty {
            out += markup.heading("Errors (\(o.run.errors.count))", level: 3)
            for e in o.run.errors.prefix(maxListedErrors) {
                out += markup.item(key: "\(e.key)", NumberText.truncated(e.message, options.maxMessageLength), escape: escape)
            }
            if o.run.errors.count > maxListedErrors { out += markup.remark("\(o.run.errors.count - maxListedErrors) more") }
        }
        if !o.notes.isEmpty {
            out += markup.heading("Notes", level: 3)
            for n in o.notes { out += "- \(markup == .text ? n : escape(n))\n" }
        }
        return out
    }

    /// Markdown escaping for check sections: like ``MarkdownReport/escape(_:)``, and also `_`.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "|", "*", "`", "<", ">", "[", "]", "\\", "_": out += "\\" + String(ch)
            default: out.append(ch)
            }
        }
        return out
    }

    // MARK: JSON

    static func json(_ o: CheckOutcome) -> String {
        guard case .object(var members) = JSONReport.value(o.run.harness) else { return "" }
        members.append(("check", checkValue(o)))
        return JSONValue.object(members).prettyPrinted + "\n"
    }

    /// The `"check"` member of the JSON report.
    public static func checkValue(_ o: CheckOutcome) -> JSONValue {
        let t = o.thresholds
        let perFunction = OracleFunction.allCases.compactMap { f in t.perFunction[f].map { (f.rawValue, JSONValue.numberOrSpecial($0)) } }
        func record(_ r: CaseRecord) -> JSONValue {
            .object([
                ("case", .string(r.key.description)),
                ("seed", .string(NumberText.hex64(r.seed))),
                ("element", .number(r.element)),
                ("output", .string(HexFloat.format(r.output))),
                ("expected", .string(HexFloat.format(r.expected))),
                ("ulps", JSONValue.numberOrSpecial(r.ulps)),
                ("special_mismatch", .bool(r.specialMismatch)),
                ("logit_count", .number(valueCount(r.request))),
                ("request", (try? JSONValue.parse(requestLine(r.request))) ?? .null),
            ])
        }
        let shrunk: [JSONValue] = o.shrunk.map { s in
            .object([
                ("function", .string(s.original.key.function.rawValue)),
                ("format", .string(s.original.key.format.rawValue)),
                ("criterion", .object([("max_ulp", JSONValue.numberOrSpecial(s.criterion.maxULP)),
                                       ("special_mismatch_fails", .bool(s.criterion.specialMismatchFails))])),
                ("original", record(s.original)),
                ("shrunk", s.shrunk.map(record) ?? .null),
                ("steps", .number(s.shrinkResult.steps)),
                ("attempts", .number(s.shrinkResult.attempts)),
                ("fixpoint", .bool(s.shrinkResult.reachedFixpoint)),
            ])
        }
        return .object([
            ("subject", .string(o.subject)),
            ("verdict", .string(o.verdict)),
            ("exit_code", .number(Int(o.exitCode))),
            ("limits", .object([
                ("max_ulp", t.global.map(JSONValue.numberOrSpecial) ?? .null),
                ("per_function", .object(perFunction)),
                ("allow_special_mismatch", .bool(t.allowSpecialMismatch)),
            ])),
            ("failures", .array(o.gateFailures.map { f in
                .object([("function", .string(f.function.rawValue)), ("format", .string(f.format.rawValue)),
                         ("reasons", .array(f.reasons.map { .string($0) }))])
            })),
            ("protocol_error", o.protocolError.map { .string($0) } ?? .null),
            ("not_run", .number(o.run.notRun)),
            ("errors", .array(o.run.errors.map { .object([("case", .string($0.key.description)), ("message", .string($0.message))]) })),
            ("notes", .array(o.notes.map { .string($0) })),
            ("shrinking", .bool(o.canShrink)),
            ("shrunk", .array(shrunk)),
        ])
    }

    // MARK: pieces

    static func limitsText(_ t: CheckThresholds) -> String {
        var parts: [String] = []
        if let g = t.global { parts.append("max \(ulpText(g)) ulp") } else if t.perFunction.isEmpty {
            parts.append("no ULP limit (worst cases above \(ulpText(CheckThresholds.defaultShrinkLimit)) ulp are still shrunk)")
        }
        for f in OracleFunction.allCases { if let l = t.perFunction[f] { parts.append("\(f.rawValue) max \(ulpText(l)) ulp") } }
        parts.append(t.allowSpecialMismatch ? "special-value mismatches allowed" : "special-value mismatches fail")
        parts.append("errors fail")
        return parts.joined(separator: ", ")
    }

    static func criterionText(_ c: FailureCriterion) -> String {
        c.maxULP.isInfinite ? "a special-value mismatch" : "an error above \(ulpText(c.maxULP)) ulp"
    }

    static func verdictText(_ r: CaseRecord) -> String {
        let error = r.specialMismatch ? "special-value mismatch" : "\(ulpText(r.ulps)) ulp"
        return "\(error) at output \(r.element): got \(HexFloat.format(r.output)), expected \(HexFloat.format(r.expected))"
    }

    /// The request as a line `eval` reads (without an id).
    public static func requestLine(_ r: OracleRequest) -> String {
        let line = RequestEncoder.encode(r, id: .null)
        let prefix = #"{"id":null,"#
        return line.hasPrefix(prefix) ? "{" + line.dropFirst(prefix.count) : line
    }

    /// "logits (3): [0x1p+0, …]; target 1" with at most `limit` values per list.
    static func inputsText(_ r: OracleRequest, limit: Int) -> String {
        func list(_ xs: [Double]) -> String {
            if xs.count <= limit { return "[" + xs.map(HexFloat.format).joined(separator: ", ") + "]" }
            let head = xs.prefix(limit / 2).map(HexFloat.format).joined(separator: ", ")
            let tail = xs.suffix(limit / 2).map(HexFloat.format).joined(separator: ", ")
            return "[\(head), … (\(xs.count - limit) more) …, \(tail)]"
        }
        var parts: [String] = []
        if let batch = r.batch {
            parts.append("batch (\(batch.count) rows of \(batch.first?.count ?? 0)): " + batch.map(list).joined(separator: "; "))
        } else {
            parts.append("logits (\(r.logits.count)): " + list(r.logits))
        }
        switch r.target {
        case .index(let t)?: parts.append("target \(t)")
        case .probabilities(let p)?: parts.append("targets " + list(p))
        case nil: break
        }
        switch r.batchTargets {
        case .indices(let t)?: parts.append("targets \(t)")
        case .probabilities(let p)?: parts.append("targets " + p.map(list).joined(separator: "; "))
        case nil: break
        }
        if r.labelSmoothing != 0 { parts.append("label_smoothing " + HexFloat.format(r.labelSmoothing)) }
        if let w = r.weight { parts.append("weight " + list(w)) }
        if let z = r.labels { parts.append("labels " + list(z)) }
        if let w = r.posWeight { parts.append("pos_weight " + list(w)) }
        if r.function == .crossEntropyLoss { parts.append("reduction \(r.reduction.rawValue)") }
        return parts.joined(separator: "; ")
    }
}
