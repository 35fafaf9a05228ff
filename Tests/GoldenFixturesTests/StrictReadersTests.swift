#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import OracleIO
import SoftmaxOracle
import Testing
@testable import GoldenFixtures

/// The committed baseline's text, cut to its first `entries` entries (a valid baseline).
func smallBaseline(entries: Int) -> String {
    let text = String(decoding: TestPaths.bytes(TestPaths.baseline), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let first = lines.firstIndex { $0.hasPrefix("  \"entries\": [") }! + 1
    let last = lines[first...].firstIndex { $0 == "  ]" }!
    var kept = Array(lines[first..<(first + entries)])
    kept[kept.count - 1] = String(kept[kept.count - 1].dropLast(kept[kept.count - 1].hasSuffix(",") ? 1 : 0))
    lines.replaceSubrange(first..<last, with: kept)
    return lines.joined(separator: "\n")
}

/// The message of the FixtureError `body` throws, nil when it throws nothing.
func fixtureError(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as FixtureError {
        return error.message
    } catch {
        return "not a FixtureError: \(error)"
    }
}

/// A scratch directory with the logsumexp/f64 file of `cases` uniform_wide cases, and its spec.
func logsumexpFixtures(_ label: String, cases: Int) throws -> (dir: String, spec: FixtureSpec) {
    let dir = TestPaths.scratch(label)
    let spec = FixtureSpec(functions: [.logsumexp], formats: [.f64], families: [.uniformWide], casesPerFamily: cases)
    try FixtureGenerator(spec: spec, threads: 1).write(to: dir)
    return (dir, spec)
}

@Suite("Strict baselines and fixture headers")
struct StrictReadersTests {
    @Test("A baseline entry without max_ulp, an unknown member, an empty implementation list: refused, naming member and line (finding 7)")
    func strictBaseline() throws {
        let good = smallBaseline(entries: 3)
        _ = try AccuracyBaseline(json: good)
        let lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let entryLine = lines.firstIndex { $0.hasPrefix("    {") }! + 1  // 1-based line of entries[0]

        func edited(_ transform: (String) -> String) -> String {
            good.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .map { $0.offset + 1 == entryLine + 1 ? transform(String($0.element)) : String($0.element) }.joined(separator: "\n")
        }
        let noMaxULP = edited { $0.replacingOccurrences(of: #","max_ulp":"#, with: #","max_ulp_was":"#) }
        let message = try #require(fixtureError { _ = try AccuracyBaseline(json: noMaxULP) })
        #expect(message.contains("line \(entryLine + 1)") && message.contains("entries[1]") && message.contains("max_ulp_was"), "\(message)")

        let dropped = edited { line in
            line.replacingOccurrences(of: #"("max_ulp":[^,]*,)"#, with: "", options: .regularExpression)
        }
        let missing = try #require(fixtureError { _ = try AccuracyBaseline(json: dropped) })
        #expect(missing.contains("\"max_ulp\" is missing") && missing.contains("line \(entryLine + 1)"), "\(missing)")

        let unknownTop = good.replacingOccurrences(of: "  \"seed\":", with: "  \"comment\": \"x\",\n  \"seed\":")
        #expect(fixtureError { _ = try AccuracyBaseline(json: unknownTop) }?.contains("unknown member \"comment\"") == true)

        let empty = good.replacingOccurrences(of: #"  "implementations": ["naive", "shifted", "online", "accurate", "mixed"],"#,
                                              with: #"  "implementations": [],"#)
        #expect(empty != good)
        #expect(fixtureError { _ = try AccuracyBaseline(json: empty) }?.contains("\"implementations\": empty") == true)

        let noFamilyCases = good.replacingOccurrences(of: "  \"family_cases\": {\"large_k\": 1},\n", with: "")
        #expect(fixtureError { _ = try AccuracyBaseline(json: noFamilyCases) }?.contains("\"family_cases\"") == true)

        // A max_ulp that reads as infinity (1e999) would switch the cell's gate off; counts
        // larger than the cell's cases are not a run's (found by review).
        let infinite = edited { $0.replacingOccurrences(of: #""max_ulp":[^,]*,"#, with: #""max_ulp":1e999,"#, options: .regularExpression) }
        #expect(infinite != good)
        #expect(fixtureError { _ = try AccuracyBaseline(json: infinite) }?.contains("finite non-negative") == true)
        let overCounted = edited { $0.replacingOccurrences(of: #""scored":[0-9]+,"#, with: #""scored":999,"#, options: .regularExpression) }
        #expect(overCounted != good)
        #expect(fixtureError { _ = try AccuracyBaseline(json: overCounted) }?.contains("999 is not between 0 and the cell's") == true)
    }

    @Test("A header, case line or baseline that is JSON but not an object names the byte where the value starts (CI's FUZZ_SEED=7442951698882679480 mutated a case line to \"3\")")
    func notAnObjectNamesAByte() throws {
        let header = String(decoding: TestPaths.bytes(TestPaths.golden + "/softmax.f32.jsonl"), as: UTF8.self)
            .split(separator: "\n").map(String.init)[0]
        let fixtureHeader = try FixtureHeader(line: header)
        for (text, at) in [("3", 0), ("  [1, 2]", 2), ("\"x\"", 0), ("\tnull", 1)] {
            let messages = [
                fixtureError { _ = try FixtureHeader(line: text) },
                fixtureError { try FixtureMerger.checkCaseLine(text, header: fixtureHeader) },
                fixtureError { _ = try AccuracyBaseline(json: text) },
            ]
            for message in messages {
                let message = try #require(message)
                #expect(message.contains("must be a JSON object, found ") && message.hasSuffix(" at byte \(at)"), "\(text): \(message)")
                #expect(namesPosition(message), "\(message)")
            }
        }
    }

    @Test("A fixture header with an unknown, missing or repeated member is refused, naming it")
    func strictHeader() throws {
        let file = TestPaths.golden + "/softmax.f32.jsonl"
        let header = String(String(decoding: TestPaths.bytes(file), as: UTF8.self).split(separator: "\n")[0])
        _ = try FixtureHeader(line: header)
        let extra = header.replacingOccurrences(of: #""seed":"#, with: #""note":1,"seed":"#)
        #expect(fixtureError { _ = try FixtureHeader(line: extra) }?.contains("unknown member \"note\"") == true)
        let noMaxK = header.replacingOccurrences(of: #","max_k":64"#, with: "")
        #expect(noMaxK != header)
        #expect(fixtureError { _ = try FixtureHeader(line: noMaxK) }?.contains("\"max_k\" is missing") == true)
        let twice = header.replacingOccurrences(of: #""seed":"#, with: #""format":"f32","seed":"#)
        #expect(fixtureError { _ = try FixtureHeader(line: twice) }?.contains("\"format\" appears twice") == true)
        let generator = header.replacingOccurrences(of: #""pos_weight":true,"#, with: #""pos_weight":true,"extra":0,"#)
        #expect(fixtureError { _ = try FixtureHeader(line: generator) }?.contains("header member \"generator\": unknown member \"extra\"") == true)
    }

    @Test("verify checks every row against the header's max_k (finding 8)")
    func verifyMaxK() throws {
        let (dir, _) = try logsumexpFixtures("maxk", cases: 2)
        defer { TestPaths.remove(dir) }
        let path = dir + "/logsumexp.f64.jsonl"
        let text = String(decoding: TestPaths.bytes(path), as: UTF8.self)
        #expect(text.contains(#""max_k":null"#))
        TestPaths.write(Array(text.replacingOccurrences(of: #""max_k":null"#, with: #""max_k":2"#).utf8), path)
        let report = try FixtureVerifier(threads: 1).verify([path])
        #expect(!report.passed)
        #expect(report.problems.contains { $0.description.contains("longer than the header's max_k 2") }, "\(report.problems)")
    }

    @Test("merge checks each case line's content, not only its id (finding 8)")
    func mergeChecksContent() throws {
        let dir = TestPaths.scratch("merge-content")
        defer { TestPaths.remove(dir) }
        let spec = FixtureSpec(functions: [.softmax], formats: [.f32], families: [.uniformWide], casesPerFamily: 2)
        let generator = FixtureGenerator(spec: spec, threads: 1)
        try generator.write(to: dir, shard: Shard(index: 0, count: 2))
        try generator.write(to: dir, shard: Shard(index: 1, count: 2))
        let shard = dir + "/softmax.f32.shard-1-of-2.jsonl"
        let text = String(decoding: TestPaths.bytes(shard), as: UTF8.self)
        TestPaths.write(Array(text.replacingOccurrences(of: #""expected":["#, with: #""expected":[1,"#).utf8), shard)
        let message = fixtureError { _ = try FixtureMerger.merge([dir]) }
        #expect(message?.contains("\(shard):2: case softmax/f32/uniform_wide#1") == true, "\(message ?? "merged")")
        #expect(message?.contains("expected[0]") == true, "\(message ?? "merged")")
    }

    @Test("Stale temporaries of a killed generate are reported by verify and removed by the next generate (finding 8)")
    func staleTemporaries() throws {
        let (dir, spec) = try logsumexpFixtures("stale", cases: 1)
        defer { TestPaths.remove(dir) }
        // A pid that runs no process: the writer of this temporary was killed.
        let dead = (999_000..<1_099_000).first { kill(pid_t($0), 0) != 0 && errno == ESRCH }!
        let stale = ".logsumexp.f64.jsonl.tmp-\(dead)-1"
        TestPaths.write(Array("{\"partial".utf8), dir + "/" + stale)
        let live = ".logsumexp.f64.jsonl.tmp-\(getpid())-99"  // this process: a write under way
        TestPaths.write([], dir + "/" + live)
        let report = try FixtureVerifier(threads: 1).verify([dir])
        #expect(report.passed)
        #expect(report.staleTemporaries == [dir + "/" + stale])
        #expect(report.summary.contains("1 stale temporary file") && report.summary.contains(stale))
        try FixtureGenerator(spec: spec, threads: 1).write(to: dir)
        #expect(!AtomicFile.exists(dir + "/" + stale))
        #expect(AtomicFile.exists(dir + "/" + live))
    }

    @Test("Files are read with open/read: a FIFO and /dev/null read; a directory and a missing file get plain messages (finding 6)")
    func fileReading() throws {
        let dir = TestPaths.scratch("reading")
        defer { TestPaths.remove(dir) }
        #expect(try FileReading.bytes("/dev/null") == [])
        #expect(fixtureError { _ = try AtomicFile.read(dir) } == "\(dir): is a directory (a file is needed here)")
        #expect(fixtureError { _ = try AtomicFile.read(dir + "/nope") } == "\(dir)/nope: no such file")
        #expect(fixtureError { _ = try AccuracyBaseline.read(dir) } == "\(dir): is a directory (a file is needed here)")
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            let text = Array("through a pipe\n".utf8)
            _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        writer.start()
        #expect(try FileReading.bytes(fifo) == Array("through a pipe\n".utf8))
    }
}
