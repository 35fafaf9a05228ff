import AccuracyHarness
import ArgumentParser
import BuiltInImplementations
import FastSoftmax
import ParallelExecution
import SoftmaxOracle

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Score the built-in implementations against the oracle over extreme logits (the main job).",
        discussion: """
        Runs every built-in implementation (naive, shifted, online, accurate, mixed) on every \
        function and format it supports, over every generator family of extreme logits, at a fixed \
        seed, and prints per (implementation, function, format): cases, max / mean / p99 ULP error, \
        the share correctly rounded, special-value mismatches, and the worst input as hex floats. \
        The oracle's answer for each case is certified, so every error shown is real.

        Examples:
          softmax-oracle report
          softmax-oracle report --implementation accurate --function log_softmax --output markdown
          softmax-oracle report --family dominant_target --svg errors.svg
        """
    )

    @OptionGroup var grid: GridOptions
    @OptionGroup var output: ReportOutputOptions

    @Option(name: .customLong("implementation"), help: "Only this implementation (repeatable).")
    var implementations: [KernelVariant] = []

    @Option(parsing: .unconditional, help: "Worker threads (default: the number of cores; one when MPFR is not thread-safe).")
    var threads: Int = ProcessorCount.online

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads: \(threads) must be at least 1") }
    }

    func run() throws {
        let chosen = implementations.isEmpty ? FastSoftmaxImplementation.all : implementations.map(FastSoftmaxImplementation.init)
        let configuration = try grid.checkedConfiguration(for: chosen)
        let cases = configuration.cases()
        let bar = ProgressBar(label: "report")
        let result = Runner(oracle: Oracle(), implementations: chosen)
            .run(cases: cases, seed: configuration.seed, threads: threads, progress: { bar.update($0, $1) })
        try StandardOutput.write(output.render(result))
        try output.writeSVG(result, title: "softmax-oracle report, seed \(configuration.seed)")
    }
}
