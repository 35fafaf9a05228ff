import SoftmaxOracle

/// The most cases one run (`report`, `check`, `regress`, `fixtures generate`) may generate, and
/// how a grid's case count is computed without generating it.
///
/// Every case is held in memory with its scores (about 600 bytes for the default families), so
/// a count such as `--cases 1000000000` would try to allocate hundreds of gigabytes; the commands
/// check ``total(functions:formats:families:count:)`` against ``maximum`` before any work and
/// refuse a larger run with a usage error.
public enum CaseLimit {
    /// 1,000,000 cases in one run (about 600 MB). The default `report` runs 7,020.
    public static let maximum = 1_000_000

    /// The number of cases of a grid: `functions × formats × Σ count(family)`, saturating at
    /// `Int.max` (so a huge per-family count cannot overflow into a small or negative total).
    public static func total(functions: Int, formats: Int, families: [Family], count: (Family) -> Int) -> Int {
        var perCell = 0
        for family in families {
            let (sum, overflow) = perCell.addingReportingOverflow(Swift.max(0, count(family)))
            perCell = overflow ? Int.max : sum
        }
        let (cells, o1) = functions.multipliedReportingOverflow(by: formats)
        let (all, o2) = perCell.multipliedReportingOverflow(by: cells)
        return o1 || o2 ? Int.max : all
    }

    /// The message for a run of `total` cases, or nil when it is within ``maximum``:
    /// `<what> makes a run of 1560000000 cases, over the limit of 1000000 (…)`.
    ///
    /// - Parameter what: the setting that decided the size, e.g. `--cases 1000000000`.
    public static func problem(total: Int, what: String) -> String? {
        guard total > maximum else { return nil }
        let count = total == Int.max ? "more than \(Int.max)" : "\(total)"
        return "\(what) makes a run of \(count) cases, over the limit of \(maximum) (every case is held in memory); ask for fewer cases, or split the run with --function, --format or --family"
    }
}

extension RunConfiguration {
    /// The number of cases ``cases()`` would generate, computed without generating them
    /// (saturating; see ``CaseLimit``).
    public var caseTotal: Int {
        CaseLimit.total(functions: functions.count, formats: formats.count, families: families, count: caseCount(for:))
    }
}
