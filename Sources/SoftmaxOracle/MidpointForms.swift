import MPFR

// Second forms for outputs whose exact value is a rounding midpoint moved by a tiny term.
//
// An output v = M + t, with M exact (or a rational enclosed to the working precision) and t a
// term tiny next to M, has a plain enclosure about 2^-w·|M| wide, so when M is a midpoint of the
// output format, the plain enclosure holds M at every precision below about log₂(|M|/|t|) bits:
// e^(−3000) needs 4300 bits, e^(−2^-1074) 1100, and a tie moved by e^(−10^5) is `notCertified`.
// Written as M + t, with t enclosed on its own (no cancellation: relative width a few 2^-w), the
// enclosure [RD(M + t.lo), RU(M + t.hi)] has M as an end (when |t| < ulp_w(M)) and the exact value
// strictly inside on t's side; `Format.certify` treats the ends as open (certification.md, "Open
// ends"), so the sign of t decides the rounding at the first precision, as the double-word tier's
// `roundNearTie` does.
//
// Both forms are enclosures of the same exact value (every step rounds outward), so each output
// uses the intersection of the plain enclosure with the second one: it holds the exact value, is
// never wider than the plain one, and its ends are ends of enclosures that hold the exact value
// strictly inside unless they are points (`NearTieNumerator` uses the same argument). They are
// formed only where they can help: for softmax (and softmax_backward at the maximum) on an
// output whose plain enclosure does not certify, for cross_entropy_grad (with or without loss
// options) and cross_entropy_loss_backward where q_c may be below 2^-(w−8)·r_c (`mayBeTiny`).
//
// - cross_entropy_grad: grad_c = q_c − r_c, q_c = e_c·R̃/(S·D) > 0 and r_c = r̃_c/D >= 0 exact
//   (`TargetWeights`; a point whenever r̃_c/D fits the working precision, e.g. always for D = 1).
//   With a softmax_c of e^(−3000), −p_c on a midpoint (p_c = j/16 into e4m3fn) is decided by
//   q_c > 0. q_c is a product and quotients of positive enclosures: relative width a few 2^-w.
// - softmax on a row whose terms lie near the maximum (S's upper end above n/2,
//   `NearTieNumerator`): with f_j = e_j − 1 = expm1(d_j) and F = Σ_j f_j (S = n + F),
//
//       y_i = e_i/S = 1/n + (n·f_i − F)/(n·S),
//
//   an identity of reals ((n + F) + n·f_i − F = n(1 + f_i)). 1/n is a point when n is a power of
//   two (the only case where it can be a midpoint; otherwise it is not a binary number and
//   escalation separates it). A row [2^-1074, 0, …, 0] of n = 2^17 puts every output within
//   2^-1091 of 2^-17, e5m2's midpoint between 0 and 2^-16; the perturbation's sign decides it.
//   f_j and F have relative widths of a few 2^-w (NearTieNumerator.swift), so the perturbation's
//   enclosure is about 2^-w·(n·|f_i| + |F|)/(n·S) wide, below the plain one's 2^-w/n whenever the
//   terms lie near 1.
//
// - the gradient at a maximum shared by m logits (e_c = 1), with the other terms' sum E = S − m
//   tiny (a logit 2^105 below the maximum has e_j below MPFR's least number, enclosed as
//   (0, least), so S is [m, m + ulp] at every precision):
//
//       grad_c = (R̃/S − r̃_c)/D = (R̃ − m·r̃_c)/(m·D) − R̃·E/(m·S·D),
//
//   an identity of reals (R̃/S − R̃/m = −R̃·E/(m·S)). The first term is one quotient of exact
//   numbers (a point whenever it is a binary number at the working precision), E > 0 is enclosed
//   as [max(0, S.lo − m), S.hi − m] (S.lo >= m: its terms are m ones and numbers >= 0), so the
//   second term is enclosed with 0 as its lower end and the first term is an end of the form.
//   The plain form (R̃ − r̃_c·(1 + s'))/(S·D) has S in both numerator and denominator, so an end
//   at the midpoint (R̃ − m·r̃_c)/(m·D) is never exact (found in 64-row batches of near_ties).
//
// - softmax_backward at a maximum shared by n_0 logits with every other logit below MPFR's range:
//   C_0/n_0² plus the lower sum's terms factored out (BackwardFarTerms.swift).
enum MidpointForms {
    /// True when q_c = e_c·R̃/(S·D) may lie below 2^-(w−8)·r_c, r_c = r̃_c/D > 0 (MPFR's exponent
    /// E(v) has 2^(E−1) <= |v| < 2^E, and S >= 1): q_c/r_c <= e_c·R̃/r̃_c < 2^(E(e_c.hi) + E(R̃) −
    /// E(r̃_c) + 1). Above that, the plain enclosure, about 2^-w·r_c wide, leaves a midpoint at −r_c
    /// outside; the gate only saves work (either way the output's enclosure holds it).
    static func mayBeTiny(e ec: Interval, weight rc: BigFloat, total: BigFloat, _ w: IntervalArithmetic) -> Bool {
        if rc.isZero || ec.hi.isZero { return !rc.isZero }
        return ec.hi.exponent + total.exponent - rc.exponent + 1 <= -(w.precision - 8)
    }

    /// grad_c as −r̃_c/D + e_c·R̃/(S·D) (see the file's notes), for r̃_c > 0; with `scale`
    /// (`cross_entropy_loss_backward`'s grad_output g and, under the mean, its divisor M), g times
    /// that over M, as −(r̃_c·g)/(D·M) + (e_c·R̃·g)/(S·D·M): the first term is then one quotient of
    /// exact products, a point whenever it is a binary number at the working precision (so a
    /// midpoint there, e.g. −r_c·g on an f32 midpoint, is an end decided by the second term's
    /// sign), where scaling the plain form by an enclosure of g/M would leave it inside.
    ///
    /// With the z-loss (`zLoss`: its gradient's factor f = 2·coefficient·logsumexp times its scale,
    /// and S), its term f·e_c/S joins the tiny one: −(r̃_c·g)/(D·M) + e_c·(R̃·g/(D·M) + f)/S, whose
    /// two parts, made apart, would each move the midpoint by a tiny amount of its own sign (f < 0
    /// when logsumexp < 0) and leave it inside at every precision; and with r̃_c = 0, an e_c below
    /// MPFR's least number (enclosed as (0, least)) would leave 0 inside.
    static func gradient(e ec: Interval, weight rc: BigFloat, total: BigFloat, divisor d: Interval, sd: Interval,
                         scale: Scale? = nil, zLoss: (factor: Interval, sum: Interval)? = nil, _ w: IntervalArithmetic) -> Interval {
        let tiny: Interval
        if let zLoss {
            tiny = w.div(w.mul(ec, w.add(scaled(Interval(point: total), over: d, scale, w), zLoss.factor)), zLoss.sum)
        } else {
            tiny = scaled(w.mul(ec, Interval(point: total)), over: sd, scale, w)
        }
        return w.add(negatedWeight(rc, divisor: d, scale: scale, w), tiny)
    }

    /// grad_c for c at a maximum shared by `ties` = m logits (see the file's notes), scaled, or
    /// nil where it cannot help: E = 0 (every term at the maximum: S is exact) or E not below
    /// 2^-(w−8) (then the plain form is as narrow; either way the output's enclosure holds it).
    ///
    /// `zLoss` (f = 2·coefficient times the z-loss's scale, and z_M, a point), for a unique
    /// maximum (m = 1): then logsumexp = z_M + log(1 + E), and the z-loss gradient at the maximum,
    /// f·(z_M + log(1 + E))/S, joins the form (its tiny part's sign against the cross-entropy's):
    /// with 1/S = 1 − E/S,
    ///
    ///     grad_c + z-loss term = [(R̃ − r̃_c)·g/(D·M) + f·z_M] + (E/S)·(−R̃·g/(D·M) + f·(λ − z_M)),
    ///
    /// λ = log(1 + E)/E, which lies strictly between 1 − E/2 and 1 for 0 < E <= 1 (log(1 + E) is
    /// strictly between E − E²/2 and E there), enclosed as [RD(1 − E.hi/2), 1]. The result then
    /// includes the z-loss term; without `zLoss` it is the cross-entropy's part alone.
    ///
    /// The gate is relative to m: E below 2^-(w−8)·m (S − m is at least ulp_w(m) wide, so an
    /// absolute gate would refuse every m >= 128).
    static func gradientAtMaximum(weight rc: BigFloat, total: BigFloat, ties m: Int, divisor d: Int, sum s: Interval,
                                  scale: Scale?, zLoss: (factor: Interval, zMax: Interval)? = nil, _ w: IntervalArithmetic) -> Interval? {
        let mPoint = w.point(Double(m))  // exact: m < 2^53
        let e = w.sub(s, mPoint)
        guard !e.hi.isZero, e.hi.exponent <= mPoint.hi.exponent - (w.precision - 8) else { return nil }
        let eAbove0 = e.lo.signum < 0 ? Interval(lo: w.zero.lo, hi: e.hi) : e
        let md = w.mul(mPoint, w.point(Double(d)))  // exact at w >= 64 bits: m·D <= K² < 2^64
        let exact = ExactArithmetic.difference(total, ExactArithmetic.product(rc, ExactArithmetic.value(Double(m))))
        let first = scaled(Interval(point: exact), over: md, scale, w)
        guard let zLoss, m == 1 else {
            return w.sub(first, scaled(w.mul(Interval(point: total), eAbove0), over: w.mul(md, s), scale, w))
        }
        let lambda = Interval(lo: w.sub(w.one, w.scale(Interval(lo: eAbove0.hi, hi: eAbove0.hi), -1)).lo, hi: w.one.hi)
        let factor = w.add(w.neg(scaled(Interval(point: total), over: md, scale, w)), w.mul(zLoss.factor, w.sub(lambda, zLoss.zMax)))
        return w.add(w.add(first, w.mul(zLoss.factor, zLoss.zMax)), w.mul(w.div(eAbove0, s), factor))
    }

    /// The number of logits equal to x[maxIndex] (they share e = 1 exactly: z = c·tanh(x/c) and
    /// x/T are strictly increasing, so equal z come from equal x alone).
    static func ties(_ x: [Double], maxIndex: Int) -> Int {
        let top = x[maxIndex]
        return x.reduce(0) { $0 + ($1 == top ? 1 : 0) }
    }

    /// The cross-entropy's factor in `cross_entropy_loss_backward`: grad_output g and, under
    /// `reduction: "mean"`, the mean's divisor M (nil: none).
    typealias Scale = (gradOutput: Double, divisor: Interval?)

    /// −(r̃_c·g)/(D·M): one quotient of exact products (g = 1 and M = 1 without `scale`), so a point
    /// whenever it is a binary number at the working precision. Also the whole entry when
    /// softmax_c = 0 exactly, where it may be a midpoint itself (then rounded to even).
    static func negatedWeight(_ rc: BigFloat, divisor d: Interval, scale: Scale?, _ w: IntervalArithmetic) -> Interval {
        w.neg(scaled(Interval(point: rc), over: d, scale, w))
    }

    /// (a·g)/(b·M), or a/b without `scale`: one quotient, so an end of a/b that is exact (a
    /// point numerator over a denominator whose end is exact) stays exact when g/M is not a
    /// binary number, where multiplying a/b by an enclosure of g/M would move it outward.
    static func scaled(_ a: Interval, over b: Interval, _ scale: Scale?, _ w: IntervalArithmetic) -> Interval {
        guard let scale else { return w.div(a, b) }
        let m = scale.divisor
        return w.div(w.mul(a, w.point(scale.gradOutput)), m.map { w.mul(b, $0) } ?? b)
    }

    /// softmax_i as 1/n + (n·f_i − F)/(n·S) (see the file's notes), on a row whose
    /// `NearTieNumerator` exists; i's e_i is not nil.
    static func softmax(_ i: Int, near: NearTieNumerator, sum s: Interval, _ w: IntervalArithmetic) -> Interval {
        let n = w.point(Double(near.count))  // exact: n < 2^53
        let (f, fSum) = near.parts
        let perturbation = w.div(w.sub(w.mul(n, f[i]!), fSum), w.mul(n, s))
        return w.add(w.div(w.one, n), perturbation)
    }
}
