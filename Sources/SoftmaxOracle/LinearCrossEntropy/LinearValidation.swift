extension Validation {
    /// The fused linear cross-entropy's inputs: shapes (N, d, V >= 1, lengths N·d, V·d, V),
    /// finite values, targets in [0, V) or `ignore_index`, class weights finite and >= 0,
    /// `grad_output` one value (N for reduction none), and the loss options.
    static func checkLinear(_ q: OracleRequest, maxValues: Int) throws(OracleError) {
        guard let m = q.linear else {
            throw .invalidInput(field: "hidden", message: "missing: \(q.function.rawValue) needs \"hidden\", \"weight\" and \"targets\"")
        }
        let (n, d, v) = (m.rows, m.dimension, m.classes)
        if n < 1 { throw .invalidInput(field: "hidden", message: "N = \(n): at least one row is needed") }
        if d < 1 { throw .invalidInput(field: "hidden", message: "d = \(d): rows need at least one value") }
        if v < 1 { throw .invalidInput(field: "weight", message: "V = \(v): at least one class (row of weight) is needed") }
        let nd = n.multipliedReportingOverflow(by: d), vd = v.multipliedReportingOverflow(by: d)
        if nd.overflow || vd.overflow || nd.partialValue + vd.partialValue > maxValues {
            throw .invalidInput(field: "weight", message: "N·d + V·d = \(n)·\(d) + \(v)·\(d) values exceed the limit of \(maxValues)")
        }
        if m.hidden.count != nd.partialValue {
            throw .invalidInput(field: "hidden", message: "\(m.hidden.count) values for N × d = \(n) × \(d) (rows of hidden must all have d values)")
        }
        if m.weight.count != vd.partialValue {
            throw .invalidInput(field: "weight", message: "\(m.weight.count) values for V × d = \(v) × \(d) (rows of weight must have d = \(d) values, as hidden's)")
        }
        try checkFiniteMatrix(m.hidden, columns: d, field: "hidden")
        try checkFiniteMatrix(m.weight, columns: d, field: "weight")
        if let b = m.bias {
            if b.count != v { throw .invalidInput(field: "bias", message: "\(b.count) values for V = \(v) classes") }
            try checkFinite(b, field: "bias", nonNegative: false)
        }
        if m.targets.count != n { throw .invalidInput(field: "targets", message: "\(m.targets.count) targets for N = \(n) rows of hidden") }
        for (i, t) in m.targets.enumerated() where t != q.ignoreIndex && !(0..<v).contains(t) {
            throw .invalidInput(field: "targets[\(i)]", message: "\(t) is outside [0, \(v)) and is not ignore_index (\(q.ignoreIndex))")
        }
        if let w = m.classWeight {
            if w.count != v { throw .invalidInput(field: "ce_weight", message: "\(w.count) class weights for V = \(v) classes") }
            try checkFinite(w, field: "ce_weight", nonNegative: true)
        }
        try checkLossGradOutput(q, rows: n)
        try checkSmoothing(q.labelSmoothing)
        try checkLossOptions(q)
    }
}
