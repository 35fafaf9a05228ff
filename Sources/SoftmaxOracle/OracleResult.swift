/// Which path certified an `OracleResult`. Both give the same rounded values.
public enum CertificationTier: String, Sendable, Hashable, Codable {
    /// The double-word tier (DoubleWordTier/): every output's enclosure, with an error bound
    /// proven next to the code, rounded uniquely.
    case doubleWord = "double_word"
    /// The MPFR interval path with precision escalation (Certification.swift).
    case mpfr
}

/// One certified output: the correctly rounded value and the exact value it came from.
public struct OracleValue: Sendable, Hashable {
    /// The exact value rounded once, to nearest-even, into the request's format (a value of that
    /// format, carried as a binary64 number; ±inf on overflow, NaN in e4m3fn on overflow).
    public let rounded: Double
    /// The exact value (to ~106 bits), for measuring other outputs' errors in ULPs.
    public let exact: ExactValue
}

/// The oracle's answer to a request.
public struct OracleResult: Sendable, Hashable {
    /// One value per output, in output order (see `Oracle.evaluate` for the count).
    public let values: [OracleValue]
    /// The working precision (bits) at which the last output was certified.
    public let precision: Int
    /// How many times the working precision was raised (0: the first precision certified all).
    public let escalations: Int
    /// Which path certified the values: the double-word tier (`precision` is then 106 for f64
    /// outputs, 68 for formats of p <= 24, whose compact exponential has about 68 bits) or the
    /// MPFR interval path.
    public internal(set) var tier: CertificationTier = .mpfr

    /// The rounded values alone, in output order.
    public var rounded: [Double] { values.map(\.rounded) }
}


/// An oracle answer's rounded values without their exact values (`Oracle.evaluateRounded`): what
/// a caller that only writes or compares the rounded outputs needs. The values, `precision`,
/// `escalations` and `tier` are those of `Oracle.evaluate`'s `OracleResult` for the same request.
public struct RoundedResult: Sendable, Hashable {
    /// Where the rounded values are kept.
    public enum Values: Sendable, Hashable {
        /// The rounded values alone (8 bytes an output).
        case rounded([Double])
        /// Whole certified outputs (a path that kept the exact values): their `rounded` fields.
        case certified([OracleValue])
    }

    /// The rounded values, in output order.
    public let values: Values
    /// The working precision (bits) at which the last output was certified (`OracleResult.precision`).
    public let precision: Int
    /// How many times the working precision was raised (`OracleResult.escalations`).
    public let escalations: Int
    /// Which path certified the values (`OracleResult.tier`).
    public let tier: CertificationTier

    /// `result`'s rounded values (kept in place, not copied), precision, escalations and tier.
    public init(_ result: OracleResult) {
        self.init(values: .certified(result.values), precision: result.precision, escalations: result.escalations, tier: result.tier)
    }

    init(values: Values, precision: Int, escalations: Int, tier: CertificationTier) {
        (self.values, self.precision, self.escalations, self.tier) = (values, precision, escalations, tier)
    }

    /// How many outputs.
    public var count: Int {
        switch values {
        case .rounded(let r): r.count
        case .certified(let v): v.count
        }
    }

    /// The rounded values as one array (a copy when they are kept as `certified`).
    public var rounded: [Double] {
        switch values {
        case .rounded(let r): r
        case .certified(let v): v.map(\.rounded)
        }
    }
}
