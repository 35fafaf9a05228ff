/// What differs between the plain-text and the Markdown reports of the harness and of `check`:
/// headings, code, escaping and the remark closing a cut list. The documents themselves
/// (``ReportDocument`` and `CheckReport`) are written once, in terms of these.
public enum ReportMarkup: Sendable {
    /// Fixed-width plain text (``TextReport``).
    case text
    /// GitHub-flavoured Markdown (``MarkdownReport``).
    case markdown

    /// A section heading after a blank line: `\nTitle\n`, or `\n## Title\n\n` with `level`
    /// number signs.
    public func heading(_ title: String, level: Int = 2) -> String {
        switch self {
        case .text: "\n\(title)\n"
        case .markdown: "\n\(String(repeating: "#", count: level)) \(title)\n\n"
        }
    }

    /// `s` as code: as it is, or in a code span.
    public func code(_ s: String) -> String {
        self == .text ? s : "`\(s)`"
    }

    /// A list item `- <key as code>: <message>`, the message escaped with `escape` in Markdown
    /// (by default ``MarkdownReport/escape(_:)``).
    public func item(key: String, _ message: String, escape: (String) -> String = MarkdownReport.escape) -> String {
        "- \(code(key)): \(self == .text ? message : escape(message))\n"
    }

    /// The remark closing a list that was cut: `  (remark)\n`, or `\nremark.\n`.
    public func remark(_ s: String) -> String {
        self == .text ? "  (\(s))\n" : "\n\(s).\n"
    }
}

/// The harness report, written once for both markups: a header, the summary table, the table
/// per family (``ReportOptions/includeFamilies``), the worst cases and the oracle failures.
enum ReportDocument {
    static func render(_ result: HarnessResult, options: ReportOptions, markup: ReportMarkup) -> String {
        let model = ReportModel(result, options: options)
        let table = markup == .text ? TextReport.table : MarkdownReport.table
        var out = header(result, markup)
        out += markup.heading("Summary (all families)") + table(model.summaryRows)
        if options.includeFamilies {
            out += markup.heading("By family") + table(model.familyRows)
        }
        out += worstCases(model, options, markup)
        if !result.oracleFailures.isEmpty {
            out += markup.heading("Oracle failures (\(result.oracleFailures.count))")
            for f in result.oracleFailures {
                out += markup.item(key: "\(f.key)", NumberText.truncated(f.message, options.maxMessageLength))
            }
        }
        return out
    }

    /// The title, the seed and implementations, and the legend.
    static func header(_ result: HarnessResult, _ markup: ReportMarkup) -> String {
        let names = result.implementations.isEmpty ? "none" : result.implementations.map(markup.code).joined(separator: ", ")
        let seed = markup.code(NumberText.hex64(result.seed))
        switch markup {
        case .text:
            return "softmax-oracle accuracy report\n"
                + "seed \(seed), \(result.caseCount) cases, implementations: \(names)\n"
                + TextReport.legend + "\n"
        case .markdown:
            return "# softmax-oracle accuracy report\n\n"
                + "Seed \(seed), \(result.caseCount) cases, implementations: \(names).\n\n"
                + TextReport.legend + "\n"
        }
    }

    /// The worst cases, each with its verdict and inputs.
    static func worstCases(_ model: ReportModel, _ options: ReportOptions, _ markup: ReportMarkup) -> String {
        var out = markup == .text ? "\nWorst cases" : markup.heading("Worst cases")
        if model.worst.isEmpty {
            guard model.scoredAny else {
                return out + (markup == .text ? ": none (no case was scored)\n" : "None: no case was scored.\n")
            }
            return out + (markup == .text ? ": none (every worst output is correctly rounded)\n"
                                          : "None: every worst output is correctly rounded.\n")
        }
        if markup == .text { out += "\n" }
        for e in model.worst {
            let seed = markup.code(NumberText.hex64(e.record.seed))
            let inputs = markup.code(NumberText.inputs(e.record.request, limit: options.inputLimit))
            switch markup {
            case .text: out += "- \(e.title) (seed \(seed))\n    \(e.verdict)\n    \(inputs)\n"
            case .markdown: out += "- **\(MarkdownReport.escape(e.title))** (seed \(seed)): \(e.verdict)\n  - \(inputs)\n"
            }
        }
        if model.worstOmitted > 0 { out += markup.remark("\(model.worstOmitted) more not shown") }
        return out
    }
}
