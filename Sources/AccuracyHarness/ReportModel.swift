import SoftmaxOracle

/// What the text, Markdown and JSON reports show. Shared so the three always agree.
public struct ReportOptions: Sendable, Hashable {
    /// Also show one row per family (the summary rows merge the families).
    public var includeFamilies: Bool
    /// At most this many worst cases are listed: the worst of each implementation × function ×
    /// format that is not correctly rounded, the most severe first, implementations in turn.
    public var maxWorstCases: Int
    /// At most this many values of a row are printed (the first and last halves).
    public var inputLimit: Int
    /// Messages (oracle failures, errors) longer than this are cut, with "…" and the length.
    public var maxMessageLength: Int

    /// Report options; with no arguments, those of ``default``.
    public init(includeFamilies: Bool = true, maxWorstCases: Int = 20, inputLimit: Int = 16,
                maxMessageLength: Int = 240) {
        self.includeFamilies = includeFamilies
        self.maxWorstCases = maxWorstCases
        self.inputLimit = inputLimit
        self.maxMessageLength = maxMessageLength
    }

    /// Families shown, 20 worst cases, 16 values per row, messages cut at 240 characters.
    public static let `default` = ReportOptions()
}

extension HarnessResult {
    /// The cells of `implementation` × `function` × `format` merged over their families.
    public func summary(implementation: String, function: OracleFunction, format: Format) -> ScoreAccumulator {
        cells.filter { $0.implementation == implementation && $0.function == function && $0.format == format }
            .reduce(into: ScoreAccumulator()) { $0.merge($1.accumulator) }
    }

    /// The (implementation, function, format) triples present, in report order.
    public var summaryKeys: [(implementation: String, function: OracleFunction, format: Format)] {
        var seen = Set<String>()
        var keys: [(String, OracleFunction, Format)] = []
        for c in cells {
            let id = "\(c.implementation)\u{0}\(c.function.rawValue)\u{0}\(c.format.rawValue)"
            if seen.insert(id).inserted { keys.append((c.implementation, c.function, c.format)) }
        }
        return keys.map { (implementation: $0.0, function: $0.1, format: $0.2) }
    }
}

/// One table row: a cell, or a summary over families (`family == nil`).
struct ReportRow {
    var implementation: String
    var function: OracleFunction
    var format: Format
    var family: Family?
    var accumulator: ScoreAccumulator
    var statistics: ScoreStatistics

    static let headers = ["implementation", "function", "format", "family", "cases", "unsup", "errors",
                          "no ref", "max ulp", "mean ulp", "p99 ulp", "CR", "special", "±0"]
    /// Right-aligned columns (the numbers).
    static let numeric: Set<Int> = Set(4..<14)

    var cells: [String] {
        let s = statistics
        return [implementation, function.rawValue, format.rawValue, family?.rawValue ?? "all",
                String(s.cases), String(s.unsupported), String(s.errors), String(s.oracleFailures),
                NumberText.ulp(s.maxULP), NumberText.ulp(s.meanULP), NumberText.ulp(s.p99ULP),
                NumberText.percent(s.correctlyRoundedShare), String(s.specialMismatchCases),
                String(s.signedZeroNotes)]
    }
}

/// A worst case to list, with the cell it belongs to.
struct WorstEntry {
    var implementation: String
    var record: CaseRecord
    var order: Int

    var title: String {
        "\(implementation) · \(record.key.function.rawValue) · \(record.key.format.rawValue) · "
            + "\(record.key.family.rawValue) #\(record.key.index)"
    }

    var verdict: String {
        let error = record.specialMismatch ? "special-value mismatch"
            : record.offFormat ? "\(record.key.format.notAValueText) (\(NumberText.ulp(record.ulps)) ulp)"
            : "\(NumberText.ulp(record.ulps)) ulp"
        return "\(error) at output \(record.element): got \(NumberText.hex(record.output)), "
            + "expected \(NumberText.hex(record.expected))"
    }
}

struct ReportModel {
    var summaryRows: [ReportRow]
    var familyRows: [ReportRow]
    var worst: [WorstEntry]
    var worstOmitted: Int
    /// Some case was scored.
    var scoredAny: Bool

    init(_ result: HarnessResult, options: ReportOptions) {
        scoredAny = result.cells.contains { $0.accumulator.scores.count > 0 }
        summaryRows = result.summaryKeys.map { k in
            let a = result.summary(implementation: k.implementation, function: k.function, format: k.format)
            return ReportRow(implementation: k.implementation, function: k.function, format: k.format, family: nil,
                             accumulator: a, statistics: a.statistics)
        }
        familyRows = options.includeFamilies
            ? result.cells.map {
                ReportRow(implementation: $0.implementation, function: $0.function, format: $0.format,
                          family: $0.family, accumulator: $0.accumulator, statistics: $0.statistics)
            }
            : []
        // Worst cases: the worst of each summary row (implementation × function × format) that is
        // not correctly rounded; most severe first within an implementation, and implementations
        // taken in turn, so that a short list still shows every implementation.
        var perImplementation: [[WorstEntry]] = result.implementations.map { _ in [] }
        for (i, row) in summaryRows.enumerated() {
            guard let w = row.accumulator.worst, !w.outputMatches,
                  let slot = result.implementations.firstIndex(of: row.implementation) else { continue }
            perImplementation[slot].append(WorstEntry(implementation: row.implementation, record: w, order: i))
        }
        for slot in perImplementation.indices {
            perImplementation[slot].sort { a, b in
                if a.record.specialMismatch != b.record.specialMismatch { return a.record.specialMismatch }
                if a.record.ulps != b.record.ulps { return a.record.ulps > b.record.ulps }
                return a.order < b.order
            }
        }
        var entries: [WorstEntry] = []
        var round = 0
        while entries.count < perImplementation.map(\.count).reduce(0, +) {
            for list in perImplementation where round < list.count { entries.append(list[round]) }
            round += 1
        }
        worstOmitted = Swift.max(0, entries.count - options.maxWorstCases)
        worst = Array(entries.prefix(options.maxWorstCases))
    }
}
