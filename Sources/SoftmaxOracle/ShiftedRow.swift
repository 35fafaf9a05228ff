import MPFR

/// What a row's special values decide, before any arithmetic (docs/semantics.md, "Special values").
struct RowFacts {
    let hasNaN: Bool
    let hasPositiveInfinity: Bool
    /// The first index of the largest finite logit; nil when no logit is finite.
    let maxIndex: Int?
    /// The largest finite logit (meaningless when `maxIndex` is nil).
    let max: Double

    init(_ x: [Double]) {
        var nan = false, posInf = false
        var best: Int?
        for (j, v) in x.enumerated() {
            if v.isNaN { nan = true } else if v == .infinity { posInf = true } else if v.isFinite {
                if best.map({ v > x[$0] }) ?? true { best = j }
            }
        }
        hasNaN = nan
        hasPositiveInfinity = posInf
        maxIndex = best
        max = best.map { x[$0] } ?? -.infinity
    }

    /// The special value that every output of a softmax-type function takes, if the row has one:
    /// NaN for any NaN; for a +inf logit NaN (inf/inf) — except logsumexp, which is +inf; for a
    /// row of only -inf NaN (0/0) — except logsumexp, which is -inf.
    func special(forLogsumexp: Bool) -> Double? {
        if hasNaN { return .nan }
        if hasPositiveInfinity { return forLogsumexp ? .infinity : .nan }
        if maxIndex == nil { return forLogsumexp ? -.infinity : .nan }
        return nil
    }
}

/// A row's exponentials shifted by its maximum, enclosed at one working precision:
///
///     m = max_j x_j (at index M),  d_j = x_j - m <= 0,  e_j = exp(d_j) <= 1,
///     s = Σ_{j≠M} e_j,  S = Σ_j e_j = 1 + s,  L = log1p(s) = logsumexp(x) - m.
///
/// Why this form: nothing overflows (every exponent is <= 0); e_M = exp(0) = 1 exactly, so equal
/// logits give exact sums and exact softmax values 1/K; and L is computed from s, never as
/// log(S) - 0, so the small quantities behind a tiny loss (L ≈ s when s ≪ 1) keep their full
/// relative accuracy: an enclosure of s with relative width w gives one of L with relative width
/// at most about w, whatever the size of s. -inf logits have no entry (they contribute 0).
///
/// Memory (issue 13: about 100 bytes a logit beyond input and output, on rows of 10^6): the row
/// keeps one number per distinct finite logit, e_j's lower end, in a `PackedFloats` (48 bytes at
/// up to 128 bits), its kind (1 byte) and an index per logit (4 bytes); a few hundred bytes a
/// logit went to `Interval`s of `BigFloat`s before. Nothing else per logit:
/// - e_j's upper end is not kept where it is the successor of the lower end (the usual case,
///   `IntervalArithmetic.exp` of a point) or equal to it (e_j = 1): `e(j)` makes it as `exp` did
///   (the same MPFR operations, so the same bits). Only an e_j of an inexact difference keeps its
///   own upper end (a `BigFloat`).
/// - d_j is not kept: `d(j)` computes it again, with the same operations as before (the same
///   bits: MPFR's results depend on operands, precision and rounding alone).
/// - The sums take pointers into the store (`BigFloat.sum(_:count:_:)`, 8 bytes a term while
///   they run), not a second array of the terms; the upper sum moves each successor-kind number
///   up (`nextUp`, exact) for the sum and back down after (`nextDown`, its exact inverse on these
///   numbers: finite, in [0, 1)), so its terms are the upper ends `exp` made.
struct ShiftedRow {
    let facts: RowFacts
    let m: Double
    let maxIndex: Int
    /// n, the number of terms of S (the finite logits).
    let count: Int
    let s: Interval
    let S: Interval
    let L: Interval
    private let x: [Double]
    private let arithmetic: IntervalArithmetic
    private let terms: ExponentialTerms

    /// Needs a row with a finite maximum and no NaN or +inf (`facts.special(...) == nil`).
    init(_ x: [Double], facts: RowFacts, arithmetic w: IntervalArithmetic) {
        self.facts = facts
        self.x = x
        arithmetic = w
        maxIndex = facts.maxIndex!
        m = facts.max
        let mPoint = w.point(m)
        let n = x.lazy.filter(\.isFinite).count
        count = n
        let terms = ExponentialTerms(logits: x.count, capacity: n, precision: w.precision)
        // Equal logits (the same bits) share one e_j (SharedTerms.swift): the same numbers, and
        // the same sums, as computing each again.
        var shared = SharedTerms<Int32>()
        let point = BigFloat(precision: 53)
        let lower = BigFloat(precision: w.precision), upper = BigFloat(precision: w.precision)
        for (j, v) in x.enumerated() where v.isFinite {
            terms.slot[j] = shared.value(SIMD4(v.bitPattern, 0, 0, 0)) {
                // d_j = w.sub(w.point(v), mPoint) (the ends `IntervalArithmetic.sub` makes), into
                // scratch numbers; e_j = w.exp(d_j) as `IntervalArithmetic.exp` makes it.
                point.set(v, .nearest)  // exact
                lower.sub(point, mPoint.hi, .down)
                upper.sub(point, mPoint.lo, .up)
                return terms.append(exponentOf: lower, upper)
            }
        }
        self.terms = terms
        // s = w.sum(e_j for j ≠ M), each end one `mpfr_sum`; no other term: the exact 0.
        let others = x.indices.lazy.filter { [maxIndex] j in j != maxIndex && terms.slot[j] >= 0 }
        if n - 1 == 0 {
            s = w.zero
        } else {
            let lo = BigFloat(precision: w.precision), hi = BigFloat(precision: w.precision)
            lo.sum(others.map { terms.lower(Int(terms.slot[$0])) }, count: n - 1, .down)
            _ = terms.withUpperEnds { upper in hi.sum(others.map { upper(Int(terms.slot[$0])) }, count: n - 1, .up) }
            s = Interval(lo: lo, hi: hi)
        }
        S = w.add(w.one, s)
        L = w.log1p(s)
    }

    /// s, S and L of the row (`ShiftedRow(x, facts:, arithmetic:)`'s, bit for bit), without keeping
    /// its terms: for callers that need the sums alone (cross_entropy's loss). Each e_j is made as
    /// the row makes it (the same MPFR operations; equal logits share one, `SharedTerms`, its ends
    /// kept while the table is on) and its ends are added to two `ExactChunkedSum`s (the same
    /// correctly rounded sums as the row's `mpfr_sum`s of the same numbers). Memory: no number
    /// per logit (the row keeps 4 bytes a logit and about 50 a term; issue 13).
    static func sums(_ x: [Double], facts: RowFacts, arithmetic w: IntervalArithmetic) -> (s: Interval, S: Interval, L: Interval) {
        let maxIndex = facts.maxIndex!
        let mPoint = w.point(facts.max)
        let n = x.lazy.filter(\.isFinite).count
        var s = w.zero
        if n > 1 {
            var lowerSum = ExactChunkedSum(precision: w.precision), upperSum = ExactChunkedSum(precision: w.precision)
            var shared = SharedTerms<Int32>()
            // The shared terms' ends, in stores of 4096 numbers made as the table fills (a row of
            // distinct logits turns the table off after 4096 (`SharedTerms.window`): one store).
            var lowerEnds: [PackedFloats] = [], upperEnds: [PackedFloats] = []
            let capacity = Swift.min(n, shared.limit), storeSize = 4096
            var made: Int32 = 0
            let point = BigFloat(precision: 53)
            let lower = BigFloat(precision: w.precision), upper = BigFloat(precision: w.precision)
            let lo = BigFloat(precision: w.precision), hi = BigFloat(precision: w.precision)
            for (j, v) in x.enumerated() where v.isFinite && j != maxIndex {
                let key = SIMD4(v.bitPattern, 0, 0, 0)
                if let k = shared.stored(key) {
                    lowerSum.add(lowerEnds[Int(k) / storeSize].view(Int(k) % storeSize))
                    upperSum.add(upperEnds[Int(k) / storeSize].view(Int(k) % storeSize))
                    continue
                }
                // e_j as `ExponentialTerms.append(exponentOf:_:)` and `interval` make it.
                point.set(v, .nearest)  // exact
                lower.sub(point, mPoint.hi, .down)
                upper.sub(point, mPoint.lo, .up)
                let t = lo.exp(lower, .down)
                if lower.compare(upper) == 0 {
                    hi.set(lo, .up)
                    if t != 0 { hi.nextUp() }
                } else {
                    hi.exp(upper, .up)
                }
                lowerSum.add(lo)
                upperSum.add(hi)
                if !shared.isOff && Int(made) < capacity {
                    if Int(made) % storeSize == 0 {
                        lowerEnds.append(PackedFloats(count: storeSize, precision: w.precision))
                        upperEnds.append(PackedFloats(count: storeSize, precision: w.precision))
                    }
                    let (store, i) = (Int(made) / storeSize, Int(made) % storeSize)
                    lowerEnds[store].set(i, lo, .nearest)  // exact: the same precision
                    upperEnds[store].set(i, hi, .nearest)
                    shared.store(key, made)
                    made += 1
                }
            }
            s = Interval(lo: lowerSum.total(precision: w.precision, .down), hi: upperSum.total(precision: w.precision, .up))
        }
        return (s, w.add(w.one, s), w.log1p(s))
    }

    /// The bytes the row keeps per logit and per term (`ExponentialTerms.storedBytes`), besides
    /// s, S and L; for tests that pin the memory design.
    var storedBytes: Int { terms.storedBytes }

    /// K, the number of logits.
    var logitCount: Int { x.count }

    /// True when logit j is finite (it has a d_j and an e_j; -inf logits have neither).
    func hasTerm(_ j: Int) -> Bool { terms.slot[j] >= 0 }

    /// d_j = x_j − m: exact in the usual case (x_j and m doubles of nearby exponents), then a
    /// point; nil for a -inf logit.
    func d(_ j: Int) -> Interval? {
        guard hasTerm(j) else { return nil }
        let w = arithmetic
        let difference = w.sub(w.point(x[j]), w.point(m))
        return difference.isPoint ? Interval(point: difference.lo) : difference
    }

    /// e_j = exp(d_j), as `IntervalArithmetic.exp` encloses it; nil for a -inf logit.
    func e(_ j: Int) -> Interval? {
        guard hasTerm(j) else { return nil }
        return terms.interval(Int(terms.slot[j]), precision: arithmetic.precision)
    }
}

/// The enclosures e_j of a `ShiftedRow`, one per distinct finite logit (see `ShiftedRow`'s notes).
private final class ExponentialTerms {
    /// How e_j's upper end follows from its lower end.
    enum Kind: UInt8 {
        /// The successor at the working precision (exp of a nonzero point).
        case successor
        /// The same number (exp(0) = 1).
        case point
        /// Its own number, in `upperEnds` (exp of an interval that is not a point).
        case own
    }

    /// For each logit, its term's index, or −1 for a logit without one.
    var slot: [Int32]
    private let lowerEnds: PackedFloats
    private var kinds: [UInt8] = []
    private var upperEnds: [Int32: BigFloat] = [:]

    init(logits: Int, capacity: Int, precision: Int) {
        precondition(capacity < Int(Int32.max), "term indices fit Int32")
        slot = [Int32](repeating: -1, count: logits)
        lowerEnds = PackedFloats(count: capacity, precision: precision)
        kinds.reserveCapacity(capacity)
    }

    /// The bytes the terms keep (the arrays, the store's numbers made, an own upper end counted as
    /// a `BigFloat` of ~130 bytes): K·4 + n·(`PackedFloats.bytesPerNumber` + 1) on a row of n
    /// distinct finite logits whose differences x_j − m are exact. (The store has room for a
    /// number per finite logit; the memory of numbers never made is never touched.)
    var storedBytes: Int {
        slot.capacity * MemoryLayout<Int32>.stride + kinds.count * PackedFloats.bytesPerNumber(precision: lowerEnds.precision)
            + kinds.capacity + upperEnds.count * 130
    }

    /// Adds exp([lower, upper]) (an exact point when lower = upper), as `IntervalArithmetic.exp`
    /// makes it; returns its index.
    func append(exponentOf lower: BigFloat, _ upper: BigFloat) -> Int32 {
        let k = kinds.count
        let t = lowerEnds.exp(k, lower, .down)
        if lower.compare(upper) == 0 {
            kinds.append(t == 0 ? Kind.point.rawValue : Kind.successor.rawValue)
        } else {
            let hi = BigFloat(precision: lowerEnds.precision)
            hi.exp(upper, .up)
            upperEnds[Int32(k)] = hi
            kinds.append(Kind.own.rawValue)
        }
        return Int32(k)
    }

    func lower(_ k: Int) -> NumberReference { lowerEnds.reference(k) }

    /// Runs `body` with the upper ends available as sum terms (`upper(k)`): the successor-kind
    /// numbers are moved up for it, and back after.
    func withUpperEnds<R>(_ body: (@escaping (Int) -> NumberReference) -> R) -> R {
        for k in kinds.indices where kinds[k] == Kind.successor.rawValue { lowerEnds.nextUp(k) }
        defer { for k in kinds.indices where kinds[k] == Kind.successor.rawValue { lowerEnds.nextDown(k) } }
        return body { k in
            self.kinds[k] == Kind.own.rawValue ? self.upperEnds[Int32(k)]!.reference : self.lowerEnds.reference(k)
        }
    }

    /// Term k's enclosure, its ends at `precision` bits (the store's).
    func interval(_ k: Int, precision: Int) -> Interval {
        let lo = lowerEnds.view(k)
        switch Kind(rawValue: kinds[k])! {
        case .point: return Interval(point: lo)
        case .own: return Interval(lo: lo, hi: upperEnds[Int32(k)]!)
        case .successor:
            let hi = BigFloat(precision: precision)
            hi.set(lo, .up)
            hi.nextUp()
            return Interval(lo: lo, hi: hi)
        }
    }
}
