import MPFR

/// One output at one working precision: a value known exactly (a special value or an exact
/// zero, decided without arithmetic), or an enclosure of the exact real.
enum Enclosure {
    /// The exact value, a binary64 number (special values, exact zeros, exact results).
    case exact(Double)
    /// An interval that holds the exact value (strictly inside, unless it is a point).
    case interval(Interval)
}

/// Raises the working precision until every output's enclosure rounds to a unique value.
///
/// `compute(arithmetic, pending)` returns the enclosures of the outputs whose indices are in
/// `pending`, in that order, at `arithmetic.precision`. The first precision is the format's
/// precision plus `guardBits` (at least 64); each round doubles it, up to `maxPrecision`. Outputs
/// certified in an earlier round are not recomputed, unless their enclosure is still too wide for
/// its midpoint to serve as the exact value (`isNarrow`). An output still ambiguous at the cap
/// ends in `OracleError.notCertified`, never in a guess.
struct Certifier {
    let format: Format
    let guardBits: Int
    let maxPrecision: Int

    func run(
        outputs n: Int,
        _ compute: (IntervalArithmetic, [Int]) throws(OracleError) -> [Enclosure]
    ) throws(OracleError) -> OracleResult {
        var precision = Swift.min(Swift.max(64, format.precision + guardBits), maxPrecision)
        var rounded = [Double?](repeating: nil, count: n)
        var exact = [ExactValue?](repeating: nil, count: n)
        var pending = Array(0..<n)
        var escalations = 0
        var certifiedAt = precision
        var allCertified = false
        while true {
            let enclosures = try compute(IntervalArithmetic(precision: precision), pending)
            precondition(enclosures.count == pending.count, "one enclosure per pending output")
            var next: [Int] = []
            var firstAmbiguous: (index: Int, enclosure: Interval)?
            for (k, i) in pending.enumerated() {
                switch enclosures[k] {
                case .exact(let v):
                    rounded[i] = format.round(v)
                    exact[i] = ExactValue(v)
                case .interval(let e):
                    if rounded[i] == nil {
                        guard let r = format.certify(e) else {
                            next.append(i)
                            if firstAmbiguous == nil { firstAmbiguous = (i, e) }
                            continue
                        }
                        rounded[i] = r
                    }
                    exact[i] = ExactValue(Self.midpoint(e))
                    if !isNarrow(e) { next.append(i) }  // certified, but its exact value is still loose
                }
            }
            // Later rounds only narrow exact values of outputs already certified.
            if firstAmbiguous == nil && !allCertified {
                certifiedAt = precision
                allCertified = true
            }
            if next.isEmpty || (firstAmbiguous == nil && precision >= maxPrecision) {
                return OracleResult(
                    values: (0..<n).map { OracleValue(rounded: rounded[$0]!, exact: exact[$0]!) },
                    precision: certifiedAt, escalations: escalations)
            }
            if let (i, e) = firstAmbiguous, precision >= maxPrecision {
                throw .notCertified(
                    output: i, precision: precision,
                    detail: "(enclosure ≈ [\(e.lo.double(.down)), \(e.hi.double(.up))], \(next.filter { rounded[$0] == nil }.count) output(s) ambiguous)")
            }
            precision = Swift.min(precision * 2, maxPrecision)
            if firstAmbiguous != nil { escalations += 1 }
            pending = next
        }
    }

    /// True when an enclosure is narrow enough for its midpoint to stand for the exact value in
    /// ULP scores: its width is at most 2^-40 of the format's ulp at the enclosure (a relative
    /// 2^-(p+40), or 2^-40 of the least subnormal). Certification alone only needs the enclosure
    /// inside one rounding cell, which can be almost an ulp wide when cancellation ate the
    /// working precision; such outputs are recomputed at a higher precision until they are
    /// narrow (their rounded value is already proven and does not change).
    func isNarrow(_ e: Interval) -> Bool {
        if e.isPoint { return true }
        let width = BigFloat(precision: 64)
        ExponentRange.widest { _ = width.sub(e.hi, e.lo, .up) }
        if width.isZero { return true }
        let magnitude = e.lo.isZero ? e.hi : (e.hi.isZero ? e.lo : (e.lo.signum > 0 ? e.lo : e.hi))
        let binade = magnitude.isZero ? format.minNormalExponent : magnitude.exponent - 1
        let allowed = format.quantumExponent(ofBinade: binade) - 40
        return width.exponent - 1 < allowed
    }

    /// The midpoint of an enclosure, rounded to nearest (for the ULP measure; a certified
    /// enclosure is far narrower than the format's ulp, so this is as good as the exact value).
    static func midpoint(_ e: Interval) -> BigFloat {
        if e.isExactZero { return BigFloat(0, precision: 53) }
        if e.isPoint { return e.lo }
        let m = BigFloat(precision: Swift.max(e.lo.precision, e.hi.precision) + 1)
        ExponentRange.widest {
            m.add(e.lo, e.hi, .nearest)
            m.scale(m, byPowerOfTwo: -1, .nearest)
        }
        return m
    }
}
