import OracleIO
import SoftmaxOracle

/// Deterministic number text for reports: built from IEEE basic operations and integer
/// formatting only (no C `printf`), so that reports are byte-identical on every machine.
/// Package-visible for the reports built on these (`check`'s, in ExternalImplementations).
package enum NumberText {
    /// A ULP error for tables: "-" (none), "0", "inf", "0.50", "12.3", "1.23e+05", "4.0e-03".
    static func ulp(_ x: Double?) -> String {
        guard let x else { return "-" }
        if x.isNaN { return "nan" }
        if x == .infinity { return "inf" }
        if x == 0 { return "0" }
        if x < 0.01 || x >= 1e5 { return scientific(x) }
        if x < 10 { return fixed(x, decimals: 2) }
        return fixed(x, decimals: 1)
    }

    /// A share in [0, 1] as a percentage with one decimal: "99.5%"; "-" for none.
    static func percent(_ share: Double?) -> String {
        guard let share else { return "-" }
        return fixed(share * 100, decimals: 1) + "%"
    }

    /// `x` with `decimals` digits after the point (|x| below 2^53 / 10^decimals), rounded half
    /// to even.
    static func fixed(_ x: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (x.magnitude * scale).rounded(.toNearestOrEven)
        guard r < 0x1p62 else { return scientific(x) }
        let n = Int64(r)
        var p: Int64 = 1
        for _ in 0..<decimals { p *= 10 }
        let whole = n / p
        let frac = n % p
        let sign = (x < 0 && n != 0) ? "-" : ""
        guard decimals > 0 else { return sign + String(whole) }
        let fracText = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - fracText.count) + fracText
    }

    /// `x` (finite, nonzero) as d.dd e±XX, with `digits` digits after the point.
    static func scientific(_ x: Double, digits: Int = 2) -> String {
        guard x.isFinite, x != 0 else { return x == 0 ? "0" : (x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf")) }
        var m = x.magnitude
        var e = 0
        while m >= 10 { m /= 10; e += 1 }
        while m < 1 { m *= 10; e -= 1 }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        var r = Int64((m * Double(scale)).rounded(.toNearestOrEven))
        if r >= 10 * scale { r /= 10; e += 1 }
        let whole = r / scale
        let fracText = String(r % scale)
        let mantissa = digits > 0
            ? "\(whole)." + String(repeating: "0", count: digits - fracText.count) + fracText
            : "\(whole)"
        let expText = String(abs(e))
        return (x < 0 ? "-" : "") + mantissa + "e" + (e < 0 ? "-" : "+") + (expText.count < 2 ? "0" : "") + expText
    }

    /// The exact hex-float text of the project (OracleIO's `HexFloat.format`).
    static func hex(_ x: Double) -> String {
        HexFloat.format(x)
    }

    /// `values` as hex floats, at most `limit` shown (the first and last halves, with "…").
    static func hexList(_ values: [Double], limit: Int = 16) -> String {
        if values.count <= limit {
            return "[" + values.map(hex).joined(separator: ", ") + "]"
        }
        let head = values.prefix(limit / 2).map(hex)
        let tail = values.suffix(limit / 2).map(hex)
        return "[" + head.joined(separator: ", ") + ", … (\(values.count - limit) more) …, "
            + tail.joined(separator: ", ") + "]"
    }

    /// `message` cut to `limit` characters, with "… (N characters)" when cut.
    package static func truncated(_ message: String, _ limit: Int) -> String {
        guard message.count > limit else { return message }
        return String(message.prefix(Swift.max(0, limit))) + "… (\(message.count) characters)"
    }

    /// `word` as 0x followed by 16 hex digits.
    package static func hex64(_ word: UInt64) -> String {
        let digits = String(word, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A one-line description of a request's inputs (logits or batch, and the extra fields set).
    static func inputs(_ r: OracleRequest, limit: Int = 16) -> String {
        var parts: [String] = []
        if let batch = r.batch {
            parts.append("batch (\(batch.count) rows of \(batch.first?.count ?? 0)): "
                + batch.map { hexList($0, limit: limit) }.joined(separator: "; "))
        } else {
            parts.append("logits (\(r.logits.count)): " + hexList(r.logits, limit: limit))
        }
        switch r.target {
        case .index(let t)?: parts.append("target \(t)")
        case .probabilities(let p)?: parts.append("targets " + hexList(p, limit: limit))
        case nil: break
        }
        switch r.batchTargets {
        case .indices(let t)?: parts.append("targets \(t)")
        case .probabilities(let p)?: parts.append("targets " + p.map { hexList($0, limit: limit) }.joined(separator: "; "))
        case nil: break
        }
        if r.labelSmoothing != 0 { parts.append("label_smoothing " + hex(r.labelSmoothing)) }
        if let w = r.weight { parts.append("weight " + hexList(w, limit: limit)) }
        if let z = r.labels { parts.append("labels " + hexList(z, limit: limit)) }
        if let w = r.posWeight { parts.append("pos_weight " + hexList(w, limit: limit)) }
        if let d = r.gradOutput { parts.append("grad_output " + hexList(d, limit: limit)) }
        if r.function.isBatchLoss {
            parts.append("reduction \(r.reduction.rawValue)")
            if r.ignoreIndex != -100 { parts.append("ignore_index \(r.ignoreIndex)") }
        }
        if let c = r.softcap { parts.append("softcap " + hex(c)) }
        if r.zLoss != 0 { parts.append("z_loss " + hex(r.zLoss)) }
        if let t = r.temperature { parts.append("temperature " + hex(t)) }
        return parts.joined(separator: "; ")
    }
}
