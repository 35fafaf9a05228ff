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
        try run(outputs: n, streaming: { w, pending throws(OracleError) in
            let enclosures = try compute(w, pending)
            precondition(enclosures.count == pending.count, "one enclosure per pending output")
            return { enclosures[$0] }
        })
    }

    /// `run(outputs:_:)` with the enclosures made one at a time: `prepare(arithmetic, pending)`
    /// does a round's row-wide work and returns a function that gives the enclosure of
    /// `pending[k]` for k = 0, 1, … in turn, each certified (and released) before the next is
    /// made, so a round never holds every output's enclosure at once.
    ///
    /// An enclosure made of the very same numbers as an earlier one (outputs with equal inputs
    /// share them, `SharedTerms`) is certified once per round: the same interval gives the same
    /// rounding, exact value and narrowness. The table holds the intervals it keys on (by
    /// object identity), so no key can name a released number, and at most `SharedTerms`'
    /// limit of them.
    func run(
        outputs n: Int,
        streaming prepare: (IntervalArithmetic, [Int]) throws(OracleError) -> (Int) -> Enclosure
    ) throws(OracleError) -> OracleResult {
        var precision = Swift.min(Swift.max(64, format.precision + guardBits), maxPrecision)
        // One slot per output, written when it certifies (and its exact value again while it
        // narrows): 41 bytes an output, the result's own array and a flag.
        var values = [OracleValue](repeating: OracleValue(rounded: 0, exact: .zero()), count: n)
        var certified = [Bool](repeating: false, count: n)
        var pending = Array(0..<n)
        var escalations = 0
        var certifiedAt = precision
        var allCertified = false
        while true {
            let enclosure = try prepare(IntervalArithmetic(precision: precision), pending)
            var next: [Int] = []
            var firstAmbiguous: (index: Int, enclosure: Interval)?
            var seen = SharedTerms<SameInterval, (interval: Interval, verdict: Verdict)>()
            for (k, i) in pending.enumerated() {
                switch enclosure(k) {
                case .exact(let v):
                    values[i] = OracleValue(rounded: format.round(v), exact: ExactValue(v))
                    certified[i] = true
                case .interval(let e):
                    let verdict = seen.value(SameInterval(e)) { (e, self.verdict(e)) }.verdict
                    var r = values[i].rounded
                    if !certified[i] {
                        guard let v = verdict.rounded else {
                            next.append(i)
                            if firstAmbiguous == nil { firstAmbiguous = (i, e) }
                            continue
                        }
                        r = v
                        certified[i] = true
                    }
                    values[i] = OracleValue(rounded: r, exact: verdict.exact)
                    if !verdict.narrow { next.append(i) }  // certified, but its exact value is still loose
                }
            }
            // Later rounds only narrow exact values of outputs already certified.
            if firstAmbiguous == nil && !allCertified {
                certifiedAt = precision
                allCertified = true
            }
            if next.isEmpty || (firstAmbiguous == nil && precision >= maxPrecision) {
                precondition(!certified.contains(false), "every output certified")
                return OracleResult(values: values, precision: certifiedAt, escalations: escalations)
            }
            if let (i, e) = firstAmbiguous, precision >= maxPrecision {
                throw .notCertified(
                    output: i, precision: precision,
                    detail: "(enclosure ≈ [\(e.lo.double(.down)), \(e.hi.double(.up))], \(next.filter { !certified[$0] }.count) output(s) ambiguous)")
            }
            precision = Swift.min(precision * 2, maxPrecision)
            if firstAmbiguous != nil { escalations += 1 }
            pending = next
        }
    }

    /// What a round decides for one enclosure: its certified rounding (nil: ambiguous), its
    /// exact value (the midpoint) and whether it is narrow (`isNarrow`). An output certified in
    /// an earlier round keeps that rounding (a later enclosure holds the same exact value).
    struct Verdict {
        var rounded: Double?
        var exact: ExactValue
        var narrow: Bool
    }

    private func verdict(_ e: Interval) -> Verdict {
        Verdict(rounded: format.certify(e), exact: ExactValue(Self.midpoint(e)), narrow: isNarrow(e))
    }

    /// An interval's identity: the two MPFR numbers of its ends (equal only for the same objects).
    struct SameInterval: Hashable {
        let lo: ObjectIdentifier
        let hi: ObjectIdentifier
        init(_ e: Interval) { (lo, hi) = (ObjectIdentifier(e.lo), ObjectIdentifier(e.hi)) }
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
