import AccuracyHarness
import ArgumentParser
import SoftmaxOracle

/// The options that choose a harness grid: seed, cases per family, and filters.
struct GridOptions: ParsableArguments {
    @Option(help: "Run seed: the same seed gives the same cases on every machine.")
    var seed: UInt64 = 20261129

    @Option(help: "Cases per (function, format, family); large_k is capped at 3.")
    var cases: Int = 12

    @Option(name: .customLong("function"), help: "Only this function (repeatable).")
    var functions: [String] = []

    @Option(name: .customLong("format"), help: "Only this format (repeatable).")
    var formats: [String] = []

    @Option(name: .customLong("family"), help: "Only this generator family (repeatable): \(Family.allCases.map(\.rawValue).joined(separator: ", ")).")
    var families: [String] = []

    func validate() throws {
        if cases < 1 { throw ValidationError("--cases: \(cases) must be at least 1") }
        _ = try chosenFunctions(default: [])
        _ = try chosenFormats(default: [])
        _ = try chosenFamilies()
    }

    func chosenFunctions(default all: [OracleFunction]) throws -> [OracleFunction] {
        try parseNames(functions, option: "function", default: all)
    }

    func chosenFormats(default all: [Format]) throws -> [Format] {
        try parseNames(formats, option: "format", default: all)
    }

    func chosenFamilies() throws -> [Family] {
        try parseNames(families, option: "family", default: Family.allCases)
    }

    /// The run configuration over the functions and formats that at least one of
    /// `implementations` supports (narrowed by the filters).
    func configuration(for implementations: [any ImplementationUnderTest]) throws -> RunConfiguration {
        let functions = try chosenFunctions(default: OracleFunction.allCases).filter { f in
            Format.allCases.contains { fmt in implementations.contains { $0.supports(f, format: fmt) } }
        }
        let formats = try chosenFormats(default: Format.allCases).filter { fmt in
            functions.contains { f in implementations.contains { $0.supports(f, format: fmt) } }
        }
        return RunConfiguration(seed: seed, functions: functions, formats: formats,
                                families: try chosenFamilies(), casesPerFamily: cases)
    }
}

/// How a harness result is printed and drawn.
struct ReportOutputOptions: ParsableArguments {
    enum Style: String, ExpressibleByArgument, CaseIterable { case text, markdown, json }

    @Option(help: "Output: text (a table), markdown, or json.")
    var output: Style = .text

    @Option(help: "Also draw ULP error against logit spread into this SVG file.")
    var svg: String?

    func render(_ result: HarnessResult) -> String {
        switch output {
        case .text: TextReport.render(result)
        case .markdown: MarkdownReport.render(result)
        case .json: JSONReport.render(result)
        }
    }

    func writeSVG(_ result: HarnessResult, title: String) throws {
        guard let svg else { return }
        try FileOutput.writeAtomically(SVGPlot.render(result, title: title), to: svg)
    }
}

/// The values a repeatable `--<option>` names, in the order given (`all` when none are given).
///
/// - Throws: `ValidationError` `--<option>: unknown <option> "<name>" (expected one of: …)`.
func parseNames<T: RawRepresentable & CaseIterable>(_ names: [String], option: String, default all: [T]) throws -> [T]
where T.RawValue == String {
    if names.isEmpty { return all }
    return try names.map { name in
        guard let value = T(rawValue: name) else {
            throw ValidationError("--\(option): unknown \(option) \"\(name)\" (expected one of: \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return value
    }
}
