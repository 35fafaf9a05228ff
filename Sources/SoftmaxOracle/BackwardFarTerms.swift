import MPFR

// softmax_backward at a maximum m shared by n_0 logits (e_i = 1), every other logit below MPFR's
// range: a rounding midpoint moved by terms no precision resolves (MidpointForms.swift's topic).
//
// Notation (Backward.swift): C_0 = n_0·dy_i − D_0 exact (D_0 the top group's dy sum), the lower
// groups g = 1, 2, … at x_1 > x_2 > … with n_g logits and dy sums D_g, E_g = e^(x_g − m), s' =
// Σ_g n_g·E_g, T' = Σ_g D_g·E_g, S = n_0 + s'. `Backward.topMember`'s split is
//
//     dx_i = C_0/n_0² + N/(S²·n_0²),   N = (dy_i·s' − T')·n_0² − C_0·s'·(2n_0 + s')
//                                        = Σ_g c_g·E_g − C_0·s'²,   c_g = n_g·a − n_0²·D_g,
//     a = n_0²·dy_i − 2n_0·C_0 = n_0·(2D_0 − n_0·dy_i)  (exact).
//
// With x_1 − m < −2^30·ln 2 (below MPFR's default range, in which the intervals are computed), s' is enclosed as [0, least] at every precision and N's enclosure
// holds 0 unless its parts share a sign: x = [0, 0, −2^997], dy = [1 + 2^-52, −2^-53, 0] (dx_0 =
// 1/4 + 3·2^-55 − ε, an f64 midpoint, by hand) was `notCertified` at 65536 bits. Two forms of N
// that keep its sign, with the lower sums taken relative to a lower group's own value (`levelSums`:
// s_g = Σ_{x_j<=x_g} e^(x_j − x_g) >= n_g and T_g the same with dy_j, sums of numbers at most 1 in
// range, known to a relative few 2^-w, plus MPFR's least number for a term under the range
// relative to x_g):
//
// - First order: N = E_1·P, P = s_1·a − n_0²·T_1 − C_0·E_1·s_1². P's enclosure narrows with w
//   around P's value, which tends to c_1 = n_1·a − n_0²·D_1 as E_1 → 0 (d(dx_i)/dE_1 at 0 is
//   c_1/n_0^4: the tiny term's sign is derived from exact numbers, never assumed). When c_1 = 0
//   and there is one lower group, s_1 = n_1 and T_1 = D_1 are points (once w holds D_1), so P's
//   enclosure is 0 − C_0·[0, least]·n_1², of the sign of −C_0 (C_0 ≠ 0: an output at the maximum
//   with C_0 = 0 is an exact zero or `peeled`).
// - Second order, for c_1 = 0 (exactly) and a third group: P = e^(x_2 − x_1)·(s_2·a − n_0²·T_2)
//   − C_0·E_1·s_1², two terms below MPFR's range that compete by their exponents. With β the
//   larger of x_2 − x_1 and x_1 − m (compared exactly: x_2 + m against 2x_1),
//
//       N = e^(x_1 − m + β)·Q,   Q = e^(x_2 − x_1 − β)·(s_2·a − n_0²·T_2) − C_0·e^(x_1 − m − β)·s_1²,
//
//   where one exponential is e^0 = 1 and the other at most 1 (in range when the exponents are
//   close, [0, least] otherwise), so Q's enclosure narrows around the dominant term. Where the
//   dominant terms cancel as well (c_1 = 0 and c_2 = C_0·n_1² with x_2 − x_1 = x_1 − m), Q's
//   enclosure shows the next terms' sign only where the rest is exact (s_2, T_2 points: e.g.
//   −C_0·(2E_1 + E_1²)·n_1² with one group at x_2); otherwise the output stays `notCertified`,
//   never a guess.
//
// Either way N = F·Q with F = e^(…) > 0 (its lower end 0 only by underflow), so when Q's
// enclosure excludes 0, N's has 0 as an (open) end and C_0/n_0², one quotient of exact numbers (a
// point when it is a binary number at w), is an end of the form, the exact value strictly on Q's
// side (`Format.certify`, "open ends"). The output's enclosure is the intersection with the plain
// one (both hold the exact value). Formed only where it can help: an output at the maximum whose
// plain enclosure does not certify, on a row whose s' is not known to a relative 2^-(w−8)
// (`NearTieNumerator.isWide`). A lower sum in range narrows with w, but not always enough: with
// c_1 = 0 and x_1 − m between about −4.5·10^4 and −2^30·ln 2, c_1's term cancels only to within
// about 2^-w·e^(x_1 − m), more than the e^(2(x_1 − m)) term that decides, and such a row may still
// end "not certified" (x = [0, 0, −50000], dy = [1 + 2^-52, −2^-53, −2^-53]; as before this form).

/// The logits below a softmax_backward row's maximum, summed for the midpoint form of the
/// outputs at the maximum (see the file's notes), at one working precision.
struct BackwardFarTerms {
    /// n_1 and D_1 (exact), the first lower group's count and dy sum.
    let count: Int, gradSum: BigFloat
    /// E_1 = e^(x_1 − m), and s_1, T_1.
    let scale: Interval, first: (s: Interval, t: Interval)
    /// For a third group: s_2, T_2, the factors e^(x_2 − x_1 − β) and e^(x_1 − m − β), and F =
    /// e^(x_1 − m + β).
    let second: (s: Interval, t: Interval, inner: Interval, outer: Interval, factor: Interval)?

    /// Needs `below.first` (x_1).
    init(_ x: [Double], _ dy: [Double], max m: Double, below: (first: Double?, second: Double?), _ w: IntervalArithmetic) {
        let x1 = below.first!
        var n = 0
        var d: [BigFloat] = []
        for (j, v) in x.enumerated() where v == x1 {
            n += 1
            d.append(ExactArithmetic.value(dy[j]))
        }
        (count, gradSum) = (n, ExactArithmetic.sum(d))
        let (mPoint, x1Point) = (w.point(m), w.point(x1))
        let gap1 = w.sub(x1Point, mPoint)  // x_1 − m
        scale = w.exp(gap1)
        first = Backward.levelSums(x, dy, level: x1, w)
        guard let x2 = below.second else {
            second = nil
            return
        }
        let gap2 = w.sub(w.point(x2), x1Point)  // x_2 − x_1
        let sums = Backward.levelSums(x, dy, level: x2, w)
        // β = x_2 − x_1 when x_2 − x_1 >= x_1 − m, i.e. x_2 + m >= 2·x_1 (exact comparison).
        let secondLarger = ExactArithmetic.sum([ExactArithmetic.value(x2), ExactArithmetic.value(m)])
            .compare(ExactArithmetic.product(ExactArithmetic.value(x1), ExactArithmetic.value(2))) >= 0
        let (inner, outer, factor): (Interval, Interval, Interval) = secondLarger
            ? (w.one, w.exp(w.sub(gap1, gap2)), w.exp(w.add(gap1, gap2)))
            : (w.exp(w.sub(gap2, gap1)), w.one, w.exp(w.add(gap1, gap1)))
        second = (sums.s, sums.t, inner, outer, factor)
    }

    /// softmax_backward_i for a logit i at the maximum: C_0/n_0² + F·Q/(S²·n_0²) (see the file's
    /// notes), `ties` n_0 and `gradSum` D_0 of the top group, `sum` S.
    func output(_ dyi: Double, ties n0: Int, gradSum d0: BigFloat, sum s: Interval, _ w: IntervalArithmetic) -> Interval {
        let n0Exact = ExactArithmetic.value(Double(n0))  // exact: n_0 < 2^53
        let dyn0 = ExactArithmetic.product(ExactArithmetic.value(dyi), n0Exact)
        let c0 = Interval(point: ExactArithmetic.difference(dyn0, d0))
        let aExact = ExactArithmetic.product(n0Exact, ExactArithmetic.difference(ExactArithmetic.sum([d0, d0]), dyn0))
        let a = Interval(point: aExact)
        let n0sq = w.mul(w.point(Double(n0)), w.point(Double(n0)))  // exact at w >= 64 bits: n_0² < 2^64
        let quadratic = w.mul(c0, w.mul(first.s, first.s))  // C_0·s_1²
        let numerator: Interval
        if let second, c1IsZero(aExact, n0Exact) {
            let linear = w.sub(w.mul(a, second.s), w.mul(n0sq, second.t))
            numerator = w.mul(second.factor, w.sub(w.mul(second.inner, linear), w.mul(second.outer, quadratic)))
        } else {
            let linear = w.sub(w.mul(a, first.s), w.mul(n0sq, first.t))
            numerator = w.mul(scale, w.sub(linear, w.mul(scale, quadratic)))
        }
        return w.add(w.div(c0, n0sq), w.div(numerator, w.mul(w.mul(s, s), n0sq)))
    }

    /// c_1 = n_1·a − n_0²·D_1 = 0, exactly.
    private func c1IsZero(_ a: BigFloat, _ n0: BigFloat) -> Bool {
        let n1a = ExactArithmetic.product(a, ExactArithmetic.value(Double(count)))
        return n1a.compare(ExactArithmetic.product(ExactArithmetic.product(n0, n0), gradSum)) == 0
    }
}
