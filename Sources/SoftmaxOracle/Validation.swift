/// Checks a request's fields before any arithmetic, naming the field and value of each problem.
enum Validation {
    /// A value as messages write it: every NaN as "nan", its sign and payload dropped, as in the
    /// protocol's text (docs/protocol.md); a binary frame's array can carry a negative NaN, which
    /// Swift's description writes "-nan".
    static func shown(_ x: Double) -> String { x.isNaN ? "nan" : "\(x)" }

    static func check(_ q: OracleRequest, maxValues: Int) throws(OracleError) {
        let k = q.logits.count
        if k > maxValues {
            throw .invalidInput(field: "logits", message: "\(k) values exceed the limit of \(maxValues)")
        }
        switch q.function {
        case .logsumexp, .softmax, .logSoftmax, .sigmoid, .logSigmoid, .softplus:
            return
        case .crossEntropy, .crossEntropyGrad:
            if k == 0 {
                throw .invalidInput(field: "logits", message: "K = 0: \(q.function.rawValue) needs at least one class")
            }
            guard let target = q.target else {
                throw .invalidInput(field: "target", message: "missing: \(q.function.rawValue) needs \"target\" (a class index) or \"targets\" (probabilities)")
            }
            try checkTarget(target, classes: k, field: "target", probabilitiesField: "targets")
            try checkWeight(q.weight, classes: k)
            try checkSmoothing(q.labelSmoothing)
            try checkLossOptions(q)
        case .bceWithLogits:
            guard let labels = q.labels else {
                throw .invalidInput(field: "labels", message: "missing: bce_with_logits needs one label per logit")
            }
            if labels.count != k {
                throw .invalidInput(field: "labels", message: "\(labels.count) labels for \(k) logits")
            }
            try checkFinite(labels, field: "labels", nonNegative: false)
            if let pw = q.posWeight {
                if pw.count != 1 && pw.count != k {
                    throw .invalidInput(field: "pos_weight", message: "\(pw.count) values; give one, or one per logit (\(k))")
                }
                try checkFinite(pw, field: "pos_weight", nonNegative: false)
            }
            if let w = q.weight {
                if w.count != k { throw .invalidInput(field: "weight", message: "\(w.count) values for \(k) logits") }
                try checkFinite(w, field: "weight", nonNegative: false)
            }
        case .crossEntropyLoss:
            try checkBatch(q, maxValues: maxValues)
        case .softmaxBackward, .logSoftmaxBackward:
            try checkGradOutput(q, maxValues: maxValues)
        case .crossEntropyLossBackward:
            try checkBatch(q, maxValues: maxValues)
            try checkLossGradOutput(q)
        case .linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            try checkLinear(q, maxValues: maxValues)
        }
    }

    private static func checkBatch(_ q: OracleRequest, maxValues: Int) throws(OracleError) {
        guard let rows = q.batch, !rows.isEmpty else {
            throw .invalidInput(field: "batch", message: "missing or empty: \(q.function.rawValue) needs at least one row")
        }
        let k = rows[0].count
        if k == 0 { throw .invalidInput(field: "batch[0]", message: "K = 0: a row needs at least one class") }
        var total = 0
        for (i, row) in rows.enumerated() {
            if row.count != k {
                throw .invalidInput(field: "batch[\(i)]", message: "\(row.count) logits, but batch[0] has \(k)")
            }
            total += row.count
        }
        if total > maxValues {
            throw .invalidInput(field: "batch", message: "\(total) values exceed the limit of \(maxValues)")
        }
        guard let targets = q.batchTargets else {
            throw .invalidInput(field: "targets", message: "missing: \(q.function.rawValue) needs one target per row")
        }
        switch targets {
        case .indices(let t):
            if t.count != rows.count { throw .invalidInput(field: "targets", message: "\(t.count) targets for \(rows.count) rows") }
            for (i, ti) in t.enumerated() where ti != q.ignoreIndex && !(0..<k).contains(ti) {
                throw .invalidInput(field: "targets[\(i)]", message: "\(ti) is outside [0, \(k)) and is not ignore_index (\(q.ignoreIndex))")
            }
        case .probabilities(let p):
            if p.count != rows.count { throw .invalidInput(field: "targets", message: "\(p.count) target rows for \(rows.count) rows") }
            for (i, pi) in p.enumerated() {
                if pi.count != k { throw .invalidInput(field: "targets[\(i)]", message: "\(pi.count) probabilities for \(k) classes") }
                try checkFinite(pi, field: "targets[\(i)]", nonNegative: true)
            }
        }
        try checkWeight(q.weight, classes: k)
        try checkSmoothing(q.labelSmoothing)
        try checkLossOptions(q)
    }

    /// `grad_output`: one finite value for sum and mean, one per row for none (nil: 1).
    static func checkLossGradOutput(_ q: OracleRequest, rows: Int? = nil) throws(OracleError) {
        guard let g = q.gradOutput else { return }
        let n = q.reduction == .none ? rows ?? q.batch!.count : 1
        if g.count != n {
            throw .invalidInput(field: "grad_output", message: "\(g.count) values; reduction \(q.reduction.rawValue) takes \(n == 1 ? "one (a scalar)" : "one per row (\(n))")")
        }
        try checkFinite(g, field: "grad_output", nonNegative: false)
    }

    /// `softcap` c > 0, `z_loss` >= 0, `temperature` T > 0, each finite.
    static func checkLossOptions(_ q: OracleRequest) throws(OracleError) {
        if let c = q.softcap, !(c > 0 && c.isFinite) {
            throw .invalidInput(field: "softcap", message: "\(shown(c)) must be finite and > 0")
        }
        if !(q.zLoss >= 0 && q.zLoss.isFinite) {
            throw .invalidInput(field: "z_loss", message: "\(shown(q.zLoss)) must be finite and >= 0")
        }
        if let t = q.temperature, !(t > 0 && t.isFinite) {
            throw .invalidInput(field: "temperature", message: "\(shown(t)) must be finite and > 0")
        }
    }

    /// `grad_output` of the backward functions: present, one finite value per logit.
    private static func checkGradOutput(_ q: OracleRequest, maxValues: Int) throws(OracleError) {
        guard let dy = q.gradOutput else {
            throw .invalidInput(field: "grad_output", message: "missing: \(q.function.rawValue) needs one upstream gradient value per logit")
        }
        if dy.count != q.logits.count {
            throw .invalidInput(field: "grad_output", message: "\(dy.count) values for \(q.logits.count) logits")
        }
        if dy.count + q.logits.count > maxValues {
            throw .invalidInput(field: "grad_output", message: "\(dy.count + q.logits.count) values exceed the limit of \(maxValues)")
        }
        try checkFinite(dy, field: "grad_output", nonNegative: false)
    }

    static func checkTarget(_ t: RowTarget, classes k: Int, field: String, probabilitiesField: String) throws(OracleError) {
        switch t {
        case .index(let i):
            if !(0..<k).contains(i) { throw .invalidInput(field: field, message: "\(i) is outside [0, \(k))") }
        case .probabilities(let p):
            if p.count != k { throw .invalidInput(field: probabilitiesField, message: "\(p.count) probabilities for \(k) classes") }
            try checkFinite(p, field: probabilitiesField, nonNegative: true)
        }
    }

    static func checkWeight(_ w: [Double]?, classes k: Int) throws(OracleError) {
        guard let w else { return }
        if w.count != k { throw .invalidInput(field: "weight", message: "\(w.count) class weights for \(k) classes") }
        try checkFinite(w, field: "weight", nonNegative: true)
    }

    static func checkSmoothing(_ eps: Double) throws(OracleError) {
        if !(eps >= 0 && eps <= 1) {
            throw .invalidInput(field: "label_smoothing", message: "\(shown(eps)) is outside [0, 1]")
        }
    }

    /// A row-major matrix of `columns` columns: every entry finite, named `field[r][c]`.
    static func checkFiniteMatrix(_ v: [Double], columns: Int, field: String) throws(OracleError) {
        if let i = v.firstIndex(where: { !$0.isFinite }) {
            throw .invalidInput(field: "\(field)[\(i / columns)][\(i % columns)]", message: "\(shown(v[i])) is not allowed here (must be finite)")
        }
    }

    /// Whether `checkFinite` accepts every value (finite, and not below 0 when `nonNegative`:
    /// −0 is accepted), eight at a time (a long row's labels took 3% of a bce request's time
    /// one at a time).
    static func allAccepted(_ v: [Double], nonNegative: Bool) -> Bool {
        v.withUnsafeBufferPointer { b in
            typealias V = SIMD8<Double>
            let low: Double = nonNegative ? 0 : -.infinity
            var refused = SIMDMask<V.MaskStorage>(repeating: false)
            var i = 0
            if let base = b.baseAddress {
                while i + V.scalarCount <= b.count {
                    let x = UnsafeRawPointer(base + i).loadUnaligned(as: V.self)
                    // Accepted: x < inf and x > −inf (finite; NaN fails both), or x >= 0 when
                    // nonNegative (a finite x with x < 0 false).
                    refused .|= .!(x .< .infinity) .| .!(nonNegative ? x .>= low : x .> low)
                    i += V.scalarCount
                }
            }
            for x in b[i...] where !x.isFinite || (nonNegative && x < 0) { return false }
            return !any(refused)
        }
    }

    static func checkFinite(_ v: [Double], field: String, nonNegative: Bool) throws(OracleError) {
        if allAccepted(v, nonNegative: nonNegative) { return }  // (else the loop names the first value refused)
        for (i, x) in v.enumerated() {
            if !x.isFinite {
                throw .invalidInput(field: "\(field)[\(i)]", message: "\(shown(x)) is not allowed here (must be finite)")
            }
            if nonNegative && x < 0 {
                throw .invalidInput(field: "\(field)[\(i)]", message: "\(x) is negative (must be >= 0)")
            }
        }
    }
}
