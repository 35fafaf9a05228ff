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
///    `targets` (`cross_entropy`, `cross_entropy_grad`), `batch` and `targets` (batch loss),
///    `grad_output` (`softmax_backward`, `log_softmax_backward`);
/// 6. the request holds at most ``maxValues`` numbers in all (counted before they are converted);
/// 7. each value has its type: floats are JSON numbers or ``HexFloat/parse(_:)`` strings,
///    integers are JSON numbers without fraction or exponent that fit `Int`. A row function
///    whose `logits` are N rows (`[[…],[…]]`, or a 2-D binary array) is a batch: its per-row
///    fields (``RowBatch/perRowFields``) are read with their shapes into
///    ``DecodedRequest/batch`` (ragged rows named: `logits[2]`), and ``RowBatch/requests()``
///    checks their shapes against the rows.
///
/// ``BinaryRequestDecoder`` runs steps 3–7 on a binary frame's header members and payload
/// arrays (``FieldInput``), so both transports check requests with one field table.
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
        let (id, decoded) = try RequestError.decodeObject(value, kind: "a request") { members throws(FieldProblem) in
            try decodeFields(members.map { ($0.0, FieldInput.json($0.1)) })
        }
        return DecodedRequest(id: id, request: decoded.request, batch: decoded.batch)
    }

    /// The members whose arrays the parser may read straight into binary64.
    static let floatArrayFields = MemberNames([
        RequestField.logits, .targets, .weight, .labels, .posWeight, .batch, .gradOutput, .hidden, .bias, .ceWeight,
    ].map(\.rawValue))

    /// Decodes a line parsed with the fast arrays of ``floatArrayFields``: the same result and
    /// errors as ``decode(_:)`` of the line's JSON value. (It takes the line: its arrays are then
    /// the request's alone once this returns.)
    func decode(_ line: consuming ParsedLine) throws(RequestError) -> DecodedRequest {
        let (id, decoded) = try RequestError.decodeObject(line.value, kind: "a request") { members throws(FieldProblem) in
            try decodeFields(members.enumerated().map { k, member in
                (member.0, line.fastArrays[k].map { FieldInput.scanned($0, line.source) } ?? .json(member.1))
            })
        }
        return DecodedRequest(id: id, request: decoded.request, batch: decoded.batch)
    }

    // MARK: - Fields

    /// Steps 3–7 on the request's members, JSON values or binary arrays alike (the binary
    /// transport's ``BinaryRequestDecoder`` shares them).
    func decodeFields(_ members: [(String, FieldInput)]) throws(FieldProblem) -> (request: OracleRequest, batch: RowBatch?) {
        // 3. Known names, each once.
        var fields: [RequestField: FieldInput] = [:]
        var order: [RequestField] = []
        for (name, value) in members {
            guard let field = RequestField.named(name) else {
                throw FieldProblem(field: name, reason: unknownFieldReason(name))
            }
            guard fields[field] == nil else {
                throw FieldProblem(field: name, reason: "appears more than once")
            }
            fields[field] = value
            order.append(field)
        }

        // 4. Function and format.
        // The lists of names are built only for a message: `listing` is unspecialized generic
        // code whose first call (runtime metadata and conformance look-ups) was ~15% of a
        // one-request `eval` in the static CLI.
        func functionNames() -> String { listing(OracleFunction.allCases.map(\.rawValue)) }
        guard let functionValue = fields[.function] else {
            throw FieldProblem(field: "function", reason: "required but missing (expected one of: \(functionNames()))")
        }
        let functionName = try functionValue.string(field: "function", expected: "one of: \(functionNames())")
        guard var function = OracleFunction.named(functionName) else {
            throw FieldProblem(field: "function", reason: "unknown function \(quoted(functionName)) (expected one of: \(functionNames()))")
        }
        var format = defaultFormat
        if let formatValue = fields[.format] {
            func formatNames() -> String { listing(Format.allCases.map(\.rawValue)) }
            let name = try formatValue.string(field: "format", expected: "one of: \(formatNames())")
            guard let f = Format.named(name) else {
                throw FieldProblem(field: "format", reason: "unknown format \(quoted(name)) (expected one of: \(formatNames()))")
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
        case .softmaxBackward, .logSoftmaxBackward:
            try require(.logits)
            try require(.gradOutput)
        default:
            try require(.logits)
        }

        // 6. Size limit, before any conversion.
        var total = 0
        for field in order {
            guard let value = fields[field] else { continue }
            let n: Int
            switch field {
            case .logits, .targets, .weight, .labels, .posWeight, .batch, .target, .gradOutput, .hidden, .bias, .ceWeight: n = value.valueCount
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

        // 7. Values. A row function whose logits are N rows is a batch: its per-row fields
        // (RowBatch.perRowFields) are read with their shapes and split into rows by RowBatch.
        var request = OracleRequest(function: function, format: format)
        var batchFields: [RowBatch.Field]?
        if function != .crossEntropyLoss, let v = fields[.logits], v.isNested {
            batchFields = []
            for field in order where RowBatch.perRowFields[field.rawValue] != nil {
                batchFields!.append(try fields[field]!.rowField(field.rawValue))
                fields[field] = nil
            }
        }
        if function.isLinearCrossEntropy { request.linear = try LinearFields.decode(fields) }
        if let v = fields[.logits] { request.logits = try v.floats(field: "logits") }
        if let v = fields[.target] { request.target = .index(try v.integer("target")) }
        if let v = fields[.targets], !function.isLinearCrossEntropy {
            if function.isBatchLoss {
                request.batchTargets = try v.batchTargets()
            } else {
                request.target = .probabilities(try v.floats(field: "targets"))
            }
        }
        if let v = fields[.labelSmoothing] { request.labelSmoothing = try v.float("label_smoothing") }
        if let v = fields[.weight], !function.isLinearCrossEntropy { request.weight = try v.floats(field: "weight") }
        if let v = fields[.labels] { request.labels = try v.floats(field: "labels") }
        if let v = fields[.posWeight] { request.posWeight = try v.floatOrFloats(field: "pos_weight") }
        if let v = fields[.batch] { request.batch = try v.floatRows(field: "batch") }
        if let v = fields[.gradOutput] { request.gradOutput = try v.floatOrFloats(field: "grad_output") }
        if let v = fields[.softcap] { request.softcap = try v.float("softcap") }
        if let v = fields[.zLoss] { request.zLoss = try v.float("z_loss") }
        if let v = fields[.temperature] { request.temperature = try v.float("temperature") }
        if let v = fields[.ignoreIndex] { request.ignoreIndex = try v.integer("ignore_index") }
        if let v = fields[.reduction] {
            let names = listing(Reduction.allCases.map(\.rawValue))
            let name = try v.string(field: "reduction", expected: "one of: \(names)")
            guard let r = Reduction.named(name) else {
                throw FieldProblem(field: "reduction", reason: "unknown reduction \(quoted(name)) (expected one of: \(names))")
            }
            request.reduction = r
        }
        return (request, batchFields.map { RowBatch(shared: request, fields: $0) })
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
