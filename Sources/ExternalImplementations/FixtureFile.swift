import AccuracyHarness
import OracleIO
import SoftmaxOracle

/// A problem with a fixtures or results file, naming the file and line.
public struct FileProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file (as given on the command line).
    public var source: String
    /// 1-based line number; 0 for the file as a whole.
    public var line: Int
    /// What is wrong.
    public var message: String

    /// A problem at `line` (0: the whole file) of `source`.
    public init(source: String, line: Int, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    /// `FILE:LINE: message`.
    public var description: String {
        line > 0 ? "\(source):\(line): \(message)" : "\(source): \(message)"
    }
}

/// One request of a fixtures file, with its id and where it came from.
public struct FixtureCase: Sendable, Hashable {
    /// The line's `id`, verbatim.
    public var id: JSONValue
    /// 1-based line number in the file.
    public var line: Int
    /// The case: key (function, format, family, index), seed, request.
    public var harnessCase: HarnessCase
    /// Whether the line named its generator family (else the key carries
    /// ``FixtureFile/fallbackFamily``).
    public var familyGiven: Bool
    /// For one row of a batched request (`logits` N × K), where its outputs lie in the line's
    /// answer (N rows, read row-major); nil for a single-row request.
    public var row: FixtureRow? = nil
}

/// One row of a batched fixture line: the line's answer holds `total` values, row by row, and
/// this row's are `offset ..< offset + count`.
public struct FixtureRow: Sendable, Hashable {
    /// The row's index in the batch.
    public var index: Int
    /// Where the row's values start in the answer.
    public var offset: Int
    /// How many values the row has.
    public var count: Int
    /// How many values the whole answer has.
    public var total: Int
}

/// A fixtures file: JSON Lines of requests, each with an `id`, read for scoring stored results
/// (`check --results FILE --fixtures FILE`). Golden fixture files (`fixtures generate`) and the
/// files `check --emit-requests` writes are such files.
///
/// ## Accepted lines
/// - A request line as `eval` reads it (``RequestDecoder``), with an `id` (any JSON but null;
///   ids must be unique). Floats are exact hex floats, decimals or JSON numbers.
/// - A batched request (`logits` N × K of a row function) is N cases, one per row
///   (``FixtureCase/row``), scored on the row's slice of the line's answer.
/// - Extra members are metadata, and are ignored — `expected`, `expected_error`, `family`,
///   `index`, `seed`, anything — *except* a name within two edits of a request field (`logit`,
///   `weights`, `label_smothing`) and not a common metadata name (``knownMetadata``: `formats`,
///   `functions`, …): that is a typo, and an error, because silently dropping it would change
///   the request.
/// - The case's generator family and index come from an id of the form
///   `function/format/family#index` (the case key, as golden fixtures and `--emit-requests`
///   write it), else from `family` and `index` members; reports group cases by family. Lines
///   with neither are filed under ``fallbackFamily`` and counted in ``casesWithoutFamily``.
/// - A line with a `schema` member is a header (golden fixture files start with one) and is
///   skipped; its `seed`, if any, becomes the seed shown with the cases that follow. So is an
///   object with neither `function` nor `request`. Blank lines are skipped.
/// - A line whose request is nested (`{"id": 3, "request": {...}, "expected": [...]}`) is read
///   the same way (the outer `id` wins).
public struct FixtureFile: Sendable, Hashable {
    /// The cases, in file order.
    public var cases: [FixtureCase]
    /// Header or metadata lines skipped.
    public var metadataLines: Int
    /// Lines that named no family (a batched line is several cases).
    public var casesWithoutFamily: Int

    /// The family given to lines without one (reports need a family; the by-family table is
    /// then not meaningful, and `check` leaves it out).
    public static let fallbackFamily = Family.uniformWide

    /// A file of `cases`, after skipping `metadataLines` header or metadata lines.
    public init(cases: [FixtureCase], metadataLines: Int = 0) {
        self.cases = cases
        self.metadataLines = metadataLines
        self.casesWithoutFamily = Set(cases.filter { !$0.familyGiven }.map(\.line)).count  // lines: a batch is several cases
    }

    /// Reads a fixtures file's text.
    ///
    /// - Parameters:
    ///   - source: the file name, for messages.
    ///   - defaultFormat: the format of lines that give none.
    /// - Throws: ``FileProblem`` for the first bad line (not JSON, not an object, a request that
    ///   does not decode, a typo of a field, a missing or duplicate id, an unknown family).
    public static func parse(_ text: String, source: String, defaultFormat: Format = .f64) throws(FileProblem) -> FixtureFile {
        let decoder = RequestDecoder(defaultFormat: defaultFormat)
        var cases: [FixtureCase] = []
        var seen: [IDKey: Int] = [:]
        var metadata = 0
        var perFamily: [Family: Int] = [:]
        var headerSeed: UInt64 = 0
        for (offset, raw) in splitLines(text).enumerated() {
            let number = offset + 1
            if raw.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            func problem(_ message: String) -> FileProblem { FileProblem(source: source, line: number, message: message) }
            let value: JSONValue
            do throws(JSONParseError) {
                value = try JSONValue.parse(String(raw))
            } catch {
                throw problem(error.description)
            }
            guard let members = value.objectMembers else {
                throw problem("a fixture line must be a JSON object, found \(value.kindDescription)")
            }
            let nested = value["request"]?.objectMembers
            if value["schema"] != nil || (value["function"] == nil && nested == nil) {
                metadata += 1
                if let s = value["seed"].flatMap(parseSeed) { headerSeed = s }
                continue
            }
            var requestMembers: [(String, JSONValue)] = []
            var id = value["id"] ?? .null
            if let nested {
                if id == .null { id = nested.first(where: { $0.0 == "id" })?.1 ?? .null }
                requestMembers = nested.filter { $0.0 != "id" }
                // The outer members are metadata; only a typo of a request field is refused.
                for (name, _) in members where name != "id" && name != "request" {
                    if let field = typoTarget(name) { throw problem(typoMessage(name, field)) }
                }
            } else {
                for (name, member) in members where name != "id" {
                    if RequestField(rawValue: name) != nil {
                        requestMembers.append((name, member))
                    } else if let field = typoTarget(name) {
                        throw problem(typoMessage(name, field))
                    }
                }
            }
            guard id != .null else {
                throw problem(#"the line has no "id" (results are matched to requests by id)"#)
            }
            let key = IDKey(id)
            if let first = seen[key] {
                throw problem("id \(id.excerpt()) was already used on line \(first)")
            }
            seen[key] = number

            let decoded: DecodedRequest
            do throws(RequestError) {
                decoded = try decoder.decode(.object([("id", id)] + requestMembers))
            } catch {
                throw problem("id \(id.excerpt()): \(error.description)")
            }

            var family = fallbackFamily
            var familyGiven = false
            var keyIndex: Int?
            if let key = caseKey(id), key.function == decoded.request.function, key.format == decoded.request.format {
                family = key.family
                familyGiven = true
                keyIndex = key.index
            } else if let f = value["family"] {
                guard let name = f.stringValue, let known = Family(rawValue: name) else {
                    throw problem("field \"family\": \(f.excerpt()) is not a generator family (expected one of: "
                        + Family.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                }
                family = known
                familyGiven = true
            }
            // A batch (`logits` N × K) is scored row by row: one case per row, each answered by
            // its slice of the line's (row-major) answer.
            let requests: [OracleRequest]
            do throws(OracleError) {
                requests = try decoded.rowRequests()
            } catch {
                throw problem("id \(id.excerpt()): \(error)")
            }
            let counts = requests.map(ExpectedOutputs.count(for:))
            let total = counts.reduce(0, +)
            let index: Int
            if let i = keyIndex ?? value["index"]?.integerValue {
                index = i
            } else {
                index = perFamily[family, default: 0]
            }
            perFamily[family, default: 0] += requests.count
            let seed = value["seed"].flatMap(parseSeed) ?? headerSeed
            var offset = 0
            for (r, request) in requests.enumerated() {
                let harnessCase = HarnessCase(
                    key: CaseKey(function: request.function, format: request.format, family: family, index: index + r),
                    seed: seed, request: request)
                let row = decoded.batch == nil ? nil : FixtureRow(index: r, offset: offset, count: counts[r], total: total)
                cases.append(FixtureCase(id: id, line: number, harnessCase: harnessCase, familyGiven: familyGiven, row: row))
                offset += counts[r]
            }
        }
        return FixtureFile(cases: cases, metadataLines: metadata)
    }

    /// The schema tag of the header line ``text(for:seed:)`` writes.
    public static let requestsSchema = "softmax-oracle.requests/1"

    /// The fixture line for a generated case: its request (``RequestEncoder``) with the case key
    /// `function/format/family#index` as its id — a golden fixture case line without `expected`.
    public static func line(for harnessCase: HarnessCase) -> String {
        RequestEncoder.encode(harnessCase.request, id: .string(harnessCase.key.description))
    }

    /// A requests file for `cases`: a header line `{"schema":"softmax-oracle.requests/1",
    /// "seed":…,"cases":…}`, then one ``line(for:)`` per case, each line ending with a newline.
    public static func text(for cases: [HarnessCase], seed: UInt64) -> String {
        let header = JSONValue.object([("schema", .string(requestsSchema)), ("seed", .number(String(seed))),
                                       ("cases", .number(cases.count))]).serialized
        return ([header] + cases.map(line(for:))).map { $0 + "\n" }.joined()
    }

    /// The case key an id names, when it is a string `function/format/family#index`.
    static func caseKey(_ id: JSONValue) -> CaseKey? {
        guard let text = id.stringValue else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, let hash = parts[2].lastIndex(of: "#"),
              let function = OracleFunction(rawValue: String(parts[0])),
              let format = Format(rawValue: String(parts[1])),
              let family = Family(rawValue: String(parts[2][..<hash])),
              let index = Int(parts[2][parts[2].index(after: hash)...]), index >= 0
        else { return nil }
        return CaseKey(function: function, format: format, family: family, index: index)
    }

    /// The request field `name` is probably a typo of, if any (edit distance 1 or 2, and not a
    /// field itself).
    static func typoTarget(_ name: String) -> RequestField? {
        guard RequestField(rawValue: name) == nil, !knownMetadata.contains(name) else { return nil }
        let normalized = name.lowercased().replacingDashes()
        if let exact = RequestField(rawValue: normalized) { return exact }
        let best = RequestField.allCases.min { editDistance($0.rawValue, normalized) < editDistance($1.rawValue, normalized) }!
        let d = editDistance(best.rawValue, normalized)
        // Short names are too close to everything (e.g. "key" and "id"): ask for a real overlap.
        return d <= 2 && d < best.rawValue.count - 1 && d < normalized.count - 1 ? best : nil
    }

    /// Metadata names that are never typos, although some are close to a field name.
    static let knownMetadata: Set<String> = [
        "formats", "functions", "expected", "expected_error", "expected_exact", "exact", "rounded", "family", "families", "index",
        "seed", "schema", "version", "oracle_version", "case", "key", "comment", "note", "notes", "precision",
        "escalations", "reference", "values", "ulp", "ulps",
    ]

    static func typoMessage(_ name: String, _ field: RequestField) -> String {
        "field \"\(name)\": unknown, and close to the request field \"\(field.rawValue)\" "
            + "(a typo would silently change the request; fix the name, or rename the metadata)"
    }

    static func parseSeed(_ v: JSONValue) -> UInt64? {
        if case .number(let literal) = v { return UInt64(literal) }
        guard let s = v.stringValue else { return nil }
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s)
    }
}

/// An id as a dictionary key: integers by value (`7` and `7.0` are the same id), other numbers
/// by their binary64 value, strings by content, anything else by its serialization.
struct IDKey: Hashable {
    let text: String

    init(_ id: JSONValue) {
        switch id {
        case .number(let literal):
            if let d = Double(literal), d == d.rounded(), abs(d) < 0x1p53 {
                text = "n" + String(Int64(d))
            } else if let d = Double(literal) {
                text = "d" + String(d.bitPattern)
            } else {
                text = "j" + literal
            }
        case .string(let s): text = "s" + s
        default: text = "j" + id.serialized
        }
    }
}

/// Lines of `text` (split at "\n"; a final newline does not start another line).
func splitLines(_ text: String) -> [Substring] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    return lines
}

extension String {
    func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
