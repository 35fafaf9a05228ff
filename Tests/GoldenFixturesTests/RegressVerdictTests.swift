import AccuracyHarness
import BuiltInImplementations
import GoldenFixtures
import SoftmaxOracle
import Foundation
import Testing

/// The accurate kernel, except that a subnormal f32 logsumexp result is flushed to zero (a kernel
/// compiled with flush-to-zero, as CUDA's `-ftz=true` does in f32): the regression `regress` must
/// catch at its default case count.
struct FlushingLogsumexp: ImplementationUnderTest {
    let base = FastSoftmaxImplementation(.accurate)
    var name: String { base.name }
    func supports(_ function: OracleFunction, format: Format) -> Bool {
        function == .logsumexp && base.supports(function, format: format)
    }
    func evaluate(_ request: OracleRequest) throws -> [Double] {
        try base.evaluate(request).map { y in
            request.format == .f32 && y.isFinite && y != 0 && y.magnitude < request.format.leastPositive * Double(1 << (request.format.precision - 1)) ? 0 : y
        }
    }
}

/// Answers every request with an error: nothing is ever scored.
struct DecliningEverything: ImplementationUnderTest {
    var name: String { "accurate" }
    func supports(_ function: OracleFunction, format: Format) -> Bool { function == .logsumexp && (format == .f64 || format == .f32) }
    func evaluate(_ request: OracleRequest) throws -> [Double] { throw ImplementationError.unsupported("library missing") }
}

struct RegressVerdictTests {
    /// The default run, limited to logsumexp (the flush shows nowhere else).
    static func logsumexpRun() -> AccuracyBaseline {
        var run = AccuracyBaseline.defaultRun()
        run.functions = [.logsumexp]
        run.formats = [.f64, .f32]
        return run
    }

    @Test func defaultCaseCountCatchesAFlushToZeroLogsumexp() {
        var run = Self.logsumexpRun()
        if let n = ProcessInfo.processInfo.environment["FLUSH_CASES"].flatMap({ Int($0) }) { run.casesPerFamily = n }
        let good = RegressionGate(implementations: [FastSoftmaxImplementation(.accurate)]).measure(run)
        let flushed = RegressionGate(implementations: [FlushingLogsumexp()]).measure(run)
        let comparison = RegressionGate.compare(baseline: good, current: flushed)
        print(comparison.changes)
        #expect(!comparison.passed, "the default \(run.casesPerFamily) cases per cell miss a flush-to-zero logsumexp")
    }

    @Test func nothingScoredIsWorseAndAbsoluteCeilingApplies() {
        var run = Self.logsumexpRun()
        run.casesPerFamily = 1
        run.families = [.normalSmall]
        let gate = RegressionGate(implementations: [DecliningEverything()])
        let (_, result) = gate.measureResult(run)
        let findings = RegressionGate.absoluteFindings(result, maxULP: nil, allowUnsupported: false)
        #expect(findings.count == 2)
        #expect(findings.allSatisfy { $0.measure == .nothingScored })
        #expect(RegressionGate.absoluteFindings(result, maxULP: nil, allowUnsupported: true).isEmpty)

        let naive = RegressionGate(implementations: [FastSoftmaxImplementation(.naive)])
        run.families = [.largeK]
        let (_, naiveResult) = naive.measureResult(run)
        let over = RegressionGate.absoluteFindings(naiveResult, maxULP: 0.5, allowUnsupported: false)
        #expect(over.contains { $0.measure == .ceiling })
    }
}
