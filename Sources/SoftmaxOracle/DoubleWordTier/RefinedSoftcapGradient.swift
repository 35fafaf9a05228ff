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

/// The probability-target gradient's `RefinedOutputs` for `softcap` c (see the file's notes): the outputs
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
    /// The tier's certifier for `format` (the fixed-point outputs).
    let certifier: DoubleWordCertifier
    /// The threads S's terms are split over (1 unless MPFR is thread-safe).
    let threads: Int
    /// The first index of the largest logit.
    let maxIndex: Int
    /// The request's threads (the fixed-point row's chunks: no MPFR there).
    let rowThreads: Int
    /// z_M and [P/S] at each precision, made when first needed.
    private var rows: [Int: (zMax: Interval, ratio: Interval)] = [:]
    /// `scaledRatio`'s answer, made when first needed (nil inside: outside the row's domain).
    private var fixed: (row: SoftcapFixedRow, m: UInt128, k: Int, error: Double)??
    /// P = Σ p_j when the caller found it exact in binary64 (`DoubleWordTier.probabilitySum`, which
    /// adds the positive p_j: the same sum for validated targets, finite and >= 0).
    let exactTotal: Double?
    /// The fixed-point row the caller made, if any.
    private let givenRow: SoftcapFixedRow?

    /// `fixedRow`: the row's `SoftcapFixedRow` when the caller made it (else `scaledRatio` makes it).
    init(x: UnsafeBufferPointer<Double>, p: UnsafeBufferPointer<Double>, softcap c: Double, format: Format, threads: Int = 1,
         exactTotal: Double? = nil, fixedRow: SoftcapFixedRow? = nil) {
        (self.x, self.p, self.c, self.format, self.exactTotal, self.givenRow) = (x, p, c, format, exactTotal, fixedRow)
        certifier = DoubleWordCertifier(format)
        softcap = BigFloat(c, precision: 53)
        self.threads = mpfrIsThreadSafe ? threads : 1  // (0: automatic, as the tier's `threads`)
        rowThreads = threads
        var m = 0
        for j in x.indices where x[j] > x[m] { m = j }
        maxIndex = m
    }

    /// A_w of the file's notes: logits with RN(|x_j|/c) >= A_w have 1 − tanh|a_j| < 2^-(w+11).
    static func saturationBound(precision w: Int) -> Double { Double(w + 13) * 0.6931471805599453 / 2 }

    /// Output j, certified as the MPFR path certifies it, or nil: first from the fixed-point row
    /// (`fixedOutput`, with the caller's chain factor when given), else from MPFR terms at 128
    /// and 384 bits.
    func output(_ j: Int, chain: (ScaledDoubleWord, Double)? = nil) -> OracleValue? {
        if let v = fixedOutput(j, chain: chain) { return v }
        return RefinedOutputs.certified(format) { a in
            let (zMax, ratio) = row(a)
            let aj = a.quotient(BigFloat(x[j], precision: 53), by: softcap)
            let ej = x[j] == x[maxIndex] ? a.one : SoftcapTerms(precision: a.precision, softcap: softcap, zMax: zMax).term(x[j])
            let big = a.exp(a.negDouble(aj.lo.signum >= 0 ? aj : a.neg(aj)))
            return a.div(a.mul(a.sub(a.mul(ej, ratio), a.point(p[j])), a.scale(big, 2)), a.square(a.add(a.one, big)))
        }
    }

    /// Output j from the fixed-point row (SoftcapFixedPoint.swift), or nil (then `output` goes on
    /// to the MPFR terms). With R = P/S = m̂·2^k ± ε_R (`scaledRatio`, units u·2^k, u = 2^-124),
    /// ê_j ± ε_e (`SoftcapFixedRow.term`), in units of 2^(K−124), K = k + σ, σ = max(0,
    /// exponent(p_j) + 2 − k) (so that p_j·2^-K < 1/2; p_j·2^-K exact: normal or 0):
    /// - q̂ = ⌊⌊ê·m̂⌋·2^-σ⌋ is within (u + m̂·ε_e + e_j·ε_R)·2^-σ + u of e_j·R·2^-K, e_j <=
    ///   ê + ε_e, p̂ = ⌊p_j·2^-K⌋ within u, so D = q̂ − p̂ (exact in Int128) is within δ = 3u +
    ///   m̂·ε_e + (ê + ε_e)·ε_R (m̂ and ê by `toDouble`, relative error < 2^-51, covered by
    ///   the factor 1 + 2^-50) of (e_j·P/S − p_j)·2^-K; |D| below 2^64 units (a relative bound
    ///   above 2^-60) declines;
    /// - D as binary64 h + l: h = `toDouble`(|D|) (>= 2^-60, so h's bits lie on the u grid and
    ///   |D| − h is exact), l = `toDouble` of that rest (relative error < 3·2^-53, adding
    ///   < 2^-51·|rest| <= 2^-100·|D| to δ), renormalized by twoSum (exact);
    /// - relative bound ρ = δ/(|h|(1 − 2^-49)) of the difference, then times chain_j
    ///   (`DoubleWordTier.softcapChain`, ε_c, or `given`, the same computed by the caller):
    ///   ρ + ε_c + ρ·ε_c + 8.1u² (the product), certified
    ///   by the tier's certifier (the MPFR path's rounding wherever it certifies).
    func fixedOutput(_ j: Int, chain given: (ScaledDoubleWord, Double)? = nil) -> OracleValue? {
        guard let (row, _, _, _) = scaledRatio(), let term = row.term(x[j]) else { return nil }
        return fixedOutput(j, term: term, chain: given)
    }

    /// `fixedOutput(j, chain:)` with ê_j and its bound (units u) given: `SoftcapFixedRow.term(x_j)`'s
    /// value, e.g. as kept in a `FixedTermStore`.
    func fixedOutput(_ j: Int, term: (value: UInt128, error: Double), chain given: (ScaledDoubleWord, Double)? = nil) -> OracleValue? {
        guard let (_, m, k, errR) = scaledRatio() else { return nil }
        let chain = given ?? DoubleWordTier.softcapChain(x[j], DoubleWord(c, 0), epsA: DoubleWordTier.softcapQuotientError(c),
                                                         DoubleWordExpTable.shared)
        return Self.fixedOutput(target: p[j], term: term, ratio: (m, k, errR), chain: chain, certifier)
    }

    /// `fixedOutput`'s output for the target p_j (its notes), from ê_j, R = m̂·2^k within ε_R
    /// (`scaledRatio`'s) and the chain factor with its bound.
    @inline(__always)
    static func fixedOutput(target pTarget: Double, term: (value: UInt128, error: Double), ratio: (m: UInt128, k: Int, error: Double),
                            chain given: (ScaledDoubleWord, Double), _ certifier: DoubleWordCertifier) -> OracleValue? {
        let (m, k, errR) = ratio
        let (e, errE) = term
        let binadeP = pTarget.isNormal ? binade(pTarget) : Int(pTarget.exponent)  // the same, inlined for a normal p_j
        let sigma = pTarget > 0 ? Swift.max(0, binadeP + 2 - k) : 0
        let pj = scaled(pTarget, by: -(k + sigma))
        guard pj == 0 || (pj.isNormal && pj >= 0x1p-1000 && pj < 0.5) else { return nil }
        let d = Int128(bitPattern: (FixedPoint124.mul(e, m) >> sigma) &- FixedPoint124.fromDouble(pj))
        let magnitude = d.magnitude
        guard magnitude >= 1 << 64 else { return nil }
        let h = FixedPoint124.toDouble(magnitude)
        let rest = Int128(bitPattern: magnitude &- FixedPoint124.fromDouble(h))
        let l = FixedPoint124.toDouble(rest.magnitude) * (rest < 0 ? -1 : 1)
        let delta = roundedUp(3 + (FixedPoint124.toDouble(m) * errE + (FixedPoint124.toDouble(e) + scaled(errE, by: -124)) * errR) * (1 + 0x1p-50)
                              + FixedPoint124.toDouble(rest.magnitude) * 0x1p73)  // units
        let hl = twoSum(h, l)
        let rho = roundedUp(scaled(delta, by: -124) / (h * (1 - 0x1p-49)))
        let sign = d < 0 ? -1.0 : 1.0
        let difference = ScaledDoubleWord(hi: sign * hl.hi, lo: sign * hl.lo, exponent: k + sigma).normalized()
        let (chain, epsChain) = given
        return certifier.certifyTiny((chain * difference).normalized(),
                                                   relativeError: roundedUp(rho + epsChain + rho * epsChain + 8.1 * unitRoundoffSquared))
    }

    /// The fixed-point row and R = [P]/[S] at 128 bits (S = [Ŝ − ε_S, Ŝ + ε_S]) as m̂·2^k, m̂ in
    /// Q4.124 from R's lower end (2^k <= R_lo < 2^(k+1)): R_lo·2^-k as three binary64 parts
    /// (each residue exact at 128 bits; the rest < 2^-158), each truncated (< u), so
    /// |R·2^-k − m̂| <= (R_hi − R_lo)·2^-k + 3u + 2^-158 =: ε_R (units u). Made once; nil when the
    /// row is outside its domain (or P = 0).
    func scaledRatio() -> (row: SoftcapFixedRow, m: UInt128, k: Int, error: Double)? {
        if let f = fixed { return f }
        let made = (givenRow ?? SoftcapFixedRow(x, softcap: c, threads: rowThreads)).flatMap { row in
            ExponentRange.widest { () -> (row: SoftcapFixedRow, m: UInt128, k: Int, error: Double)? in
                let a = IntervalArithmetic(precision: RefinedOutputs.precisions[0])
                // [P]: the exact sum's interval, [P, P] when P is a known binary64 number (the same).
                let total = self.exactTotal.map { a.point($0) } ?? a.exactSum(p)
                let r = a.div(total, Self.interval(row.low, carry: row.carry, error: row.sumError, a))
                guard r.lo.signum > 0, r.hi.isFinite else { return nil }
                let k = r.lo.exponent - 1
                let t = BigFloat(precision: a.precision), width = BigFloat(precision: 53)
                t.scale(r.lo, byPowerOfTwo: -k, .nearest)  // exact, in [1, 2)
                var m: Int128 = 0
                for _ in 0..<3 {
                    let part = t.double(.nearest)
                    let v = Int128(bitPattern: FixedPoint124.fromDouble(part.magnitude))
                    m += part < 0 ? -v : v
                    t.sub(t, BigFloat(part, precision: 53), .nearest)  // exact
                }
                width.sub(r.hi, r.lo, .up)
                width.scale(width, byPowerOfTwo: 124 - k, .up)
                return (row, UInt128(bitPattern: m), k, roundedUp(width.double(.up) + 3 + 0x1p-30))
            }
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
            RefinedOutputs.splitTerms(count: distinct.count, threads: threads,
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
