import MPFR

/// One output at one working precision: a value known exactly (a special value or an exact
/// zero, decided without arithmetic), or an enclosure of the exact real.
enum Enclosure {
    case exact(Double)
    case interval(Interval)
}

/// Raises the working precision until every output's enclosure rounds to a unique value.
///
/// `compute(arithmetic, pending)` returns the enclosures of the outputs whose indices are in
/// `pending`, in that order, at `arithmetic.precision`. The first precision is the format's
/// precision plus `guardBits` (at least 64); each round doubles it, up to `maxPrecision`. Outputs
/// certified in an earlier round are not recomputed. An output still ambiguous at the cap ends in
/// `OracleError.notCertified`, never in a guess.
struct Certifier {
    let format: Format
    let guardBits: Int
    let maxPrecision: Int

    func run(
        outputs n: Int,
        _ compute: (IntervalArithmetic, [Int]) throws(OracleError) -> [Enclosure]
    ) throws(OracleError) -> OracleResult {
        var precision = Swift.min(Swift.max(64, format.precision + guardBits), maxPrecision)
        var values = [OracleValue?](repeating: nil, count: n)
        var pending = Array(0..<n)
        var escalations = 0
        while true {
            let enclosures = try compute(IntervalArithmetic(precision: precision), pending)
            precondition(enclosures.count == pending.count, "one enclosure per pending output")
            var ambiguous: [Int] = []
            var firstAmbiguous: Interval?
            for (k, i) in pending.enumerated() {
                switch enclosures[k] {
                case .exact(let v):
                    values[i] = OracleValue(rounded: format.round(v), exact: ExactValue(v))
                case .interval(let e):
                    if let r = format.certify(e) {
                        values[i] = OracleValue(rounded: r, exact: ExactValue(Self.midpoint(e)))
                    } else {
                        ambiguous.append(i)
                        if firstAmbiguous == nil { firstAmbiguous = e }
                    }
                }
            }
            if ambiguous.isEmpty {
                return OracleResult(values: values.map { $0! }, precision: precision, escalations: escalations)
            }
            if precision >= maxPrecision {
                let e = firstAmbiguous!
                throw .notCertified(
                    output: ambiguous[0], precision: precision,
                    detail: "(enclosure [\(e.lo), \(e.hi)], \(ambiguous.count) output(s) ambiguous)")
            }
            precision = Swift.min(precision * 2, maxPrecision)
            escalations += 1
            pending = ambiguous
        }
    }

    /// The midpoint of an enclosure, rounded to nearest (for the ULP measure; a certified
    /// enclosure is far narrower than the format's ulp, so this is as good as the exact value).
    static func midpoint(_ e: Interval) -> BigFloat {
        if e.isPoint { return e.lo }
        let m = BigFloat(precision: Swift.max(e.lo.precision, e.hi.precision) + 1)
        ExponentRange.widest {
            m.add(e.lo, e.hi, .nearest)
            m.scale(m, byPowerOfTwo: -1, .nearest)
        }
        return m
    }
}
