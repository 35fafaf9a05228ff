import MPFR

// Sums of per-logit numbers made one at a time, without keeping the numbers (issue 13: about 100
// bytes a logit beyond input and output). `IntervalArithmetic.sum(terms)` rounds each end with one
// `mpfr_sum` of all the terms' ends: the correctly rounded value of their exact sum. These keep
// only a chunk of terms at a time and fold it into an exact partial sum (an `mpfr_sum` at a
// precision that holds the exact result, checked by its ternary value), then round the exact
// total once, in the direction asked: the same correctly rounded number, bit for bit, since it
// depends on the exact sum (and the precision, direction and exponent range) alone.

/// A sum of `BigFloat`s added one at a time, rounded once (in `rounding`, to `precision` bits) as
/// `mpfr_sum` of all of them would round it: at most `chunk` terms are held at once, the others
/// are folded into an exact partial sum.
///
/// Exactness: a fold sums the partial sum and the chunk's nonzero terms into a number of
/// `top − bottom + bitlength(n) + 2` bits, where 2^top bounds every term's magnitude (MPFR's
/// exponent: |t| < 2^exponent) and 2^bottom divides each (a term's last bit, 2^(exponent −
/// precision); the partial sum's is the `bottom` of the fold that made it, kept, not its last
/// bit at its own precision, which lies lower: taken from that, the width grew by bitlength(n)
/// + 2 bits a fold, past `maxFoldBits` on rows of 10^6): the exact sum is a multiple of 2^bottom
/// of magnitude below n·2^top, so it fits (the same bound as `ExactArithmetic.sum`; the ternary
/// value is checked). When that width
/// would pass `maxFoldBits` (terms spread over more than ~16 000 binades, such as an exponential
/// below MPFR's range, enclosed as [0, 2^(−2^30)]), folding stops and the terms are kept until
/// `total()`, as `mpfr_sum` of the list would (more memory, the same number).
///
/// Zeros: zero terms do not change the exact sum and are not kept; only their signs are, for
/// the sign of a zero result, which follows `mpfr_sum`'s rule: the common sign when every term is
/// a zero of one sign, otherwise −0 when rounding down and +0 in the other directions.
struct StreamedSum {
    /// The widest fold, in bits (2 KB a number).
    static let maxFoldBits = 1 << 14

    let precision: Int
    let rounding: Rounding
    private let chunk: Int
    /// The exact sum of the terms folded so far (nil: none nonzero yet), a multiple of
    /// 2^partialBottom.
    private var partial: BigFloat?
    private var partialBottom = 0
    /// Nonzero terms not folded yet.
    private var held: [BigFloat] = []
    private var folding = true
    private var sawPositiveZero = false, sawNegativeZero = false, sawNonzero = false
    /// The number of terms added (zeros included).
    private(set) var count = 0

    init(precision: Int, rounding: Rounding, chunk: Int = 256) {
        self.precision = precision
        self.rounding = rounding
        self.chunk = chunk
        held.reserveCapacity(chunk)
    }

    /// Adds `t`: its value is read now or at a later fold, so it must not change afterwards.
    mutating func add(_ t: BigFloat) {
        count += 1
        if t.isZero {
            if t.signBit { sawNegativeZero = true } else { sawPositiveZero = true }
            return
        }
        sawNonzero = true
        held.append(t)
        if folding && held.count >= chunk { fold() }
    }

    /// Replaces the partial sum and the held terms by their exact sum, unless that takes more
    /// than `maxFoldBits` bits (then stops folding for good).
    private mutating func fold() {
        var top = Int.min, bottom = Int.max
        var n = held.count
        if let p = partial {
            n += 1
            top = p.exponent
            bottom = partialBottom
        }
        for t in held {
            top = Swift.max(top, t.exponent)
            bottom = Swift.min(bottom, t.exponent - t.precision)
        }
        let bits = top - bottom + (Int.bitWidth - n.leadingZeroBitCount) + 2
        guard bits <= Self.maxFoldBits else {
            folding = false
            return
        }
        let r = BigFloat(precision: bits)
        let terms = partial.map { [$0] + held } ?? held
        let ternary = ExponentRange.widest { r.sum(terms, .nearest) }
        precondition(ternary == 0, "exact fold was rounded")
        held.removeAll(keepingCapacity: true)
        // An exact zero (the terms cancelled) is no partial sum: zeros are left out.
        partial = r.isZero ? nil : r
        partialBottom = bottom
    }

    /// The precision of the partial sum (for tests: it stays near the terms' own span).
    var partialPrecision: Int { partial?.precision ?? 0 }

    /// The sum of every term added, correctly rounded (as `mpfr_sum` of them all).
    func total() -> BigFloat {
        let r = BigFloat(precision: precision)
        let terms = partial.map { [$0] + held } ?? held
        r.sum(terms, rounding)
        if r.isZero {
            // mpfr_sum's sign of an exact zero, from the terms' (see the type's notes).
            let common = !sawNonzero && sawPositiveZero != sawNegativeZero
            r.setZero(negative: common ? sawNegativeZero : rounding == .down)
        }
        return r
    }

    /// The exact sum of the terms (+0 with 53 bits when it is 0), as `ExactArithmetic.sum` gives
    /// it. For terms that never stop the folding, such as doubles (a fold spans at most
    /// 2^1024 / 2^−1074 times the count: about 2 200 bits).
    mutating func exactTotal() -> BigFloat {
        if !held.isEmpty { fold() }
        precondition(held.isEmpty, "an exact total needs every fold")
        return partial ?? BigFloat(0, precision: 53)
    }
}

/// `IntervalArithmetic.sum` of intervals added one at a time (`StreamedSum` for each end): the
/// same enclosure, holding a chunk of terms at a time instead of all of them.
struct StreamedIntervalSum {
    private var lower: StreamedSum, upper: StreamedSum
    private let w: IntervalArithmetic

    init(_ w: IntervalArithmetic) {
        lower = StreamedSum(precision: w.precision, rounding: .down)
        upper = StreamedSum(precision: w.precision, rounding: .up)
        self.w = w
    }

    /// Adds `t` (whose ends must not change afterwards).
    mutating func add(_ t: Interval) {
        lower.add(t.lo)
        upper.add(t.hi)
    }

    /// The enclosure `w.sum` of the terms gives (the exact 0 with no term).
    func total() -> Interval {
        if lower.count == 0 { return w.zero }
        return Interval(lo: lower.total(), hi: upper.total())
    }
}
