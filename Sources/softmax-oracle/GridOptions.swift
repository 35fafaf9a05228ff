import AccuracyHarness
import ArgumentParser
import SoftmaxOracle

/// The options that choose a harness grid: seed, cases per family, and filters.
struct GridOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Run seed: the same seed gives the same cases on every machine.")
    var seed: UInt64 = 20261129

    @Option(parsing: .unconditional, help: "Cases per (function, format, family); large_k is capped at 3. A run holds at most \(CaseLimit.maximum) cases.")
    var cases: Int = 12

    @Option(name: .customLong("function"), help: "Only this function (repeatable).")
    var functions: [OracleFunction] = []

    @Option(name: .customLong("format"), help: "Only this format (repeatable).")
    var formats: [Format] = []

    @Option(name: .customLong("family"), help: "Only this generator family (repeatable).")
    var families: [Family] = []

    func validate() throws {
        if cases < 1 { throw ValidationError("--cases: \(cases) must be at least 1") }
    }

    /// ``configuration(for:)``, checked before any work: a usage error when it has no case (the
    /// implementations compute none of the chosen functions and formats) or more than
    /// ``CaseLimit/maximum``.
    func checkedConfiguration(for implementations: [any ImplementationUnderTest]) throws -> RunConfiguration {
        let configuration = configuration(for: implementations)
        if let problem = CaseLimit.problem(total: configuration.caseTotal, what: "--cases \(cases)") {
            throw ValidationError(problem)
        }
        if configuration.caseTotal == 0 {
            let names = implementations.map(\.name).joined(separator: ", ")
            let chosen = (functions.map { "--function \($0.rawValue)" } + formats.map { "--format \($0.rawValue)" }).joined(separator: " ")
            let supported = implementations.map { i in
                "\(i.name): " + Format.allCases.filter { fmt in OracleFunction.allCases.contains { i.supports($0, format: fmt) } }
                    .map(\.rawValue).joined(separator: ", ")
            }.joined(separator: "; ")
            throw ValidationError("no case to run: \(names) compute\(implementations.count == 1 ? "s" : "") none of the chosen functions and formats (\(chosen)); the formats supported are \(supported)")
        }
        return configuration
    }

    /// The run configuration over the functions and formats that at least one of
    /// `implementations` supports (narrowed by the filters).
    func configuration(for implementations: [any ImplementationUnderTest]) -> RunConfiguration {
        let functions = (self.functions.isEmpty ? OracleFunction.harnessFunctions : self.functions).filter { f in
            Format.allCases.contains { fmt in implementations.contains { $0.supports(f, format: fmt) } }
        }
        let formats = (self.formats.isEmpty ? Format.allCases : self.formats).filter { fmt in
            functions.contains { f in implementations.contains { $0.supports(f, format: fmt) } }
        }
        return RunConfiguration(seed: seed, functions: functions, formats: formats,
                                families: families.isEmpty ? Family.allCases : families, casesPerFamily: cases)
    }
}

/// How a harness result is printed and drawn.
struct ReportOutputOptions: ParsableArguments {
    @Option(help: "Output: text (a table), markdown, or json.")
    var output: ReportStyle = .text

    @Option(help: "Also draw ULP error against logit spread into this SVG file.")
    var svg: String?

    func validate() throws {
        if let svg { try OutputPath.checkFile(svg, option: "svg") }
    }

    func render(_ result: HarnessResult) -> String {
        output.render(result)
    }

    func writeSVG(_ result: HarnessResult, title: String) throws {
        guard let svg else { return }
        try FileOutput.writeAtomically(SVGPlot.render(result, title: title), to: svg)
    }
}
