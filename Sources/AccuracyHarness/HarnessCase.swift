import SoftmaxOracle

/// Where a case comes from: enough to regenerate it (with the run's seed and generator options).
public struct CaseKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The function the case is for.
    public var function: OracleFunction
    /// The input and output format.
    public var format: Format
    /// The generator family.
    public var family: Family
    /// Position in the family's stream for (seed, format, function); case i does not depend on
    /// how many cases were asked for.
    public var index: Int

    /// The key of case `index` of `family` for (function, format).
    public init(function: OracleFunction, format: Format, family: Family, index: Int) {
        self.function = function
        self.format = format
        self.family = family
        self.index = index
    }

    /// Function, format, family (each in declaration order), then index.
    public static func < (a: CaseKey, b: CaseKey) -> Bool {
        let fa = OracleFunction.allCases.firstIndex(of: a.function)!
        let fb = OracleFunction.allCases.firstIndex(of: b.function)!
        if fa != fb { return fa < fb }
        let ma = Format.allCases.firstIndex(of: a.format)!
        let mb = Format.allCases.firstIndex(of: b.format)!
        if ma != mb { return ma < mb }
        if a.family != b.family { return a.family < b.family }
        return a.index < b.index
    }

    /// `function/format/family#index`.
    public var description: String {
        "\(function.rawValue)/\(format.rawValue)/\(family.rawValue)#\(index)"
    }
}

/// One generated test case: an oracle request (function, format, exact inputs) and its origin.
public struct HarnessCase: Sendable, Hashable {
    /// Where the case comes from.
    public var key: CaseKey
    /// The run seed it was generated from.
    public var seed: UInt64
    /// The inputs. Finite inputs are values of `request.format`.
    public var request: OracleRequest

    /// A case from its parts (normally made by ``CaseGenerator``).
    public init(key: CaseKey, seed: UInt64, request: OracleRequest) {
        self.key = key
        self.seed = seed
        self.request = request
    }

    /// Every logit of the case: `request.logits`, or the rows of `request.batch` in order.
    public var allLogits: [Double] { Self.allLogits(of: request) }

    /// The logit spread: max − min over the finite logits (0 with fewer than two finite logits;
    /// saturates at greatestFiniteMagnitude when the difference overflows binary64).
    public var spread: Double { Self.spread(of: request) }

    /// Number of logits in the row (for the batch loss, in one row; for the fused linear
    /// cross-entropy, the classes V).
    public var k: Int { request.linear?.classes ?? request.batch?.first?.count ?? request.logits.count }

    static func allLogits(of request: OracleRequest) -> [Double] {
        if let batch = request.batch { return batch.flatMap { $0 } }
        return request.logits
    }

    /// See ``spread``.
    public static func spread(of request: OracleRequest) -> Double {
        var lo = Double.infinity
        var hi = -Double.infinity
        for x in allLogits(of: request) where x.isFinite {
            lo = Swift.min(lo, x)
            hi = Swift.max(hi, x)
        }
        guard lo <= hi else { return 0 }
        let d = hi - lo
        return d.isFinite ? d : .greatestFiniteMagnitude
    }
}
