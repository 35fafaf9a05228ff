import DoubleWordArithmetic
import MPFR

// cross_entropy_grad with `softcap` c and probability targets: the outputs whose double-word
// enclosure is too wide (SoftcapGradient.swift), recomputed in MPFR intervals as the plain ones
// are (RefinedProbabilityGradient.swift), from one enclosure of P/S per precision w, with
//
//   z_j = c·tanh(a_j), a_j = x_j/c,  e_j = e^(z_j − z_M),  S = Σ_j e_j (every term, no cut:
//   z_j ∈ [−c, c], so e_j >= e^(−2c)),  grad_j = chain_j·(e_j·P/S − p_j).
//
// Saturated logits. Where the binary64 quotient RN(|x_j|/c) >= A_w = (w + 13)·ln2/2 (computed
// in binary64), |a_j| >= A_w(1 − 2^-53) and 2A_w >= (w + 13)·ln 2·(1 − 2^-50) (two roundings and
// ln 2's, 2^-54), so 2|a_j| >= (w + 13)·ln 2 − 2^-40 (w <= 384) and
//
//   0 < 1 − tanh|a_j| = 2E/(1 + E) < 2E,   E = e^(−2|a_j|) <= 2^-(w+13)·e^(2^-40),
//
// hence 1 − tanh|a_j| < 2^-(w+11): z_j ∈ [c − δ, c] for x_j > 0 and [−c, −c + δ] for x_j < 0,
// δ = c·2^-(w+11) (exact in MPFR). Such logits share one interval per sign, e_± = exp of that
// interval minus z_M, and enter S as n_±·e_± (n_± exact counts): their enclosure widens by
// δ against the few units of c·2^-w of each computed term (the z_j's own width), and needs no
// MPFR call per logit (on rows of K = 10^5 logits from the softcap_saturation family, with
// c = 1, 47% of the row: A_128 = 48.9, A_384 = 137.6). Logits equal to x_M add exactly 1 each.
// The other terms (`SoftcapTerms`: the ends of the previous per-term enclosure, one MPFR tanh
// and one exp each, in scratch numbers; once per distinct logit, times its count) are split
// over `threads` threads when MPFR keeps its state per thread; each thread widens its own
// exponent range (`ExponentRange.widest`) and makes its own numbers; z_M is only read. The sum
// is `mpfr_sum` of every term in the caller's thread, so the enclosure does not depend on the
// split.

/// `RefinedProbabilityGradient` for `softcap` c (see the file's notes): the outputs
/// chain_j·(e_j·P/S − p_j), z_j = c·tanh(a_j), a_j = x_j/c (`IntervalArithmetic.quotient`, one
/// rounding per end), d_j = z_j − z_M (every z_j within [−c, c], so its enclosure's width is a
/// few units of c·2^-w, and e^(d_j)'s relative width the same: 2^-119 at w = 128, c = 50), e_j
/// and S = Σ_j e_j (every term: no cut), chain_j = 4E/(1 + E)², E = e^(−2|a_j|) (the MPFR
/// path's `TransformedRow.chain`, no cancellation). Two exponentials per logit (tanh, exp)
/// against `TransformedRow`'s eight (its d_j avoids cancellation, which e^(d_j) does not need:
/// an absolute error of d is a relative error of e^d), none for the saturated ones.
final class RefinedSoftcapGradient {
    let x: UnsafeBufferPointer<Double>, p: UnsafeBufferPointer<Double>
    let softcap: BigFloat
    let c: Double
    let format: Format
    /// The threads S's terms are split over (1 unless MPFR is thread-safe).
    let threads: Int
    /// The first index of the largest logit.
    let maxIndex: Int
    /// The request's threads (the fixed-point row's chunks: no MPFR there).
    let rowThreads: Int
    /// z_M and [P/S] at each precision, made when first needed.
    private var rows: [Int: (zMax: Interval, ratio: Interval)] = [:]
    /// The fixed-point row and [P/S] from it at 128 bits (nil inside: outside its domain), made
    /// when first needed.
    private var fixed: (row: SoftcapFixedRow, ratio: Interval)??

    init(x: UnsafeBufferPointer<Double>, p: UnsafeBufferPointer<Double>, softcap c: Double, format: Format, threads: Int = 1) {
        (self.x, self.p, self.c, self.format) = (x, p, c, format)
        softcap = BigFloat(c, precision: 53)
        self.threads = mpfrIsThreadSafe ? Swift.max(1, threads) : 1
        rowThreads = Swift.max(1, threads)
        var m = 0
        for j in x.indices where x[j] > x[m] { m = j }
        maxIndex = m
    }

    /// A_w of the file's notes: logits with RN(|x_j|/c) >= A_w have 1 − tanh|a_j| < 2^-(w+11).
    static func saturationBound(precision w: Int) -> Double { Double(w + 13) * 0.6931471805599453 / 2 }

    /// Output j, certified as the MPFR path certifies it, or nil: first from the fixed-point row
    /// (`fixedOutput`), else from MPFR terms at 128 and 384 bits.
    func output(_ j: Int) -> OracleValue? {
        if let v = fixedOutput(j) { return v }
        return RefinedProbabilityGradient.certified(format) { a in
            let (zMax, ratio) = row(a)
            let aj = a.quotient(BigFloat(x[j], precision: 53), by: softcap)
            let ej = x[j] == x[maxIndex] ? a.one : SoftcapTerms(precision: a.precision, softcap: softcap, zMax: zMax).term(x[j])
            let big = a.exp(a.negDouble(aj.lo.signum >= 0 ? aj : a.neg(aj)))
            return a.div(a.mul(a.sub(a.mul(ej, ratio), a.point(p[j])), a.scale(big, 2)), a.square(a.add(a.one, big)))
        }
    }

    /// Output j from the fixed-point row (SoftcapFixedPoint.swift) at 128 bits, or nil:
    /// chain_j·(ê_j·[P/S] − p_j), ê_j = [ê − ε, ê + ε] and S = [Ŝ − ε_S, Ŝ + ε_S] with their
    /// fixed-point bounds, chain_j the double-word tier's (`DoubleWordTier.softcapChain`, within
    /// its relative bound), every MPFR step rounded outward, certified as `output` certifies.
    func fixedOutput(_ j: Int) -> OracleValue? {
        RefinedProbabilityGradient.certified(format) { a in
            guard a.precision == RefinedProbabilityGradient.precisions[0], let (row, ratio) = fixedRatio(a),
                  let (e, error) = row.term(x[j]) else { return Interval(lo: BigFloat(precision: 2), hi: BigFloat(precision: 2)) }  // NaN: declined
            let ej = Self.interval(e, carry: 0, error: error, a)
            let (chain, eps) = DoubleWordTier.softcapChain(x[j], DoubleWord(c, 0), epsA: DoubleWordTier.softcapQuotientError(c),
                                                          DoubleWordExpTable.shared)
            return a.mul(a.sub(a.mul(ej, ratio), a.point(p[j])), Self.interval(chain, relativeError: eps, a))
        }
    }

    /// The fixed-point row and [P/S] = [P]/[S] at the arithmetic's precision (made once).
    func fixedRatio(_ a: IntervalArithmetic) -> (SoftcapFixedRow, Interval)? {
        if let f = fixed { return f }
        let made = SoftcapFixedRow(x, softcap: c, threads: rowThreads).map { row in
            (row, a.div(a.exactSum(p), Self.interval(row.low, carry: row.carry, error: row.sumError, a)))
        }
        fixed = .some(made)
        return made
    }

    /// [(v − err)·2^-124, (v + err)·2^-124] at the arithmetic's precision, v = carry·2^128 + low
    /// (converted exactly at 256 bits, 32 bits at a time; then one outward rounding per end).
    static func interval(_ low: UInt128, carry: UInt64, error: Double, _ a: IntervalArithmetic) -> Interval {
        let v = BigFloat(precision: 256), piece = BigFloat(precision: 64)
        v.set(0, .nearest)
        let pieces = [carry >> 32, carry] + (0..<4).reversed().map { UInt64(truncatingIfNeeded: low >> (32 * $0)) }
        for word in pieces {  // v·2^32 + the next 32 bits: exact, v < 2^192
            v.scale(v, byPowerOfTwo: 32, .nearest)
            piece.set(Int(word & 0xFFFF_FFFF), .nearest)
            v.add(v, piece, .nearest)
        }
        v.scale(v, byPowerOfTwo: -124, .nearest)
        let err = BigFloat(scaled(error, by: -124), precision: 53)
        let lo = BigFloat(precision: a.precision), hi = BigFloat(precision: a.precision)
        lo.sub(v, err, .down)
        hi.add(v, err, .up)
        return Interval(lo: lo, hi: hi)
    }

    /// [v(1 − eps), v(1 + eps)] for a normalized positive ScaledDoubleWord v (hi + lo rounded
    /// outward, then each end once more; the scaling is exact in the widest exponent range).
    static func interval(_ v: ScaledDoubleWord, relativeError eps: Double, _ a: IntervalArithmetic) -> Interval {
        let h = BigFloat(v.hi, precision: 53), l = BigFloat(v.lo, precision: 53), f = BigFloat(eps, precision: 53)
        let one = BigFloat(1, precision: 53), factor = BigFloat(precision: a.precision)
        let lo = BigFloat(precision: a.precision), hi = BigFloat(precision: a.precision)
        lo.add(h, l, .down)
        factor.sub(one, f, .down)
        lo.mul(lo, factor, .down)
        hi.add(h, l, .up)
        factor.add(one, f, .up)
        hi.mul(hi, factor, .up)
        lo.scale(lo, byPowerOfTwo: v.exponent, .down)
        hi.scale(hi, byPowerOfTwo: v.exponent, .up)
        return Interval(lo: lo, hi: hi)
    }

    /// [c − δ, c] (x_j > 0) or [−c, −c + δ] (x_j < 0), δ = c·2^-(w+11): z_j of a saturated logit.
    func saturatedRange(positive: Bool, _ a: IntervalArithmetic) -> Interval {
        let delta = BigFloat(precision: 53)
        delta.scale(softcap, byPowerOfTwo: -(a.precision + 11), .nearest)  // exact
        let end = BigFloat(precision: a.precision)
        if positive {
            end.sub(softcap, delta, .down)
            return Interval(lo: end, hi: softcap)
        }
        let minusC = BigFloat(precision: 53)
        minusC.neg(softcap, .nearest)  // exact
        end.sub(delta, softcap, .up)
        return Interval(lo: minusC, hi: end)
    }

    /// z_M and [P/S] at the arithmetic's precision (see the file's notes).
    func row(_ a: IntervalArithmetic) -> (zMax: Interval, ratio: Interval) {
        if let r = rows[a.precision] { return r }
        let zMax = a.mul(Interval(point: softcap), a.tanh(a.quotient(BigFloat(x[maxIndex], precision: 53), by: softcap)))
        let xM = x[maxIndex], bound = Self.saturationBound(precision: a.precision)
        var ties = 0, positive = 0, negative = 0
        var others: [Int] = []
        for j in x.indices {
            let v = x[j]
            if v == xM {
                ties += 1
            } else if v.magnitude / c >= bound {
                if v > 0 { positive += 1 } else { negative += 1 }
            } else {
                others.append(j)
            }
        }
        // Equal logits (ties are common: a sixth of a softcap_saturation row) share one term,
        // times their count n: [RD(n·lo), RU(n·hi)].
        let values = others.map { x[$0] }.sorted()
        var distinct: [(value: Double, count: Int)] = []
        for v in values {
            if let last = distinct.last, last.value == v { distinct[distinct.count - 1].count += 1 } else { distinct.append((v, 1)) }
        }
        let w = a.precision, softcap = softcap
        var terms = distinct.withUnsafeBufferPointer { distinct in
            RefinedProbabilityGradient.splitTerms(count: distinct.count, threads: threads,
                                                  scratch: { SoftcapTerms(precision: w, softcap: softcap, zMax: zMax) }) { t, i in
                let (v, n) = distinct[i]
                let e = t.term(v)
                if n > 1 {  // e's ends are its own, made by `term`
                    e.lo.mul(e.lo, n, .down)
                    e.hi.mul(e.hi, n, .up)
                }
                return e
            }
        }
        terms.append(a.point(Double(ties)))
        for (count, sign) in [(positive, true), (negative, false)] where count > 0 {
            terms.append(a.mul(a.point(Double(count)), a.exp(a.sub(saturatedRange(positive: sign, a), zMax))))
        }
        let r = (zMax, a.div(a.exactSum(p), a.sum(terms)))
        rows[a.precision] = r
        return r
    }
}

/// e_j = exp(c·tanh(x_j/c) − z_M) in MPFR intervals of one precision, with scratch numbers
/// reused from term to term (one thread's; only the result is new):
/// - a_j = [RD(x_j/c), RU(x_j/c)];
/// - tanh, increasing: for a point a_j one MPFR call, tanh(a) being transcendental for a nonzero
///   binary a (Lindemann: tanh(a) = (e^(2a) − 1)/(e^(2a) + 1)), so RU = next(RD); tanh(0) = 0;
/// - z_j = [RD(c·t_lo), RU(c·t_hi)] (c > 0), d_j = [RD(z_lo − zM_hi), RU(z_hi − zM_lo)];
/// - exp, increasing; for a narrow d_j = [l, h] (h − l <= 1/2) one MPFR call: e^h = e^l·e^(h−l)
///   <= next(RD(e^l))·(1 + 2(h − l)) (e^t <= 1 + 2t for 0 <= t <= 1.25; next(RD(e^l)) >= e^l),
///   every step rounded up; a point d_j as a point a_j.
struct SoftcapTerms {
    let precision: Int
    let softcap: BigFloat
    let zMax: Interval
    private let xj = BigFloat(precision: 53)
    private let aLo: BigFloat, aHi: BigFloat, tLo: BigFloat, tHi: BigFloat
    private let dLo: BigFloat, dHi: BigFloat, width: BigFloat
    private let half = BigFloat(0.5, precision: 53), one = BigFloat(1, precision: 53)

    init(precision w: Int, softcap: BigFloat, zMax: Interval) {
        (precision, self.softcap, self.zMax) = (w, softcap, zMax)
        (aLo, aHi, tLo, tHi) = (BigFloat(precision: w), BigFloat(precision: w), BigFloat(precision: w), BigFloat(precision: w))
        (dLo, dHi, width) = (BigFloat(precision: w), BigFloat(precision: w), BigFloat(precision: w))
    }

    /// [e_j] for the logit x (not the maximum's value: the caller makes those exactly 1).
    func term(_ x: Double) -> Interval {
        xj.set(x, .nearest)  // exact
        aLo.div(xj, softcap, .down)
        aHi.div(xj, softcap, .up)
        if aLo.compare(aHi) == 0 {
            if tLo.tanh(aLo, .down) == 0 { tHi.set(tLo, .up) } else { tHi.set(tLo, .up); tHi.nextUp() }
        } else {
            tLo.tanh(aLo, .down)
            tHi.tanh(aHi, .up)
        }
        let zLo = aLo, zHi = aHi  // a_j is no longer needed
        zLo.mul(softcap, tLo, .down)
        zHi.mul(softcap, tHi, .up)
        dLo.sub(zLo, zMax.hi, .down)
        dHi.sub(zHi, zMax.lo, .up)
        let lo = BigFloat(precision: precision), hi = BigFloat(precision: precision)
        let exact = lo.exp(dLo, .down) == 0
        width.sub(dHi, dLo, .up)
        if width.isZero {
            hi.set(lo, .up)
            if !exact { hi.nextUp() }
        } else if width.compare(half) > 0 {
            hi.exp(dHi, .up)
        } else {
            hi.set(lo, .up)
            hi.nextUp()
            width.scale(width, byPowerOfTwo: 1, .up)
            width.add(width, one, .up)
            hi.mul(hi, width, .up)
        }
        return Interval(lo: lo, hi: hi)
    }
}
