/// A fixed-width plain-text report: a summary table per implementation × function × format, a
/// table per family, the worst cases with their inputs as hex floats, and oracle failures.
///
/// Deterministic: the same result gives the same bytes (numbers are formatted without the C
/// library; see ``ReportOptions`` for what is shown).
public enum TextReport {
    /// The plain-text report of `result`.
    public static func render(_ result: HarnessResult, options: ReportOptions = .default) -> String {
        ReportDocument.render(result, options: options, markup: .text)
    }

    static let legend = """
        case error = the largest ULP error over a case's outputs. max, mean, p99 (nearest rank): over the
        cases without special-value mismatches. CR: share of cases with every output correctly rounded.
        special: cases with a NaN/inf mismatch. ±0: zeros of the wrong sign. no ref: cases the oracle
        could not certify.
        """

    /// Columns padded to their widest cell; numbers right-aligned; two spaces between columns.
    static func table(_ rows: [ReportRow]) -> String {
        let body = rows.map(\.cells)
        let all = [ReportRow.headers] + body
        var widths = [Int](repeating: 0, count: ReportRow.headers.count)
        for r in all { for (i, c) in r.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return ReportRow.numeric.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        var out = line(ReportRow.headers)
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in body { out += line(r) }
        return out
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
