import AccuracyHarness
import ArgumentParser
import BuiltInImplementations
import FastSoftmax
import OracleIO
import SoftmaxOracle

struct ImplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impl",
        abstract: "Run one built-in implementation as a JSON Lines process (the protocol any outside implementation speaks).",
        discussion: """
        Reads the same requests as `eval` on stdin, one JSON object per line, and answers each on \
        stdout with that implementation's outputs: {"id": ..., "values": ["0x...", ...]}, or \
        {"id": ..., "error": "..."} for a request it does not support or cannot read. Lines are \
        answered in order and flushed one by one, so a driver can talk to it interactively:

          softmax-oracle check --exec "softmax-oracle impl shifted"

        Implementations: naive, shifted, online, accurate (f64, f32) and mixed (f16, bf16).
        """
    )

    @Argument(help: "The implementation.")
    var name: KernelVariant

    @Option(help: "Format for requests that do not give one.")
    var format: Format = .f64

    @Option(name: .customLong("max-line-bytes"), parsing: .unconditional, help: "The longest request line read (longer lines are answered with an error, and the next lines are read).")
    var maxLineBytes: Int = LineReader.defaultMaxLineBytes

    func validate() throws {
        if maxLineBytes < 1 { throw ValidationError("--max-line-bytes: \(maxLineBytes) must be at least 1") }
    }

    func run() throws {
        let implementation = FastSoftmaxImplementation(name)
        var input = LineReader(maxLineBytes: maxLineBytes)
        _ = try RequestServer(defaultFormat: format, maxLineBytes: maxLineBytes).serve(from: &input, to: LineWriter()) { decoded in
            let request = decoded.request
            guard implementation.supports(request.function, format: request.format) else {
                throw ImplementationError.unsupported("\(name.rawValue) does not compute \(request.function.rawValue) in \(request.format.rawValue)")
            }
            return try decoded.rowRequests().flatMap { try implementation.evaluate($0) }
        }
    }
}
