import ArgumentParser
import Foundation

/// The `softmax-oracle` command: a thin layer over the libraries.
@main
struct SoftmaxOracleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "softmax-oracle",
        abstract: "Certified ground truth for softmax, log-softmax, logsumexp and cross-entropy, and a harness that scores implementations against it in ULPs.",
        discussion: """
        Every value the oracle prints is the exact result rounded once, to nearest-even, into the
        requested format (f64, f32, f16, bf16, e5m2, e4m3fn), and each rounding is proven: the exact
        value is enclosed by MPFR interval arithmetic until both ends round to the same number.

        Floats are read and written exactly: hex floats ("0x1.8p+1"), "inf", "-inf", "nan", or
        decimals (read as the nearest binary64).
        """,
        subcommands: [EvalCommand.self, ReportCommand.self, ImplCommand.self, CheckCommand.self, FixturesCommand.self, RegressCommand.self]
    )

    /// ArgumentParser's `main`, except that a usage error of `check` exits with status 2 (its
    /// documented contract: 0 within the limits, 1 over them, 2 on usage or protocol errors)
    /// instead of 64.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if arguments.first == CheckCommand.configuration.commandName, exitCode(for: error) == .validationFailure {
                StandardError.write(fullMessage(for: error) + "\n")
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
