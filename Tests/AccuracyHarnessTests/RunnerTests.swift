import MPFR
import SoftmaxOracle
import Synchronization
import Testing
@testable import AccuracyHarness

@Suite("Runner")
struct RunnerTests {
    static let configuration = RunConfiguration(
        seed: 99, functions: [.softmax, .crossEntropy], formats: [.f64, .f16],
        families: [.normalSmall, .expOverflow, .wideSpread, .singleLogit], casesPerFamily: 6)

    @Test("One oracle call per case, shared by every implementation; cells per supported pair")
    func grid() {
        let oracle = IdentityOracle()
        let runner = Runner(oracle: oracle, implementations: [
            FakeImplementations.exact, FakeImplementations.oneULP, FakeImplementations.picky,
        ])
        let result = runner.run(Self.configuration)
        let cases = Self.configuration.cases()
        #expect(cases.count == 2 * 2 * 24 && result.caseCount == cases.count)
        #expect(Self.configuration.caseCount(for: .largeK) == 3)  // the family cap
        var uncapped = Self.configuration
        uncapped.applyFamilyCaps = false
        #expect(uncapped.caseCount(for: .largeK) == 6)
        #expect(oracle.callCount == cases.count)
        #expect(result.implementations == ["exact", "one-ulp", "picky"])
        // exact and one-ulp: every pair; picky: f64 only.
        #expect(result.cells.count == 2 * 16 + 8)
        #expect(result.cells.map(\.implementation) == result.cells.map(\.implementation).sorted {
            result.implementations.firstIndex(of: $0)! < result.implementations.firstIndex(of: $1)!
        })
        for cell in result.cells where cell.implementation == "exact" {
            let s = cell.statistics
            #expect(s.correctlyRoundedShare == 1 && s.maxULP == 0 && s.errors == 0)
        }
        for cell in result.cells where cell.implementation == "one-ulp" {
            let s = cell.statistics
            #expect(s.maxULP! >= 1 && s.maxULP! <= 2, "\(cell.family) \(cell.format)")
            #expect(s.specialMismatchCases == 0)
        }
        let picky = result.cells.filter { $0.implementation == "picky" }
        #expect(picky.allSatisfy { $0.format == .f64 })
        let pickyCE = picky.filter { $0.function == .crossEntropy }.map(\.statistics)
        #expect(pickyCE.map(\.unsupported).reduce(0, +) > 0)  // probability targets
        let longCase = HarnessCase(key: CaseKey(function: .softmax, format: .f64, family: .largeK, index: 0), seed: 0,
                                   request: OracleRequest(function: .softmax, logits: (100..<160).map(Double.init)))
        let pickyLong = runner.run(cases: [longCase], seed: 0).cells.first { $0.implementation == "picky" }!
        #expect(pickyLong.statistics.errors == 1 && pickyLong.accumulator.firstError?.message == "failed: too long")
    }

    @Test("Special-value mismatches are counted apart, with the worst case recorded")
    func specials() {
        let runner = Runner(oracle: IdentityOracle(), implementations: [FakeImplementations.nanAbove100])
        let config = RunConfiguration(seed: 1, functions: [.softmax], formats: [.f64],
                                      families: [.expOverflow], casesPerFamily: 8)
        let cell = runner.run(config).cells[0]
        let s = cell.statistics
        #expect(s.specialMismatchCases > 0 && s.specialMismatchOutputs >= s.specialMismatchCases)
        #expect(s.maxULP == nil || s.maxULP == 0)
        let worst = cell.accumulator.worst!
        #expect(worst.specialMismatch && worst.output.isNaN && worst.expected > 100)
    }

    @Test("Oracle failures skip scoring and are listed")
    func oracleFailure() {
        let runner = Runner(oracle: IdentityOracle(), implementations: [FakeImplementations.exact])
        let key = CaseKey(function: .softmax, format: .f64, family: .normalSmall, index: 0)
        let c = HarnessCase(key: key, seed: 0, request: OracleRequest(function: .softmax, logits: [13, 1]))
        let result = runner.run(cases: [c], seed: 0)
        #expect(result.oracleFailures.count == 1 && result.oracleFailures[0].key == key)
        #expect(result.cells[0].statistics.oracleFailures == 1 && result.cells[0].statistics.scored == 0)
    }
}

@Suite("Runner on threads")
struct RunnerThreadTests {
    @Test("The result does not depend on the thread count, and equals the one-thread run")
    func threadCountIndependent() {
        let runner = Runner(oracle: IdentityOracle(), implementations: [
            FakeImplementations.exact, FakeImplementations.oneULP, FakeImplementations.picky,
        ])
        let cases = RunnerTests.configuration.cases()
        let sequential = runner.run(cases: cases, seed: RunnerTests.configuration.seed)
        for threads in [1, 2, 3, 16] {
            let calls = Mutex(0)
            let result = runner.run(cases: cases, seed: RunnerTests.configuration.seed, threads: threads,
                                    progress: { _, total in calls.withLock { $0 += 1 }; #expect(total == cases.count) })
            #expect(result == sequential, "threads \(threads)")
            #expect(calls.withLock { $0 } == cases.count)
        }
    }
}

@Suite("Oracle parallelism")
struct OracleParallelismTests {
    @Test("MPFR's rule: several threads only with a thread-safe MPFR build; never fewer than one")
    func threadRule() {
        for requested in [-3, 0, 1, 2, 64] {
            #expect(OracleParallelism.threads(requested) == (mpfrIsThreadSafe ? max(1, requested) : 1))
        }
        #expect(OracleParallelism.map(Array(0..<100), threads: 4) { $0 * 3 } == (0..<100).map { $0 * 3 })
    }
}
