import SoftmaxOracle

/// The JSON fields of the fused linear cross-entropy (`linear_cross_entropy*`): `hidden` (N rows
/// of d), `weight` (V rows of d: the matrix), `bias` (V), `targets` (N class indices),
/// `ce_weight` (V class weights), read into ``LinearCrossEntropyInputs`` and written back
/// (`grad_output` is the request's own field).
enum LinearFields {
    /// The inputs from the request's fields (present: `hidden`, `weight`, `targets`). Rows of
    /// `hidden` and `weight` must all have d values (d = the length of hidden[0]).
    static func decode(_ fields: [RequestField: FieldInput]) throws(FieldProblem) -> LinearCrossEntropyInputs {
        let hidden = try fields[.hidden]!.floatRows(field: "hidden")
        let weight = try fields[.weight]!.floatRows(field: "weight")
        let d = hidden.first?.count ?? 0
        if let i = hidden.firstIndex(where: { $0.count != d }) {
            throw FieldProblem(field: "hidden[\(i)]", reason: "\(hidden[i].count) values, but hidden[0] has d = \(d)")
        }
        if let j = weight.firstIndex(where: { $0.count != d }) {
            throw FieldProblem(field: "weight[\(j)]", reason: "\(weight[j].count) values, but hidden's rows have d = \(d) (weight is V × d, as F.linear's)")
        }
        let targets = try fields[.targets]!.integers(field: "targets", expected: "an array of class indices")
        var m = LinearCrossEntropyInputs(hidden: hidden, weight: weight, targets: targets)
        if let v = fields[.bias] { m.bias = try v.floats(field: "bias") }
        if let v = fields[.ceWeight] { m.classWeight = try v.floats(field: "ce_weight") }
        return m
    }

    /// The JSON value of one linear field of `request` (nil: absent or default).
    static func encode(_ field: RequestField, _ request: OracleRequest) -> JSONValue? {
        guard let m = request.linear else { return nil }
        func floats(_ xs: ArraySlice<Double>) -> JSONValue { .array(xs.map { .string(HexFloat.format($0)) }) }
        func rows(_ x: [Double], _ count: Int) -> JSONValue {
            .array((0..<count).map { r in floats(x[(r * m.dimension)..<((r + 1) * m.dimension)]) })
        }
        switch field {
        case .hidden: return rows(m.hidden, m.rows)
        case .weight: return rows(m.weight, m.classes)
        case .bias: return m.bias.map { floats($0[...]) }
        case .targets: return .array(m.targets.map { .number($0) })
        case .ceWeight: return m.classWeight.map { floats($0[...]) }
        default: return nil
        }
    }
}
