import SoftmaxOracle

/// Turns one JSON Lines request into an ``OracleRequest``, or a ``RequestError`` that names the
/// field and the offending value and carries the request's `id`.
///
/// The fields are listed in ``RequestField``. Checks, in this order:
/// 1. the line is at most ``maxLineBytes`` bytes and is valid JSON (else: id null, the byte offset);
/// 2. it is an object; its `id` (any JSON) is taken now, so every later error echoes it;
/// 3. every member name is a known field (a typo such as `logit` is an error, with a "did you
///    mean" hint) and appears once;
/// 4. `function` is present and known; `format` (if present) is known, else ``defaultFormat``;
///    `cross_entropy` with `batch` and no `logits` means the batch loss (`cross_entropy_loss`);
/// 5. every field given is used by the function (``RequestField/used(by:)``), and the fields it
///    needs are there: `logits` (every row function), `labels` (`bce_with_logits`), `target` or
///    `targets` (`cross_entropy`, `cross_entropy_grad`), `batch` and `targets` (batch loss);
/// 6. the request holds at most ``maxValues`` numbers in all (counted before they are converted);
/// 7. each value has its type: floats are JSON numbers or ``HexFloat/parse(_:)`` strings,
///    integers are JSON numbers without fraction or exponent that fit `Int`.
///
/// What the decoder does not check, because the oracle does (and names the field there too):
/// lengths that must agree with K, index ranges, signs and finiteness of weights, label
/// smoothing in [0, 1].
public struct RequestDecoder: LineDecoding {
    /// The default for ``maxValues``.
    public static let defaultMaxValues = 10_000_000
    /// The default for ``maxLineBytes``: 1 GiB.
    public static let defaultMaxLineBytes = LineReader.defaultMaxLineBytes

    /// The output format of requests that give no `format` (e.g. from a `--format` flag).
    public var defaultFormat: Format
    /// The most numbers (floats and indices, over all fields) one request may hold.
    public var maxValues: Int
    /// The longest line, in UTF-8 bytes, that ``decode(line:)`` will parse.
    public var maxLineBytes: Int

    /// A decoder with the given limits.
    public init(
        defaultFormat: Format = .f64,
        maxValues: Int = RequestDecoder.defaultMaxValues,
        maxLineBytes: Int = RequestDecoder.defaultMaxLineBytes
    ) {
        self.defaultFormat = defaultFormat
        self.maxValues = maxValues
        self.maxLineBytes = maxLineBytes
    }

    /// Decodes a parsed request (see the type's documentation for the checks).
    public func decode(_ value: JSONValue) throws(RequestError) -> DecodedRequest {
        let (id, request) = try RequestError.decodeObject(value, kind: "a request") { members throws(FieldProblem) in
            try decodeFields(members)
        }
        return DecodedRequest(id: id, request: request)
    }

    // MARK: - Fields

    private func decodeFields(_ members: [(String, JSONValue)]) throws(FieldProblem) -> OracleRequest {
        // 3. Known names, each once.
        var fields: [RequestField: JSONValue] = [:]
        var order: [RequestField] = []
        for (name, value) in members {
            guard let field = RequestField(rawValue: name) else {
                throw FieldProblem(field: name, reason: unknownFieldReason(name))
            }
            guard fields[field] == nil else {
                throw FieldProblem(field: name, reason: "appears more than once")
            }
            fields[field] = value
            order.append(field)
        }

        // 4. Function and format.
        let functionNames = listing(OracleFunction.allCases.map(\.rawValue))
        guard let functionValue = fields[.function] else {
            throw FieldProblem(field: "function", reason: "required but missing (expected one of: \(functionNames))")
        }
        let functionName = try FieldRead.string(functionValue, field: "function", expected: "one of: \(functionNames)")
        guard var function = OracleFunction(rawValue: functionName) else {
            throw FieldProblem(field: "function", reason: "unknown function \(quoted(functionName)) (expected one of: \(functionNames))")
        }
        var format = defaultFormat
        if let formatValue = fields[.format] {
            let formatNames = listing(Format.allCases.map(\.rawValue))
            let name = try FieldRead.string(formatValue, field: "format", expected: "one of: \(formatNames)")
            guard let f = Format(rawValue: name) else {
                throw FieldProblem(field: "format", reason: "unknown format \(quoted(name)) (expected one of: \(formatNames))")
            }
            format = f
        }
        var functionLabel = function.rawValue
        if function == .crossEntropy && fields[.batch] != nil {
            guard fields[.logits] == nil else {
                throw FieldProblem(field: "batch", reason: #"give either "logits" (one row) or "batch" (the batch loss), not both"#)
            }
            function = .crossEntropyLoss
            functionLabel = #"cross_entropy with "batch" (the batch loss, cross_entropy_loss)"#
        }

        // 5. Fields used, fields needed.
        let used = RequestField.used(by: function)
        for field in order where field != .id && field != .function && field != .format && !used.contains(field) {
            var reason = "not used by \(functionLabel), which takes: \(listing(used.map(\.rawValue)))"
            if function.isBatchLoss && field == .target { reason += #" (give "targets": one class index per row)"# }
            if function.isBatchLoss && field == .logits { reason += #" (the rows go in "batch")"# }
            throw FieldProblem(field: field.rawValue, reason: reason)
        }
        func require(_ field: RequestField) throws(FieldProblem) {
            if fields[field] == nil {
                throw FieldProblem(field: field.rawValue, reason: "required but missing for \(functionLabel)")
            }
        }
        switch function {
        case .linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            try require(.hidden)
            try require(.weight)
            try require(.targets)
        case .crossEntropyLoss, .crossEntropyLossBackward:
            try require(.batch)
            try require(.targets)
        case .crossEntropy, .crossEntropyGrad:
            try require(.logits)
            if fields[.target] == nil && fields[.targets] == nil {
                throw FieldProblem(
                    field: "target",
                    reason: #"required but missing for \#(functionLabel) (give "target": a class index, or "targets": one probability per class)"#)
            }
            if fields[.target] != nil && fields[.targets] != nil {
                throw FieldProblem(field: "targets", reason: #"give either "target" (a class index) or "targets" (probabilities), not both"#)
            }
        case .bceWithLogits:
            try require(.logits)
            try require(.labels)
        default:
            try require(.logits)
        }

        // 6. Size limit, before any conversion.
        var total = 0
        for field in order {
            guard let value = fields[field] else { continue }
            let nested = field == .batch || (field == .targets && function.isBatchLoss)
                || (function.isLinearCrossEntropy && (field == .hidden || field == .weight))
            let n: Int
            switch field {
            case .logits, .targets, .weight, .labels, .posWeight, .batch, .hidden, .bias, .ceWeight, .gradOutput:
                n = FieldRead.count(value, nested: nested)
            default: n = 0
            }
            if n > maxValues {
                throw FieldProblem(field: field.rawValue, reason: "\(n) values exceed the limit of \(maxValues)")
            }
            total += n
            if total > maxValues {
                throw FieldProblem(
                    field: field.rawValue,
                    reason: "\(n) values bring the request to \(total) values, over the limit of \(maxValues)")
            }
        }

        // 7. Values.
        var request = OracleRequest(function: function, format: format)
        if function.isLinearCrossEntropy { request.linear = try LinearFields.decode(fields) }
        if let v = fields[.logits] { request.logits = try FieldRead.floats(v, field: "logits") }
        if let v = fields[.target] { request.target = .index(try FieldRead.integer(v, "target")) }
        if let v = fields[.targets], !function.isLinearCrossEntropy {
            if function.isBatchLoss {
                request.batchTargets = try batchTargets(v)
            } else {
                request.target = .probabilities(try FieldRead.floats(v, field: "targets"))
            }
        }
        if let v = fields[.labelSmoothing] { request.labelSmoothing = try FieldRead.float(v, "label_smoothing") }
        if let v = fields[.weight], !function.isLinearCrossEntropy { request.weight = try FieldRead.floats(v, field: "weight") }
        if let v = fields[.labels] { request.labels = try FieldRead.floats(v, field: "labels") }
        if let v = fields[.posWeight] { request.posWeight = try scalarOrArray(v, field: "pos_weight") }
        if let v = fields[.gradOutput] { request.gradOutput = try scalarOrArray(v, field: "grad_output") }
        if let v = fields[.softcap] { request.softcap = try FieldRead.float(v, "softcap") }
        if let v = fields[.zLoss] { request.zLoss = try FieldRead.float(v, "z_loss") }
        if let v = fields[.temperature] { request.temperature = try FieldRead.float(v, "temperature") }
        if let v = fields[.batch] { request.batch = try FieldRead.floatRows(v, field: "batch") }
        if let v = fields[.ignoreIndex] { request.ignoreIndex = try FieldRead.integer(v, "ignore_index") }
        if let v = fields[.reduction] {
            let names = listing(Reduction.allCases.map(\.rawValue))
            let name = try FieldRead.string(v, field: "reduction", expected: "one of: \(names)")
            guard let r = Reduction(rawValue: name) else {
                throw FieldProblem(field: "reduction", reason: "unknown reduction \(quoted(name)) (expected one of: \(names))")
            }
            request.reduction = r
        }
        return request
    }

    /// A float, or an array of floats (`pos_weight`, `grad_output`).
    private func scalarOrArray(_ v: JSONValue, field: String) throws(FieldProblem) -> [Double] {
        if case .array = v { return try FieldRead.floats(v, field: field) }
        if let x = v.floatValue { return [x] }
        throw FieldProblem(field: field, reason: "\(v.excerpt()) is not a number or an array of numbers (\(expectedFloatText))")
    }

    /// The batch loss `targets`: integers (class indices) or arrays of floats (probability rows),
    /// decided by the first element; `[]` is an empty list of indices.
    private func batchTargets(_ v: JSONValue) throws(FieldProblem) -> BatchTargets {
        guard case .array(let elements) = v else {
            throw FieldProblem(
                field: "targets",
                reason: "\(v.excerpt()) is not an array of class indices or of probability rows")
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

    private func unknownFieldReason(_ name: String) -> String {
        let names = RequestField.allCases.map(\.rawValue)
        var reason = "unknown field"
        if let best = names.min(by: { editDistance($0, name) < editDistance($1, name) }),
           editDistance(best, name) <= 2 {
            reason += " (did you mean \(quoted(best))?)"
        }
        return reason + "; the fields are: \(listing(names))"
    }
}
