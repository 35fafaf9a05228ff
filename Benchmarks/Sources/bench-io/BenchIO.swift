// bench-io: the JSON Lines text layer (issue 11, "a fast text path too"), in one run:
//   1. ns per value of reading decimal JSON numbers, reading hex-float strings (a request line of
//      10^6 normal(0, 10) logits through RequestServer, the path of `eval`) and writing hex-float
//      strings (a result line of 10^6 values);
//   2. `eval` with JSON Lines, certified softmax into f64 of K = 100 000, whole process, against
//      the plain 128-bit MPFR loop in C reading the same logits from a text file (mpfr-text-loop),
//      interleaved, medians and ratios; `eval` of a request of one logit (the start-up); and the
//      same two requests as binary frames (`eval --transport binary`, what the Python package
//      sends: no number as text);
//   3. `eval` of one JSON request of 10^6 logits (logsumexp, softmax): wall time and peak RSS,
//      for this build and, with --base, an older binary.
//
//   bench-io --oracle PATH [--base PATH] [--rounds N] [--micro]   (scripts/bench-io.sh builds and runs it)
//
// Files: BenchIO.swift (the command line and the table), ValueRates.swift (1), WholeProcess.swift
// (2 and 3).
import ArgumentParser
import BenchArguments
import Foundation

/// The `bench-io` command.
@main
struct BenchIO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-io",
        abstract: "The JSON Lines text layer: ns per value of reading and writing floats, and `eval` (whole process) against the C loop reading the same logits as text.",
        discussion: "Prints a markdown table of medians. `bash scripts/bench-io.sh` builds this, mpfr-text-loop (which must lie beside this binary) and the CLI, and runs it with --oracle."
    )

    @Option(help: ArgumentHelp("The softmax-oracle binary to measure (required).", valueName: "path"))
    var oracle: String?

    @Option(help: ArgumentHelp("An older softmax-oracle binary, measured on the same requests.", valueName: "path"))
    var base: String?

    @Option(parsing: .unconditional, help: "Rounds (interleaved samples) per measurement.")
    var rounds = 9

    @Flag(help: "Only the ns/value rows (section 1).")
    var micro = false

    func validate() throws {
        try checkAtLeast(rounds, 1, option: "rounds")
        if let oracle { try checkExecutable(oracle, option: "oracle") }
        if let base { try checkExecutable(base, option: "base") }
    }

    func run() throws {
        // Checked here, not in validate(): ArgumentParser validates before it reports an unknown
        // option, which this message would then hide.
        guard let oracle else { throw ValidationError("--oracle PATH (the softmax-oracle binary) is required") }
        let textLoop = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mpfr-text-loop").path
        if !micro && !FileManager.default.isExecutableFile(atPath: textLoop) {
            throw ValidationError("no \(textLoop): build the mpfr-text-loop product beside bench-io (scripts/bench-io.sh does)")
        }
        var rows = valueRateRows(rounds: rounds)
        if micro {
            for r in rows { print("| \(r.0) | \(r.1) | \(r.2) |") }
            return
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bench-io-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let processes = WholeProcess(oracle: oracle, base: base, textLoop: textLoop, rounds: rounds, scratch: scratch)
        rows += try processes.evalRows()
        rows += try processes.millionRows()

        print("Medians of \(rounds) rounds (ns/value: process CPU time; processes: wall and CPU time of the child from wait4, peak RSS from /usr/bin/time -f %M).")
        print("")
        print("| measurement | median | target |")
        print("|---|---:|---|")
        for r in rows { print("| \(r.0) | \(r.1) | \(r.2) |") }
    }
}

/// A row of the table: measurement, median, target.
typealias Row = (String, String, String)

/// `x` with `digits` decimals.
func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
