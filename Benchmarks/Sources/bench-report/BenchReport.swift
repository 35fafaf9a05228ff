// bench-report: every measurement of issue 5 in one process, printed as a markdown table of
// medians and ratios. The ratios compare numbers measured in this run only.
//
//   bench-report [--quick] [--wall] [--scipy PATH]  the table (PATH: Benchmarks/scipy_softmax.py)
//   bench-report --peak-memory K               certified f64 softmax of K logits; prints peak RSS
//   bench-report --only-oracle-100k [--quick]  section 1 only (certified softmax, K = 100 000, 1 core)
//   bench-report --profile-oracle FORMAT N [FUNCTION]  N certified softmaxes (or FUNCTION) of section 1's row, nothing else (perf)
//   bench-report --verify-harness N [SEED]     the double-word tier against the MPFR path on the harness's cases
//
// Files: BenchReport.swift (the command line), Modes.swift (the modes but the table), Report.swift
// (the table), Timing.swift (clocks, medians, number formats).
import ArgumentParser
import BenchArguments
import SoftmaxOracle

/// The `bench-report` command.
@main
struct BenchReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-report",
        abstract: "Every measurement of issue 5 in one process: a markdown table of medians and of ratios between numbers of this run.",
        discussion: "`bash scripts/bench.sh` builds and runs it (with --scipy when python3 has NumPy and SciPy)."
    )

    @Flag(help: "Fewer samples (about 1 min).")
    var quick = false

    @Flag(help: "Wall-clock instead of process CPU time for the single-threaded rows.")
    var wall = false

    @Option(help: ArgumentHelp("The SciPy baseline script (Benchmarks/scipy_softmax.py), run with python3.", valueName: "path"))
    var scipy: String?

    @Flag(name: .customLong("only-oracle-100k"), help: "Section 1 only: certified softmax, K = 100 000, 1 core.")
    var onlyOracle100k = false

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Only a certified f64 softmax of K logits; prints the peak RSS, the RSS before it and the tier (the table's child process).",
        valueName: "k"))
    var peakMemory: Int?

    @Option(parsing: .upToNextOption, help: ArgumentHelp(
        "Only N certified requests (softmax, or FUNCTION) into FORMAT of section 1's row, nothing else (for perf).",
        valueName: "format n [function]"))
    var profileOracle: [String] = []

    @Option(parsing: .upToNextOption, help: ArgumentHelp(
        "Only the double-word tier against the MPFR path on N harness cases per family (seed SEED, default 1), 6 formats; exit status 1 on a mismatch.",
        valueName: "n [seed]"))
    var verifyHarness: [String] = []

    /// --profile-oracle's values, parsed.
    var profile: (format: Format, count: Int, function: OracleFunction)? {
        get throws {
            if profileOracle.isEmpty { return nil }
            let option = "--profile-oracle \(profileOracle.joined(separator: " "))"
            guard (2...3).contains(profileOracle.count) else { throw ValidationError("\(option): give FORMAT N [FUNCTION]") }
            let function: OracleFunction = profileOracle.count == 3 ? try value(profileOracle[2], of: option) : .softmax
            if function.isLinearCrossEntropy { throw ValidationError("\(option): \(function.rawValue) takes no row of logits") }
            return (try value(profileOracle[0], of: option), try count(profileOracle[1], of: option), function)
        }
    }

    /// --verify-harness's values, parsed.
    var verification: (perFamily: Int, seed: UInt64)? {
        get throws {
            if verifyHarness.isEmpty { return nil }
            let option = "--verify-harness \(verifyHarness.joined(separator: " "))"
            guard (1...2).contains(verifyHarness.count) else { throw ValidationError("\(option): give N [SEED]") }
            let seed = verifyHarness.count == 2 ? UInt64(verifyHarness[1]) : 1
            guard let seed else { throw ValidationError("\(option): the seed \"\(verifyHarness[1])\" is not an unsigned integer") }
            return (try count(verifyHarness[0], of: option), seed)
        }
    }

    func validate() throws {
        if let peakMemory {
            try checkAtLeast(peakMemory, 1, option: "peak-memory")
            let limit = Oracle().maxValues
            if peakMemory > limit { throw ValidationError("--peak-memory \(peakMemory): more than the oracle's \(limit) values per request") }
        }
        _ = try profile
        _ = try verification
        if let scipy { try checkReadable(scipy, option: "scipy") }
    }

    func run() throws {
        if let peakMemory {
            measurePeakMemory(k: peakMemory)
        } else if let profile = try profile {
            runProfile(profile.format, count: profile.count, function: profile.function)
        } else if let verification = try verification {
            if !crossCheckHarness(perFamily: verification.perFamily, seed: verification.seed) { throw ExitCode.failure }
        } else {
            var report = Report(quick: quick, timing: Timing(useWallClock: wall))
            report.oracle100k()
            if onlyOracle100k {
                report.printRows()
                return
            }
            report.everyFunction()
            report.mpfrPath()
            report.cores()
            try report.peakMemory()
            let scipyTimes = scipy.map { report.runSciPy($0) } ?? [:]
            report.kernels(scipy: scipyTimes)
            report.harness()
            report.printTable()
        }
    }
}

/// The value named `text` among a `--profile-oracle` option's values.
private func value<T: ExpressibleByArgument & CaseIterable & RawRepresentable>(_ text: String, of option: String) throws -> T where T.RawValue == String {
    guard let v = T(argument: text) else {
        throw ValidationError("\(option): \"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return v
}

/// A count of at least 1 among an option's values.
private func count(_ text: String, of option: String) throws -> Int {
    guard let n = Int(text), n >= 1 else { throw ValidationError("\(option): \"\(text)\" is not a count of at least 1") }
    return n
}
