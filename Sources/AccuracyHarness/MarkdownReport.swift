/// The report as GitHub-flavoured Markdown: the same tables and worst cases as ``TextReport``,
/// with inputs in code spans (hex floats). Deterministic.
public enum MarkdownReport {
    /// The Markdown text of `result`.
    public static func render(_ result: HarnessResult, options: ReportOptions = .default) -> String {
        let model = ReportModel(result, options: options)
        var out = "# softmax-oracle accuracy report\n\n"
        out += "Seed `\(NumberText.hex64(result.seed))`, \(result.caseCount) cases, implementations: "
            + (result.implementations.isEmpty ? "none" : result.implementations.map { "`\($0)`" }.joined(separator: ", "))
            + ".\n\n"
        out += TextReport.legend + "\n\n"
        out += "## Summary (all families)\n\n"
        out += table(model.summaryRows)
        if options.includeFamilies {
            out += "\n## By family\n\n"
            out += table(model.familyRows)
        }
        out += "\n## Worst cases\n\n"
        if model.worst.isEmpty {
            out += "None: every worst output is correctly rounded.\n"
        } else {
            for e in model.worst {
                out += "- **\(escape(e.title))** (seed `\(NumberText.hex64(e.record.seed))`): \(e.verdict)\n"
                out += "  - `\(NumberText.inputs(e.record.request, limit: options.inputLimit))`\n"
            }
            if model.worstOmitted > 0 { out += "\n\(model.worstOmitted) more not shown.\n" }
        }
        if !result.oracleFailures.isEmpty {
            out += "\n## Oracle failures (\(result.oracleFailures.count))\n\n"
            for f in result.oracleFailures {
                out += "- `\(f.key)`: \(escape(NumberText.truncated(f.message, options.maxMessageLength)))\n"
            }
        }
        return out
    }

    static func table(_ rows: [ReportRow]) -> String {
        var out = "| " + ReportRow.headers.joined(separator: " | ") + " |\n"
        out += "|" + ReportRow.headers.indices.map { ReportRow.numeric.contains($0) ? "---:|" : "---|" }.joined() + "\n"
        for r in rows {
            out += "| " + r.cells.map(escape).joined(separator: " | ") + " |\n"
        }
        return out
    }

    /// Escapes the characters that would break a table cell or start markup (GFM does not
    /// emphasize underscores inside words, so family names stay as they are).
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "|", "*", "`", "<", ">", "[", "]", "\\": out += "\\" + String(ch)
            default: out.append(ch)
            }
        }
        return out
    }
}
