import AccuracyHarness
import GoldenFixtures
import OracleIO
import SoftmaxOracle
import Testing

@Suite("Verify")
struct VerifyTests {
    /// A generated file of the small spec, in memory.
    static let file = FixtureGenerator(spec: smallSpec, threads: 2).file(function: .softmax, format: .f32)
    static let verifier = FixtureVerifier(threads: 2)

    static func verify(_ bytes: [UInt8]) throws -> [FixtureProblem] {
        verifier.verify(try FixtureText(bytes: bytes, path: "softmax.f32.jsonl")).problems
    }

    @Test("A pristine file verifies")
    func pristine() throws {
        #expect(try Self.verify(Self.file.bytes).isEmpty)
    }

    @Test("A single flipped bit in any expected value is caught and named: file, line, case, output, both values")
    func flippedExpectedBits() throws {
        var flips = 0
        for (c, original) in Self.file.cases.enumerated() {
            guard case .values(let values) = original.expectation else { continue }
            for (i, x) in values.enumerated() where !x.isNaN {
                // Bits across the significand, the exponent and the sign.
                for bit in [0, 1, 29, 51, 52, 60, 62, 63] {
                    var changed = Self.file
                    let y = Double(bitPattern: x.bitPattern ^ (1 << UInt64(bit)))
                    var v = values
                    v[i] = y
                    changed.cases[c].expectation = .values(v)
                    let problems = try Self.verify(changed.bytes)
                    let mismatch = FixtureProblem(path: "softmax.f32.jsonl", line: c + 2, caseID: original.key.description,
                                                  kind: .valueMismatch(output: i, file: y, certified: x))
                    #expect(problems == [mismatch], "bit \(bit) of output \(i), line \(c + 2)")
                    flips += 1
                }
                break  // one output per case keeps this fast; every case, every bit class
            }
        }
        #expect(flips > 50)
        let p = FixtureProblem(path: "f.jsonl", line: 5, caseID: "softmax/f32/nan#1", kind: .valueMismatch(output: 2, file: 0x1p-3, certified: 0x1.000002p-3))
        #expect(p.description == "f.jsonl:5: case softmax/f32/nan#1: output 2: the file has 0x1p-3, the oracle certifies 0x1.000002p-3")
    }

    @Test("Every single-bit flip of every byte of a case line is caught (values, inputs, names, letter case)")
    func flippedLineBits() throws {
        // A one-case file (each flip re-verifies the whole file).
        var spec = smallSpec
        spec.families = [.dominantTarget]
        spec.casesPerFamily = 1
        spec.maxK = 4
        let bytes = FixtureGenerator(spec: spec).file(function: .crossEntropy, format: .f32).bytes
        let lineStarts = bytes.indices.filter { $0 == 0 || bytes[$0 - 1] == 0x0A }
        #expect(lineStarts.count == 2)
        // The case line: every byte, every bit (including those that keep the meaning, such as
        // 'a' -> 'A' in a hex digit or 'n' -> 'N' in "nan", which only the canonical-form check sees).
        let start = lineStarts[1], end = bytes.count - 1
        var caught = 0
        for at in start..<end {
            for bit in 0..<8 {
                var changed = bytes
                changed[at] ^= UInt8(1 << bit)
                let problems: [FixtureProblem]
                do {
                    problems = Self.verifier.verify(try FixtureText(bytes: changed, path: "cross_entropy.f32.jsonl")).problems
                } catch {
                    caught += 1  // the file no longer splits into the header's lines
                    continue
                }
                #expect(!problems.isEmpty, "byte \(at - start) bit \(bit) not caught")
                if !problems.isEmpty { caught += 1 }
            }
        }
        #expect(caught == (end - start) * 8)
    }

    @Test("Changed inputs are caught even where the output would not change; --expected-only skips that")
    func inputs() throws {
        var changed = Self.file
        // A logit far below the maximum: softmax there is 0 in f32 either way.
        let c = 0
        var q = changed.cases[c].request
        let j = q.logits.indices.min { q.logits[$0] < q.logits[$1] }!
        q.logits[j] = -0x1p+100
        changed.cases[c].request = q
        changed.cases[c].expectation = .certify(q, with: Oracle())
        let problems = try Self.verify(changed.bytes)
        #expect(problems.count == 1)
        if case .inputMismatch(let why)? = problems.first?.kind {
            #expect(why.hasPrefix(#"member "logits": the file has ["#), "\(why)")
        } else {
            Issue.record("expected an input mismatch, got \(problems)")
        }
        let lenient = FixtureVerifier(threads: 2, checkInputs: false)
        #expect(lenient.verify(try FixtureText(bytes: changed.bytes, path: "x")).problems.isEmpty)
    }

    @Test("Structural problems: wrong case at a line, truncated file, line count, wrong schema, foreign generator")
    func structure() throws {
        var swapped = Self.file
        swapped.cases.swapAt(0, 1)
        let problems = try Self.verify(swapped.bytes)
        #expect(problems.count == 2 && problems.allSatisfy { if case .malformed = $0.kind { true } else { false } })
        #expect(problems[0].description.contains("expected case softmax/f32/normal_small#"))

        let bytes = Self.file.bytes
        #expect(throws: FixtureError.self) { try FixtureText(bytes: Array(bytes.dropLast()), path: "t") }
        let dropped: [UInt8] = bytes.split(separator: 0x0A).dropLast().flatMap { (line: ArraySlice<UInt8>) -> [UInt8] in Array(line) + [0x0A] }
        let countError = #expect(throws: FixtureError.self) { try FixtureText(bytes: dropped, path: "t") }
        #expect(countError?.message == "t: 11 case lines, but the header announces 12")
        let text = String(decoding: bytes, as: UTF8.self)
        let schemaError = #expect(throws: FixtureError.self) {
            try FixtureText(bytes: Array(text.replacingFirst("fixtures/1", "fixtures/9").utf8), path: "t")
        }
        #expect(schemaError?.message == #"t:1: schema "softmax-oracle.fixtures/9" is not "softmax-oracle.fixtures/1", the one this version reads"#)
        let foreign = Array(text.replacingFirst("case-generator/1", "case-generator/2").utf8)
        let foreignProblems = try Self.verify(foreign)
        #expect(foreignProblems.count == 1 && foreignProblems[0].line == 1)
        #expect(FixtureVerifier(threads: 2, checkInputs: false).verify(try FixtureText(bytes: foreign, path: "x")).problems.isEmpty)
    }

    @Test("verify over paths: directories expand to *.jsonl; a missing path is an error")
    func paths() throws {
        let dir = TestPaths.scratch("verify")
        defer { TestPaths.remove(dir) }
        TestPaths.write(Self.file.bytes, dir + "/softmax.f32.jsonl")
        TestPaths.write(Array("not a fixture\n".utf8), dir + "/notes.txt")
        let report = try Self.verifier.verify([dir])
        #expect(report.passed && report.files == 1 && report.cases == 12)
        #expect(report.summary.hasPrefix("verified 1 file, 12 cases, "))
        #expect(throws: FixtureError.self) { try Self.verifier.verify([dir + "/missing.jsonl"]) }
        var broken = Self.file
        broken.cases[3].expectation = .values([1])
        TestPaths.write(broken.bytes, dir + "/softmax.f32.jsonl")
        let failed = try Self.verifier.verify([dir])
        #expect(!failed.passed && failed.problems.count == 1 && failed.problems[0].line == 5)
        #expect(failed.summary.hasPrefix("FAILED: 1 problem (1 mismatch)"))
    }
}

extension String {
    func replacingFirst(_ a: String, _ b: String) -> String {
        guard let r = range(of: a) else { return self }
        return replacingCharacters(in: r, with: b)
    }
}

import Foundation

@Suite("Verify messages")
struct VerifyMessageTests {
    @Test("A file that does not read is one problem located at its line, the path said once")
    func unreadableFile() throws {
        let dir = TestPaths.scratch("unreadable")
        defer { TestPaths.remove(dir) }
        TestPaths.write(Array("{\"schema\":\"x\"}\n".utf8), dir + "/bad.jsonl")
        let report = try FixtureVerifier(threads: 1).verify([dir + "/bad.jsonl"])
        #expect(report.problems.map(\.description)
                == [dir + #"/bad.jsonl:1: schema "x" is not "softmax-oracle.fixtures/1", the one this version reads"#])
        #expect(!report.passed)
    }
}
