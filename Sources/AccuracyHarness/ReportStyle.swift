/// The ways a harness result is printed: `report --output` and `check --output`.
public enum ReportStyle: String, CaseIterable, Sendable {
    /// Plain-text tables (``TextReport``).
    case text
    /// Markdown tables (``MarkdownReport``).
    case markdown
    /// One JSON object (``JSONReport``).
    case json

    /// `result` in this style. `options` applies to text and Markdown; JSON always holds
    /// everything.
    public func render(_ result: HarnessResult, options: ReportOptions = .default) -> String {
        switch self {
        case .text: TextReport.render(result, options: options)
        case .markdown: MarkdownReport.render(result, options: options)
        case .json: JSONReport.render(result)
        }
    }
}
