import AccuracyHarness
import ParallelExecution
import OracleIO
import SoftmaxOracle

/// One thing wrong with a fixture file, located by file, line and case.
public struct FixtureProblem: Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        /// Output `output` differs from the oracle's certified value (compared bit for bit;
        /// NaN matches NaN, -0 does not match +0).
        case valueMismatch(output: Int, file: Double, certified: Double)
        /// The file has `file` outputs where the oracle gives `certified`.
        case countMismatch(file: Int, certified: Int)
        /// The file expects values and the oracle refuses, or the reverse, or the messages differ.
        case expectationMismatch(file: String, certified: String)
        /// The inputs are not the ones the header's seed and generator give for this case id.
        case inputMismatch(String)
        /// The line is not written the way `fixtures generate` writes it (e.g. `0x1.Ap+0` for
        /// `0x1.ap+0`, spaces, another member order): the values may be right, but the bytes
        /// are not the ones the generator writes, so the file is not a pristine copy.
        case notCanonical(String)
        /// The line or file cannot be read as a fixture.
        case malformed(String)
    }

    /// The file.
    public var path: String
    /// 1-based line number (the header is line 1), nil for the file as a whole.
    public var line: Int?
    /// The case's `id`, when the line has one.
    public var caseID: String?
    /// What is wrong.
    public var kind: Kind

    /// A problem at `line` of `path` (nil: the file as a whole), in case `caseID` if known.
    public init(path: String, line: Int?, caseID: String?, kind: Kind) {
        self.path = path
        self.line = line
        self.caseID = caseID
        self.kind = kind
    }

    /// True for a wrong expected value (as opposed to a file that cannot be read).
    public var isMismatch: Bool {
        switch kind {
        case .malformed: false
        default: true
        }
    }

    /// `path:line: case <id>: output 2: the file has 0x1p-3, the oracle certifies 0x1.000002p-3`.
    public var description: String {
        var s = path
        if let line { s += ":\(line)" }
        s += ": "
        if let caseID { s += "case \(caseID): " }
        switch kind {
        case let .valueMismatch(output, file, certified):
            s += "output \(output): the file has \(HexFloat.format(file)), the oracle certifies \(HexFloat.format(certified))"
        case let .countMismatch(file, certified):
            s += "the file has \(file) expected values, the oracle gives \(certified)"
        case let .expectationMismatch(file, certified):
            s += "the file expects \(file), the oracle gives \(certified)"
        case .inputMismatch(let why):
            s += "inputs differ from the case the header's seed regenerates: \(why)"
        case .notCanonical(let why):
            s += "not in the form `fixtures generate` writes: \(why)"
        case .malformed(let why):
            s += why
        }
        return s
    }
}

/// What ``FixtureVerifier`` found.
public struct VerificationReport: Sendable, Hashable {
    /// Files read.
    public var files = 0
    /// Case lines checked.
    public var cases = 0
    /// Expected values re-certified.
    public var values = 0
    /// Everything wrong, in file and line order.
    public var problems: [FixtureProblem] = []
    /// Temporary files left by an interrupted `generate` or `merge` in the directories verified
    /// (``AtomicFile/staleTemporaries(in:)``): not fixture files, never read, removed by the next
    /// `generate` or `merge` into that directory; reported, not counted as problems.
    public var staleTemporaries: [String] = []

    /// An empty report.
    public init() {}

    /// True when every expected value is the certified one and every file reads.
    public var passed: Bool { problems.isEmpty }

    /// `verified 66 files: 2310 cases, 41234 values, all certified` or the problem count.
    public var summary: String {
        let what = "\(files) file\(files == 1 ? "" : "s"), \(cases) cases, \(values) expected values"
        let stale = staleTemporaries.isEmpty ? "" : "\n\(staleTemporaries.count) stale temporary file\(staleTemporaries.count == 1 ? "" : "s") of an interrupted generate or merge (removed by the next one into the directory): "
            + staleTemporaries.joined(separator: ", ")
        if problems.isEmpty { return "verified \(what): every value is the certified one" + stale }
        let mismatches = problems.filter(\.isMismatch).count
        return "FAILED: \(problems.count) problem\(problems.count == 1 ? "" : "s") (\(mismatches) mismatch\(mismatches == 1 ? "" : "es")) in \(what)" + stale
    }
}

/// Re-certifies fixture files: every expected value is recomputed with the oracle and compared
/// bit for bit; and (by default, ``checkInputs``) every case's inputs are regenerated from the
/// header's seed and every line is checked to be byte for byte what `fixtures generate` writes.
///
/// Checks per file: the header reads (schema, members); the line count is the header's; line k
/// holds the case expected at that position (its `id`); its `function` and `format` are the
/// header's; the request is one `eval` reads; the expected values (or refusal) are the oracle's.
/// With ``checkInputs`` also: the header names this build's generator; the request equals what
/// `CaseGenerator` makes for (seed, id), so a changed input is caught even where it would not
/// change the output; and the header and each line are in canonical form (re-encoding gives the
/// same bytes), so that *any* changed byte of a case line is caught — also one that keeps the
/// meaning, such as `0x1.ap+0` becoming `0x1.Ap+0`. What no check can catch: a change of the
/// `oracle` member (provenance only) that keeps the header canonical.
public struct FixtureVerifier: Sendable {
    /// The oracle that re-certifies the expected values.
    public var oracle: Oracle
    /// Threads for the oracle's work (see `OracleParallelism`).
    public var threads: Int
    /// Regenerate inputs and check canonical form (see the type's documentation); when false,
    /// only the expected values are re-certified (for hand-written or foreign fixture files).
    public var checkInputs: Bool

    /// A verifier; `checkInputs` as documented on the property.
    public init(oracle: Oracle = Oracle(), threads: Int = ProcessorCount.online, checkInputs: Bool = true) {
        self.oracle = oracle
        self.threads = threads
        self.checkInputs = checkInputs
    }

    /// Verifies the files and directories in `paths` (directories: their `*.jsonl` files).
    ///
    /// - Throws: ``FixtureError`` only when a path does not exist or a directory has no fixture
    ///   files; everything wrong inside a file is a ``FixtureProblem`` in the report.
    public func verify(_ paths: [String]) throws(FixtureError) -> VerificationReport {
        var report = VerificationReport()
        for path in paths where AtomicFile.isDirectory(path) {
            report.staleTemporaries += AtomicFile.staleTemporaries(in: path).map { AtomicFile.join(path, $0) }
        }
        for path in try FixtureText.expand(paths) {
            report.files += 1
            let text: FixtureText
            do throws(FixtureError) {
                text = try FixtureText(path: path)
            } catch {
                report.problems.append(Self.fileProblem(path: path, message: error.message))
                continue
            }
            let (problems, values) = verify(text)
            report.cases += text.lines.count
            report.values += values
            report.problems += problems
        }
        return report
    }

    /// A problem for a file that does not read: `FixtureText`'s message, whose `path:line:`
    /// prefix becomes the problem's location.
    static func fileProblem(path: String, message: String) -> FixtureProblem {
        var rest = Substring(message)
        var line: Int?
        if rest.hasPrefix(path + ":") {
            rest = rest.dropFirst(path.count + 1)
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            if !digits.isEmpty, rest.dropFirst(digits.count).hasPrefix(":") {
                line = Int(digits)
                rest = rest.dropFirst(digits.count + 1)
            }
            rest = rest.drop(while: { $0 == " " })
        }
        return FixtureProblem(path: path, line: line, caseID: nil, kind: .malformed(String(rest)))
    }

    /// Verifies one file read into lines; returns its problems and the number of values checked.
    public func verify(_ text: FixtureText) -> (problems: [FixtureProblem], values: Int) {
        let header = text.header
        let keys = header.keysInFile
        var fileProblems: [FixtureProblem] = []
        if checkInputs && header.line != text.headerLine {
            fileProblems.append(FixtureProblem(path: text.path, line: 1, caseID: nil, kind: .notCanonical(
                "the header re-encodes as \(header.line.prefix(160))\(header.line.count > 160 ? "…" : "")")))
        }
        if checkInputs && header.generator != FixtureSchema.generatorName {
            fileProblems.append(FixtureProblem(path: text.path, line: 1, caseID: nil, kind: .inputMismatch(
                "the header names the generator \"\(header.generator)\", this build has \"\(FixtureSchema.generatorName)\" (use --expected-only to check the expected values alone)")))
        }
        let regenerate = checkInputs && header.generator == FixtureSchema.generatorName
        let generator = CaseGenerator(seed: header.seed, options: header.generatorOptions)
        let oracle = self.oracle
        let path = text.path
        let items = Array(zip(text.lines.indices, text.lines))
        let results = OracleParallelism.map(items, threads: threads) { (k, line) -> ([FixtureProblem], Int) in
            Self.verifyLine(line, number: k + 2, expectedKey: keys[k], header: header, path: path,
                            generator: regenerate ? generator : nil, canonical: checkInputs, oracle: oracle)
        }
        return (fileProblems + results.flatMap(\.0), results.reduce(0) { $0 + $1.1 })
    }

    static func verifyLine(_ line: String, number: Int, expectedKey: CaseKey, header: FixtureHeader, path: String,
                           generator: CaseGenerator?, canonical: Bool, oracle: Oracle) -> ([FixtureProblem], Int) {
        func problem(_ id: String?, _ kind: FixtureProblem.Kind) -> FixtureProblem {
            FixtureProblem(path: path, line: number, caseID: id, kind: kind)
        }
        let parsed: ParsedGoldenLine
        do throws(FixtureError) {
            parsed = try ParsedGoldenLine(line: line)
        } catch {
            return ([problem(nil, .malformed(error.message))], 0)
        }
        let id = parsed.id
        if parsed.request.function != header.function || parsed.request.format != header.format {
            return ([problem(id, .malformed("function \(parsed.request.function.rawValue), format \(parsed.request.format.rawValue) in a file of \(header.function.rawValue), \(header.format.rawValue)"))], 0)
        }
        guard parsed.key == expectedKey else {
            return ([problem(id, .malformed("expected case \(expectedKey) at this line (the header's families and counts put it here)"))], 0)
        }
        var problems: [FixtureProblem] = []
        if let maxK = header.maxK, expectedKey.family != .largeK, parsed.request.rowLength > maxK {
            problems.append(problem(id, .malformed("a row of \(parsed.request.rowLength) logits, longer than the header's max_k \(maxK) (only a large_k named in --family-cases is exempt)")))
        }
        if canonical {
            let rewritten = GoldenCase(key: expectedKey, request: parsed.request, expectation: parsed.expectation).line
            if rewritten != line {
                let a = Array(line.utf8), b = Array(rewritten.utf8)
                let common = Swift.min(a.count, b.count)
                let at = (0..<common).first { a[$0] != b[$0] } ?? common
                let context = String(decoding: b[Swift.max(0, at - 20)..<Swift.min(b.count, at + 20)], as: UTF8.self)
                problems.append(problem(id, .notCanonical("byte \(at + 1) differs from the canonical line (there: …\(context)…)")))
            }
        }
        if let generator {
            let regenerated = generator.makeCase(expectedKey).request
            if let difference = requestDifference(parsed.request, regenerated, id: id) {
                problems.append(problem(id, .inputMismatch(difference)))
            }
        }
        let certified = FixtureExpectation.certify(parsed.request, with: oracle)
        switch (parsed.expectation, certified) {
        case let (.values(file), .values(truth)):
            if file.count != truth.count {
                problems.append(problem(id, .countMismatch(file: file.count, certified: truth.count)))
            } else {
                for (i, (a, b)) in zip(file, truth).enumerated() where !sameValue(a, b) {
                    problems.append(problem(id, .valueMismatch(output: i, file: a, certified: b)))
                }
            }
            return (problems, file.count)
        case let (.error(a), .error(b)):
            if a != b { problems.append(problem(id, .expectationMismatch(file: "the error \"\(a)\"", certified: "the error \"\(b)\""))) }
        case let (.values(file), .error(b)):
            problems.append(problem(id, .expectationMismatch(file: "\(file.count) values", certified: "no value: \(b)")))
            return (problems, file.count)
        case let (.error(a), .values(truth)):
            problems.append(problem(id, .expectationMismatch(file: "the error \"\(a)\"", certified: "values \(truth.map(HexFloat.format))")))
        }
        return (problems, 0)
    }

    /// Bit-for-bit equality, except that every NaN matches every NaN.
    static func sameValue(_ a: Double, _ b: Double) -> Bool {
        (a.isNaN && b.isNaN) || a.bitPattern == b.bitPattern
    }

    /// The first request member that differs, as `member "logits": <file> vs <regenerated>`.
    static func requestDifference(_ a: OracleRequest, _ b: OracleRequest, id: String) -> String? {
        let ja = JSONValue.object(requestMembers(a, id: id)), jb = JSONValue.object(requestMembers(b, id: id))
        if ja == jb { return nil }
        let ma = ja.objectMembers!, mb = jb.objectMembers!
        for (name, va) in ma {
            let vb = mb.first { $0.0 == name }?.1
            if vb != va {
                return "member \"\(name)\": the file has \(va.excerpt(maxLength: 80)), the generator gives \(vb?.excerpt(maxLength: 80) ?? "nothing")"
            }
        }
        for (name, vb) in mb where !ma.contains(where: { $0.0 == name }) {
            return "member \"\(name)\": missing from the file, the generator gives \(vb.excerpt(maxLength: 80))"
        }
        return "the requests differ"
    }

    private static func requestMembers(_ r: OracleRequest, id: String) -> [(String, JSONValue)] {
        let line = RequestEncoder.encode(r, id: .string(id))
        return (try? JSONValue.parse(line))?.objectMembers ?? []
    }
}

extension OracleRequest {
    /// The length of the request's rows: its logits, or the longest row of a batch.
    var rowLength: Int { batch.map { $0.map(\.count).max() ?? 0 } ?? logits.count }
}
