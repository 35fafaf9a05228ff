import DoubleWordArithmetic
import MPFR
import ParallelExecution

// cross_entropy_grad with probability targets: the outputs whose double-word enclosure is too
// wide (ProbabilityGradient.swift). grad_c = e_c·P/S − p_c cancels where q_c = e_c·P/S lies near
// p_c: the enclosure of q_c has a relative bound of about 2^-99.4 (two exponentials' 2^-101, the
// quotient's 14u², two products' 8.1u², P's conversion), and the difference inflates it by
// q_c/|grad_c|. An output must be narrow (2·err <= 2^-40 ulp, about 2^-94 of the output in
// binary64), so any q_c/|grad_c| above about 2^5 declined the whole row to the MPFR path (a row
// of K = 10^5 probability targets j/16 has several such outputs). Rather than redo the row in
// MPFR, only those outputs are recomputed, in MPFR interval arithmetic (Interval.swift; the
// outputs as RefinedOutputs.swift makes them for the backward functions too), from one refined
// enclosure of P/S per row:
//
//   S = Σ_j e^(x_j − m) = Σ_{d_j >= D} exp([x_j − m]) + R,   0 <= R <= n_D·e^D,
//
// d_j = x_j − m, n_D the number of terms below the cut D = −(w + 9 + ⌊log₂K⌋)·ln 2 − 1 (w the
// working precision; K < 2^(⌊log₂K⌋+1), so R < 2^-(w+8) <= 2^-(w+8)·S, as S >= 1: only the
// terms that can matter at that precision are taken; at 128 bits those with n·e^(d_j) <= 2^-37·e^-1
// in double words, within 2^-137 of S: `farTerms`), P = Σ p_j by `mpfr_sum` (one rounding per end), and
// grad_c = exp([x_c − m])·[P/S] − p_c. Every step rounds outward, so the interval holds grad_c;
// it is certified as the MPFR path certifies (`Format.certify`, `Certifier.isNarrow`, the
// midpoint as the exact value), hence the same output. Precisions 128, then 384 bits (a
// cancellation of 2^256 more); beyond, or an exact zero, nil: the MPFR path answers the request.
//
// Threads: the terms above the cut (a few thousand exponentials at 128 bits on rows of 10^5) are
// split over the request's threads (`splitTerms`) when MPFR keeps its state per thread. Each term
// [RD(e^RD(x_j − m)), RU(e^RU(x_j − m))] is computed alone, rounded outward at each step, so it
// holds e^(x_j − m) whichever thread makes it; S's ends are one `mpfr_sum` each (RD of the exact
// sum of the lower ends, RU of the upper), on the calling thread, so [S] holds S and has the
// same ends on one thread or two (the outputs do not depend on the thread count).
//
// With `softcap` (SoftcapGradient.swift) the same, with d_j = c·tanh(x_j/c) − z_M in intervals
// (every term, no cut; the saturated logits grouped) and the MPFR path's chain factor:
// grad_j = chain_j·(e_j·P/S − p_j) (RefinedSoftcapGradient.swift).

extension DoubleWordTier {
    /// cross_entropy_grad with probability targets (`softmax(_:probabilities:)`'s outputs), with
    /// the outputs that do not certify in double-word recomputed alone (`RefinedOutputs`);
    /// nil when the row is outside the tier or some output does not certify even so. One thread
    /// (MPFR numbers are not shared across threads); called only after the parallel pass declined.
    /// `scan`: the row's `sumScan` when the caller has it (checked before the output array is
    /// allocated, as in `softmax`).
    static func refinedProbabilityGradient(_ x: UnsafeBufferPointer<Double>, _ p: UnsafeBufferPointer<Double>,
                                           _ format: Format, scan known: RowScan? = nil) -> [OracleValue]? {
        let n = x.count
        guard n > 0, p.count == n, let scan = known ?? sumScan(x, threads: 1) else { return nil }
        return withOutputs(count: n) { slots in
            let store = ExpStore(slots: slots)
            // Full double-word exponentials (2^-101) whatever the format: the compact ones
            // (2^-68.5) leave the p <= 24 formats only 2^3 of cancellation.
            guard let row = rowSum(x, threads: 1, store: store, compact: false, scan: scan),
                  let (total, epsTotal) = probabilityTotal(p) else { return false }
            let (inverse, epsInverse) = inverseOfSum(row)
            let certifier = DoubleWordCertifier(format)
            let g = ProbabilityGradientOutputs(x: x, p: p, store: store, row: row, inverse: inverse, epsInverse: epsInverse,
                                               total: total, epsTotal: epsTotal, certifier: certifier)
            let refined = RefinedOutputs(.probabilityGradient, x: x, targets: p, maxIndex: row.maxIndex, format: format)
            return fillOutputs(slots, count: n, threads: 1, RefinedGradientOutputs(plain: g, refined: refined))
        }
    }
}

extension DoubleWordTier {
    /// Fills slots[0..<n] with `g`'s outputs (the parallel pass of `softmax(_:probabilities:)`);
    /// for f64 (full exponentials, `compact` false) the few outputs `g` declines are marked
    /// (`MarkedGradientOutputs`) and then recomputed alone (`fillRefining`, `RefinedOutputs`;
    /// [P/S]'s terms on `threads`), so such a row is not computed twice. False when one of
    /// those does not certify either, or, for the compact exponentials (whose 2^-68.5 leaves
    /// many more outputs to refine), when `g` declines any: `refinedProbabilityGradient` then
    /// redoes the row with full exponentials.
    static func fillProbabilityGradient(_ slots: UnsafeMutablePointer<OracleValue>, count n: Int, threads: Int,
                                        _ g: ProbabilityGradientOutputs, compact: Bool) -> Bool {
        if compact { return fillOutputs(slots, count: n, threads: threads, g) }
        return fillRefining(slots, count: n, threads: threads, MarkedGradientOutputs(plain: g), limit: nil) {
            RefinedOutputs(.probabilityGradient, x: g.x, targets: g.p, maxIndex: g.maxIndex, format: g.certifier.format,
                           threads: threads)
        }
    }
}

/// `ProbabilityGradientOutputs`, with the outputs it does not certify taken from
/// `RefinedOutputs` (one thread).
struct RefinedGradientOutputs: RowOutputs {
    let plain: ProbabilityGradientOutputs
    let refined: RefinedOutputs

    @inline(__always)
    func single(_ i: Int) -> OracleValue? { plain.single(i) ?? refined.output(i) }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}

/// [P/S] of cross_entropy_grad with probability targets (see the file's notes), and the
/// helpers its terms and the softcapped [P/S] share.
extension RefinedOutputs {
    /// [S] and [P/S] at the arithmetic's precision, p the `targets` (see the file's notes for S's
    /// cut D; `sums` keeps them). The terms above the cut (`ProbabilityTerms`, the same ends as
    /// `exp(sub(point(x_j), point(m)))`) are split over `threads` threads (`splitTerms`); S is
    /// one `mpfr_sum` per end of all of them, each end rounded outward, so [S] holds S and does
    /// not depend on the split.
    func probabilitySums(_ a: IntervalArithmetic) -> (s: Interval, ratio: Interval) {
        let n = x.count
        let m = x[maxIndex]
        // n < 2^(exponent + 1), so n·e^D <= 2^-(w+8)·e^-1.
        let cut = -Double(a.precision + 8 + Int(Double(n).exponent) + 1) * 0.6931471805599453 - 1
        let w = a.precision
        // At the first precision, the terms below `near` (n·e^near <= 2^-(w+9−100)·e^-1) are
        // summed in double words (`farTerms`: within 2^-100 of their sum, so 2^-(w+9) of S).
        let near = w == Self.precisions[0] ? -Double(w + 10 + Int(Double(n).exponent) - 100) * 0.6931471805599453 - 1 : -Double.infinity
        var values: [Double] = [], far: [Double] = []
        var below = 0
        for j in 0..<n where x[j] > -.infinity && j != maxIndex {
            let d = x[j] - m  // rounded: d_j <= d + |d|·2^-53, so d < cut − 1 puts d_j below the cut
            if d < cut - 1 { below += 1 } else if d < near - 1 { far.append(x[j]) } else { values.append(x[j]) }
        }
        // Equal logits share one term: each distinct x_j's [e^(x_j − m)] once, times its count n
        // exactly (ends of w + 64 bits: n < 2^63), so each end's `mpfr_sum` is the rounding of
        // the same exact sum as with every term apart (the same [S]). The distinct values are
        // found by sorting `values` in place and moved to its front, their counts beside them:
        // 12 bytes a term at most, against about 50 for a dictionary of counts and a second array
        // (issue 13). The order of the terms does not matter: the sums are exact until their one
        // rounding (`ExactChunkedSum`). (The values are finite and not NaN: a strict order.)
        values.sort()
        var counts: [Int32] = []
        var distinctCount = 0
        for v in values.indices {
            if distinctCount > 0 && values[distinctCount - 1] == values[v] {
                counts[distinctCount - 1] += 1
            } else {
                values[distinctCount] = values[v]
                counts.append(1)
                distinctCount += 1
            }
        }
        // `a.sum` of the terms (each end one `mpfr_sum`), summed as they are made
        // (`ExactChunkedSum`: the same correctly rounded sums, without an `Interval` of two
        // `BigFloat`s per distinct logit, about 180 bytes at 128 bits; issue 13).
        var ends = values.withUnsafeBufferPointer { values in
            Self.splitSum(count: distinctCount, threads: threads, precision: w + 64, scratch: { ProbabilityTerms(precision: w, max: m) }) { t, k in
                let term = t.term(values[k])
                let n = Int(counts[k])
                if n == 1 { return term }
                let lo = BigFloat(precision: w + 64), hi = BigFloat(precision: w + 64)
                lo.mul(term.lo, n, .down)  // exact
                hi.mul(term.hi, n, .up)  // exact
                return Interval(lo: lo, hi: hi)
            }
        }
        if m > -.infinity { ends.add(a.one) }  // the maximum's e^0
        var s = ends.total(a)
        if !far.isEmpty { s = a.add(s, Self.farTerms(far, max: m, near: near, a)) }
        if below > 0 {  // R in [0, n_D·e^D]
            let bound = a.mul(a.point(Double(below)), a.exp(a.point(cut)))
            s = Interval(lo: s.lo, hi: a.add(Interval(point: s.hi), Interval(point: bound.hi)).hi)
        }
        return (s, a.div(a.exactSum(targets), s))
    }

    /// [Σ_j e^(x_j − m)] over `far`, every x_j − m below `near` and above −2^20, in double words:
    /// `DoubleWordExp.exp` (2^-101 relative, all terms positive) added exactly in a
    /// `FixedPointSum` relative to 2^σ, σ = ⌈near/ln2⌉ + 2 (each term < 2^(σ−1): every part's
    /// scaled magnitude below 1), two truncations per term below the unit 2^(σ−126) each, and the
    /// conversion's 2^-104.9. With T the sum, T̂ its value and U = 2·count units:
    /// |T̂ − T| <= 2^-104.9·W + U + 2^-101·T, W <= T̂(1 + 2^-104), T <= T̂ + |T̂ − T|, so
    /// |T̂ − T| <= 2^-100·T̂ + 2U; the interval is T̂ ± that, rounded outward.
    static func farTerms(_ far: [Double], max m: Double, near: Double, _ a: IntervalArithmetic) -> Interval {
        let tab = DoubleWordExpTable.shared
        let sigma = Int((near / 0.6931471805599453).rounded(.up)) + 2
        var sum = FixedPointSum()
        for xj in far {
            let d = twoSum(xj, -m)  // exact
            let e = DoubleWordExp.exp(d.hi, d.lo, tab)
            sum.add(e.m.hi, scale: e.k - sigma)
            sum.add(e.m.lo, scale: e.k - sigma)
        }
        let units = Double(2 * far.count) * scaled(1, by: sigma - FixedPointSum.unitExponent)
        var th = 0.0, tl = 0.0
        if let t = sum.value() {
            th = scaled(t.hi, by: t.exponent + sigma)
            tl = scaled(t.lo, by: t.exponent + sigma)
        }
        let err = roundedUp((th * 0x1p-100 + 2 * units) * (1 + 0x1p-50))
        let center = a.add(a.point(th), a.point(tl))
        return Interval(lo: a.sub(center, a.point(err)).lo, hi: a.add(center, a.point(err)).hi)
    }

    /// `IntervalArithmetic.sum` of make(scratch, i), i in 0..<n, with `splitTerms`' threads and
    /// scratch, the terms summed as they are made (`ExactChunkedSum`, their ends of at most
    /// `precision` bits) instead of kept: each chunk's exact partial sums, merged. The same
    /// sums as `a.sum(splitTerms(...))`: each end is the correctly rounded exact sum of the same
    /// numbers, however grouped.
    static func splitSum<Scratch>(count n: Int, threads: Int, precision: Int, scratch: () -> Scratch,
                                  _ make: (Scratch, Int) -> Interval) -> IntervalEnds {
        let chunks = DoubleWordTier.StageSplit(threads: threads, count: n, minimum: 512, perThread: 1).run(count: n) { range -> IntervalEnds in
            ExponentRange.widest {
                let t = scratch()
                var ends = IntervalEnds(precision: precision)
                for i in range { ends.add(make(t, i)) }
                ends.flushForMerge()
                return ends
            }
        }
        var all = IntervalEnds(precision: precision)
        for c in chunks { all.merge(c) }
        return all
    }

    /// make(scratch, i) for i in 0..<n, in index order: on `threads` chunks when n >= 512 (0:
    /// automatic, split only when worth it, `StageSplit`; below 512,
    /// one chunk: a thread's start costs more than a few hundred MPFR calls), each chunk in its
    /// own thread's widest exponent range (MPFR keeps the range per thread when it is
    /// thread-safe, and the callers pass threads > 1 only then) with its own `scratch()`. Each
    /// term is computed alone, so the terms do not depend on the split. Shared by the plain and
    /// the softcapped [P/S].
    static func splitTerms<Scratch>(count n: Int, threads: Int, scratch: () -> Scratch,
                                    _ make: (Scratch, Int) -> Interval) -> [Interval] {
        DoubleWordTier.StageSplit(threads: threads, count: n, minimum: 512, perThread: 1).run(count: n) { range -> [Interval] in
            ExponentRange.widest {
                let t = scratch()
                return range.map { make(t, $0) }
            }
        }.flatMap { $0 }
    }
}

/// e_j = exp(x_j − m) in MPFR intervals of one precision, with the same ends as
/// `IntervalArithmetic`'s exp(sub(point(x_j), point(m))), the difference in scratch numbers
/// reused from term to term (one thread's; only the result is new):
/// - d_j = [RD(x_j − m), RU(x_j − m)] (exact, a point, unless x_j and m are far apart in
///   exponent: subnormal logits);
/// - exp, increasing: for a point d_j one MPFR call, RU = next(RD) (e^d is transcendental for a
///   nonzero binary d, Lindemann), e^0 = 1 exactly; otherwise [RD(e^lo), RU(e^hi)].
struct ProbabilityTerms {
    let precision: Int
    private let m: BigFloat
    private let xj = BigFloat(precision: 53)
    private let dLo: BigFloat, dHi: BigFloat

    init(precision w: Int, max m: Double) {
        precision = w
        self.m = BigFloat(m, precision: 53)
        (dLo, dHi) = (BigFloat(precision: w), BigFloat(precision: w))
    }

    /// [e^(x − m)].
    func term(_ x: Double) -> Interval {
        xj.set(x, .nearest)  // exact
        dLo.sub(xj, m, .down)
        dHi.sub(xj, m, .up)
        let lo = BigFloat(precision: precision)
        let exact = lo.exp(dLo, .down) == 0
        let hi = BigFloat(precision: precision)
        if dLo.compare(dHi) == 0 {
            if exact { return Interval(point: lo) }
            hi.set(lo, .up)
            hi.nextUp()
        } else {
            hi.exp(dHi, .up)
        }
        return Interval(lo: lo, hi: hi)
    }
}

extension IntervalArithmetic {
    /// [Σ x_j], the sum of doubles (the targets P = Σ p_j): the exact sum as an expansion
    /// (Shewchuk's Grow-Expansion: each TwoSum is an error-free transformation, Q + e = Q' + h
    /// exactly, so the components always add up to the exact sum; zero components dropped), then
    /// `sum` of its few components (one outward rounding per end), instead of `sum` of every
    /// x_j as a BigFloat (most of the refined gradient's time on rows of 10^5 targets). When a
    /// component overflows or the expansion grows past 40 components (x_j spread over more than
    /// 2000 bits), `sum` of every nonzero x_j.
    func exactSum(_ xs: UnsafeBufferPointer<Double>) -> Interval {
        let capacity = 41  // at most 40 components, and the one a step adds
        let expansion = withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * capacity) { buffer -> [Double]? in
            var components = buffer.baseAddress!, next = components + capacity
            var count = 0
            for x in xs where x != 0 {
                var q = x, kept = 0
                for i in 0..<count {
                    let t = twoSum(q, components[i])
                    if t.lo != 0 {
                        next[kept] = t.lo
                        kept += 1
                    }
                    q = t.hi
                }
                next[kept] = q
                count = kept + 1
                swap(&components, &next)
                guard q.isFinite, count <= 40 else { return nil }
            }
            return Array(UnsafeBufferPointer(start: components, count: count))
        }
        return sum((expansion ?? Array(xs)).compactMap { $0 == 0 ? nil : point($0) })
    }
}

/// The two ends of a sum of intervals, each an `ExactChunkedSum`: `total` is
/// `IntervalArithmetic.sum` of every interval added.
struct IntervalEnds {
    private var lower: ExactChunkedSum, upper: ExactChunkedSum
    private var any = false

    /// For ends of at most `precision` bits.
    init(precision: Int) {
        (lower, upper) = (ExactChunkedSum(precision: precision), ExactChunkedSum(precision: precision))
    }

    mutating func add(_ t: Interval) {
        lower.add(t.lo)
        upper.add(t.hi)
        any = true
    }

    /// Sums the last chunk (on the thread that made it: MPFR's exponent range is per thread).
    mutating func flushForMerge() {
        lower.flushChunk()
        upper.flushChunk()
    }

    mutating func merge(_ other: IntervalEnds) {
        lower.merge(other.lower)
        upper.merge(other.upper)
        any = any || other.any
    }

    /// `a.sum` of the intervals added: [RD Σ lo, RU Σ hi] at a's precision, the exact 0 with none.
    mutating func total(_ a: IntervalArithmetic) -> Interval {
        if !any { return a.zero }
        return Interval(lo: lower.total(precision: a.precision, .down), hi: upper.total(precision: a.precision, .up))
    }
}
