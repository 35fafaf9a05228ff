// tier-grid: the certified oracle on rows of K logits from every harness family, for every
// function, through `softmax-oracle eval` (wall time of the whole process: start-up, reading,
// the oracle, writing) on JSON Lines and on binary frames (`eval --transport binary`, what the
// Python package speaks), and in-process (`Oracle.evaluate` alone), against the plain 128-bit
// MPFR softmax C loop on the same row (in-process, no start-up). One run, medians.
//
//   bash scripts/tier-grid.sh                      # K = 100 000, every function and family
//   tier-grid --oracle PATH [--k N] [--repeats R] [--format f64] [--functions a,b] [--families a,b]
//   tier-grid --memory [--k N]                     # cross_entropy_grad's peak memory, in-process
//   tier-grid --threads [--k N]                    # one row's softmax on 1 and on 2 threads
//   --dump DIR                                     # also keep each request as DIR/function.family.jsonl
//                                                  # and DIR/function.family.bin (one frame)
//   --declined                                     # also count the outputs the double-word tier
//                                                  # leaves to the MPFR path (elementwise functions)
//   --floor PATH                                   # also time process-floor (scripts/tier-grid.sh
//                                                  # builds it) on each binary frame
//
// Times are wall times, spawn to exit, the target's measure; the binary eval's CPU time (user +
// system, from wait4) is shown beside it: on a shared machine a process may wait to be scheduled,
// or for an idle virtual CPU to wake, which its wall time counts and its CPU time does not.
//
// The target (issue 13): eval at least 10x faster than the C loop's softmax on the same K.
//
// The fused linear_cross_entropy* functions run only when --functions names them: their cases
// are N <= 3 rows of V <= 64 classes (K does not apply outside large_k), and their baseline is
// the C loop's softmax on the N·V logits z = H·Wᵀ + bias (plain binary64 products).
//
// A cell whose C loop takes less than 10x the time of `eval` on a one-logit request (the process
// start-up, measured first, on each transport) cannot reach 10x through eval whatever the oracle
// does: the summary counts those cells apart ("start-up bound").
//
// With --floor, each binary frame is also given to process-floor (Benchmarks/process-floor), a
// process that only reads the request and writes as many bytes as the oracle's answer has, in the
// cheapest way a process can (the file mapped, the answer from one small buffer), linked as the
// CLI is: the fastest any `eval` could be on that request. A cell whose C loop takes less than 10x
// that is counted apart too ("floor bound": no process that reads this request and writes its
// answer reaches 10x there), and the floor ratio column says how far an ideal process would get.
//
// Files: TierGrid.swift (the command line), Grid.swift (the grid and its table), Cells.swift (one
// cell's request, baseline row and processes), InProcess.swift (--memory, --threads).
import AccuracyHarness
import ArgumentParser
import BenchArguments
import SoftmaxOracle

/// The `tier-grid` command: its options, checked before any work, and the run they choose.
@main
struct TierGrid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tier-grid",
        abstract: "Every function x harness family at K logits through `softmax-oracle eval`, against the 128-bit MPFR softmax C loop (issue 13: at least 10x).",
        discussion: """
        Prints a markdown table of medians (eval on JSON Lines and on binary frames, whole \
        process; Oracle.evaluate in-process; the C loop in-process) and the cells under 10x, \
        start-up bound and floor bound cells apart. `bash scripts/tier-grid.sh` builds the CLI and \
        process-floor and runs this with --oracle and --floor.
        """
    )

    @Option(help: ArgumentHelp("The softmax-oracle binary to time (required unless --memory or --threads).", valueName: "path"))
    var oracle: String?

    @Option(parsing: .unconditional, help: "Logits per row (single_logit keeps 1; the fused linear_cross_entropy* cases do not use it).")
    var k = 100_000

    @Option(parsing: .unconditional, help: "Timed runs per cell (medians; the one-logit start-up takes at least 5).")
    var repeats = 3

    @Option(help: "The format every request rounds into.")
    var format = Format.f64

    @Option(help: ArgumentHelp(
        "Functions, comma-separated (default: every function but linear_cross_entropy*, which run only when named).",
        valueName: "a,b"), transform: commaSeparated)
    var functions: [OracleFunction] = OracleFunction.allCases.filter { !$0.isLinearCrossEntropy }

    @Option(help: ArgumentHelp("Harness families, comma-separated (default: every family).", valueName: "a,b"), transform: commaSeparated)
    var families: [Family] = Family.allCases

    @Option(parsing: .unconditional, help: "The case generator's seed.")
    var seed: UInt64 = 13

    @Flag(help: "Only cross_entropy_grad's peak memory on one row of K, in-process.")
    var memory = false

    @Flag(help: "Only one row of K logits' softmax on 1 and on 2 threads, in-process.")
    var threads = false

    @Option(help: ArgumentHelp("Also keep each request as DIR/function.family.jsonl and .bin (one frame); the folder is made if missing.", valueName: "dir"))
    var dump: String?

    @Flag(help: "Also count the outputs the double-word tier leaves to the MPFR path (elementwise functions).")
    var declined = false

    @Option(help: ArgumentHelp("Also time this process-floor binary on each binary frame (scripts/tier-grid.sh builds it).", valueName: "path"))
    var floor: String?

    func validate() throws {
        try checkAtLeast(k, 1, option: "k")
        try checkAtLeast(repeats, 1, option: "repeats")
        if memory && threads { throw ValidationError("--memory and --threads are separate runs: give one") }
        if memory || threads {
            // One row in-process: a K over the oracle's limit would stop it in the middle.
            let limit = Oracle().maxValues
            if k > limit { throw ValidationError("--k \(k): more than the oracle's \(limit) values per request") }
            return
        }
        // A missing --oracle is reported by run(): ArgumentParser validates before it reports an
        // unknown option, which would then be hidden behind this message.
        if let oracle { try checkExecutable(oracle, option: "oracle") }
        if let floor { try checkExecutable(floor, option: "floor") }
    }

    func run() throws {
        if memory {
            measureMemory(self)
        } else if threads {
            measureThreads(self)
        } else if let oracle {
            try runGrid(self, oracle: oracle)
        } else {
            throw ValidationError("--oracle PATH (the softmax-oracle binary) is required")
        }
    }
}
