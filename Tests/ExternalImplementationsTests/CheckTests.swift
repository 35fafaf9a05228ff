import AccuracyHarness
import OracleIO
import SoftmaxOracle
import Testing
@testable import ExternalImplementations

@Suite("Checking a process end to end")
struct CheckTests {
    /// A naive logsumexp, log(sum(exp(x))): inf once a logit passes ln(maxFinite).
    static let naive = Scripts.command("naive_lse.py", """
        import json, math, sys
        for line in sys.stdin:
            r = json.loads(line)
            xs = [float.fromhex(v) if "x" in v else float(v) for v in r["logits"]]
            try:
                total = sum(math.exp(x) for x in xs)
            except OverflowError:
                total = math.inf
            s = math.log(total) if total > 0 else -math.inf
            print(json.dumps({"id": r["id"], "values": [s.hex()]}), flush=True)
        """, interpreter: "python3")

    @Test("A failing cell is shrunk by querying the process again, and the reproducer still fails", needsPython3)
    func shrinking() throws {
        let p = try ProcessImplementation(command: Self.naive, name: "naive", options: testOptions())
        defer { p.close() }
        let configuration = RunConfiguration(seed: 3, functions: [.logsumexp], formats: [.f64],
                                             families: [.expOverflow, .normalSmall], casesPerFamily: 4)
        let oracle = Oracle()
        let run = ExternalRunner(oracle: oracle).run(cases: configuration.cases(), seed: 3, implementation: p)
        #expect(run.errors.isEmpty && run.notRun == 0, "\(run.errors)")
        let stats = run.harness.summary(implementation: "naive", function: .logsumexp, format: .f64).statistics
        #expect(stats.specialMismatchCases > 0)
        let thresholds = CheckThresholds(global: 4)
        let shrunk = CheckShrinking.shrinkFailures(run.harness, implementation: p, oracle: oracle, thresholds: thresholds,
                                                   shrinker: Shrinker(maxAttempts: 200))
        #expect(shrunk.count == 1)
        let s = try #require(shrunk.first?.shrunk)
        #expect(s.specialMismatch && s.output == .infinity && s.request.logits.count == 1)
        // The simplest binary64 above ln(maxFinite) ≈ 709.78 is 2^10.
        #expect(s.request.logits == [1024], "\(s.request.logits)")
        // Still fails when asked again.
        let predicate = shrunk[0].criterion.predicate(implementation: p, oracle: oracle)
        #expect(predicate(s.request))

        let outcome = CheckOutcome(subject: "naive", run: run, thresholds: thresholds,
                                   gateFailures: CheckGate.failures(run.harness, thresholds: thresholds), shrunk: shrunk)
        #expect(outcome.exitCode == 1 && outcome.verdict == "fail")
        let text = CheckReport.render(outcome, format: .text)
        #expect(text.contains("verdict: FAIL (exit 1)"))
        #expect(text.contains("- logsumexp/f64: ") && text.contains("with special-value mismatches"))
        #expect(text.contains(#"request: {"function":"logsumexp","format":"f64","logits":["#))
        let json = try JSONValue.parse(CheckReport.render(outcome, format: .json))
        #expect(json["check"]?["verdict"] == .string("fail"))
        #expect(json["check"]?["shrunk"]?.arrayValue?.count == 1)
        #expect(json["schema"] == .string(JSONReport.schema))
        #expect(CheckReport.render(outcome, format: .markdown).contains("**Verdict: FAIL (exit 1)**"))
    }

    @Test("A process failure stops the run: the rest is counted as not run, the verdict is an error")
    func stopsEarly() throws {
        let command = Scripts.numbered("dies.sh", """
            if [ $n -eq 5 ]; then exit 9; fi
            printf '{"id":%s,"error":"nothing implemented"}\\n' "$id"
            """)
        let p = try ProcessImplementation(command: command, name: "dies", options: testOptions())
        let cases = RunConfiguration(seed: 1, functions: [.softmax], formats: [.f64], families: [.normalSmall],
                                     casesPerFamily: 20).cases()
        let run = ExternalRunner(oracle: Oracle(), batchSize: 8)
            .run(cases: cases, seed: 1, implementation: p, shouldStop: { p.failure != nil })
        #expect(run.errors.count == 1 && run.notRun == 15)
        #expect(run.errors.first?.message.contains("exited with status 9 before answering on request id 5") == true)
        let outcome = CheckOutcome(subject: "dies", run: run, thresholds: CheckThresholds(),
                                   gateFailures: CheckGate.failures(run.harness, thresholds: CheckThresholds()), shrunk: [],
                                   protocolError: p.failure?.description)
        #expect(outcome.exitCode == 2)
        #expect(CheckReport.render(outcome, format: .text).contains("15 cases not run after the failure"))
    }

    @Test("An implementation that answers with the identity scores 0 ulp on the identity", needsPython3)
    func unsupportedCellsCostNoOracle() throws {
        let p = try ProcessImplementation(command: Scripts.echo, name: "echo", options: testOptions())
        defer { p.close() }
        let cases = RunConfiguration(seed: 1, functions: [.softmax], formats: [.f64, .e4m3fn], families: [.singleLogit],
                                     casesPerFamily: 6).cases()
        let run = ExternalRunner(oracle: Oracle()).run(cases: cases, seed: 1, implementation: p)
        let f64 = run.harness.summary(implementation: "echo", function: .softmax, format: .f64).statistics
        let fp8 = run.harness.summary(implementation: "echo", function: .softmax, format: .e4m3fn).statistics
        #expect(fp8.unsupported == 6 && fp8.scored == 0 && fp8.oracleFailures == 0)
        // softmax of one logit is exactly 1: the identity is right only where the logit is 1.
        #expect(f64.scored == 6)
    }
}

@Suite("The SciPy adapter", .enabled(if: pythonHas(["numpy", "scipy"]),
                                     "python3 with numpy and scipy is not importable here: the SciPy adapter test is skipped"))
struct SciPyAdapterTests {
    static var command: String {
        "python3 '\(packageRoot.appendingPathComponent("Examples/adapters/scipy_special.py").path)'"
    }

    @Test("logsumexp stays within 1 ulp (mean about 0.5 or less) on ordinary logits; log_softmax loses every digit on dominant targets")
    func scipy() throws {
        let p = try ProcessImplementation(command: Self.command, name: "scipy",
                                          options: .init(timeout: 10, firstRequestTimeout: 30, standardError: .capture(limit: 4096)))
        defer { p.close() }
        let lseCases = RunConfiguration(seed: 20_261_129, functions: [.logsumexp], formats: [.f64], families: [.normalSmall],
                                        casesPerFamily: 24).cases()
        let lsmCases = RunConfiguration(seed: 20_261_129, functions: [.logSoftmax], formats: [.f64], families: [.dominantTarget],
                                        casesPerFamily: 8).cases()
        let run = ExternalRunner(oracle: Oracle()).run(cases: lseCases + lsmCases, seed: 20_261_129, implementation: p)
        #expect(p.failure == nil, "\(p.failure?.description ?? "")")
        let lse = run.harness.summary(implementation: "scipy", function: .logsumexp, format: .f64).statistics
        #expect(lse.scored == 24 && lse.specialMismatchCases == 0)
        #expect((lse.maxULP ?? .infinity) <= 1, "max \(String(describing: lse.maxULP))")
        #expect((lse.meanULP ?? .infinity) <= 0.5, "mean \(String(describing: lse.meanULP))")
        let lsm = run.harness.summary(implementation: "scipy", function: .logSoftmax, format: .f64).statistics
        #expect(lsm.scored == 8)
        #expect((lsm.maxULP ?? 0) > 1e6, "max \(String(describing: lsm.maxULP))")
    }
}
