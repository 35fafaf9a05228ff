import MPFR

/// A closed interval [lo, hi] that encloses an exact real, with MPFR endpoints.
///
/// Intervals are made and combined by `IntervalArithmetic`, which rounds every lower end down
/// and every upper end up; see there for the invariant the certification rests on.
struct Interval {
    let lo: BigFloat
    let hi: BigFloat

    /// The exact point `v` (shared, never mutated).
    init(point v: BigFloat) {
        lo = v
        hi = v
    }

    init(lo: BigFloat, hi: BigFloat) {
        self.lo = lo
        self.hi = hi
    }

    /// True when lo and hi are the same real: the enclosure is the exact value.
    var isPoint: Bool { lo.compare(hi) == 0 }

    /// True when the exact value is known to be 0.
    var isExactZero: Bool { lo.isZero && hi.isZero }
}

/// Interval arithmetic at one working precision, in directed rounding.
///
/// Invariant: if the operands enclose exact values, the result encloses the exact result. Each
/// lower end is computed with MPFR's RNDD and each upper end with RNDU, and each MPFR operation is
/// correctly rounded, so the computed ends bracket the exact end values; every operation used is
/// monotone in each argument over the domain where the oracle applies it (noted per method), so
/// the exact end values bracket the exact result.
///
/// Results have `precision` bits; operands may have any precision (exact inputs have 53 bits,
/// exactly computed target weights may have thousands). Endpoints are finite here: the oracle
/// handles NaN and infinite logits before it builds intervals, and every exponential it takes is
/// of a non-positive argument, so nothing overflows. An underflow (below 2^(-2^30): the intervals are
/// computed in MPFR's default exponent range, `ExponentRange`) is still an enclosure: RNDD gives 0 and RNDU the least positive MPFR number.
struct IntervalArithmetic {
    let precision: Int

    init(precision: Int) {
        self.precision = Swift.max(precision, 53)
    }

    private func fresh() -> BigFloat { BigFloat(precision: precision) }

    /// The exact point `x`.
    func point(_ x: Double) -> Interval { Interval(point: BigFloat(x, precision: 53)) }

    var zero: Interval { point(0) }
    var one: Interval { point(1) }

    /// A new interval at this precision, its lower end written by `lower`, its upper end by
    /// `upper` (each an MPFR operation into the given number, rounding down and up).
    @inline(__always)
    private func ends(_ lower: (BigFloat) -> Void, _ upper: (BigFloat) -> Void) -> Interval {
        let lo = fresh(), hi = fresh()
        lower(lo)
        upper(hi)
        return Interval(lo: lo, hi: hi)
    }

    /// a + b, increasing in both.
    func add(_ a: Interval, _ b: Interval) -> Interval {
        ends({ $0.add(a.lo, b.lo, .down) }, { $0.add(a.hi, b.hi, .up) })
    }

    /// a − b, increasing in a, decreasing in b.
    func sub(_ a: Interval, _ b: Interval) -> Interval {
        ends({ $0.sub(a.lo, b.hi, .down) }, { $0.sub(a.hi, b.lo, .up) })
    }

    /// −a, decreasing.
    func neg(_ a: Interval) -> Interval {
        ends({ $0.neg(a.hi, .down) }, { $0.neg(a.lo, .up) })
    }

    /// The product, for any signs: the least of the four end products rounded down, the greatest
    /// rounded up.
    func mul(_ a: Interval, _ b: Interval) -> Interval {
        if a.lo.signum >= 0 && b.lo.signum >= 0 {  // the common case: both non-negative
            return ends({ $0.mul(a.lo, b.lo, .down) }, { $0.mul(a.hi, b.hi, .up) })
        }
        var lo: BigFloat?
        var hi: BigFloat?
        for x in [a.lo, a.hi] {
            for y in [b.lo, b.hi] {
                let d = fresh(), u = fresh()
                d.mul(x, y, .down)
                u.mul(x, y, .up)
                if lo.map({ d.compare($0) < 0 }) ?? true { lo = d }
                if hi.map({ u.compare($0) > 0 }) ?? true { hi = u }
            }
        }
        return Interval(lo: lo!, hi: hi!)
    }

    /// a / b for b > 0 (every divisor in the oracle is a positive sum, count or weight total).
    /// x/y increases in x; in y it decreases for x >= 0 and increases for x <= 0.
    func div(_ a: Interval, _ b: Interval) -> Interval {
        precondition(b.lo.signum > 0, "interval division needs a positive divisor")
        return ends({ $0.div(a.lo, a.lo.signum >= 0 ? b.hi : b.lo, .down) },
                    { $0.div(a.hi, a.hi.signum >= 0 ? b.lo : b.hi, .up) })
    }

    /// exp, increasing. For a point argument the upper end is the successor of the lower end:
    /// exp of a nonzero number is never a binary number (it is transcendental, by Lindemann), so
    /// RNDU = next(RNDD) — one MPFR call instead of two. exp(0) is the exact point 1.
    func exp(_ a: Interval) -> Interval {
        let lo = fresh()
        let t = lo.exp(a.lo, .down)
        if a.isPoint {
            if t == 0 { return Interval(point: lo) }
            let hi = fresh()
            hi.set(lo, .up)
            hi.nextUp()
            return Interval(lo: lo, hi: hi)
        }
        let hi = fresh()
        hi.exp(a.hi, .up)
        return Interval(lo: lo, hi: hi)
    }

    /// log(1 + x), increasing on x > -1 (the oracle applies it to sums of exponentials, >= 0).
    func log1p(_ a: Interval) -> Interval {
        ends({ $0.log1p(a.lo, .down) }, { $0.log1p(a.hi, .up) })
    }

    /// The sum of all `terms`, each end with a single rounding (MPFR's `mpfr_sum`), so that the
    /// enclosure is as tight as the working precision allows whatever K is. Empty: exact 0.
    func sum(_ terms: [Interval]) -> Interval {
        if terms.isEmpty { return zero }
        return ends({ $0.sum(terms.map(\.lo), .down) }, { $0.sum(terms.map(\.hi), .up) })
    }
}
