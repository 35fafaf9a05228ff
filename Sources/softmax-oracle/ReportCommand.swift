import AccuracyHarness
import ArgumentParser
import FastSoftmax
import MPFR
import SoftmaxOracle

#if canImport(Glibc)
import Glibc
#endif

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Score the built-in implementations against the oracle over extreme logits (the main job).",
        discussion: """
        Runs every built-in implementation (naive, shifted, online, accurate, mixed) on every
        function and format it supports, over every generator family of extreme logits, at a fixed
        seed, and prints per (implementation, function, format): cases, max / mean / p99 ULP error,
        the share correctly rounded, special-value mismatches, and the worst input as hex floats.
        The oracle's answer for each case is certified, so every error shown is real.

        Examples:
          softmax-oracle report
          softmax-oracle report --implementation accurate --function log_softmax --output markdown
          softmax-oracle report --family dominant_target --svg errors.svg
        """
    )

    @OptionGroup var grid: GridOptions
    @OptionGroup var output: ReportOutputOptions

    @Option(name: .customLong("implementation"), help: "Only this implementation (repeatable): \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")).")
    var implementations: [String] = []

    @Option(help: "Worker threads (default: the number of cores).")
    var threads: Int = ProcessInfoCores.count

    func run() throws {
        let chosen = try Self.implementations(named: implementations)
        let configuration = try grid.configuration(for: chosen)
        let cases = configuration.cases()
        let bar = ProgressBar(label: "report")
        // MPFR's exponent range is per thread only in a thread-safe (TLS) build.
        let workers = mpfrIsThreadSafe ? threads : 1
        let result = Runner(oracle: Oracle(), implementations: chosen)
            .run(cases: cases, seed: configuration.seed, threads: workers, progress: { bar.update($0, $1) })
        print(output.render(result), terminator: "")
        try output.writeSVG(result, title: "softmax-oracle report, seed \(configuration.seed)")
    }

    static func implementations(named names: [String]) throws -> [any ImplementationUnderTest] {
        if names.isEmpty { return FastSoftmaxImplementation.all }
        return try parseNames(names, option: "implementation", default: [KernelVariant]()).map(FastSoftmaxImplementation.init)
    }
}

/// The number of online cores.
enum ProcessInfoCores {
    static var count: Int { Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
