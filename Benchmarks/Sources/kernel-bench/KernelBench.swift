// kernel-bench: the `accurate` softmax and log_softmax kernels against SciPy, in one run, on one
// row of K = 4096 and on a batch of 256 × 4096 (row by row, one thread), f64 and f32.
//
//   kernel-bench [--quick] [--rounds N] [--scipy PATH] [--python PYTHON]
//   kernel-bench --profile "softmax f64 1" [--seconds S]     one case alone, for perf/callgrind
//
// Both sides are timed with process CPU time (the machine may be shared): this process with
// CLOCK_PROCESS_CPUTIME_ID, SciPy with time.process_time (Benchmarks/scipy_softmax.py). Each is
// a median over rounds; the SciPy script runs once per round, interleaved with the Swift
// samples, so that a busy phase of the machine hits both alike. Prints the machine (CPU model,
// FMA/AVX2/AVX-512 flags), how FastSoftmax was compiled, and NumPy's SIMD level.
//
// Files: KernelBench.swift (the command line and the table), Cases.swift (the kernels' cases),
// Machine.swift (clock, CPU model and flags), SciPy.swift (the SciPy script's runs).
import ArgumentParser
import FastSoftmax
import Foundation

/// The `kernel-bench` command.
@main
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-bench",
        abstract: "The `accurate` softmax and log_softmax kernels against SciPy on a row of 4096 and a batch of 256 x 4096, f64 and f32, process CPU time on both sides.",
        discussion: "`bash scripts/bench.sh --kernels` builds and runs it (with --scipy and --python when that Python has NumPy and SciPy)."
    )

    @Flag(help: "Fewer rounds (5 instead of 11).")
    var quick = false

    @Option(parsing: .unconditional, help: "Rounds (samples of each case, and runs of the SciPy script); default 11, or 5 with --quick.")
    var rounds: Int?

    @Option(help: ArgumentHelp("The SciPy baseline script (Benchmarks/scipy_softmax.py).", valueName: "path"))
    var scipy: String?

    @Option(help: "The Python that runs the SciPy script (through /usr/bin/env).")
    var python = "python3"

    @Option(help: ArgumentHelp("Only this case, for about --seconds of CPU time (for perf record / callgrind): \(caseNames.map { "\"\($0)\"" }.joined(separator: ", ")).", valueName: "case"))
    var profile: String?

    @Option(parsing: .unconditional, help: "How long --profile runs its case, in seconds of CPU time.")
    var seconds = 3.0

    func validate() throws {
        if let rounds, rounds < 1 { throw ValidationError("--rounds \(rounds): must be at least 1") }
        if !(seconds > 0) { throw ValidationError("--seconds \(seconds): must be more than 0") }
        if let profile, !caseNames.contains(profile) {
            throw ValidationError("--profile \"\(profile)\": no such case (one of: \(caseNames.joined(separator: ", ")))")
        }
        if let scipy, !FileManager.default.isReadableFile(atPath: scipy) { throw ValidationError("--scipy \(scipy): no readable file there") }
    }

    func run() {
        let cases = kernelCases()
        if let name = profile, let c = cases.first(where: { $0.name == name }) {
            runAlone(c)
        } else {
            measure(cases, rounds: rounds ?? (quick ? 5 : 11))
        }
    }

    /// --profile: `c` alone for `seconds` of CPU time.
    func runAlone(_ c: Case) {
        let t0 = cpuSeconds()
        var calls = 0
        while cpuSeconds() - t0 < seconds {
            c.body()
            calls += 1
        }
        print("\(c.name): \(calls) calls, \(String(format: "%.2f", (cpuSeconds() - t0) / Double(calls * c.rows * k) * 1e9)) ns/element")
    }

    /// Every case and the SciPy script, `rounds` times interleaved; prints the machine and the table.
    func measure(_ cases: [Case], rounds: Int) {
        let inners = cases.map { c -> Int in
            c.body()
            let t0 = cpuSeconds()
            c.body()
            return max(1, Int(0.02 / max(cpuSeconds() - t0, 1e-9)))
        }
        var swiftTimes = Array(repeating: [Double](), count: cases.count)
        var scipyTimes: [String: [Double]] = [:]
        var scipyInfo: [String: String] = [:]
        let start = Date()
        for _ in 0..<rounds {
            for (j, c) in cases.enumerated() { swiftTimes[j].append(sample(c.body, inner: inners[j])) }
            if let script = scipy {
                let r = runSciPy(script, python: python, samples: 3)
                for (key, v) in r.times { scipyTimes[key, default: []].append(v) }
                scipyInfo.merge(r.info) { a, _ in a }
            }
        }

        let (model, flags) = cpuInfo()
        let simd = ["fma", "avx2", "avx512f", "avx512dq", "avx512vl", "avx512bw"].filter { flags.contains(Substring($0)) }
        print("Machine: \(model), \(ProcessInfo.processInfo.activeProcessorCount) cores; flags: \(simd.isEmpty ? "none of FMA/AVX2/AVX-512" : simd.joined(separator: " "))")
        print("FastSoftmax accurate kernels compiled for: \(AccurateBuild.description)")
        if !scipyInfo.isEmpty {
            print("SciPy \(scipyInfo["scipy"] ?? "?"), NumPy \(scipyInfo["numpy"] ?? "?"); NumPy SIMD: baseline \(scipyInfo["simd_baseline"] ?? "?"), dispatched \(scipyInfo["simd_found"] ?? "?")")
        }
        print("Process CPU time, median of \(rounds) rounds (\(String(format: "%.0f", Date().timeIntervalSince(start))) s); ns per element.")
        print("")
        print("| function | format | shape | accurate | SciPy | accurate vs SciPy |")
        print("|---|---|---|---:|---:|---:|")
        for (j, c) in cases.enumerated() {
            let t = median(swiftTimes[j]) / Double(c.rows * k) * 1e9
            let shape = c.rows == 1 ? "1 × 4096" : "\(c.rows) × 4096"
            let s = scipyTimes["\(c.function) \(c.format) \(c.rows)"].map(median)
            let sText = s.map { String(format: "%.2f", $0) } ?? "—"
            let rText = s.map { String(format: "%.2f×", $0 / t) } ?? "—"
            print("| \(c.function) | \(c.format) | \(shape) | \(String(format: "%.2f", t)) | \(sText) | \(rText) |")
        }
    }
}
