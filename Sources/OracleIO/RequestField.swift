import SoftmaxOracle

/// The fields of a JSON Lines request; raw values are the JSON names (snake_case).
///
/// | field | JSON | meaning |
/// |---|---|---|
/// | `id` | any | echoed back verbatim with the result (optional) |
/// | `function` | string | an ``OracleFunction`` raw value (required) |
/// | `format` | string | a `Format` raw value (optional; the decoder's default otherwise) |
/// | `logits` | [float] | the row (inputs x of the elementwise functions) |
/// | `target` | integer | hard class index for `cross_entropy`, `cross_entropy_grad` |
/// | `targets` | [float], or [integer] / [[float]] | probability targets; for the batch loss one index or one probability row per row |
/// | `label_smoothing` | float | ε |
/// | `weight` | [float] | class weights |
/// | `labels` | [float] | `bce_with_logits` labels |
/// | `pos_weight` | float or [float] | `bce_with_logits` positive weight |
/// | `batch` | [[float]] | the rows of the batch loss |
/// | `ignore_index` | integer | batch loss: skip rows with this target (default -100) |
/// | `reduction` | string | batch loss: `none`, `sum`, `mean` (default `mean`) |
/// | `softcap` | float | cross-entropies: c > 0, logits become c·tanh(x/c) (after `temperature`) |
/// | `z_loss` | float | cross-entropies: coefficient >= 0 of logsumexp(z)² per kept row (default 0) |
/// | `temperature` | float | cross-entropies: T > 0, logits become x/T first |
/// | `hidden` | [[float]] | `linear_cross_entropy*`: H, N rows of d |
/// | `weight` | [[float]] | `linear_cross_entropy*`: W, V rows of d (`F.linear`'s weight; class weights are `ce_weight` there) |
/// | `bias` | [float] | `linear_cross_entropy*`: V values (optional) |
/// | `ce_weight` | [float] | `linear_cross_entropy*`: class weights, V values |
/// | `grad_output` | float or [float] | the upstream gradient: `softmax_backward`, `log_softmax_backward`: dy, one per logit; `cross_entropy_loss_backward`: a scalar, one per row for `none`; `linear_cross_entropy_grad_*`: a scalar (default 1), N values for `none` |
///
/// A float is a JSON number (nearest binary64 of its text) or a string that
/// ``HexFloat/parse(_:)`` accepts.
public enum RequestField: String, CaseIterable, Sendable, Hashable {
    // The fields of the table above, in its order (each documented there).
    case id, function, format, logits, target, targets
    case labelSmoothing = "label_smoothing"
    case weight, labels
    case posWeight = "pos_weight"
    case batch
    case ignoreIndex = "ignore_index"
    case reduction
    case softcap
    case zLoss = "z_loss"
    case temperature
    case hidden, bias
    case ceWeight = "ce_weight"
    case gradOutput = "grad_output"

    /// The fields `function` uses besides `id`, `function` and `format` (which every request may
    /// have), in the order they are listed in messages. A request that gives any other field is
    /// rejected, so that a field sent to the wrong function is never silently ignored.
    public static func used(by function: OracleFunction) -> [RequestField] {
        switch function {
        case .logsumexp, .softmax, .logSoftmax, .sigmoid, .logSigmoid, .softplus:
            [.logits]
        case .bceWithLogits:
            [.logits, .labels, .posWeight, .weight]
        case .crossEntropy, .crossEntropyGrad:
            [.logits, .target, .targets, .labelSmoothing, .weight, .softcap, .zLoss, .temperature]
        case .crossEntropyLoss:
            [.batch, .targets, .weight, .ignoreIndex, .reduction, .labelSmoothing, .softcap, .zLoss, .temperature]
        case .softmaxBackward, .logSoftmaxBackward:
            [.logits, .gradOutput]
        case .crossEntropyLossBackward:
            [.batch, .targets, .gradOutput, .weight, .ignoreIndex, .reduction, .labelSmoothing, .softcap, .zLoss, .temperature]
        case .linearCrossEntropy:
            [.hidden, .weight, .bias, .targets, .ceWeight, .ignoreIndex, .reduction, .labelSmoothing, .softcap, .zLoss, .temperature]
        case .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            [.hidden, .weight, .bias, .targets, .ceWeight, .gradOutput, .ignoreIndex, .reduction, .labelSmoothing,
             .softcap, .zLoss, .temperature]
        }
    }
}

/// A request field's value as a decoder received it: JSON (a JSON Lines request, or a member of
/// a binary frame's header), an array of floats that the JSON parser already read into binary64
/// (``FastFloatArray``), or a typed array of a binary frame's payload. The readers below give
/// all of them the same types and the same messages, so that ``RequestDecoder`` checks both
/// transports' requests with one field table.
enum FieldInput {
    /// A JSON value.
    case json(JSONValue)
    /// A JSON array read straight into binary64 from `source`, the request line (valid while the
    /// line is decoded). It holds exactly ``JSONValue/floatValue`` of each element; a reader
    /// that needs anything else (indices, another shape, a value to quote in an error) reads
    /// the array's text again as JSON (``resolved``), so values and errors are the generic
    /// path's.
    case scanned(FastFloatArray, UnsafeBufferPointer<UInt8>)
    /// A binary array (``BinaryArray``).
    case array(BinaryArray)

    /// A JSON value or a binary array: what every input is once a scanned array is read as JSON.
    enum Resolved {
        /// A JSON value (a scanned array read again from its text).
        case json(JSONValue)
        /// A binary array.
        case array(BinaryArray)
    }

    /// A scanned array as the JSON value it was read from; other inputs as they are.
    var resolved: Resolved {
        switch self {
        case .json(let v): return .json(v)
        case .array(let a): return .array(a)
        case .scanned(let f, let source):
            // The range held a valid JSON array when it was scanned, so this cannot fail.
            return .json((try? JSONValue.parse(utf8: UnsafeBufferPointer(rebasing: source[f.range]))) ?? .array([]))
        }
    }

    /// A scanned array's values when all of them were kept.
    private var scannedValues: FastFloatArray.Values? {
        if case .scanned(let f, _) = self, f.complete { f.values } else { nil }
    }

    /// How many numbers it holds, for the size limit (counted before any conversion; arrays of
    /// arrays count their elements; non-arrays count 0 and are reported by the typed readers).
    var valueCount: Int {
        switch self {
        case .json(let v): FieldRead.count(v, nested: true)
        case .scanned(let f, _): f.count
        case .array(let a): a.count
        }
    }

    /// True for N rows: a JSON array whose first element is an array, or a 2-D binary array.
    var isNested: Bool {
        switch self {
        case .json(let v): if case .array(let e) = v, case .array = e.first { true } else { false }
        case .scanned(let f, _): if case .rows = f.values { true } else { false }
        case .array(let a): a.shape.count == 2
        }
    }

    /// The problem for a binary array of the wrong dtype or shape.
    private static func shapeProblem(_ a: BinaryArray, _ field: String, expected: String) -> FieldProblem {
        FieldProblem(field: field, reason: "a \(a.dtype.rawValue) array of shape \(a.shape), expected \(expected)")
    }

    /// An array of floats (`field[k]` names an element in messages).
    func floats(field: String) throws(FieldProblem) -> [Double] {
        if case .flat(let x)? = scannedValues { return x }
        switch resolved {
        case .json(let v): return try FieldRead.floats(v, field: field)
        case .array(let a):
            guard case .f64(let x) = a.values, a.shape.count == 1 else {
                throw Self.shapeProblem(a, field, expected: "f64 of shape [K]")
            }
            return x
        }
    }

    /// One float.
    func float(_ field: String) throws(FieldProblem) -> Double {
        switch resolved {
        case .json(let v): return try FieldRead.float(v, field)
        case .array(let a):
            guard case .f64(let x) = a.values, a.shape.count <= 1, x.count == 1 else {
                throw Self.shapeProblem(a, field, expected: "f64 of shape [] (one number)")
            }
            return x[0]
        }
    }

    /// One float (as a one-element array) or an array of floats (`pos_weight`).
    func floatOrFloats(field: String) throws(FieldProblem) -> [Double] {
        if case .flat(let x)? = scannedValues { return x }
        switch resolved {
        case .json(let v):
            if case .array = v { return try FieldRead.floats(v, field: field) }
            if let x = v.floatValue { return [x] }
            throw FieldProblem(field: field, reason: "\(v.excerpt()) is not a number or an array of numbers (\(expectedFloatText))")
        case .array(let a):
            guard case .f64(let x) = a.values, a.shape.count <= 1 else {
                throw Self.shapeProblem(a, field, expected: "f64 of shape [] or [K]")
            }
            return x
        }
    }

    /// An array of integers (`field[k]` names an element in messages); `expected` says what the
    /// field holds, for a value that is not an array.
    func integers(field: String, expected: String) throws(FieldProblem) -> [Int] {
        switch resolved {
        case .json(let v):
            guard case .array(let elements) = v else {
                throw FieldProblem(field: field, reason: "\(v.excerpt()) is not \(expected)")
            }
            var out: [Int] = []
            out.reserveCapacity(elements.count)
            for (k, e) in elements.enumerated() { out.append(try FieldRead.integer(e, "\(field)[\(k)]")) }
            return out
        case .array(let a):
            guard case .i64(let x) = a.values, a.shape.count == 1 else {
                throw Self.shapeProblem(a, field, expected: "i64 of shape [N]")
            }
            return x
        }
    }

    /// One integer.
    func integer(_ field: String) throws(FieldProblem) -> Int {
        switch resolved {
        case .json(let v): return try FieldRead.integer(v, field)
        case .array(let a):
            guard case .i64(let x) = a.values, a.shape.isEmpty else {
                throw Self.shapeProblem(a, field, expected: "i64 of shape [] (one integer)")
            }
            return x[0]
        }
    }

    /// A string; only JSON holds strings. `expected` is evaluated only for a message.
    func string(field: String, expected: @autoclosure () -> String) throws(FieldProblem) -> String {
        switch resolved {
        case .json(let v): return try FieldRead.string(v, field: field, expected: expected())
        case .array: throw FieldProblem(field: field, reason: "is an array of the payload; give it in the header as a string (\(expected()))")
        }
    }

    /// Rows of floats (`batch`, probability rows); elements are named `field[r][k]`.
    func floatRows(field: String) throws(FieldProblem) -> [[Double]] {
        if case .rows(let rows)? = scannedValues { return rows }
        switch resolved {
        case .json(let v): return try FieldRead.floatRows(v, field: field)
        case .array(let a):
            guard case .f64(let x) = a.values, a.shape.count == 2 else {
                throw Self.shapeProblem(a, field, expected: "f64 of shape [N, K]")
            }
            let k = a.shape[1]
            return (0..<a.shape[0]).map { r in Array(x[(r * k)..<(r * k + k)]) }
        }
    }

    /// The batch loss `targets`: class indices, or probability rows (JSON: decided by the first
    /// element, `[]` is an empty list of indices; binary: i64 [N] or f64 [N, K]).
    func batchTargets() throws(FieldProblem) -> BatchTargets {
        if case .rows(let rows)? = scannedValues { return .probabilities(rows) }
        let v: JSONValue
        switch resolved {
        case .array(let a):
            if case .i64(let t) = a.values, a.shape.count == 1 { return .indices(t) }
            return .probabilities(try floatRows(field: "targets"))
        case .json(let value): v = value
        }
        guard case .array(let elements) = v else {
            throw FieldProblem(field: "targets", reason: "\(v.excerpt()) is not an array of class indices or of probability rows")
        }
        if case .array = elements.first {
            return .probabilities(try FieldRead.floatRows(v, field: "targets"))
        }
        var indices: [Int] = []
        indices.reserveCapacity(elements.count)
        for (k, e) in elements.enumerated() {
            if case .array = e {
                throw FieldProblem(
                    field: "targets[\(k)]",
                    reason: "\(e.excerpt()) is an array, but targets[0] is a class index (give all indices or all probability rows)")
            }
            indices.append(try FieldRead.integer(e, "targets[\(k)]"))
        }
        return .indices(indices)
    }

    /// A per-row field of a batch with its shape: binary arrays as they are; JSON as integers
    /// (class indices, per ``RowBatch/perRowFields``) or floats, a scalar (shape `[]`), a flat
    /// array (`[n]`) or rows of equal length (`[n, m]`; a ragged row is named:
    /// `field "labels[2]": 4 values, but labels[0] has 3`).
    func rowField(_ name: String) throws(FieldProblem) -> RowBatch.Field {
        let integers: Bool
        if case .index = RowBatch.perRowFields[name] { integers = true } else { integers = false }
        if !integers, let values = scannedValues {
            switch values {
            case .flat(let x): return RowBatch.Field(name: name, values: .floats(x), shape: [x.count])
            case .rows(let rows) where rows.allSatisfy({ $0.count == rows[0].count }):
                return RowBatch.Field(name: name, values: .floats(rows.flatMap { $0 }), shape: [rows.count, rows[0].count])
            case .rows: break  // ragged: the generic path names the row
            }
        }
        let v: JSONValue
        switch resolved {
        case .array(let a):
            switch a.values {
            case .f64(let x): return RowBatch.Field(name: name, values: .floats(x), shape: a.shape)
            case .i64(let x): return RowBatch.Field(name: name, values: .indices(x), shape: a.shape)
            }
        case .json(let value): v = value
        }
        func scalar(_ e: JSONValue, _ path: String) throws(FieldProblem) -> RowBatch.Field.Values {
            integers ? .indices([try FieldRead.integer(e, path)]) : .floats([try FieldRead.float(e, path)])
        }
        guard case .array(let rows) = v else {
            return RowBatch.Field(name: name, values: try scalar(v, name), shape: [])
        }
        guard case .array(let first) = rows.first else {
            if integers {
                var out: [Int] = []
                for (k, e) in rows.enumerated() { out.append(try FieldRead.integer(e, "\(name)[\(k)]")) }
                return RowBatch.Field(name: name, values: .indices(out), shape: [rows.count])
            }
            return RowBatch.Field(name: name, values: .floats(try FieldRead.floats(v, field: name)), shape: [rows.count])
        }
        if integers {
            throw FieldProblem(field: name, reason: "\(v.excerpt()) is an array of arrays, expected one class index per row")
        }
        var flat: [Double] = []
        flat.reserveCapacity(rows.count * first.count)
        for (r, row) in rows.enumerated() {
            let values = try FieldRead.floats(row, field: "\(name)[\(r)]")
            if values.count != first.count {
                throw FieldProblem(field: "\(name)[\(r)]", reason: "\(values.count) values, but \(name)[0] has \(first.count) (rows must have equal lengths)")
            }
            flat += values
        }
        return RowBatch.Field(name: name, values: .floats(flat), shape: [rows.count, first.count])
    }
}
