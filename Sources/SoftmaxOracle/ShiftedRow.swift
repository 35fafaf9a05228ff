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
struct ShiftedRow {
    let facts: RowFacts
    let m: Double
    let maxIndex: Int
    let d: [Interval?]
    let e: [Interval?]
    let s: Interval
    let S: Interval
    let L: Interval

    /// Needs a row with a finite maximum and no NaN or +inf (`facts.special(...) == nil`).
    init(_ x: [Double], facts: RowFacts, arithmetic w: IntervalArithmetic) {
        self.facts = facts
        maxIndex = facts.maxIndex!
        m = facts.max
        let mPoint = w.point(m)
        var d = [Interval?](repeating: nil, count: x.count)
        var e = [Interval?](repeating: nil, count: x.count)
        var others: [Interval] = []
        others.reserveCapacity(x.count)
        // Equal logits (the same bits) share one d_j and one e_j (SharedTerms.swift): the same
        // intervals, and the same sums, as computing each again.
        var shared = SharedTerms<(d: Interval, e: Interval)>()
        for (j, v) in x.enumerated() where v.isFinite {
            let (dj, ej) = shared.value(SIMD4(v.bitPattern, 0, 0, 0)) {
                // An exact difference (the usual case: x_j and m are doubles of nearby
                // exponents) keeps one number for both ends: the same interval, half the memory.
                let difference = w.sub(w.point(v), mPoint)
                let dj = difference.isPoint ? Interval(point: difference.lo) : difference
                return (dj, w.exp(dj))
            }
            d[j] = dj
            e[j] = ej
            if j != maxIndex { others.append(ej) }
        }
        self.d = d
        self.e = e
        s = w.sum(others)
        S = w.add(w.one, s)
        L = w.log1p(s)
    }
}
