import AccuracyHarness
import OracleIO
import SoftmaxOracle

/// Outputs produced offline (on a GPU farm, by a program that cannot run as a process here),
/// scored as an implementation: a results file of result lines matched by `id` to the requests
/// of a fixtures file (``FixtureFile``).
///
/// - A result line is `{"id": …, "values": [...]}` or `{"id": …, "error": "…"}` (``ResultDecoder``;
///   extra members such as timings are ignored). An `error` line counts as *unsupported*.
/// - A fixture request without a result line is an *error* (counted, and named in
///   ``missingResults`` and in the message "no result for id 17 (fixtures line 18)").
/// - The number of values is checked by the scorer (a wrong count is an error there). A batched
///   fixture line (`logits` N × K) is N cases, one per row, each scored on its slice of the
///   line's answer (nested `[[…],[…]]` or flat, row-major; it must hold every row's values).
/// - Result lines whose id is in no fixture line are listed in ``unknownResultIDs``.
///
/// ``evaluate(_:)`` finds a request's result through the first fixture line holding that
/// request; ``outcome(for:)`` goes by id, which is exact even when two lines hold the same
/// request.
public struct StoredResultsImplementation: ImplementationUnderTest {
    /// The implementation's name in reports.
    public let name: String
    /// Results by id.
    private let results: [IDKey: ResultLine]
    /// The first fixture with each request.
    private let byRequest: [OracleRequest: FixtureCase]
    /// Ids of results that answer no fixture line (serialized JSON), in file order.
    public let unknownResultIDs: [String]
    /// Fixture lines without a result, in file order.
    public let missingResults: [FixtureCase]

    /// Matches `results` to `fixtures`.
    public init(name: String, fixtures: FixtureFile, results: [ResultLine]) {
        self.name = name
        var table: [IDKey: ResultLine] = [:]
        for r in results where table[IDKey(r.id)] == nil { table[IDKey(r.id)] = r }
        self.results = table
        var byRequest: [OracleRequest: FixtureCase] = [:]
        var ids = Set<IDKey>()
        for f in fixtures.cases {
            if byRequest[f.harnessCase.request] == nil { byRequest[f.harnessCase.request] = f }
            ids.insert(IDKey(f.id))
        }
        self.byRequest = byRequest
        self.unknownResultIDs = results.filter { !ids.contains(IDKey($0.id)) }.map { $0.id.excerpt() }
        self.missingResults = fixtures.cases.filter { table[IDKey($0.id)] == nil }
    }

    /// Reads a results file's text (JSON Lines; blank lines skipped, and so are `error` lines
    /// without an id: what an adapter answers to the header line of a requests file).
    ///
    /// - Throws: ``FileProblem`` for a line that is not a result line, has values but no id, or
    ///   repeats an id.
    public static func parseResults(_ text: String, source: String) throws(FileProblem) -> [ResultLine] {
        let decoder = ResultDecoder(allowsUnknownFields: true)
        var lines: [ResultLine] = []
        var seen: [IDKey: Int] = [:]
        for (offset, raw) in splitLines(text).enumerated() {
            let number = offset + 1
            if raw.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            let line: ResultLine
            do throws(ResultError) {
                line = try decoder.decode(line: String(raw))
            } catch {
                throw FileProblem(source: source, line: number, message: "not a result line: \(error.description)")
            }
            guard line.id != .null else {
                // An adapter's answer to a header line of the requests file: nothing to match.
                if line.errorMessage != nil { continue }
                throw FileProblem(source: source, line: number, message: #"the result has no "id" (results are matched to requests by id)"#)
            }
            let key = IDKey(line.id)
            if let first = seen[key] {
                throw FileProblem(source: source, line: number, message: "id \(line.id.excerpt()) was already answered on line \(first)")
            }
            seen[key] = number
            lines.append(line)
        }
        return lines
    }

    /// Every cell: what is not in the files shows up as missing, not as unsupported.
    public func supports(_ function: OracleFunction, format: Format) -> Bool { true }

    /// The stored outputs of the first fixture line holding `request`.
    public func evaluate(_ request: OracleRequest) throws -> [Double] {
        guard let fixture = byRequest[request] else {
            throw ImplementationError.unsupported("no fixture line holds this request (stored results cannot answer new inputs)")
        }
        switch outcome(for: fixture) {
        case .outputs(let values): return values
        case .unsupported(let why): throw ImplementationError.unsupported(why)
        case .failed(let why): throw ImplementationError.failed(why)
        }
    }

    /// The stored outcome of the fixture line (by id): outputs, unsupported (an `error` line), or
    /// failed (no result line).
    public func outcome(for fixture: FixtureCase) -> ImplementationOutcome {
        guard let result = results[IDKey(fixture.id)] else {
            return .failed("no result for id \(fixture.id.excerpt()) (fixtures line \(fixture.line))")
        }
        switch result.outcome {
        case .values(let values):
            guard let row = fixture.row else { return .outputs(values) }
            // One row of a batch: its slice of the N rows' answer, which must hold every row.
            guard values.count == row.total else {
                return .failed("id \(fixture.id.excerpt()): \(values.count) values for a batch of \(row.total) (fixtures line \(fixture.line))")
            }
            return .outputs(Array(values[row.offset..<(row.offset + row.count)]))
        case .error(let message): return .unsupported(message)
        }
    }
}
