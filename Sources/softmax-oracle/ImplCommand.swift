import AccuracyHarness
import ArgumentParser
import FastSoftmax
import OracleIO
import SoftmaxOracle

#if canImport(Glibc)
import Glibc
#endif

struct ImplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impl",
        abstract: "Run one built-in implementation as a JSON Lines process (the protocol any outside implementation speaks).",
        discussion: """
        Reads the same requests as `eval` on stdin, one JSON object per line, and answers each on
        stdout with that implementation's outputs: {"id": ..., "values": ["0x...", ...]}, or
        {"id": ..., "error": "..."} for a request it does not support or cannot read. Lines are
        answered in order and flushed one by one, so a driver can talk to it interactively:

          softmax-oracle check --exec "softmax-oracle impl shifted"

        Implementations: naive, shifted, online, accurate (f64, f32) and mixed (f16, bf16).
        """
    )

    @Argument(help: "The implementation: \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String

    @Option(help: "Format for requests that do not give one.")
    var format: String = "f64"

    func run() throws {
        guard let variant = KernelVariant(rawValue: name) else {
            throw ValidationError("unknown implementation \"\(name)\" (expected one of: \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let defaultFormat = Format(rawValue: format) else {
            throw ValidationError("--format: unknown format \"\(format)\"")
        }
        let implementation = FastSoftmaxImplementation(variant)
        let decoder = RequestDecoder(defaultFormat: defaultFormat)
        while let line = readLine(strippingNewline: true) {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            let answer: String
            do {
                let decoded = try decoder.decode(line: line)
                do {
                    guard implementation.supports(decoded.request.function, format: decoded.request.format) else {
                        throw ImplementationError.unsupported("\(name) does not compute \(decoded.request.function.rawValue) in \(decoded.request.format.rawValue)")
                    }
                    answer = ResultEncoder.encode(id: decoded.id, values: try implementation.evaluate(decoded.request))
                } catch {
                    answer = ResultEncoder.encode(id: decoded.id, error: String(describing: error))
                }
            } catch {
                answer = ResultEncoder.encode(error)
            }
            print(answer)
            fflush(nil)
        }
    }
}
