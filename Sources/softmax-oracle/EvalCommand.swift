import ArgumentParser
import OracleIO
import SoftmaxOracle

struct EvalCommand: ParsableCommand {
    /// The subcommand's name.
    static let name = "eval"

    static let configuration = CommandConfiguration(
        commandName: name,
        abstract: "Evaluate the certified oracle: JSON Lines on stdin, or one function on the command line.",
        discussion: """
        Batch mode (no FUNCTION): reads one JSON request per line on stdin and writes one result \
        line per request on stdout, in order:
          {"id":7,"function":"softmax","format":"f32","logits":["1000","0","-1000"]}
          -> {"id":7,"values":["0x1p+0","0x0p+0","0x0p+0"]}
        Request fields: id (any JSON, echoed), function, format (default --format), logits, and as \
        the function needs: target (class index) or targets (probabilities), label_smoothing, \
        weight, labels and pos_weight (bce_with_logits), batch, targets, ignore_index and \
        reduction (cross_entropy_loss). A bad line gets {"id": ..., "error": "..."} naming the field \
        and value, or the byte offset for invalid JSON or UTF-8; the other lines are still \
        answered, and the exit status is 1. A line longer than --max-line-bytes (default 1 GiB) is \
        answered with an error line without being held in memory.

        Batches: a row function takes "logits" as N rows ([[...],[...]]) and answers "values" as \
        N arrays, row by row; per-row fields (target, targets, labels, pos_weight) are nested the \
        same way, weight and label_smoothing are shared.

        --transport binary: the same requests and results as frames of a JSON header and raw \
        little-endian binary64 arrays (no number as text); a bad frame gets an error frame and \
        the stream goes on (docs/protocol.md, "Binary frames").

        Single mode prints each value as a hex float and as the shortest decimal that reads back \
        to it:
          softmax-oracle eval softmax --format f32 -- 1000 0 -1000

        Functions: \(OracleFunction.allCases.map(\.rawValue).joined(separator: ", ")).

        Formats: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).

        Exit status: 0 every request answered with values; 1 some request got an error line; 2 a \
        usage error (in single mode also arguments the oracle refuses), or input that cannot be \
        read or output that cannot be written.
        """
    )

    @Argument(help: "The function (omit for JSON Lines on stdin).")
    var function: OracleFunction?

    @Argument(help: "The logits (after --, so that negative values are not read as options).")
    var logits: [String] = []

    @Option(help: "Output format (in batch mode, the default for requests without \"format\").")
    var format: Format = EvalCommand.defaultFormat

    @Option(parsing: .unconditional, help: "Class index, for cross_entropy and cross_entropy_grad.")
    var target: Int?

    @Option(parsing: .upToNextOption, help: "Probability targets, one per logit (instead of --target).")
    var targets: [String] = []

    @Option(name: .customLong("label-smoothing"), parsing: .unconditional, help: "Label smoothing in [0, 1].")
    var labelSmoothing: String?

    @Option(parsing: .upToNextOption, help: "Class weights, one per logit.")
    var weight: [String] = []

    @Option(parsing: .upToNextOption, help: "Labels for bce_with_logits, one per logit.")
    var labels: [String] = []

    @Option(name: .customLong("pos-weight"), parsing: .upToNextOption, help: "pos_weight for bce_with_logits: one value, or one per logit.")
    var posWeight: [String] = []

    @Option(name: .customLong("grad-output"), parsing: .upToNextOption, help: "Upstream gradient dy for softmax_backward and log_softmax_backward, one per logit.")
    var gradOutput: [String] = []

    @Flag(name: .customLong("mpfr-only"), help: "Skip the double-word tier: certify every value on the MPFR interval path (same results, slower; for comparisons).")
    var mpfrOnly = false

    @Flag(help: "Batch mode: print to stderr how many requests needed more than the first working precision, and the largest precision used.")
    var stats = false

    @Option(name: .customLong("max-line-bytes"), parsing: .unconditional, help: "Batch mode: the longest request line read (longer lines are answered with an error, and the next lines are read).")
    var maxLineBytes: Int = LineReader.defaultMaxLineBytes

    @Option(help: "Batch mode: jsonl (JSON Lines) or binary (frames of a JSON header and raw little-endian binary64 arrays, docs/protocol.md; what the Python package speaks).")
    var transport: EvalTransport = EvalCommand.defaultTransport

    func validate() throws {
        if maxLineBytes < 1 { throw ValidationError("--max-line-bytes: \(maxLineBytes) must be at least 1") }
        guard let function else {
            let singleOnly = [("--target", target != nil), ("--targets", !targets.isEmpty),
                              ("--label-smoothing", labelSmoothing != nil), ("--weight", !weight.isEmpty),
                              ("--labels", !labels.isEmpty), ("--pos-weight", !posWeight.isEmpty),
                              ("--grad-output", !gradOutput.isEmpty)]
            if let given = singleOnly.first(where: \.1) {
                throw ValidationError("\(given.0) is for single mode (eval FUNCTION ... -- LOGITS); in batch mode the request line gives it")
            }
            return
        }
        if function.isBatchLoss {
            throw ValidationError("\(function.rawValue) takes a batch: use JSON Lines on stdin")
        }
        if transport != .jsonl { throw ValidationError("--transport is for batch mode (eval without FUNCTION, requests on stdin)") }
        // The options a function does not use are refused, as the JSON field of a request is.
        let used = Set(RequestField.used(by: function))
        let given: [(String, RequestField, Bool)] = [
            ("--target", .target, target != nil), ("--targets", .targets, !targets.isEmpty),
            ("--label-smoothing", .labelSmoothing, labelSmoothing != nil), ("--weight", .weight, !weight.isEmpty),
            ("--labels", .labels, !labels.isEmpty), ("--pos-weight", .posWeight, !posWeight.isEmpty),
            ("--grad-output", .gradOutput, !gradOutput.isEmpty),
        ]
        for (option, field, isGiven) in given where isGiven && !used.contains(field) {
            let takes = RequestField.used(by: function).filter { $0 != .logits }.map { "--" + $0.rawValue.replacingUnderscores() }
            throw ValidationError("\(option): not used by \(function.rawValue)" + (takes.isEmpty ? ", which takes only the logits" : ", which takes: \(takes.joined(separator: ", "))"))
        }
        if target != nil && !targets.isEmpty { throw ValidationError("give --target or --targets, not both") }
    }

    /// The default of `--format`.
    static let defaultFormat = Format.f64
    /// The default of `--transport`.
    static let defaultTransport = EvalTransport.jsonl

    func run() throws {
        if let function {
            try single(function, format)
        } else {
            try Self.runBatch(format: format, maxLineBytes: maxLineBytes, transport: transport, mpfrOnly: mpfrOnly, stats: stats)
        }
    }

    /// Batch mode with these options; the defaults are those of the options, so that `main`
    /// can run a bare `softmax-oracle eval` (which always parses, to these values, and always
    /// validates) without building the parser (SoftmaxOracleCommand.main).
    ///
    /// - Throws: ``StreamError`` from reading or writing; `ExitCode(1)` when a request got an
    ///   error line.
    static func runBatch(format: Format = defaultFormat, maxLineBytes: Int = LineReader.defaultMaxLineBytes,
                         transport: EvalTransport = defaultTransport, mpfrOnly: Bool = false, stats: Bool = false) throws {
        let summary = try EvalBatch.run(defaultFormat: format, maxLineBytes: maxLineBytes, transport: transport,
                                        oracle: Oracle(doubleWordTier: !mpfrOnly))
        if stats { StandardError.write(summary.description + "\n") }
        if summary.failures > 0 { throw ExitCode(1) }
    }

    private func single(_ f: OracleFunction, _ outputFormat: Format) throws {
        var request = OracleRequest(function: f, format: outputFormat, logits: try Self.floats(logits, "logits"))
        if let target { request.target = .index(target) }
        if !targets.isEmpty {
            request.target = .probabilities(try Self.floats(targets, "targets"))
        }
        if let labelSmoothing { request.labelSmoothing = try Self.floats([labelSmoothing], "label-smoothing")[0] }
        if !weight.isEmpty { request.weight = try Self.floats(weight, "weight") }
        if !labels.isEmpty { request.labels = try Self.floats(labels, "labels") }
        if !posWeight.isEmpty { request.posWeight = try Self.floats(posWeight, "pos-weight") }
        if !gradOutput.isEmpty { request.gradOutput = try Self.floats(gradOutput, "grad-output") }
        let result: SoftmaxOracle.OracleResult
        do {
            result = try Oracle(doubleWordTier: !mpfrOnly).evaluate(request)
        } catch {
            throw ValidationError(error.description)
        }
        try StandardOutput.write(result.rounded.map { "\(HexFloat.format($0))\t\(HexFloat.shortestDecimal($0))\n" }.joined())
    }

    static func floats(_ texts: [String], _ option: String) throws -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(texts.count)
        for (i, t) in texts.enumerated() {
            do {
                out.append(try HexFloat.checkedParse(t))
            } catch {
                throw ValidationError("\(option)[\(i)]: \(error)")
            }
        }
        return out
    }
}

/// What a batch run of `eval` did.
struct EvalSummary: CustomStringConvertible {
    var requests = 0
    var failures = 0
    /// Requests whose certification needed more than the first working precision.
    var escalated = 0
    var largestPrecision = 0
    /// The ids (JSON text) of the first requests that escalated, with their final precision.
    var escalatedIDs: [String] = []

    var description: String {
        var text = "eval: \(requests) requests, \(failures) errors, \(escalated) needed more than the first working precision, largest precision \(largestPrecision) bits"
        if !escalatedIDs.isEmpty { text += "\nescalated: " + escalatedIDs.joined(separator: ", ") }
        return text
    }
}

/// The JSON Lines mode of `eval`: ``RequestServer`` answering with the oracle.
enum EvalBatch {
    static func run(defaultFormat: Format, maxLineBytes: Int, transport: EvalTransport, oracle: Oracle) throws(StreamError) -> EvalSummary {
        // A request's line or frame, outputs and answer reuse each other's pages. A binary frame
        // of K logits has 8K bytes, a third of their text: the same requests take it.
        HeapReuse.keepFreedMemory(unlessSmallFile: 0, smallBytes: transport == .binary ? 1 << 18 : 1 << 20)
        let tally = Tally()
        let answer = answering(with: oracle, tally: tally)
        let served: RequestServer.Summary
        switch transport {
        case .jsonl:
            var input = LineReader(maxLineBytes: maxLineBytes)
            served = try RequestServer(defaultFormat: defaultFormat, maxLineBytes: maxLineBytes)
                .serve(from: &input, to: LineWriter(), answering: answer)
        case .binary:
            let server = BinaryServer(defaultFormat: defaultFormat)
            var input = BinaryFrameReader(maxPayloadBytes: server.maxPayloadBytes)
            served = try server.serve(from: &input, to: LineWriter(), answering: answer)
        }
        var summary = tally.summary
        summary.requests = served.requests
        summary.failures = served.failures
        return summary
    }

    /// What the answers of a run needed so far (``answering(with:tally:)`` notes each request's).
    final class Tally {
        var summary = EvalSummary()
    }

    /// The answer to each request of the batch mode, as `run` serves it: the request's rounded
    /// values (`Oracle.evaluateRounded(consuming:)`: no exact values, eval writes the rounded
    /// ones), its precision and escalations noted in `tally`. The request is handed over, not
    /// used again, so the oracle may write bce_with_logits' f64 outputs over its labels' storage
    /// instead of allocating a third array of K doubles (EvalHandoverTests checks that it does).
    static func answering(with oracle: Oracle, tally: Tally) -> (consuming DecodedRequest) throws -> AnswerValues {
        { (decoded: consuming DecodedRequest) throws -> AnswerValues in
            let id = decoded.id
            // (A `consuming` parameter is not copied implicitly: a use after this is an error,
            // and keeping a copy takes an explicit `copy`.)
            let results = try oracle.evaluateRounded(consuming: consume decoded)
            if let worst = results.max(by: { $0.precision < $1.precision }) {
                if results.contains(where: { $0.escalations > 0 }) {
                    tally.summary.escalated += 1
                    if tally.summary.escalatedIDs.count < 50 {
                        tally.summary.escalatedIDs.append("\(id.serialized) (\(worst.precision) bits)")
                    }
                }
                tally.summary.largestPrecision = max(tally.summary.largestPrecision, worst.precision)
            }
            return AnswerValues(rounded: results)  // written in place, no [Double] copy
        }
    }
}

/// How `eval`'s batch mode reads requests and writes results.
enum EvalTransport: String, ExpressibleByArgument, CaseIterable {
    /// JSON Lines, one request per line (docs/protocol.md).
    case jsonl
    /// Binary frames (docs/protocol.md, "Binary frames").
    case binary
}

extension String {
    /// `label_smoothing` as the option name `label-smoothing`.
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
