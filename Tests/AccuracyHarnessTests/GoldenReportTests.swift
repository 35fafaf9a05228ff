// Determinism against committed output: a small fixed report, rendered by every renderer, must
// be byte for byte the files in Tests/AccuracyHarnessTests/Golden/. Running twice in one process
// cannot catch what differs between processes (Swift's `Hasher` is seeded per process, so a
// renderer that walks a dictionary changes order from run to run); a committed file can.
//
// The report runs the certified oracle on the `naive` and `shifted` kernels only: their numerics
// are the textbook formulas and are not expected to change. Their last bits come from the
// platform's libm (exp, log): the committed files are those of Linux (glibc), as is
// Fixtures/accuracy-baseline.json. A deliberate change of the report
// format (or of those kernels) regenerates the files:
//
//     UPDATE_GOLDEN=1 swift test --filter GoldenReportTests
//
// then review `git diff Tests/AccuracyHarnessTests/Golden` and commit it.
import AccuracyHarness
import BuiltInImplementations
import Foundation
import SoftmaxOracle
import Testing
import TestSupport

@Suite("Reports against committed golden output")
struct GoldenReportTests {
    static let directory = packageRoot.appendingPathComponent("Tests/AccuracyHarnessTests/Golden")

    /// Seed fixed, a few cases of a few families, two formats, naive and shifted.
    static let result: HarnessResult = {
        let configuration = RunConfiguration(
            seed: 20_261_129, functions: [.logsumexp, .logSoftmax, .crossEntropy], formats: [.f64, .f32],
            families: [.wideSpread, .dominantTarget, .positiveInfinity], casesPerFamily: 2)
        return Runner(oracle: Oracle(), implementations: [FastSoftmaxImplementation(.naive), FastSoftmaxImplementation(.shifted)])
            .run(configuration)
    }()

    static let renderings: [(file: String, text: @Sendable () -> String)] = [
        ("report.txt", { TextReport.render(result) }),
        ("report.md", { MarkdownReport.render(result) }),
        ("report.json", { JSONReport.render(result) }),
        ("report.svg", { SVGPlot.render(result, title: "golden report") }),
    ]

    @Test("Every renderer gives the committed bytes", arguments: renderings.map(\.file))
    func matchesGolden(file: String) throws {
        let text = Self.renderings.first { $0.file == file }!.text()
        let url = Self.directory.appendingPathComponent(file)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            return
        }
        let committed = try #require(try? String(contentsOf: url, encoding: .utf8),
                                     "missing \(url.path): run UPDATE_GOLDEN=1 swift test --filter GoldenReportTests")
        if text != committed {
            let got = text.split(separator: "\n", omittingEmptySubsequences: false)
            let want = committed.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
            Issue.record("""
                \(file) differs from the committed file at line \(line + 1):
                  committed: \(line < want.count ? String(want[line]) : "<end>")
                  now:       \(line < got.count ? String(got[line]) : "<end>")
                (UPDATE_GOLDEN=1 regenerates it, if the change is intended)
                """)
        }
    }
}
