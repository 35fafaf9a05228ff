import Foundation
import OracleIO
import Testing

/// Seeded mutation fuzzing of the line readers: byte flips, byte sets, insertions, deletions,
/// truncations, duplications and splices of valid request lines (Examples/requests.jsonl and the
/// golden fixtures' requests) and result lines (the golden fixtures' expected values).
///
/// For every mutated line: no crash; an error names a position (a field, or the byte offset of
/// invalid JSON or UTF-8, or the line as a whole when it is valid JSON but not an object); a
/// decoded id serializes to JSON that reads back to the same id; and the serving loop's answer is
/// always a result line that ``ResultDecoder`` reads. 100,000 inputs in all per run.
///
/// The seed is fixed, so CI is reproducible; set SOFTMAX_ORACLE_FUZZ_SEED to explore others. A
/// failure prints the seed and the input (hex), so it can be replayed.
@Suite("Reader fuzzing")
struct ReaderFuzzTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["SOFTMAX_ORACLE_FUZZ_SEED"].flatMap { UInt64($0) }
        ?? 0x5EED_F022

    /// Valid request lines: the examples, and golden fixture lines with their non-request
    /// members removed (lines of at most 600 bytes, every 7th, to keep the run short).
    static let requestCorpus: [[UInt8]] = {
        var lines = text("Examples/requests.jsonl").split(separator: "\n").map { Array($0.utf8) }
        for (k, line) in goldenLines().enumerated() where k % 7 == 0 {
            guard case .object(let members)? = try? JSONValue.parse(line) else { continue }
            let request = JSONValue.object(members.filter { RequestField(rawValue: $0.0) != nil })
            lines.append(Array(request.serialized.utf8))
        }
        return lines.filter { !$0.isEmpty }
    }()

    /// Valid result lines: the golden fixtures' ids with their expected values, and error lines.
    static let resultCorpus: [[UInt8]] = {
        var lines: [[UInt8]] = []
        for (k, line) in goldenLines().enumerated() where k % 7 == 3 {
            guard let value = try? JSONValue.parse(line), let id = value["id"], let expected = value["expected"] else { continue }
            lines.append(Array(JSONValue.object([("id", id), ("values", expected)]).serialized.utf8))
        }
        lines.append(Array(#"{"id":7,"error":"unsupported format \"e4m3fn\""}"#.utf8))
        lines.append(Array(#"{"id":"a","values":[1.5,"-inf","nan",-0.0,"0x1p-1074",1e400]}"#.utf8))
        return lines
    }()

    static func text(_ path: String) -> String {
        (try? String(contentsOf: packageRoot.appendingPathComponent(path), encoding: .utf8)) ?? ""
    }

    /// The case lines (header lines excluded) of the committed golden fixtures, up to 600 bytes.
    static func goldenLines() -> [String] {
        let directory = packageRoot.appendingPathComponent("Fixtures/golden")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        return names.filter { $0.hasSuffix(".jsonl") }.flatMap { name in
            text("Fixtures/golden/" + name).split(separator: "\n").dropFirst().map(String.init).filter { $0.utf8.count <= 600 }
        }
    }

    /// Bytes that make mutations interesting for a JSON reader.
    static let interesting: [UInt8] = Array(#"{}[],:"\-+.0123456789eEpxnultrfa "#.utf8) + [0x00, 0x0A, 0x0D, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]

    /// `line` with 1–3 mutations; splices take a piece of `corpus`.
    static func mutate(_ line: [UInt8], corpus: [[UInt8]], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = line
        for _ in 0..<random.int(1...3) {
            let position = bytes.isEmpty ? 0 : random.index(bytes.count + 1)
            switch random.index(8) {
            case 0 where !bytes.isEmpty:  // flip one bit
                let k = min(position, bytes.count - 1)
                bytes[k] ^= 1 << UInt8(random.index(8))
            case 1 where !bytes.isEmpty:  // set one byte
                bytes[min(position, bytes.count - 1)] = random.pick(interesting)
            case 2:  // insert bytes
                let inserted = (0..<random.int(1...4)).map { _ in random.oneIn(4) ? UInt8(truncatingIfNeeded: random.next()) : random.pick(interesting) }
                bytes.insert(contentsOf: inserted, at: position)
            case 3 where !bytes.isEmpty:  // delete a range
                let k = min(position, bytes.count - 1)
                bytes.removeSubrange(k..<min(bytes.count, k + random.int(1...8)))
            case 4:  // truncate
                bytes.removeSubrange(position...)
            case 5 where !bytes.isEmpty:  // duplicate a range
                let k = min(position, bytes.count - 1)
                let piece = bytes[k..<min(bytes.count, k + random.int(1...16))]
                bytes.insert(contentsOf: piece, at: random.index(bytes.count + 1))
            default:  // splice: this line's head, another line's tail
                let other = random.pick(corpus)
                bytes = Array(bytes[..<position]) + Array(other[random.index(other.count + 1)...])
            }
        }
        return bytes
    }

    /// Where an error of a line decoder is, or nil when it names no position.
    static func position<Line>(_ error: LineError<Line>, in bytes: [UInt8]) -> String? {
        if let field = error.field { return error.description.hasPrefix("field \"") ? "field \(field)" : nil }
        if let json = error.jsonError {
            return json.offset <= bytes.count && error.description.contains("at byte \(json.offset)") ? "byte \(json.offset)" : nil
        }
        return error.reason.contains("must be a JSON object") ? "the line" : nil
    }

    /// A failure message with the seed and the input, for replaying.
    static func replay(_ what: String, _ iteration: Int, _ bytes: [UInt8]) -> Comment {
        let hex = bytes.prefix(400).map { String(format: "%02x", $0) }.joined()
        return "\(what) (seed \(seed), iteration \(iteration); SOFTMAX_ORACLE_FUZZ_SEED=\(seed) replays it); input hex: \(hex)"
    }

    /// Decodes `bytes` with `decoder`: a decoded line's id must read back from its
    /// serialization, an error must name a position. Returns the problem, or nil.
    static func problem<D: LineDecoding>(_ decoder: D, _ bytes: [UInt8], id: (D.Line) -> JSONValue) -> String? {
        do throws(LineError<D.Line>) {
            let line = id(try decoder.decode(utf8: bytes))
            return (try? JSONValue.parse(line.serialized)) == line ? nil : "the id does not read back from its serialization"
        } catch {
            return position(error, in: bytes) == nil ? "the error names no position: \(error)" : nil
        }
    }

    @Test("request lines: 60,000 mutations, no crash, every error at a position, every answer a readable result line")
    func mutatedRequests() {
        let corpus = Self.requestCorpus
        #expect(corpus.count > 100, "the corpus is read from Examples/ and Fixtures/golden/")
        var random = SplitMix64(seed: Self.seed)
        let server = RequestServer()
        let results = ResultDecoder()
        var failures = 0
        for iteration in 0..<60_000 where failures < 5 {
            let bytes = Self.mutate(random.pick(corpus), corpus: corpus, &random)
            var problem = Self.problem(server.decoder, bytes, id: \.id)
            if problem == nil && iteration % 4 == 0 {
                let answer = server.respond(to: bytes) { $0.request.logits }
                if (try? results.decode(line: answer.line)) == nil { problem = "the answer \(answer.line) is not a result line" }
            }
            if let problem {
                failures += 1
                Issue.record(Self.replay(problem, iteration, bytes))
            }
        }
    }

    @Test("result lines: 40,000 mutations, no crash, every error at a position")
    func mutatedResults() {
        let corpus = Self.resultCorpus
        #expect(corpus.count > 100, "the corpus is read from Fixtures/golden/")
        var random = SplitMix64(seed: Self.seed ^ 0xA5A5)
        var failures = 0
        for iteration in 0..<40_000 where failures < 5 {
            let bytes = Self.mutate(random.pick(corpus), corpus: corpus, &random)
            if let problem = Self.problem(ResultDecoder(), bytes, id: \.id) {
                failures += 1
                Issue.record(Self.replay(problem, iteration, bytes))
            }
        }
    }
}
