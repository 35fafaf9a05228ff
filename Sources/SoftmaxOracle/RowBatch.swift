import MPFR
import ParallelExecution

/// N rows of one row function in one request (`logits` N × K): the per-row fields as flat
/// row-major arrays with their shapes, the fields every row shares in ``shared``.
///
/// ``requests()`` is the one place where a batch becomes single-row ``OracleRequest``s;
/// ``Oracle/evaluate(_:)-(RowBatch)`` evaluates them (rows in parallel) and answers row by row.
/// Which fields are per-row, and how one row's slice lands in an ``OracleRequest``, is the table
/// ``perRowFields``: adding a per-row field is one line there.
public struct RowBatch: Sendable, Hashable {
    /// The most rows one batch may have.
    public static let maxRows = 1 << 20

    /// One per-row field's values as given: flat, row-major, with the shape they came in.
    public struct Field: Sendable, Hashable {
        /// The values: floats (binary64) or integers (class indices).
        public enum Values: Sendable, Hashable {
            /// Floats, row-major.
            case floats([Double])
            /// Integers, row-major.
            case indices([Int])
        }

        /// The request field name (`logits`, `target`, …).
        public var name: String
        /// The values, row-major.
        public var values: Values
        /// The shape: `[]` for a scalar, `[n]`, `[n, m]`.
        public var shape: [Int]

        /// The field `name` with `values` of `shape`.
        public init(name: String, values: Values, shape: [Int]) {
            self.name = name
            self.values = values
            self.shape = shape
        }
    }

    /// What one row takes of a per-row field, and where it goes in that row's request.
    public enum PerRow: Sendable {
        /// A row of K floats (shape N × K); with `broadcast`, also one row for all (shape K or 1).
        case floats(broadcast: Bool, @Sendable (inout OracleRequest, [Double]) -> Void)
        /// One float per row (shape N).
        case scalar(@Sendable (inout OracleRequest, Double) -> Void)
        /// One integer per row (shape N).
        case index(@Sendable (inout OracleRequest, Int) -> Void)
    }

    /// The per-row fields: every other field of a batched request is the same for all rows and
    /// lives in ``shared`` (`weight`, `label_smoothing`, …).
    public static let perRowFields: [String: PerRow] = [
        "logits": .floats(broadcast: false) { $0.logits = $1 },
        "targets": .floats(broadcast: false) { $0.target = .probabilities($1) },
        "target": .index { $0.target = .index($1) },
        "labels": .floats(broadcast: false) { $0.labels = $1 },
        "pos_weight": .floats(broadcast: true) { $0.posWeight = $1 },
        "grad_output": .floats(broadcast: false) { $0.gradOutput = $1 },
    ]

    /// The function, format and shared fields of every row (its `logits` are not used).
    public var shared: OracleRequest
    /// The per-row fields; `logits` (shape N × K) is required.
    public var fields: [Field]

    /// A batch of `shared`'s function with the per-row `fields`.
    public init(shared: OracleRequest, fields: [Field]) {
        self.shared = shared
        self.fields = fields
    }

    /// N, the number of rows (from `logits`' shape; 0 when it is missing).
    public var rowCount: Int { fields.first { $0.name == "logits" }?.shape.first ?? 0 }

    /// The single-row requests, in row order: ``shared`` with each per-row field's slice.
    ///
    /// - Throws: `OracleError.invalidInput` naming the field for: no `logits` or `logits` not
    ///   N × K; N = 0, N over ``maxRows``, K = 0; a field that is not per-row; a per-row field
    ///   whose shape does not follow `logits` (`field "target": shape [3], but logits has 4 rows`).
    public func requests() throws(OracleError) -> [OracleRequest] {
        guard let logits = fields.first(where: { $0.name == "logits" }), logits.shape.count == 2 else {
            throw .invalidInput(field: "logits", message: "a batch needs logits of N rows of K values")
        }
        if shared.function == .crossEntropyLoss {
            throw .invalidInput(field: "logits", message: #"cross_entropy_loss takes its rows in "batch""#)
        }
        let (n, k) = (logits.shape[0], logits.shape[1])
        if n == 0 { throw .invalidInput(field: "logits", message: "a batch of 0 rows (give at least one row)") }
        if n > Self.maxRows { throw .invalidInput(field: "logits", message: "\(n) rows exceed the limit of \(Self.maxRows)") }
        if k == 0 { throw .invalidInput(field: "logits[0]", message: "K = 0: a row of a batch needs at least one value") }
        var out = [OracleRequest](repeating: shared, count: n)
        for field in fields {
            guard let rule = Self.perRowFields[field.name] else {
                throw .invalidInput(field: field.name, message: "is not a per-row field (the per-row fields are: \(Self.perRowFields.keys.sorted().joined(separator: ", ")))")
            }
            try Self.spread(field, rule, rows: n, columns: k, into: &out)
        }
        return out
    }

    /// Gives each row of `out` its slice of `field` by `rule`, after checking the shape.
    private static func spread(_ field: Field, _ rule: PerRow, rows n: Int, columns k: Int,
                               into out: inout [OracleRequest]) throws(OracleError) {
        let shape = field.shape
        func mismatch(_ expected: String) -> OracleError {
            .invalidInput(field: field.name, message: "shape \(shape) does not fit logits of \(n) rows of \(k) (expected \(expected))")
        }
        switch (rule, field.values) {
        case let (.floats(broadcast, set), .floats(v)):
            if shape == [n, k] {
                for r in 0..<n { set(&out[r], Array(v[(r * k)..<(r * k + k)])) }
            } else if broadcast && shape.count <= 1 && (v.count == 1 || v.count == k) {
                for r in 0..<n { set(&out[r], v) }
            } else {
                throw mismatch(broadcast ? "[\(n), \(k)], [\(k)] or [1]" : "[\(n), \(k)]")
            }
        case let (.scalar(set), .floats(v)):
            guard shape == [n] else { throw mismatch("[\(n)]: one value per row") }
            for r in 0..<n { set(&out[r], v[r]) }
        case let (.index(set), .indices(v)):
            guard shape == [n] else { throw mismatch("[\(n)]: one class index per row") }
            for r in 0..<n { set(&out[r], v[r]) }
        case (.index, .floats):
            throw .invalidInput(field: field.name, message: "must hold integers (class indices), found floats")
        case (.floats, .indices), (.scalar, .indices):
            throw .invalidInput(field: field.name, message: "must hold floats, found integers")
        }
    }

    /// `error` of row `r` as an error of the batch: a per-row field's name gains the row
    /// (`target` → `target[3]`, `targets[2]` → `targets[3][2]`); a shared field's message gains
    /// `(row 3)`; a certification failure names `logits[3]`.
    func inRow(_ r: Int, _ error: OracleError) -> OracleError {
        switch error {
        case let .invalidInput(field, message):
            let name = String(field.prefix { $0 != "[" })
            if Self.perRowFields[name] != nil {
                return .invalidInput(field: "\(name)[\(r)]" + field.dropFirst(name.count), message: message)
            }
            return .invalidInput(field: field, message: "\(message) (row \(r), logits[\(r)])")
        case let .notCertified(output, precision, detail):
            return .notCertified(output: output, precision: precision, detail: "in logits[\(r)] \(detail)")
        }
    }
}

extension Oracle {
    /// Evaluates every row of `batch`, certified as ``evaluate(_:)-(OracleRequest)``; rows run
    /// in parallel (one thread each, up to ``threads``, when MPFR is thread-safe). The result of
    /// row r is element r; the values do not depend on the thread count.
    ///
    /// - Throws: the first row's error (in row order) naming the row (``RowBatch/inRow(_:_:)``),
    ///   or the batch's shape error (``RowBatch/requests()``).
    public func evaluate(_ batch: RowBatch) throws(OracleError) -> [OracleResult] {
        let requests = try batch.requests()
        let available = mpfrIsThreadSafe ? (threads > 0 ? threads : ProcessorCount.online) : 1
        let workers = min(available, requests.count)
        var rowOracle = self
        if workers > 1 { rowOracle.threads = max(1, available / requests.count) }
        let oracle = rowOracle
        let results = Parallel.map(Array(requests.indices), threads: workers) { r -> Result<OracleResult, OracleError> in
            do throws(OracleError) { return .success(try oracle.evaluate(requests[r])) } catch { return .failure(error) }
        }
        var out: [OracleResult] = []
        out.reserveCapacity(results.count)
        for (r, result) in results.enumerated() {
            switch result {
            case .success(let value): out.append(value)
            case .failure(let error): throw batch.inRow(r, error)
            }
        }
        return out
    }
}
