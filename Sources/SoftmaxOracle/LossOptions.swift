import MPFR

/// The loss options of a cross-entropy request as exact MPFR numbers (docs/semantics.md, "Loss
/// options"). The order is fixed: temperature first, then soft-capping, then the loss:
///
///     u_j = x_j / T,   z_j = c·tanh(u_j / c) = c·tanh(a_j),   a_j = x_j / (T·c),
///     loss(row) = cross_entropy(z) + zLoss·logsumexp(z)².
///
/// T·c is formed exactly (a product of two binary64 numbers), so each a_j is one correctly
/// rounded quotient of exact reals at the working precision: nothing is rounded before the
/// enclosure. T = 1 is the same as no temperature (the exact quotient is x).
struct LossOptions {
    /// T, or nil when absent or exactly 1.
    let temperature: BigFloat?
    /// c > 0, or nil when absent.
    let softcap: BigFloat?
    /// The z-loss coefficient, or nil when it is 0.
    let zLoss: BigFloat?
    /// The exact divisor of a_j: T·c (c without temperature); nil without soft-capping.
    let tanhScale: BigFloat?

    /// Options from validated values (c > 0, zLoss >= 0 finite, T > 0 finite).
    init(softcap: Double?, zLoss: Double, temperature: Double?) {
        let t = temperature.flatMap { $0 == 1 ? nil : ExactArithmetic.value($0) }
        let c = softcap.map(ExactArithmetic.value)
        self.temperature = t
        self.softcap = c
        self.zLoss = zLoss == 0 ? nil : ExactArithmetic.value(zLoss)
        tanhScale = c.map { c in t.map { ExactArithmetic.product($0, c) } ?? c }
    }

    /// The options of `request`.
    init(_ request: OracleRequest) {
        self.init(softcap: request.softcap, zLoss: request.zLoss, temperature: request.temperature)
    }

    /// True when the options change nothing (the request takes the option-free paths, whose
    /// outputs are therefore byte for byte those of a request without the fields).
    var isIdentity: Bool { temperature == nil && softcap == nil && zLoss == nil }
}

/// One row of logits after the loss options, enclosed at one working precision, in the shifted
/// form of `ShiftedRow` (the same names, for the transformed logits z):
///
///     M = the first index of the largest x (the transform is increasing, so also of z),
///     d_j = z_j − z_M <= 0,  e_j = exp(d_j),  s = Σ_{j≠M} e_j,  S = 1 + s,  L = log1p(s),
///     logsumexp(z) = z_M + L.
///
/// d_j is the exact 0 whenever x_j = x_M (equal logits stay exactly equal), and is otherwise
/// built from the exact difference x_j − x_M, never as a difference of two rounded z's:
/// - temperature only: d_j = (x_j − x_M)/T, one rounding;
/// - soft-capping, x_j and x_M on the same side of 0 (p = the smaller |a|, q = the larger,
///   Δ = (x_M − x_j)/(T·c) > 0, one rounding):
///       c·(tanh a_j − tanh a_M) = 2c·e^(−2p)·expm1(−2Δ) / ((1 + e^(−2p))·(1 + e^(−2q))),
///   every exponential of a non-positive argument (no overflow, however saturated the logits),
///   and no cancellation: the small difference of two tanh values near ±1 is carried by
///   expm1(−2Δ) and e^(−2p) at full relative accuracy;
/// - opposite sides: c·tanh(a_j) − c·tanh(a_M), a difference of opposite signs (no cancellation);
/// - infinite logits under soft-capping take their limits ±c (PyTorch's tanh(±inf) = ±1):
///   d_j = −c·(1 + tanh a_M) for x_j = −inf, −c·(1 − tanh a_j) for x_M = +inf, with
///   1 + tanh u = 2e^(2u)/(1 + e^(2u)) for u < 0 (no cancellation) and direct for u >= 0.
/// Without soft-capping, ±inf stay infinite and `RowFacts`' rules apply (a −inf logit has no
/// entry: nil). Every operation is an `IntervalArithmetic` enclosure, so the results enclose the
/// exact values; their relative widths are a few units of 2^-precision, so escalation converges.
///
/// Memory (issue 13: about 100 bytes a logit beyond input and output): the row keeps e_j's two
/// ends, each in a `CompactFloats` (24 bytes a number at up to 128 bits), for the logits its
/// caller will ask `e(j)` of (`keeping`: a round's pending outputs; all of them by default), and
/// nothing else per logit (nothing at all without `keepTerms`). s is summed as the e_j are made
/// (`PackedIntervalSum`: the same correctly rounded sums as one `mpfr_sum` of every end, without
/// an array of the terms). An e_j not kept is made again where it is asked for (`e(j)`), as
/// a_j = x_j/(T·c), d_j and chain's e^(−2|a_j|) are (`a(j)`, `d(j)`, `chain`): with the
/// operations that made them here, at the row's precision, so they are the same bits (MPFR's
/// results depend on operands, precision and rounding alone). The logits are read from the
/// request's doubles (or the caller's exact numbers), not copied into `BigFloat`s. The row's own
/// factors (e^(∓2a_M), a_M) are kept. (Before: both ends of every e_j in `PackedFloats`, 96
/// bytes a logit, and 8 more for `mpfr_sum`'s array, in every round, however few outputs it had
/// left: 236 bytes a logit kept by cross_entropy_grad with softcap at K = 10^5.)
struct TransformedRow {
    /// The row's exact logits: the request's doubles (each exact at 53 bits), or exact numbers of
    /// any precision (a fused layer's products).
    enum Logits {
        case doubles([Double])
        case exact([BigFloat])

        var count: Int {
            switch self {
            case .doubles(let x): x.count
            case .exact(let x): x.count
            }
        }

        /// x_j, exact.
        func value(_ j: Int) -> BigFloat {
            switch self {
            case .doubles(let x): ExactArithmetic.value(x[j])
            case .exact(let x): x[j]
            }
        }

        func isInfinite(_ j: Int) -> Bool {
            switch self {
            case .doubles(let x): x[j].isInfinite
            case .exact(let x): x[j].isInfinite
            }
        }
    }

    let maxIndex: Int
    /// z_M.
    let zMax: Interval
    let s: Interval
    let S: Interval
    let L: Interval
    /// K, the number of logits.
    let count: Int
    /// n, the number of e_j (the logits that have a d_j).
    let termCount: Int
    private let options: LossOptions
    private let x: Logits
    private let xm: BigFloat
    /// a_M (nil without soft-capping or for an infinite x_M).
    private let aMax: Interval?
    /// The row's factor e^(−2a_M) for x_j >= 0 and e^(2a_M) for x_j < 0 (same-side d_j), once made.
    private let rowFactors: [Interval?]
    /// e_j's ends for the kept logits (made for those that have a d_j): entry i is logit
    /// `kept[i]`'s, or logit i's when `kept` is nil (every logit kept).
    private let lower: CompactFloats?, upper: CompactFloats?
    /// The logits whose e_j is kept, increasing; nil for all of them.
    private let kept: [Int]?
    private let arithmetic: IntervalArithmetic

    /// The value every output of the row takes when the transformed row is special, else nil:
    /// NaN for a NaN logit; without soft-capping also RowFacts' rules (+inf, or all −inf: NaN).
    static func special(_ x: [BigFloat], _ o: LossOptions) -> Double? {
        special(.exact(x), o)
    }

    /// `special` for the request's doubles.
    static func special(_ x: [Double], _ o: LossOptions) -> Double? {
        special(.doubles(x), o)
    }

    static func special(_ x: Logits, _ o: LossOptions) -> Double? {
        let n = x.count
        switch x {
        case .doubles(let v):
            if v.contains(where: \.isNaN) { return .nan }
            if o.softcap != nil { return n == 0 ? .nan : nil }
            if v.contains(where: { $0 == .infinity }) { return .nan }
            if !v.contains(where: { !$0.isInfinite }) { return .nan }
        case .exact(let v):
            if v.contains(where: \.isNaN) { return .nan }
            if o.softcap != nil { return n == 0 ? .nan : nil }
            if v.contains(where: { $0.isInfinite && !$0.signBit }) { return .nan }
            if !v.contains(where: { !$0.isInfinite }) { return .nan }
        }
        return nil
    }

    /// Needs `special(x, o) == nil`. `x` holds exact logits (binary64 values, or the exact
    /// products of a fused layer), of any precision.
    init(_ x: [BigFloat], _ o: LossOptions, _ w: IntervalArithmetic) {
        self.init(.exact(x), o, w)
    }

    /// Needs `special(x, o) == nil`: the request's logits.
    init(_ x: [Double], _ o: LossOptions, _ w: IntervalArithmetic, keepTerms: Bool = true, keeping kept: [Int]? = nil,
         visit: ((Int, Interval) -> Void)? = nil) {
        self.init(.doubles(x), o, w, keepTerms: keepTerms, keeping: kept, visit: visit)
    }

    /// `keepTerms` false: e_j's stores are dropped once s is summed (`e(j)` is then not
    /// available), for callers that need s, L, z_M and d_j alone (the loss). `visit(j, d_j)` is
    /// called with every d_j as the row makes it, in order of j: the interval `d(j)` would make
    /// again (the same operations on the same numbers), for a caller that needs each d_j once
    /// (the loss: under soft-capping a d_j costs two or three exponentials at the row's
    /// precision, and making it twice took 1.6-2x the CPU of the loss). `keeping`: the logits
    /// whose e_j is kept (increasing, distinct; nil: all), those `e(j)` will be asked for most
    /// (the others' are made again when asked for: the same bits).
    init(_ x: Logits, _ o: LossOptions, _ w: IntervalArithmetic, keepTerms: Bool = true, keeping kept: [Int]? = nil,
         visit: ((Int, Interval) -> Void)? = nil) {
        options = o
        self.x = x
        arithmetic = w
        let k = x.count
        count = k
        var best: Int?
        var bestValue: BigFloat?
        for j in 0..<k where o.softcap != nil || !x.isInfinite(j) {
            let v = x.value(j)
            if bestValue.map({ v.compare($0) > 0 }) ?? true { (best, bestValue) = (j, v) }
        }
        let mIndex = best!
        maxIndex = mIndex
        let xm = bestValue!
        self.xm = xm
        aMax = o.tanhScale.flatMap { xm.isInfinite ? nil : w.quotient(xm, by: $0) }
        // e_j's ends are kept (`e(j)`) with `keepTerms`, for the logits `kept`; every one is
        // summed as it is made (`PackedIntervalSum`: the same sums, bit for bit, without a number
        // per logit).
        let stored = kept?.count ?? k
        let lower = keepTerms ? CompactFloats(count: stored, precision: w.precision) : nil
        let upper = keepTerms ? CompactFloats(count: stored, precision: w.precision) : nil
        var streamed = PackedIntervalSum(capacity: k, w)
        var nextKept = 0  // the first entry of `kept` not below j
        var n = 0
        // Of e^(−2p) and e^(−2q) in a same-side d_j, one is the row's: e^(−2a_M) (q = a_M) for
        // every x_j >= 0, e^(2a_M) (p = −a_M) for every x_j < 0 (then x_M <= 0). It is made once
        // per row, not once per logit (the same interval either way).
        var factors: [Interval?] = [nil, nil]  // for x_j >= 0, for x_j < 0
        let part = Part(x: x, xm: xm, aMax: aMax, maxIndex: mIndex, options: o, arithmetic: w)
        for j in 0..<k {
            guard let dj = part.difference(j, rowFactors: &factors) else { continue }
            visit?(j, dj)
            // e_j = w.exp(d_j), its ends copied (exactly: the same precision).
            let ej = w.exp(dj)
            if let lower, let upper {
                if let kept {
                    while nextKept < kept.count && kept[nextKept] < j { nextKept += 1 }
                    if nextKept < kept.count && kept[nextKept] == j {
                        lower.set(nextKept, ej.lo)
                        upper.set(nextKept, ej.hi)
                    }
                } else {
                    lower.set(j, ej.lo)
                    upper.set(j, ej.hi)
                }
            }
            if j != mIndex { streamed.add(ej) }
            n += 1
        }
        termCount = n
        rowFactors = factors
        // s = w.sum(e_j for j ≠ M), each end one `mpfr_sum` of the same numbers, in order.
        s = n - 1 == 0 ? w.zero : streamed.total()
        (self.lower, self.upper, self.kept) = (lower, upper, kept)
        S = w.add(w.one, s)
        L = w.log1p(s)
        if let c = o.softcap.map({ Interval(point: $0) }) {
            zMax = xm.isInfinite ? (xm.signBit ? w.neg(c) : c) : w.mul(c, w.tanh(aMax!))
        } else {
            zMax = w.quotient(xm, by: o.temperature)
        }
    }

    /// The bytes the row keeps (e_j's two compact ends per kept logit), for tests that pin the
    /// memory design.
    var storedBytes: Int { lower.map { 2 * $0.count * CompactFloats.bytesPerNumber(precision: $0.precision) } ?? 0 }

    /// True when logit j has a d_j and an e_j (every logit under soft-capping; the finite ones
    /// otherwise).
    func hasTerm(_ j: Int) -> Bool { options.softcap != nil || !x.isInfinite(j) }

    /// a_j = x_j/(T·c) at the row's precision, for finite x_j under soft-capping (nil otherwise).
    func a(_ j: Int) -> Interval? { part.a(j) }

    /// d_j = z_j − z_M at the row's precision (see the type's notes), nil for a logit without one.
    func d(_ j: Int) -> Interval? {
        var factors = rowFactors
        return part.difference(j, rowFactors: &factors)
    }

    private var part: Part { Part(x: x, xm: xm, aMax: aMax, maxIndex: maxIndex, options: options, arithmetic: arithmetic) }

    /// e_j = exp(d_j) at the row's precision, nil for a logit without one: the kept ends, or
    /// for a logit not kept e_j made again as the row made it (`w.exp(d(j))`: the same bits).
    func e(_ j: Int) -> Interval? {
        guard hasTerm(j) else { return nil }
        guard let lower, let upper else { preconditionFailure("a row made with its terms") }
        guard let kept else { return Interval(lo: lower.value(j), hi: upper.value(j)) }
        if let i = kept.sortedIndex(of: j) { return Interval(lo: lower.value(i), hi: upper.value(i)) }  // `kept` increases
        return arithmetic.exp(d(j)!)
    }

    /// What a_j and d_j are computed from: the row's maximum and options, at the row's precision.
    private struct Part {
        let x: Logits, xm: BigFloat, aMax: Interval?, maxIndex: Int, options: LossOptions
        let arithmetic: IntervalArithmetic

    func a(_ j: Int) -> Interval? {
        guard let tc = options.tanhScale, !x.isInfinite(j) else { return nil }
        return j == maxIndex ? aMax : arithmetic.quotient(x.value(j), by: tc)
    }

    /// d_j (nil for a logit without one); a same-side d_j takes the row's factor from
    /// `rowFactors`, or makes it and puts it there.
    func difference(_ j: Int, rowFactors: inout [Interval?]) -> Interval? {
        let w = arithmetic, o = options
        let mIndex = maxIndex
        let v = x.value(j)
        if j == mIndex || v.compare(xm) == 0 { return w.zero }
        guard let c = o.softcap.map({ Interval(point: $0) }) else {
            if v.isInfinite { return nil }
            return w.quotient(ExactArithmetic.difference(v, xm), by: o.temperature)
        }
        if xm.isInfinite && !xm.signBit {  // x_M = +inf: z_M = c
            return v.isInfinite ? w.neg(w.scale(c, 1)) : w.neg(w.mul(c, w.onePlusTanh(w.neg(a(j)!))))
        } else if v.isInfinite {  // x_j = −inf: z_j = −c
            return w.neg(w.mul(c, w.onePlusTanh(aMax!)))
        } else if v.signum >= 0 || xm.signum <= 0 {
            let aj = a(j)!
            let (p, q) = v.signum >= 0 ? (aj, aMax!) : (w.neg(aMax!), w.neg(aj))
            let delta = w.quotient(ExactArithmetic.difference(xm, v), by: o.tanhScale)
            // The factor of a_M (q = a_M for x_j >= 0, p = −a_M for x_j < 0) is the row's; the
            // other is e^(−2|a_j|) (a_j has x_j's sign: p = a_j >= 0, or q = −a_j > 0).
            let varying = w.exp(w.negDouble(v.signum >= 0 ? p : q))
            let side = v.signum >= 0 ? 0 : 1
            let constant = rowFactors[side] ?? w.exp(w.negDouble(v.signum >= 0 ? q : p))
            rowFactors[side] = constant
            let (ep, eq) = v.signum >= 0 ? (varying, constant) : (constant, varying)
            let numerator = w.mul(w.scale(c, 1), w.mul(ep, w.expm1(w.negDouble(delta))))
            return w.div(numerator, w.mul(w.add(w.one, ep), w.add(w.one, eq)))
        } else {
            return w.mul(c, w.sub(w.tanh(a(j)!), w.tanh(aMax!)))
        }
    }
    }

    /// logsumexp(z) = z_M + L.
    func logsumexp(_ w: IntervalArithmetic) -> Interval { w.add(zMax, L) }

    /// The z-loss of the row, coefficient·logsumexp(z)², or nil when the coefficient is 0.
    func zLossTerm(_ w: IntervalArithmetic) -> Interval? {
        options.zLoss.map { w.mul(Interval(point: $0), w.square(logsumexp(w))) }
    }

    /// 2·coefficient·logsumexp(z), the z-loss gradient's factor of softmax_j, or nil when the
    /// coefficient is 0.
    func zLossFactor(_ w: IntervalArithmetic) -> Interval? {
        options.zLoss.map { w.scale(w.mul(Interval(point: $0), logsumexp(w)), 1) }
    }

    /// ∂(z-loss)/∂z_j = 2·coefficient·logsumexp(z)·softmax_j, or nil when the coefficient is 0.
    func zLossGradient(_ j: Int, _ w: IntervalArithmetic) -> Interval? {
        guard let factor = zLossFactor(w) else { return nil }
        guard let ej = e(j) else { return w.zero }
        let softmax = j == maxIndex ? w.div(w.one, S) : w.div(ej, S)
        return w.mul(factor, softmax)
    }

    /// g·∂z_j/∂x_j: the chain rule through the options, for g = ∂(loss)/∂z_j.
    ///
    /// ∂z_j/∂x_j = (1 − tanh²(a_j))/T = 4e^(−2|a_j|) / (T·(1 + e^(−2|a_j|))²) under soft-capping
    /// (no cancellation, no overflow; exactly 0 at x_j = ±inf), 1/T with temperature only.
    /// (e^(−2|a_j|) at w's precision, of a_j at the row's: at the row's precision it is the number
    /// the same-side d_j used.)
    func chain(_ g: Interval, _ j: Int, _ w: IntervalArithmetic) -> Interval {
        var r = g
        if options.softcap != nil {
            if x.isInfinite(j) { return w.zero }
            let aj = a(j)!
            let t = w.exp(w.negDouble(aj.lo.signum >= 0 ? aj : w.neg(aj)))
            let onePlus = w.add(w.one, t)
            r = w.div(w.mul(r, w.scale(t, 2)), w.square(onePlus))
        }
        if let temperature = options.temperature { r = w.div(r, Interval(point: temperature)) }
        return r
    }
}

extension IntervalArithmetic {
    /// x/t for exact x and t > 0 (x itself when t is nil), one rounding at each end.
    func quotient(_ x: BigFloat, by t: BigFloat?) -> Interval {
        let lo = BigFloat(precision: precision), hi = BigFloat(precision: precision)
        if let t {
            lo.div(x, t, .down)
            hi.div(x, t, .up)
        } else {
            lo.set(x, .down)
            hi.set(x, .up)
        }
        return Interval(lo: lo, hi: hi)
    }

    /// a·2^k, exact (MPFR's wide exponent range holds every value the oracle scales).
    func scale(_ a: Interval, _ k: Int) -> Interval {
        let lo = BigFloat(precision: Swift.max(a.lo.precision, precision))
        let hi = BigFloat(precision: Swift.max(a.hi.precision, precision))
        lo.scale(a.lo, byPowerOfTwo: k, .down)
        hi.scale(a.hi, byPowerOfTwo: k, .up)
        return Interval(lo: lo, hi: hi)
    }

    /// −2a, exact.
    func negDouble(_ a: Interval) -> Interval { neg(scale(a, 1)) }

    /// tanh, increasing.
    func tanh(_ a: Interval) -> Interval {
        let lo = BigFloat(precision: precision), hi = BigFloat(precision: precision)
        lo.tanh(a.lo, .down)
        hi.tanh(a.hi, .up)
        return Interval(lo: lo, hi: hi)
    }

    /// e^a − 1, increasing.
    func expm1(_ a: Interval) -> Interval {
        let lo = BigFloat(precision: precision), hi = BigFloat(precision: precision)
        lo.expm1(a.lo, .down)
        hi.expm1(a.hi, .up)
        return Interval(lo: lo, hi: hi)
    }

    /// a²: [lo², hi²] for a >= 0, [hi², lo²] for a <= 0, [0, max(lo², hi²)] across 0.
    func square(_ a: Interval) -> Interval {
        if a.lo.signum >= 0 { return mul(a, a) }
        if a.hi.signum <= 0 { let m = neg(a); return mul(m, m) }
        let m = neg(a)
        let big = m.hi.compare(a.hi) > 0 ? m : a
        return Interval(lo: BigFloat(0, precision: 53), hi: mul(Interval(point: big.hi), Interval(point: big.hi)).hi)
    }

    /// 1 + tanh(u), no cancellation: 2e^(2u)/(1 + e^(2u)) for u < 0, 1 + tanh(u) for u >= 0.
    func onePlusTanh(_ u: Interval) -> Interval {
        if u.lo.signum >= 0 { return add(one, tanh(u)) }
        let t = exp(scale(u, 1))
        return div(scale(t, 1), add(one, t))
    }
}

extension OracleRequest {
    /// True when `softcap`, `z_loss` or `temperature` (other than 1) is set: the double-word tier
    /// then answers only a z_loss or a softcap alone (ZLoss.swift, SoftcapLoss.swift) and special
    /// rows, and defers the rest (temperature, combinations) to the MPFR path.
    var hasLossOptions: Bool { softcap != nil || zLoss != 0 || (temperature != nil && temperature != 1) }
}
