import Dispatch
import Foundation
import Synchronization
import OracleIO
import SoftmaxOracle
import Testing
@testable import GoldenFixtures

/// Seeded mutations of valid texts: byte flips, insertions (bytes and JSON tokens), deletions,
/// truncations, member renames, removals and repeats.
struct Mutator {
    var random: SplitMix64

    static let tokens: [[UInt8]] = ["\"", "{", "}", "[", "]", ",", ":", "null", "true", "-1", "0", "1e999", "-0", "\"x\"", "\\u0000",
                                    "\u{FF}", "\u{1F600}", "\n", " ", "18446744073709551616", "0x1p+0", "[]", "{}"].map { Array($0.utf8) }

    mutating func mutate(_ text: [UInt8]) -> [UInt8] {
        var bytes = text
        let rounds = random.oneIn(4) ? random.int(2...4) : 1
        for _ in 0..<rounds where !bytes.isEmpty {
            let at = random.index(bytes.count)
            switch random.index(8) {
            case 0: bytes[at] ^= UInt8(1 << random.index(8))
            case 1: bytes[at] = UInt8(truncatingIfNeeded: random.next())
            case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
            case 3: bytes.insert(contentsOf: Self.tokens[random.index(Self.tokens.count)], at: at)
            case 4: bytes.removeSubrange(at..<min(bytes.count, at + random.int(1...16)))
            case 5: bytes.removeSubrange(at...)
            case 6: memberEdit(&bytes, remove: false)
            default: memberEdit(&bytes, remove: true)
            }
        }
        return bytes
    }

    /// Renames a member (changes or drops one character of its name), or removes it (name and
    /// value up to the next comma or closing brace), or repeats it.
    private mutating func memberEdit(_ bytes: inout [UInt8], remove: Bool) {
        // Member names: a quote after '{' or ',' up to the quote before ':'.
        var starts: [Int] = []
        for i in 1..<bytes.count where bytes[i] == UInt8(ascii: "\"") && (bytes[i - 1] == UInt8(ascii: "{") || bytes[i - 1] == UInt8(ascii: ",") || bytes[i - 1] == UInt8(ascii: " ")) {
            if let close = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")), close + 1 < bytes.count, bytes[close + 1] == UInt8(ascii: ":") {
                starts.append(i)
            }
        }
        guard !starts.isEmpty else { return }
        let start = starts[random.index(starts.count)]
        let close = bytes[(start + 1)...].firstIndex(of: UInt8(ascii: "\""))!
        if !remove {
            guard close > start + 1 else { return }
            let i = random.int((start + 1)...(close - 1))
            if random.oneIn(2) { bytes.remove(at: i) } else { bytes[i] = UInt8(ascii: "a") + UInt8(random.index(26)) }
            return
        }
        var end = close + 2
        var depth = 0
        var inString = false
        while end < bytes.count {
            let b = bytes[end]
            if inString {
                if b == UInt8(ascii: "\\") { end += 1 } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
            } else if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") {
                depth += 1
            } else if b == UInt8(ascii: "]") || b == UInt8(ascii: "}") {
                if depth == 0 { break }
                depth -= 1
            } else if b == UInt8(ascii: ","), depth == 0 {
                end += 1
                break
            }
            end += 1
        }
        let member = Array(bytes[start..<min(end, bytes.count)])
        if random.oneIn(3) {
            bytes.insert(contentsOf: member + (member.last == UInt8(ascii: ",") ? [] : Array(",".utf8)), at: start)  // repeated
        } else {
            bytes.removeSubrange(start..<min(end, bytes.count))
        }
    }
}

/// Whether an error message says where the problem is: a line (`line 7`, `path:7:`), a byte
/// offset (`byte 12`), or a member (`member "max_ulp"`, `"expected[3]"`, `schema "x" is not …`). Plain scanning: a
/// Regex would dominate the run time in a debug build.
func namesPosition(_ message: String) -> Bool {
    let bytes = Array(message.utf8)
    func digit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 48 && bytes[i] <= 57 }
    for word in ["line ", "byte ", "offset "] {
        for r in message.utf8.ranges(of: Array(word.utf8)) {
            if digit(message.utf8.distance(from: message.utf8.startIndex, to: r.upperBound)) { return true }
        }
    }
    for name in ["member \"", "field \"", "schema \""] where message.contains(name) { return true }
    // A quoted name such as "expected[3]" or "family": a quote, an identifier, a quote.
    var i = 0
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "\""), i + 1 < bytes.count {
            var j = i + 1
            while j < bytes.count, bytes[j] == UInt8(ascii: "_") || bytes[j] == UInt8(ascii: ".") || bytes[j] == UInt8(ascii: "[")
                    || bytes[j] == UInt8(ascii: "]") || (bytes[j] >= 97 && bytes[j] <= 122) || digit(j) { j += 1 }
            if j > i + 1, j < bytes.count, bytes[j] == UInt8(ascii: "\"") { return true }
            i = j
        } else {
            i += 1
        }
    }
    return false
}

@Suite("Fuzzing the fixture and baseline readers")
struct ReaderFuzzTests {
    /// `FUZZ_SEED` replays a run; otherwise a fresh seed, printed with every failure.
    static let seed: UInt64 = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 0...UInt64.max)

    @Test("5×10^4 mutated headers, case lines and baselines: no crash, every error names a position")
    func mutations() throws {
        let seed = Self.seed
        let files = ["softmax.f32.jsonl", "cross_entropy_loss.bf16.jsonl", "bce_with_logits.e4m3fn.jsonl",
                     "log_softmax.f64.jsonl", "logsumexp.f16.jsonl", "cross_entropy_grad.e5m2.jsonl"]
        var headerList: [(String, FixtureHeader)] = []
        var caseList: [(String, FixtureHeader)] = []
        for name in files {
            let lines = String(decoding: TestPaths.bytes(TestPaths.golden + "/" + name), as: UTF8.self).split(separator: "\n").map(String.init)
            let header = try FixtureHeader(line: lines[0])
            headerList.append((lines[0], header))
            caseList += lines.dropFirst().filter { $0.utf8.count < 3000 }.prefix(12).map { ($0, header) }
        }
        let baseline = smallBaseline(entries: 4)
        _ = try AccuracyBaseline(json: baseline)

        // Chunks on several threads (each its own generator, seeded from the run's seed), so
        // that the run stays short in a debug build.
        let chunks = 10
        let headers = headerList, cases = caseList
        let results = Mutex<(inputs: Int, failures: [String])>((0, []))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var mutator = Mutator(random: SplitMix64(seed: seed &+ UInt64(chunk) &* 0x9E37_79B9_7F4A_7C15))
            var failures: [String] = []
            var inputs = 0
            func check(_ input: [UInt8], _ read: (String) throws(FixtureError) -> Void) {
                inputs += 1
                do throws(FixtureError) {
                    try read(String(decoding: input, as: UTF8.self))
                } catch {
                    if !namesPosition(error.message), failures.count < 10 {
                        failures.append("\(error.message)\n    input: \(String(decoding: input.prefix(300), as: UTF8.self))")
                    }
                }
            }
            for _ in 0..<1_200 {
                let (line, _) = headers[mutator.random.index(headers.count)]
                check(mutator.mutate(Array(line.utf8))) { text throws(FixtureError) in _ = try FixtureHeader(line: text) }
            }
            for _ in 0..<2_600 {
                let (line, header) = cases[mutator.random.index(cases.count)]
                check(mutator.mutate(Array(line.utf8))) { text throws(FixtureError) in try FixtureMerger.checkCaseLine(text, header: header) }
            }
            let baselineBytes = Array(baseline.utf8)
            for _ in 0..<1_200 {
                check(mutator.mutate(baselineBytes)) { text throws(FixtureError) in _ = try AccuracyBaseline(json: text) }
            }
            results.withLock { $0.inputs += inputs; $0.failures += failures }
        }
        let (inputs, failures) = results.withLock { $0 }
        #expect(inputs == 50_000)
        #expect(failures.isEmpty, "FUZZ_SEED=\(seed): errors without a position:\n\(failures.prefix(20).joined(separator: "\n"))")
    }
}
