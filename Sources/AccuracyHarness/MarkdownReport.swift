/// The report as GitHub-flavoured Markdown: the same tables and worst cases as ``TextReport``,
/// with inputs in code spans (hex floats). Deterministic.
public enum MarkdownReport {
    /// The Markdown text of `result`.
    public static func render(_ result: HarnessResult, options: ReportOptions = .default) -> String {
        ReportDocument.render(result, options: options, markup: .markdown)
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
    public static func escape(_ s: String) -> String {
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
