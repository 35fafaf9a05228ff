import MPFR

// cross_entropy_grad's numerator N_c = e_c·A_c − r̃_c·B_c (CrossEntropy.swift: A_c = R̃ − r̃_c,
// B_c = S − e_c) on a row whose terms all lie near the maximum's e = 1: logits saturated under
// softcap (z_j = c·tanh(x_j/c) within c·2e^(−2|x_j|/c) of c, so d_j = z_j − z_M can be
// e^(−42000) on logits near 64 000 with c = 3), or logits a few units of 2^-1074 apart. Then
//
//   N_c = e_c·R̃ − r̃_c·S = (R̃ − n·r̃_c) + (f_c·R̃ − r̃_c·F),   f_j = e_j − 1 = expm1(d_j),
//   F = Σ_j f_j,  n = the number of terms of S (S = Σ_j e_j = n + F),
//
// an identity of reals. When the targets are uniform (label_smoothing 1, equal probabilities, or
// any p_c = P/n) the exact part C_c = R̃ − n·r̃_c is 0, and N_c = f_c·R̃ − r̃_c·F is as small as
// the f_j: the plain form, a difference of two products near R̃, resolves it only at a working
// precision of about log₂(R̃/|N_c|) bits (61 000 bits for the first row above: 130 s, every
// output at MPFR's precision cap). The second form has no such cancellation: C_c is exact
// (`ExactArithmetic`), every f_j <= 0 has an enclosure of relative width ρ (below), F (terms of
// one sign) too, and the enclosure of N_c is as wide as ρ·T_c, T_c = |f_c|·R̃ + r̃_c·|F|: what
// separates f_c from the weighted mean of the f_j decides, however small they all are.
//
// Width bound. With u = 2^(1−w) (one directed rounding: |RD(v) − v| < ulp(v) <= u·|v|), f_j's
// enclosures of width <= ρ·|f_j|, ρ <= 2^-10: X = [RD(f_c.lo·R̃), RU(f_c.hi·R̃)] is at most
// (ρ + 2u(1 + ρ))·|f_c|·R̃ wide, [F] = [RD Σ lo_j, RU Σ hi_j] (one `mpfr_sum` each) at most
// (ρ + 2u(1 + ρ))·|F|, Y = r̃_c·[F] at most (ρ + 4u(1 + ρ)(1 + u))·r̃_c·|F|; X and Y are <= 0, so
// X − Y adds 2u(1 + ρ)(1 + u)²·T_c, and C_c + (X − Y) 2u·(|N_c| + its width). In all,
//
//   width <= (ρ + 2^(4−w))·T_c + 2^(2−w)·|N_c|        (7u(1 + …) < 2^(4−w) for w >= 64),
//
// tested at that bound against MPFR at 4000 bits (NearTieNumeratorTests). ρ is a few units of
// 2^-w without softcap, and about (2|a_j| + a few)·2^-w with it (x_j/c's rounding, amplified by
// e^(−2|a_j|) in `TransformedRow`'s d_j): 2^-82 at w = 93 for a_j = 900.
//
// f_j's enclosure: for d_j >= −1 (the lower end of d_j's enclosure), [RD(expm1(lo)),
// RU(expm1(hi))] (expm1 increasing; its condition number |d·e^d/expm1(d)| <= 1 for d <= 0, so
// f_j's relative width is d_j's plus two roundings: d_j has full relative accuracy in
// `ShiftedRow` and `TransformedRow`); below −1, [RD(lo_e − 1), RU(hi_e − 1)] from e_j's
// enclosure (no transcendental call; |f_j| >= 1 − e^-1 > 0.63 there, so the subtraction loses
// nothing). Both hold f_j = e_j − 1.
//
// The numerator used is the intersection of the two enclosures: each holds N_c (every operation
// rounds outward), so their intersection does, and it is never wider than the plain one (no
// output can certify later than before). Its ends are ends of the two enclosures, which hold
// N_c strictly inside unless they are points (certification.md, "Open ends"), so the
// intersection does too.
//
// Cost. The second form is only formed where it can help (neither gate costs an output
// anything: either way the enclosure holds N_c): for an output whose plain enclosure holds 0 or
// lost more than a few bits (`isWide`), f_j and F once per row and precision (one expm1 per term
// within 1 of the maximum), and only on rows whose S's upper end exceeds n/2. On the other rows
// |F| = n − S >= n/2, and at an output that cancels (r̃_c·B_c ≈ e_c·A_c) the second form's error,
// about 2^-w·(|f_c|·R̃ + r̃_c·|F|), is at least about half the plain one's, 2^-w·(e_c·A_c +
// r̃_c·B_c): r̃_c·|F| >= r̃_c·n/2 >= r̃_c·B_c ≈ e_c·A_c. Such rows are computed exactly as before.

/// The second form of cross_entropy_grad's numerator for rows whose terms lie near the maximum
/// (see the file's notes), at one working precision, for a row's enclosed d_j = x_j − m (or
/// z_j − z_M) and e_j = e^(d_j) (nil for the logits outside S). f_j and F are made when an
/// output first needs them (one thread: the MPFR path's rows are computed on one).
final class NearTieNumerator {
    /// d_j and e_j of output j (0 ..< outputs), nil for a logit outside S.
    private let d: (Int) -> Interval?, e: (Int) -> Interval?
    private let outputs: Int
    private let arithmetic: IntervalArithmetic
    /// n, the number of terms of S.
    let count: Int
    /// f_j = expm1(d_j) (nil where e_j is nil) and F = Σ_j f_j (<= 0).
    private(set) lazy var parts: (f: [Interval?], fSum: Interval) = {
        let w = arithmetic, minusOne = w.point(-1)
        var f = [Interval?](repeating: nil, count: outputs)
        var terms: [Interval] = []
        terms.reserveCapacity(count)
        for j in 0..<outputs {
            guard let ej = e(j), let dj = d(j) else { continue }
            let fj = dj.lo.compare(minusOne.lo) >= 0 ? w.expm1(dj) : w.add(ej, minusOne)
            f[j] = fj
            terms.append(fj)
        }
        return (f, w.sum(terms))
    }()

    /// The second form for the row (d, e, S), or nil when S's upper end is at most n/2 (the
    /// plain form then suffices, see the file's notes).
    convenience init?(d: [Interval?], e: [Interval?], sum s: Interval, _ w: IntervalArithmetic) {
        self.init(count: e.lazy.filter { $0 != nil }.count, outputs: e.count, d: { d[$0] }, e: { e[$0] }, sum: s, w)
    }

    /// The second form for a `ShiftedRow` (its d_j and e_j made when f_j needs them, not kept).
    convenience init?(_ row: ShiftedRow, _ w: IntervalArithmetic) {
        self.init(count: row.count, outputs: row.logitCount, d: { row.d($0) }, e: { row.e($0) }, sum: row.S, w)
    }

    /// The second form for a row of `outputs` logits, n = `count` of them in S, whose d_j and
    /// e_j `d(j)` and `e(j)` give (nil outside S); nil when S's upper end is at most n/2.
    init?(count n: Int, outputs: Int, d: @escaping (Int) -> Interval?, e: @escaping (Int) -> Interval?,
          sum s: Interval, _ w: IntervalArithmetic) {
        guard n > 0, s.hi.compare(BigFloat(Double(n) / 2, precision: 53)) > 0 else { return nil }  // n/2 exact
        (self.d, self.e, self.outputs, arithmetic, count) = (d, e, outputs, w, n)
    }

    /// N_c = e_c·R̃ − r̃_c·S: `plain` (an enclosure of it, e_c·A_c − r̃_c·B_c) intersected with
    /// C_c + (f_c·R̃ − r̃_c·F), C_c = R̃ − n·r̃_c exact, or `plain` alone when it lost at most a
    /// few bits to cancellation (`isWide` false). Needs e_c not nil.
    func numerator(_ c: Int, plain: Interval, weight rc: BigFloat, total: BigFloat) -> Interval {
        let w = arithmetic
        guard Self.isWide(plain, w) else { return plain }
        let (f, fSum) = parts
        let exactPart = ExactArithmetic.difference(total, ExactArithmetic.product(rc, ExactArithmetic.value(Double(count))))
        let part = w.sub(w.mul(f[c]!, Interval(point: total)), w.mul(Interval(point: rc), fSum))
        return plain.intersection(w.add(Interval(point: exactPart), part))
    }

    /// True when g holds 0 or is wider than 2^-(w−8) of its least magnitude (it lost more than a
    /// few bits to cancellation: the second form may be narrower); false for a point.
    static func isWide(_ g: Interval, _ w: IntervalArithmetic) -> Bool {
        if g.isPoint { return false }
        if g.lo.signum <= 0 && g.hi.signum >= 0 { return true }
        let width = BigFloat(precision: 32)
        ExponentRange.widest { _ = width.sub(g.hi, g.lo, .up) }
        return width.exponent > (g.lo.signum > 0 ? g.lo : g.hi).exponent - (w.precision - 8)
    }
}

extension NearTieNumerator {
    /// N_c = e_c·A_c − r̃_c·B_c of a row's output c (CrossEntropy.swift: A_c = R̃ − r̃_c exact,
    /// B_c = s at the maximum M, 1 + (s − e_c) elsewhere), intersected with the second form when
    /// `near` is given. Shared by the MPFR path's gradients (plain, with options, fused linear).
    static func numerator(_ c: Int, e ec: Interval, maxIndex: Int, s: Interval, weights r: TargetWeights,
                          near: NearTieNumerator?, _ w: IntervalArithmetic) -> Interval {
        let ac = Interval(point: ExactArithmetic.difference(r.total, r.scaled[c]))
        let bc = c == maxIndex ? s : w.add(w.one, w.sub(s, ec))
        let plain = w.sub(w.mul(ec, ac), w.mul(Interval(point: r.scaled[c]), bc))
        return near?.numerator(c, plain: plain, weight: r.scaled[c], total: r.total) ?? plain
    }
}

extension Interval {
    /// [max(lo, lo'), min(hi, hi')]: both enclose the same real, so this does too (never empty).
    func intersection(_ other: Interval) -> Interval {
        Interval(lo: lo.compare(other.lo) >= 0 ? lo : other.lo, hi: hi.compare(other.hi) <= 0 ? hi : other.hi)
    }
}
