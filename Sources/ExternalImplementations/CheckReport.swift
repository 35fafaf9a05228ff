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
    /// Request lines too long to print inline (longer than
    /// ``CheckReport/maxInlineRequestLength``), by line: the file each was written to.
    public var caseFiles: [String: String] = [:]

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

    /// "pass", "fail", "error", or "no_threshold": nothing failed, but no ULP limit or
    /// tolerance was given, so nothing was claimed (exit status 0: nothing was asked).
    public var verdict: String {
        switch exitCode {
        case 0: thresholds.hasLimits ? "pass" : "no_threshold"
        case 1: "fail"
        default: "error"
        }
    }

    /// Every request line the report prints: the worst case of each function/format row that
    /// is not correctly rounded, and each shrinking's original and shrunk case.
    public var requestLines: [String] {
        var lines: [String] = []
        for r in worstRecords { lines.append(CheckReport.requestLine(r.record.request)) }
        for s in shrunk {
            lines.append(CheckReport.requestLine(s.original.request))
            if let r = s.shrunk { lines.append(CheckReport.requestLine(r.request)) }
        }
        return lines
    }

    /// The worst case of each (function, format) row whose worst output is not correctly rounded.
    public var worstRecords: [(title: String, record: CaseRecord)] {
        run.harness.summaryKeys.compactMap { k in
            let a = run.harness.summary(implementation: k.implementation, function: k.function, format: k.format)
            guard let w = a.worst, !w.outputMatches else { return nil }
            return ("\(k.function.rawValue)/\(k.format.rawValue) \(w.key.family.rawValue) #\(w.key.index)", w)
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
/// `{"subject", "verdict": "pass"|"fail"|"error"|"no_threshold", "exit_code", "limits": {"max_ulp",
/// "per_function", "allow_special_mismatch", "allow_unsupported", "tolerance": null|{"preset", "atol",
/// "rtol"}}, "failures": [{"function", "format", "reasons"}], "rows": [{"function", "format", "cases",
/// "scored", "max_ulp", "ulp_limit", "tolerance", "outside_tolerance", "special_mismatch_cases",
/// "off_format_cases"}], "protocol_error",
/// "not_run", "errors": [{"case", "message"}], "notes", "shrinking" (false for stored results),
/// "shrunk": [{"function", "format",
/// "criterion", "original", "shrunk", "steps", "attempts", "fixpoint"}]}`, where `original` and
/// `shrunk` hold the case, the worst element's output and expected value (hex), its error,
/// `special_mismatch`, `off_format`, and the request line.
public enum CheckReport {
    /// At most this many errors are listed one by one.
    public static let maxListedErrors = 20
    /// Request lines longer than this many characters are not printed inline in text and
    /// Markdown: the caller writes them to files (``CheckOutcome/caseFiles``) and the report
    /// names the file. JSON always has them inline.
    public static let maxInlineRequestLength = 2_000

    /// The request line of `r` as the report prints it: whole, or the file it was written to.
    static func printedRequest(_ r: OracleRequest, _ o: CheckOutcome) -> String {
        let line = requestLine(r)
        if line.count <= maxInlineRequestLength { return line }
        if let path = o.caseFiles[line] { return "(\(line.count) characters) written to \(path)" }
        return "(\(line.count) characters; --output json has it)"
    }

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
            if o.protocolError == nil {
                out += o.thresholds.hasLimits ? "verdict: PASS (exit 0): every function and format within the limits\n"
                    : "verdict: NO THRESHOLD (exit 0): " + noThresholdText + "\n"
            }
        } else {
            out += (o.protocolError == nil ? "verdict: FAIL (exit 1): " : "also failing: ")
                + "\(o.gateFailures.count) function/format row\(o.gateFailures.count == 1 ? "" : "s") failing\n"
            for f in o.gateFailures { out += "- \(f)\n" }
        }
        out += limitTable(o)
        out += errorsAndNotes(o, options, .text)
        out += worstLines(o, .text)
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
            out += "      request: \(printedRequest(r.request, o))\n"
            if let shrunk = s.shrunk {
                out += "    shrunk (\(s.shrinkResult.steps) steps, \(s.shrinkResult.attempts) attempts\(s.shrinkResult.reachedFixpoint ? ", minimal" : ", budget spent")): "
                    + verdictText(shrunk) + "\n"
                out += "      \(inputsText(shrunk.request, limit: options.inputLimit))\n"
                out += "      request: \(printedRequest(shrunk.request, o))\n"
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
            if o.protocolError == nil {
                out += o.thresholds.hasLimits ? "**Verdict: PASS (exit 0)**: every function and format within the limits.\n"
                    : "**Verdict: NO THRESHOLD (exit 0)**: " + escape(noThresholdText) + "\n"
            }
        } else {
            out += o.protocolError == nil ? "**Verdict: FAIL (exit 1)**\n\n" : "Also over the limits:\n\n"
            for f in o.gateFailures { out += "- `\(f.function.rawValue)/\(f.format.rawValue)`: \(escape(f.reasons.joined(separator: "; ")))\n" }
        }
        let table = limitTable(o)
        if !table.isEmpty { out += "\n```" + table + "```\n" }
        out += errorsAndNotes(o, options, .markdown)
        out += worstLines(o, .markdown)
        out += "\n### Shrunk reproducers\n\n"
        if !o.canShrink { return out + "Not available: stored results cannot answer the smaller inputs shrinking tries.\n" }
        if o.shrunk.isEmpty { return out + "None: no worst case to shrink.\n" }
        for s in o.shrunk {
            let r = s.original
            out += "- **\(escape("\(s.implementation) · \(r.key.function.rawValue) · \(r.key.format.rawValue) · \(r.key.family.rawValue) #\(r.key.index)"))**"
                + " (seed `\(NumberText.hex64(r.seed))`; still fails means: \(criterionText(s.criterion)))\n"
            out += "  - original: \(verdictText(r)): `\(printedRequest(r.request, o))`\n"
            if let shrunk = s.shrunk {
                out += "  - shrunk (\(s.shrinkResult.steps) steps, \(s.shrinkResult.attempts) attempts): \(verdictText(shrunk))\n"
                out += "    `\(printedRequest(shrunk.request, o))`\n"
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
                ("off_format", .bool(r.offFormat)),
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
                ("allow_unsupported", .bool(t.allowUnsupported)),
                ("tolerance", t.tolerance.isSet ? .object([
                    ("preset", t.tolerance.preset.map { .string($0.rawValue) } ?? .null),
                    ("atol", t.tolerance.atol.map(JSONValue.numberOrSpecial) ?? .null),
                    ("rtol", t.tolerance.rtol.map(JSONValue.numberOrSpecial) ?? .null),
                ]) : .null),
            ])),
            ("failures", .array(o.gateFailures.map { f in
                .object([("function", .string(f.function.rawValue)), ("format", .string(f.format.rawValue)),
                         ("reasons", .array(f.reasons.map { .string($0) }))])
            })),
            ("rows", .array(rowValues(o))),
            ("protocol_error", o.protocolError.map { .string($0) } ?? .null),
            ("not_run", .number(o.run.notRun)),
            ("errors", .array(o.run.errors.map { .object([("case", .string($0.key.description)), ("message", .string($0.message))]) })),
            ("notes", .array(o.notes.map { .string($0) })),
            ("shrinking", .bool(o.canShrink)),
            ("shrunk", .array(shrunk)),
        ])
    }

    // MARK: pieces

    static let noThresholdText = "no ULP limit or tolerance was given, so only errors, special-value mismatches, "
        + "outputs off the format's grid and rows with nothing scored were judged; give a limit with --max-ulp N "
        + "(or FUNCTION=N), --atol A and/or --rtol R, or --tolerance torch"

    /// The worst case of each row as a request line `eval` accepts.
    static func worstLines(_ o: CheckOutcome, _ markup: ReportMarkup) -> String {
        let worst = o.worstRecords
        guard !worst.isEmpty else { return "" }
        var out = markup.heading("Worst cases as requests (each line: softmax-oracle eval < it)", level: 3)
        for (title, r) in worst { out += "- \(title): \(markup.code(printedRequest(r.request, o)))\n" }
        return out
    }

    /// The `"rows"` of the JSON report: per function/format, the ULP figures and limit beside
    /// the tolerance and the cases outside it.
    static func rowValues(_ o: CheckOutcome) -> [JSONValue] {
        let h = o.run.harness
        return h.summaryKeys.map { k in
            let s = h.summary(implementation: k.implementation, function: k.function, format: k.format).statistics
            return .object([
                ("function", .string(k.function.rawValue)), ("format", .string(k.format.rawValue)),
                ("cases", .number(s.cases)), ("scored", .number(s.scored)),
                ("max_ulp", s.maxULP.map(JSONValue.numberOrSpecial) ?? .null),
                ("ulp_limit", o.thresholds.maxULP(for: k.function).map(JSONValue.numberOrSpecial) ?? .null),
                ("tolerance", s.tolerance.map { .object([("atol", JSONValue.numberOrSpecial($0.atol)), ("rtol", JSONValue.numberOrSpecial($0.rtol))]) } ?? .null),
                ("outside_tolerance", s.outsideToleranceCases.map { .number($0) } ?? .null),
                ("special_mismatch_cases", .number(s.specialMismatchCases)),
                ("off_format_cases", .number(s.offFormatCases)),
            ])
        }
    }

    /// Per function/format: the max ULP error and the ULP limit, and the tolerance verdict, side
    /// by side.
    static func limitTable(_ o: CheckOutcome) -> String {
        let h = o.run.harness
        var rows = [["function", "format", "scored", "max ulp", "ulp limit", "tolerance", "outside", "special", "off grid"]]
        for k in h.summaryKeys {
            let s = h.summary(implementation: k.implementation, function: k.function, format: k.format).statistics
            rows.append([k.function.rawValue, k.format.rawValue, "\(s.scored)/\(s.cases)", s.maxULP.map(ulpText) ?? "-",
                         o.thresholds.maxULP(for: k.function).map(ulpText) ?? "none",
                         s.tolerance.map { "atol \($0.atol) rtol \($0.rtol)" } ?? "none",
                         s.outsideToleranceCases.map(String.init) ?? "-", "\(s.specialMismatchCases)", "\(s.offFormatCases)"])
        }
        guard rows.count > 1 else { return "" }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = "\nBy function/format (max ulp against the ULP limit; cases outside the tolerance):\n"
        for r in rows {
            var line = "  " + r.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    static func limitsText(_ t: CheckThresholds) -> String {
        var parts: [String] = []
        if let g = t.global { parts.append("max \(ulpText(g)) ulp") } else if t.perFunction.isEmpty {
            parts.append("no ULP limit (worst cases above \(ulpText(CheckThresholds.defaultShrinkLimit)) ulp are still shrunk)")
        }
        for f in OracleFunction.allCases { if let l = t.perFunction[f] { parts.append("\(f.rawValue) max \(ulpText(l)) ulp") } }
        if t.tolerance.isSet { parts.append("tolerance \(t.tolerance.description)") }
        parts.append(t.allowSpecialMismatch ? "special-value mismatches allowed" : "special-value mismatches fail")
        parts.append("outputs off the format's grid fail")
        parts.append("errors fail")
        parts.append(t.allowUnsupported ? "rows with nothing scored allowed" : "rows with nothing scored fail")
        return parts.joined(separator: ", ")
    }

    static func criterionText(_ c: FailureCriterion) -> String {
        switch c.kind {
        case .specialMismatch?: "a special-value mismatch"
        case .offFormat?: "an output that is not a value of the format"
        case .finiteError?, nil: c.maxULP.isInfinite ? "a special-value mismatch" : "an error above \(ulpText(c.maxULP)) ulp"
        }
    }

    static func verdictText(_ r: CaseRecord) -> String {
        let error = r.specialMismatch ? "special-value mismatch"
            : r.offFormat ? "\(r.key.format.notAValueText) (\(ulpText(r.ulps)) ulp)" : "\(ulpText(r.ulps)) ulp"
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
        if r.function.isBatchLoss { parts.append("reduction \(r.reduction.rawValue)") }
        if let c = r.softcap { parts.append("softcap " + HexFloat.format(c)) }
        if r.zLoss != 0 { parts.append("z_loss " + HexFloat.format(r.zLoss)) }
        if let t = r.temperature { parts.append("temperature " + HexFloat.format(t)) }
        if let g = r.gradOutput { parts.append("grad_output " + list(g)) }
        return parts.joined(separator: "; ")
    }
}
