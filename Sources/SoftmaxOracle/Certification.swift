import MPFR

/// One output at one working precision: a value known exactly (a special value or an exact
/// zero, decided without arithmetic), or an enclosure of the exact real.
enum Enclosure {
    /// The exact value, a binary64 number (special values, exact zeros, exact results).
    case exact(Double)
    /// An interval that holds the exact value (strictly inside, unless it is a point).
    case interval(Interval)
    /// An interval that holds the exact value (as `interval`), and a second enclosure of the same
    /// value made only where the first does not round uniquely: the output's enclosure is then
    /// their intersection (also one, MidpointForms.swift). The Certifier decides with the
    /// rounding it makes of the first anyway, so the builder does not round it once more to
    /// decide; a consumer that does not round may take the first alone. Indirect (its payload
    /// boxed): only outputs at a tied maximum or on a near-tie row take this case, and inline
    /// its closure would double every `Enclosure`, 16 to 32 bytes, in the MPFR path's arrays of
    /// them (a batch loss of 10^6 rows: 16 MB more).
    indirect case intervalOrIntersection(Interval, second: () -> Interval)
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
    /// Whether outputs already certified are recomputed until their exact values are narrow
    /// (`isNarrow`, for ULP scores). False for callers that keep only the rounded values
    /// (`Oracle.evaluateRounded`): the rounded values, the precision at which they all certified
    /// and the escalations are the same either way (a certified output's rounding never changes;
    /// the rounds that follow only narrow exact values), and the rounds those outputs took, at
    /// twice the precision and more, are skipped.
    var narrowsExactValues = true

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
    /// With `repeats`, only the first output of each group of outputs with the same inputs is
    /// computed and certified; the others copy its value at the end. That is what computing them
    /// would give: an output's enclosure at each precision is a deterministic function of the row
    /// and of its own inputs (the same MPFR operations on the same operands), so outputs with the
    /// same inputs have the same enclosures in every round, hence the same rounding, exact value
    /// and escalations.
    func run(
        outputs n: Int, repeats: RepeatedOutputs? = nil,
        streaming prepare: (IntervalArithmetic, [Int]) throws(OracleError) -> (Int) -> Enclosure
    ) throws(OracleError) -> OracleResult {
        var precision = Swift.min(Swift.max(64, format.precision + guardBits), maxPrecision)
        // One slot per output, written when it certifies (and its exact value again while it
        // narrows): 41 bytes an output, the result's own array and a flag.
        var values = [OracleValue](repeating: OracleValue(rounded: 0, exact: .zero()), count: n)
        var certified = [Bool](repeating: false, count: n)
        var pending = repeats?.firsts ?? Array(0..<n)
        var escalations = 0
        var certifiedAt = precision
        var allCertified = false
        while true {
            let enclosure = try prepare(IntervalArithmetic(precision: precision), pending)
            var next: [Int] = []
            var firstAmbiguous: (index: Int, enclosure: Interval)?
            for (k, i) in pending.enumerated() {
                // The output's enclosure e, and its rounding when it was needed (an output not yet
                // certified) or made anyway (`intervalOrIntersection`'s first interval).
                let e: Interval, rounding: Double?
                switch enclosure(k) {
                case .exact(let v):
                    values[i] = OracleValue(rounded: format.round(v), exact: ExactValue(v))
                    certified[i] = true
                    continue
                case .interval(let plain):
                    e = plain
                    rounding = certified[i] ? nil : format.certify(plain)
                case .intervalOrIntersection(let plain, let second):
                    if let v = format.certify(plain) {
                        (e, rounding) = (plain, v)
                    } else {
                        e = plain.intersection(second())
                        rounding = certified[i] ? nil : format.certify(e)
                    }
                }
                var r = values[i].rounded
                if !certified[i] {
                    guard let v = rounding else {
                        next.append(i)
                        if firstAmbiguous == nil { firstAmbiguous = (i, e) }
                        continue
                    }
                    r = v
                    certified[i] = true
                }
                values[i] = OracleValue(rounded: r, exact: ExactValue(Self.midpoint(e)))
                if narrowsExactValues && !isNarrow(e) { next.append(i) }  // certified, but its exact value is still loose
            }
            // Later rounds only narrow exact values of outputs already certified.
            if firstAmbiguous == nil && !allCertified {
                certifiedAt = precision
                allCertified = true
            }
            if next.isEmpty || (firstAmbiguous == nil && precision >= maxPrecision) {
                repeats?.copy(into: &values)
                return OracleResult(values: values, precision: certifiedAt, escalations: escalations)
            }
            if let (i, e) = firstAmbiguous, precision >= maxPrecision {
                let ambiguous = next.filter { !certified[$0] }  // firsts of groups, with `repeats`
                throw .notCertified(
                    output: i, precision: precision,
                    detail: "(enclosure ≈ [\(e.lo.double(.down)), \(e.hi.double(.up))], \(repeats?.outputCount(of: ambiguous) ?? ambiguous.count) output(s) ambiguous)")
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

/// Outputs whose inputs repeat those of an earlier output (the same logit bits, the same target
/// and weight bits, the same role in the row): `Certifier.run(outputs:repeats:streaming:)`
/// computes the first of each group and copies it to the others. Rows with few distinct values
/// are common: bf16 and fp8 logits have at most 65 536 and 256 values, LLM vocabularies 128k–256k.
struct RepeatedOutputs {
    /// For each output, the first output with the same inputs (itself for a first).
    let first: [Int32]
    /// The outputs that are first of their group, increasing.
    let firsts: [Int]

    /// The groups of outputs 0..<n by `key` (up to four 64-bit words), or nil when no two
    /// outputs share a key. Keys are remembered up to `limit` of them (65 536, a bf16 row's
    /// distinct values; `SharedTerms`); past it a new key starts a group of its own (a row of
    /// all-distinct values pays a bounded table).
    static func grouping(count n: Int, limit: Int = 1 << 16, key: (Int) -> SIMD4<UInt64>) -> RepeatedOutputs? {
        precondition(n <= Int(Int32.max), "output indices fit Int32")
        var seen = SharedTerms<Int32>(limit: limit)
        var first = [Int32](repeating: 0, count: n)
        var firsts: [Int] = []
        for i in 0..<n {
            let k = key(i)
            if let f = seen.stored(k) {
                first[i] = f
                continue
            }
            first[i] = Int32(i)
            firsts.append(i)
            seen.store(k, Int32(i))
        }
        return firsts.count == n ? nil : RepeatedOutputs(first: first, firsts: firsts)
    }

    /// How many outputs the groups whose firsts are `firsts` hold in all.
    func outputCount(of firsts: [Int]) -> Int {
        let chosen = Set(firsts)
        return first.reduce(0) { $0 + (chosen.contains(Int($1)) ? 1 : 0) }
    }

    /// Copies each group's first value to the group's other outputs.
    func copy(into values: inout [OracleValue]) {
        for i in first.indices where Int(first[i]) != i { values[i] = values[Int(first[i])] }
    }
}
