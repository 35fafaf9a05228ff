import AccuracyHarness
import Foundation
import OracleIO
import SoftmaxOracle
import Testing
@testable import ExternalImplementations

/// A log_softmax in plain binary64 arithmetic, x − max − log(Σ exp(x − max)), rounded into the
/// format at the end (unless `forgetsFinalCast`), with two faults a kernel author would meet:
/// every output is moved `extraULPs` grid steps down (a small error everywhere), and outputs
/// below `flushBelow` are flushed to 0 (a huge error on rare inputs).
struct SloppyLogSoftmax: ImplementationUnderTest {
    var name: String = "sloppy"
    var extraULPs = 0
    var flushBelow = -Double.infinity
    var forgetsFinalCast = false

    func supports(_ function: OracleFunction, format: Format) -> Bool {
        (function == .logSoftmax || function == .softmax) && (format == .f64 || format == .f32)
    }

    func evaluate(_ request: OracleRequest) throws -> [Double] {
        let xs = request.logits
        let m = xs.max() ?? 0
        guard m.isFinite else { throw ImplementationError.unsupported("non-finite logits") }
        let s = xs.reduce(0) { $0 + Foundation.exp($1 - m) }
        return xs.map { x in
            var y = x - m - Foundation.log(s)
            if request.function == .softmax { y = Foundation.exp(y) }
            for _ in 0..<extraULPs { y = y.nextDown }
            if y < flushBelow { y = 0 }
            return forgetsFinalCast ? y : request.format.round(y)
        }
    }
}

/// Declines everything, as the adapters do when their library is missing.
struct DeclinesEverything: ImplementationUnderTest {
    var name: String { "declines" }
    func supports(_ function: OracleFunction, format: Format) -> Bool { true }
    func evaluate(_ request: OracleRequest) throws -> [Double] { throw ImplementationError.unsupported("No module named 'torch'") }
}

@Suite("Verdicts a kernel author can trust")
struct VerdictTests {
    static func run(_ implementation: any ImplementationUnderTest, _ function: OracleFunction = .logSoftmax,
                    formats: [Format] = [.f64], families: [Family] = [.normalSmall, .dominantTarget], cases: Int = 6,
                    tolerance: ToleranceRule = .none) -> ExternalRunResult {
        let configuration = RunConfiguration(seed: 5, functions: [function], formats: formats, families: families,
                                             casesPerFamily: cases)
        return ExternalRunner(oracle: Oracle(), tolerance: tolerance)
            .run(cases: configuration.cases(), seed: 5, implementation: implementation)
    }

    static func outcome(_ run: ExternalRunResult, _ thresholds: CheckThresholds, shrunk: [ShrunkFailure] = []) -> CheckOutcome {
        CheckOutcome(subject: "test", run: run, thresholds: thresholds,
                     gateFailures: CheckGate.failures(run.harness, thresholds: thresholds), shrunk: shrunk)
    }

    @Test("A row in which nothing was scored fails with its own line, unless --allow-unsupported")
    func nothingScoredFails() {
        let run = Self.run(DeclinesEverything())
        let o = Self.outcome(run, CheckThresholds())
        #expect(o.exitCode == 1 && o.verdict == "fail")
        let text = CheckReport.render(o, format: .text)
        #expect(text.contains("- log_softmax/f64: nothing scored: 12 of 12 cases unsupported or failed"))
        #expect(!text.contains("PASS") && !text.contains("every worst output is correctly rounded"))
        #expect(text.contains("Worst cases: none (no case was scored)"))
        let allowed = Self.outcome(run, CheckThresholds(allowUnsupported: true))
        #expect(allowed.exitCode == 0 && allowed.gateFailures.isEmpty)
    }

    @Test("A process answering an error to every request fails (check --exec)")
    func decliningProcessFails() throws {
        let command = Scripts.numbered("declines.sh", #"  printf '{"id":%s,"error":"torch is not installed"}\n' "$id""#)
        let p = try ProcessImplementation(command: command, name: "declines", options: testOptions())
        defer { p.close() }
        let o = Self.outcome(Self.run(p, cases: 2), CheckThresholds(global: 1))
        #expect(o.exitCode == 1)
        #expect(o.gateFailures.first?.reasons.contains { $0.hasPrefix("nothing scored") } == true)
    }

    @Test("Stored results that were all rejected fail (check --results)")
    func storedResultsAllRejectedFail() {
        let configuration = RunConfiguration(seed: 5, functions: [.softmax], formats: [.f32], families: [.normalSmall], casesPerFamily: 4)
        let run = ExternalRunner(oracle: Oracle()).run(
            cases: configuration.cases(), seed: 5, implementation: DeclinesEverything(),
            outcome: { _, _ in .unsupported("rejected") })
        let o = Self.outcome(run, CheckThresholds())
        #expect(o.exitCode == 1)
        #expect(CheckReport.render(o, format: .text).contains("nothing scored: 4 of 4 cases"))
    }

    @Test("Without a threshold the verdict is NO THRESHOLD (exit 0), never PASS")
    func noThresholdIsNotPass() throws {
        let run = Self.run(SloppyLogSoftmax(extraULPs: 3), families: [.normalSmall])
        let o = Self.outcome(run, CheckThresholds())
        #expect(o.exitCode == 0 && o.verdict == "no_threshold")
        let text = CheckReport.render(o, format: .text)
        #expect(text.contains("verdict: NO THRESHOLD (exit 0)") && text.contains("--max-ulp N"))
        #expect(!text.contains("PASS"))
        #expect(!CheckReport.render(o, format: .markdown).contains("PASS"))
        let json = try JSONValue.parse(CheckReport.render(o, format: .json))
        #expect(json["check"]?["verdict"] == .string("no_threshold"))
        #expect(Self.outcome(run, CheckThresholds(global: 8)).verdict == "pass")
    }

    @Test("Tolerances as torch.testing.assert_close: |y - v| <= atol + rtol*|v|; special mismatches never close")
    func tolerances() {
        let t = Tolerance(atol: 1e-5, rtol: 1.3e-6)
        #expect(t.accepts(0, exact: -0x1.b6da58p-79))
        #expect(t.accepts(1 + 1e-6, exact: 1) && !t.accepts(1 + 2e-5, exact: 1))
        #expect(!t.accepts(.nan, exact: 1) && !t.accepts(1, exact: .nan) && t.accepts(.nan, exact: .nan))
        #expect(!t.accepts(.infinity, exact: 1e300) && !t.accepts(-.infinity, exact: .infinity) && t.accepts(.infinity, exact: .infinity))
        #expect(Tolerance.torchDefault(for: .f64) == Tolerance(atol: 1e-7, rtol: 1e-7))
        #expect(Tolerance.torchDefault(for: .f32) == Tolerance(atol: 1e-5, rtol: 1.3e-6))
        #expect(Tolerance.torchDefault(for: .f16) == Tolerance(atol: 1e-5, rtol: 1e-3))
        #expect(Tolerance.torchDefault(for: .bf16) == Tolerance(atol: 1e-5, rtol: 1.6e-2))
        #expect(ToleranceRule(preset: .torch, atol: 0).tolerance(for: .f32) == Tolerance(atol: 0, rtol: 1.3e-6))
        #expect(ToleranceRule(rtol: 1e-3).tolerance(for: .f32) == Tolerance(atol: 0, rtol: 1e-3))

        // The flushed log_softmax output: a huge ULP error, within torch's tolerance.
        let reference = [ReferenceValue(exactly: -0x1.b6da58p-79, format: .f32)]
        let torch = ToleranceRule(preset: .torch).tolerance(for: .f32)
        let flushed = Scoring.verdict(outputs: [0], reference: reference, format: .f32, tolerance: torch)
        #expect(flushed?.maxULP ?? 0 > 1e6 && flushed?.outsideTolerance == 0)
        let nan = Scoring.verdict(outputs: [.nan], reference: reference, format: .f32, tolerance: torch)
        #expect(nan?.outsideTolerance == 1 && nan?.toleranceRatio == .infinity)
    }

    @Test("The check report shows ULP and tolerance side by side; cases outside the tolerance fail")
    func toleranceInTheReport() throws {
        let tight = ToleranceRule(atol: 0, rtol: 1e-17)
        let run = Self.run(SloppyLogSoftmax(extraULPs: 2), families: [.normalSmall], tolerance: tight)
        let o = Self.outcome(run, CheckThresholds(global: 100, tolerance: tight))
        #expect(o.exitCode == 1)
        #expect(o.gateFailures.first?.reasons.contains { $0.contains("outside the tolerance (atol 0.0, rtol 1e-17)") } == true)
        let text = CheckReport.render(o, format: .text)
        #expect(text.contains("max ulp") && text.contains("tolerance") && text.contains("outside"))
        let row = try #require(try JSONValue.parse(CheckReport.render(o, format: .json))["check"]?["rows"]?.arrayValue?.first)
        #expect(row["ulp_limit"]?.floatValue == 100 && row["outside_tolerance"] != .null && row["max_ulp"] != .null)
        let torch = ToleranceRule(preset: .torch)
        let loose = Self.run(SloppyLogSoftmax(extraULPs: 2), families: [.normalSmall], tolerance: torch)
        #expect(Self.outcome(loose, CheckThresholds(tolerance: torch)).verdict == "pass")
    }

    @Test("f64 values answered for an f32 request are not f32 values: a failure of their own")
    func offFormatOutputsFail() {
        let run = Self.run(SloppyLogSoftmax(forgetsFinalCast: true), .softmax, formats: [.f32], families: [.normalSmall])
        let s = run.harness.summary(implementation: "sloppy", function: .softmax, format: .f32).statistics
        #expect(s.offFormatCases > 0)
        let o = Self.outcome(run, CheckThresholds(global: 1))
        #expect(o.exitCode == 1)
        #expect(o.gateFailures.first?.reasons.contains { $0.contains("not an f32 value") } == true)
        #expect(CheckReport.render(o, format: .text).contains("not an f32 value ("))
        let y = 0x1.136561454ba86p-2
        let v = Scoring.verdict(outputs: [y], reference: [ReferenceValue(exactly: y, format: .f32)], format: .f32)
        #expect(v?.offFormatOutputs == 1 && v?.isCorrectlyRounded == false)
    }

    @Test("Shrinking keeps the worst case's kind of failure whatever the threshold")
    func shrinkingKeepsTheFailure() throws {
        // 4 ulp everywhere, and a flush to 0 below -40 (huge ULP errors on dominant targets).
        let sloppy = SloppyLogSoftmax(extraULPs: 4, flushBelow: -40)
        let run = Self.run(sloppy, families: [.dominantTarget], cases: 4)
        let oracle = Oracle()
        for thresholds in [CheckThresholds(), CheckThresholds(global: 2)] {
            let shrunk = CheckShrinking.shrinkFailures(run.harness, implementation: sloppy, oracle: oracle,
                                                       thresholds: thresholds, shrinker: Shrinker(maxAttempts: 200))
            let s = try #require(shrunk.first)
            let small = try #require(s.shrunk)
            #expect(s.original.ulps > 1e10)
            #expect(small.failureKind == s.original.failureKind)
            #expect(small.ulps >= s.original.ulps / 16, "shrunk to \(small.ulps) ulp from \(s.original.ulps)")
        }
        let criterion = FailureCriterion.sameKind(as: run.harness.summary(implementation: "sloppy", function: .logSoftmax,
                                                                          format: .f64).worst!, limit: nil)
        #expect(criterion.kind == .finiteError && criterion.maxULP > 1e9)
    }

    @Test("Every worst and shrunk case is printed whole as a request line eval accepts; long ones go to a named file")
    func wholeRequestLines() throws {
        let sloppy = SloppyLogSoftmax(extraULPs: 4, flushBelow: -40)
        let run = Self.run(sloppy, families: [.dominantTarget], cases: 4)
        let shrunk = CheckShrinking.shrinkFailures(run.harness, implementation: sloppy, oracle: Oracle(),
                                                   thresholds: CheckThresholds(), shrinker: Shrinker(maxAttempts: 50))
        var o = Self.outcome(run, CheckThresholds(), shrunk: shrunk)
        let text = CheckReport.render(o, format: .text)
        let worst = try #require(o.worstRecords.first?.record)
        let line = CheckReport.requestLine(worst.request)
        #expect(text.contains(line))
        #expect(text.contains("request: " + CheckReport.requestLine(shrunk[0].original.request)))
        let decoded = try RequestDecoder().decode(line: line)
        #expect(decoded.request == worst.request)
        #expect(!text.contains("too long to print"))

        // A line over the inline limit is named by its file.
        var long = worst.request
        long.logits = [Double](repeating: 1.5, count: 400)
        let longLine = CheckReport.requestLine(long)
        #expect(longLine.count > CheckReport.maxInlineRequestLength)
        o.caseFiles = [longLine: "/tmp/cases/case-1.jsonl"]
        #expect(CheckReport.printedRequest(long, o) == "(\(longLine.count) characters) written to /tmp/cases/case-1.jsonl")
    }

    @Test("--k restricts row lengths, so a kernel compiled per shape sees few shapes")
    func rowLengths() {
        let families = Family.allCases.filter { $0 != .singleLogit }
        let configuration = RunConfiguration(seed: 1, families: families, casesPerFamily: 6,
                                             generatorOptions: GeneratorOptions(rowLengths: [1, 8, 100]))
        let lengths = Set(configuration.cases().map(\.request.logits.count))
        let odd = configuration.cases().filter { ![1, 8, 100].contains($0.request.logits.count) }.map { "\($0.key) \($0.request.logits.count)" }
        #expect(lengths.isSubset(of: [1, 8, 100]) && lengths.count == 3, "\(odd.prefix(5))")
        let none = RunConfiguration(seed: 1, families: families, casesPerFamily: 6).cases()
        #expect(Set(none.map(\.request.logits.count)).count > 20)
    }

    @Test("A child's stdout line that does not start with { is copied to stderr, counted, and skipped")
    func strayStdoutLines() throws {
        let command = Scripts.numbered("chatty.sh", """
              echo "[triton] compiling kernel softmax_fwd for request $n"
              printf '{"id":%s,"values":["0x1p+0"]}\\n' "$id"
            """)
        let p = try ProcessImplementation(command: command, name: "chatty", options: testOptions())
        defer { p.close() }
        let request = OracleRequest(function: .softmax, format: .f64, logits: [3])
        #expect(try p.evaluate(request) == [1])
        #expect(try p.evaluate(request) == [1])
        #expect(p.failure == nil && p.strayLineCount == 2)
    }
}
