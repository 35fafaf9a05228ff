import SoftmaxOracle

/// Writes an ``OracleRequest`` as one compact JSON Lines request, the inverse of
/// ``RequestDecoder``: for sending requests to another process, or storing them.
///
/// Key order: `id`, `function`, `format`, then the fields that `function` uses
/// (``RequestField/used(by:)``), each written only when it differs from its default
/// (`label_smoothing` and `z_loss` 0, `ignore_index` -100, `reduction` mean, optional fields nil).
/// Floats are hex-float strings (``HexFloat/format(_:)``), integers JSON numbers.
///
/// Postcondition: `RequestDecoder(defaultFormat: any).decode(line: encode(r, id: id))` gives back
/// `id` and `r`, with the fields `r.function` does not use reset to their defaults, whenever
/// `r` has what its function needs (e.g. a target for `cross_entropy`).
public enum RequestEncoder {
    /// The request line for `request`, with `id` first (`null` when not given).
    public static func encode(_ request: OracleRequest, id: JSONValue = .null) -> String {
        object(request, id: id).serialized
    }

    /// The request line's JSON object (``encode(_:id:)`` serializes it).
    static func object(_ request: OracleRequest, id: JSONValue) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", id),
            ("function", .string(request.function.rawValue)),
            ("format", .string(request.format.rawValue)),
        ]
        func floats(_ xs: [Double]) -> JSONValue { .array(xs.map { .string(HexFloat.format($0)) }) }
        for field in RequestField.used(by: request.function) {
            let value: JSONValue?
            switch field {
            case .logits: value = floats(request.logits)
            case .hidden, .bias, .ceWeight: value = LinearFields.encode(field, request)
            case .target:
                if case .index(let t) = request.target { value = .number(t) } else { value = nil }
            case .targets:
                if request.function.isLinearCrossEntropy {
                    value = LinearFields.encode(field, request)
                } else if request.function.isBatchLoss {
                    switch request.batchTargets {
                    case .indices(let t)?: value = .array(t.map { .number($0) })
                    case .probabilities(let rows)?: value = .array(rows.map(floats))
                    case nil: value = nil
                    }
                } else if case .probabilities(let p) = request.target {
                    value = floats(p)
                } else {
                    value = nil
                }
            case .labelSmoothing:
                value = request.labelSmoothing == 0 && request.labelSmoothing.sign == .plus
                    ? nil : .string(HexFloat.format(request.labelSmoothing))
            case .weight: value = request.function.isLinearCrossEntropy ? LinearFields.encode(field, request) : request.weight.map(floats)
            case .labels: value = request.labels.map(floats)
            case .posWeight: value = request.posWeight.map(floats)
            case .batch: value = request.batch.map { .array($0.map(floats)) }
            case .ignoreIndex: value = request.ignoreIndex == -100 ? nil : .number(request.ignoreIndex)
            case .reduction: value = request.reduction == .mean ? nil : .string(request.reduction.rawValue)
            case .softcap: value = request.softcap.map { .string(HexFloat.format($0)) }
            case .zLoss:
                value = request.zLoss == 0 && request.zLoss.sign == .plus ? nil : .string(HexFloat.format(request.zLoss))
            case .temperature: value = request.temperature.map { .string(HexFloat.format($0)) }
            case .gradOutput: value = request.gradOutput.map(floats)
            case .id, .function, .format: value = nil
            }
            if let value { members.append((field.rawValue, value)) }
        }
        return .object(members)
    }
}
