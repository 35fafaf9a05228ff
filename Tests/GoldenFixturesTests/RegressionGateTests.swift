import AccuracyHarness
import BuiltInImplementations
import GoldenFixtures
import SoftmaxOracle
import Testing

/// The committed baseline and one measurement at its settings, shared by the tests below (the
/// run takes a few seconds in a debug build).
let committedBaseline = try! AccuracyBaseline.read(TestPaths.baseline)
let committedMeasurement = RegressionGate(implementations: FastSoftmaxImplementation.all).measure(committedBaseline)

@Suite("Regression gate")
struct RegressionGateTests {
    @Test("The built-in implementations pass the committed baseline")
    func passesCommittedBaseline() {
        let comparison = RegressionGate.compare(baseline: committedBaseline, current: committedMeasurement)
        #expect(comparison.passed, "\(comparison.render(baselinePath: "Fixtures/accuracy-baseline.json", run: committedMeasurement))")
        #expect(comparison.exitCode == 0 && comparison.compared == committedBaseline.entries.count)
        #expect(committedBaseline.entries.count > 1_000)
        // Every built-in, every family; large_k at 1 case (its K = 1000 row).
        #expect(committedBaseline.implementations == FastSoftmaxImplementation.all.map(\.name))
        #expect(Set(committedBaseline.entries.map(\.family)) == Set(Family.allCases))
        #expect(committedBaseline.caseCount(for: .largeK) == 1
                && committedBaseline.casesPerFamily == AccuracyBaseline.defaultRun().casesPerFamily)
    }

    @Test("A baseline stricter than reality fails, and the table names the cell, the measure, baseline vs now")
    func stricterBaselineFails() throws {
        // Stricter than this run's reality (the committed baseline may be looser where kernels
        // improved since it was recorded).
        let k = try #require(committedMeasurement.entries.firstIndex { ($0.maxULP ?? 0) > 0.6 })
        var strict = committedMeasurement
        let real = strict.entries[k].maxULP!
        strict.entries[k].maxULP = real - 0.01
        let comparison = RegressionGate.compare(baseline: strict, current: committedMeasurement)
        #expect(!comparison.passed && comparison.exitCode == 1)
        #expect(comparison.worse == [RegressionFinding(cell: strict.entries[k].cell, measure: .maxULP,
                                                       baseline: (real - 0.01).description, now: real.description)])
        let text = comparison.render(baselinePath: "b.json", run: strict)
        #expect(text.contains("Worse than the baseline (1):") && text.contains("accuracy gate FAILED: 1 of"))
        #expect(text.contains(strict.entries[k].implementation) && text.contains(real.description))

        // The slack: noise in the last digits of a score passes by default, fails at tolerance 0;
        // a larger tolerance absorbs the 0.01 too.
        var noise = committedMeasurement
        noise.entries[k].maxULP = real.nextDown
        #expect(RegressionGate.compare(baseline: noise, current: committedMeasurement).passed)
        #expect(!RegressionGate.compare(baseline: noise, current: committedMeasurement, tolerance: 0).passed)
        #expect(RegressionGate.compare(baseline: strict, current: committedMeasurement, tolerance: 0.02).passed)
    }

    @Test("Fewer special-value mismatches, more cases scored, or a missing cell in reality fail too")
    func otherMeasures() throws {
        var strict = committedMeasurement
        let s = try #require(strict.entries.firstIndex { $0.specialMismatchCases > 0 })
        strict.entries[s].specialMismatchCases -= 1
        let c = try #require(strict.entries.firstIndex { $0.scored > 0 })
        strict.entries[c].scored += 1
        strict.entries.append(AccuracyBaseline.Entry(
            implementation: "retired", function: .softmax, format: .f64, family: .nan, cases: 3, scored: 3,
            unsupported: 0, errors: 0, oracleFailures: 0, maxULP: 0.5, specialMismatchCases: 0))
        let comparison = RegressionGate.compare(baseline: strict, current: committedMeasurement)
        #expect(comparison.worse.map(\.measure).sorted { $0.rawValue < $1.rawValue }
                == [.coverage, .coverage, .specialMismatches])
        #expect(comparison.worse.contains { $0.cell.implementation == "retired" && $0.now == "-" })
    }

    @Test("Looser baselines pass and list the improvement; new cells are listed, not gated")
    func improvementsAndNewCells() throws {
        var loose = committedMeasurement
        let k = try #require(loose.entries.firstIndex { ($0.maxULP ?? 0) > 0 })
        loose.entries[k].maxULP! *= 2
        let removed = loose.entries.removeLast()
        let comparison = RegressionGate.compare(baseline: loose, current: committedMeasurement)
        #expect(comparison.passed && comparison.improved.count == 1 && comparison.new == [removed.cell],
                "\(comparison.render(baselinePath: "loose", run: loose))")
    }

    @Test("Baseline JSON: deterministic, one entry per line, and it reads back to the same value")
    func json() throws {
        let text = committedMeasurement.json
        #expect(try AccuracyBaseline(json: text) == committedMeasurement)
        #expect(text.hasPrefix("{\n  \"schema\": \"softmax-oracle.accuracy-baseline/1\",\n  \"seed\": 20261129,\n  \"cases\": 8,\n  \"family_cases\": {\"large_k\": 1},\n"))
        #expect(text.split(separator: "\n").count == committedMeasurement.entries.count + 12)
        let again = RegressionGate(implementations: FastSoftmaxImplementation.all, threads: 1)
            .measure(AccuracyBaseline(seed: 5, casesPerFamily: 1, functions: [.softmax], formats: [.f32], families: [.nan, .wideSpread]))
        #expect(again.entries.count == 2 * 4)  // naive, shifted, online, accurate run f32
        #expect(try AccuracyBaseline(json: again.json).json == again.json)
        #expect(throws: FixtureError.self) { try AccuracyBaseline(json: #"{"schema":"other/1"}"#) }
    }
}
