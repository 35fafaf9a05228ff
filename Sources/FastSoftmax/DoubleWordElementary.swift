import DoubleWordArithmetic
import RealModule

// exp, expm1 and log1p to about 100 bits, on double words, for the `accurate` kernels.
//
// Notation: u = 2^-53; "relative error ρ" means |computed - exact| <= ρ·|exact|. The double-word
// operations are DoubleWordArithmetic's, with their proven bounds: `DoubleWord.sum` (double word
// + double, any signs) 2.01u², `sameSignSum` 3.02u², `anySignSum` 3.1u²(|a| + |b|) absolute,
// `product` 3.02u² (by a double) and 8.1u² (by a double word), `quotient` 14u²; every one is
// below ρ_op = 2^-101 = 16u², the unit the kernels' budgets count in. The bounds below follow
// from the operation counts written next to each step; Tests/DoubleWordArithmeticTests checks
// exp (2^-98), expm1 (2^-98) and log1p (2^-97) against MPFR.

enum DoubleWordMath {
    // ln2/256 split for Cody–Waite reduction: C1 has 30 significant bits, so k·C1 is exact for
    // |k| < 2^23; C1 + C2 + C3 = ln2/256 with relative error below 2^-139.
    static let invLn2Over256 = 0x1.71547652b82fep+8
    static let c1 = 0x1.62e42fe800000p-9
    static let c2 = 0x1.e8e7bcd5e4f1ep-39
    static let c3 = -0x1.8cff81a12a17ep-93
    /// 1/3!, 1/4!, 1/5! as double-words; 1/6! ... 1/9! as doubles.
    static let f3 = DoubleWord(0x1.5555555555555p-3, 0x1.5555555555555p-57)
    static let f4 = DoubleWord(0x1.5555555555555p-5, 0x1.5555555555555p-59)
    static let f5 = DoubleWord(0x1.1111111111111p-7, 0x1.1111111111111p-63)
    static let f6 = 0x1.6c16c16c16c17p-10
    static let f7 = 0x1.a01a01a01a01ap-13
    static let f8 = 0x1.a01a01a01a01ap-16
    static let f9 = 0x1.71de3a556c734p-19

    /// Arguments below this give exp(x) < 2^-23000: zero for every purpose of this module
    /// (even multiplied by any K or by 2^2000).
    static let expCutoff = -16000.0

    /// Cody–Waite reduction x = k·ln2/256 + r, for |x.hi| <= 16000 (so |k| < 2^23).
    ///
    /// Returns k and r = x - k·(C1 + C2 + C3) as a double-word, |r| <= ln2/512·(1 + 2^-30).
    /// Errors: x.hi - k·C1 is exact (k·C1 has 53 bits; the difference is a multiple of
    /// min(ulp(x.hi), 2^-38) below 2^-9.5, hence has at most 53 bits); k·C2 is split exactly by
    /// `twoProduct`; k·C3 rounds with error below 2^-53·2^23·2^-101 = 2^-131; x.lo (up to 2^-40
    /// for |x| near 16000) enters through a `DoubleWord.sum` (2.01u² of r), the remaining tail
    /// -p.lo - k·C3 (below 2^-69) through a second one, its own rounding below 2^-122.
    /// Total: |r_computed - r| <= 2^-104·|r| + 2^-120 (an absolute error in the exponent,
    /// i.e. a relative error of the same size in exp).
    @inline(__always)
    static func reduce(_ x: DoubleWord) -> (k: Int, r: DoubleWord) {
        let kd = (x.hi * invLn2Over256).rounded(.toNearestOrEven)
        let a = x.hi - kd * c1
        let p = twoProduct(kd, c2)
        let s = twoSum(a, -p.hi)
        let r = DoubleWord.sum(DoubleWord.sum(s, x.lo), -p.lo - kd * c3)
        return (Int(kd), r)
    }

    /// expm1(r) for |r| <= ln2/512·(1 + 2^-30) (the reduced argument), as a double-word.
    ///
    /// Taylor polynomial of degree 9 (truncation |r|^10/10!·e^|r| < 2^-116|r|, relative).
    /// The tail f6 + r(f7 + ...) runs in binary64 on r.hi (error below 2^-52·f6, weighted
    /// by r^6 and relative to |r|: below 2^-109), as does the product r.hi·tail (the same
    /// weight); the head 1/5!, 1/4!, 1/3!, 1/2, 1, r in double-word Horner steps on r.hi
    /// (5 `product` by a double, 3.02u² each, and 5 `sum`, 2.01u² each, each relative to a partial
    /// result that, times the remaining powers of r, is below 1.001·|r|), and r.lo enters as the
    /// first-order term r.lo·(1 + P) (rounded twice, below 2^-115·|r|; the second-order term
    /// r.lo·r/2 is below 2^-73 of r.lo, i.e. 2^-126 of r) through a last `sum` (2.01u²).
    /// Bound: relative error <= (6·2.01 + 5·3.02)·1.001u² + 2^-108 <= 2^-101.1.
    @inline(__always)
    static func expm1Reduced(_ r: DoubleWord) -> DoubleWord {
        let h = r.hi
        let q = f6 + h * (f7 + h * (f8 + h * f9))
        var t = DoubleWord.sum(f5, h * q)
        t = DoubleWord.sameSignSum(DoubleWord.product(t, h), f4)
        t = DoubleWord.sameSignSum(DoubleWord.product(t, h), f3)
        t = DoubleWord.sum(DoubleWord.product(t, h), 0.5)
        t = DoubleWord.sum(DoubleWord.product(t, h), 1)
        let p = DoubleWord.product(t, h)
        return DoubleWord.sum(p, r.lo + r.lo * p.hi)
    }

    /// e^x as `2^q·(hi + lo)`, for a double-word argument x = x.hi + x.lo (|x.lo| <= ulp(x.hi)).
    ///
    /// Edge cases: x.hi < -16000 gives zero (e^x < 2^-23000); x.hi must be <= 16000 (callers
    /// only pass x <= 0 or small positive values).
    ///
    /// Error bound: relative error <= 2^-98, the budget the kernels count (ρ_exp). Derived:
    /// reduction 2^-104·|r| + 2^-120 (<= 2^-112 relative in e^x); table 2^-107; expm1Reduced
    /// 2^-101.1 weighted by |P| <= 2^-8.5; T·P by `product`, 8.1u² of |T·P| <= 2^-8.5·T; T + T·P
    /// by `anySignSum`, 3.1u²(T + |T·P|) <= 3.15u²·|T + T·P|: in all <= 2^-102.4.
    static func exp(_ x: DoubleWord) -> ScaledDoubleWord {
        if !(x.hi >= expCutoff) { return .zero }
        if x.hi == 0 && x.lo == 0 { return .one }
        let (k, r) = reduce(x)
        let j = k & 255
        let q = k >> 8
        let t = DoubleWord(ExpTables.entries[2 * j], ExpTables.entries[2 * j + 1])
        let p = expm1Reduced(r)
        let m = DoubleWord.anySignSum(t, DoubleWord.product(t, p))
        return ScaledDoubleWord(m, exponent: q)
    }

    /// e^x for a binary64 x, as `2^q·(hi + lo)`. Same bound as `exp(_: DoubleWord)`.
    static func exp(_ x: Double) -> ScaledDoubleWord { exp(DoubleWord(x, 0)) }

    /// e^y - 1 for a binary64 y in [-700, 700], as a double-word.
    ///
    /// - |y| < 2^-60: y + y^2/2 (truncation y^3/6 below 2^-121 relative).
    /// - otherwise 2^q·T_j·(1 + P) - 1 evaluated as (2^q·T.hi - 1) + 2^q·T.lo + 2^q·T·P, where
    ///   the first difference is exact (two-sum). Relative to R = |e^y - 1|, the worst case is
    ///   k = ±1 (|y| in [ln2/512, 3ln2/512]), where |R| >= 0.00135, A = |2^q·T - 1| <= 2.01|R|
    ///   and |T·P| <= 1.003|R|. The table's error 2^q·|T.hi + T.lo - T| is <= 2^-108 for
    ///   j = 1 and <= 2^-110 for j = 255 (q = -1) (the entries' lo parts are below 2^-54 and
    ///   2^-55), so <= 2^-98.47·|R|; for |k| >= 2, <= 2^-107/0.004 <= 2^-99.06. Then P's error
    ///   (2^-101.1, times 1.003), `product` 8.1u²·1.003, the inner `sum` 2.01u²·2.01 and the
    ///   outer `anySignSum` 3.1u²·3.01: in all <= 2^-98.47 + 2^-101.1 + 21.6u² <= 2^-98.1.
    ///   Relative error <= 2^-98.
    static func expm1(_ y: Double) -> DoubleWord {
        if abs(y) < 0x1p-60 { return fastTwoSum(y, 0.5 * y * y) }
        let (k, r) = reduce(DoubleWord(y, 0))
        let p = expm1Reduced(r)
        if k == 0 { return p }
        let j = k & 255
        let q = k >> 8
        let s = powerOfTwo(q)
        let t = DoubleWord(ExpTables.entries[2 * j], ExpTables.entries[2 * j + 1])
        let b = twoSum(t.hi * s, -1)
        // T·P before the scaling by 2^q (exact, or an underflow below 2^-1074 next to a result
        // near -1): Dekker's product needs |T·2^q| < 2^995, false for y near 700.
        let tp = DoubleWord.product(t, p)
        return DoubleWord.anySignSum(DoubleWord.sum(b, t.lo * s), DoubleWord(tp.hi * s, tp.lo * s))
    }

    /// log(1 + s) for a double-word s >= -1/2 with |s.hi| >= 2^-60, as a double-word.
    ///
    /// One Newton step on y ↦ e^y from y0 = log1p(s.hi) (binary64, a few ulps): with
    /// E = expm1(y0), c = (s - E)/(1 + E) is the exact residual, 1 + c = (1 + s)/e^y0, so
    /// log(1 + s) = y0 + log1p(c) = y0 + c - c^2/2 + O(c^3), |c| < 2^-50·|log1p(s)|.
    ///
    /// Error bound (s >= 0, the case used by the kernels): an error ρ_E·|E| in E moves the
    /// result by ρ_E·|E|/(1 + E) <= ρ_E·log1p(s) (since 1 - e^-y <= y), the remaining steps by
    /// 2^-101 relative (the residual s - E by `anySignSum`: 3.1u²(s + E) <= 6.3u²·s absolute,
    /// i.e. <= 6.3u² of log1p(s) after the division by 1 + E, as s/(1 + s) <= log1p(s));
    /// relative error <= ρ_E + 2^-101 <= 2^-98 + 2^-101 <= 2^-97. For s in [-1/2, 0) the first
    /// term is multiplied by at most (e^0.7 - 1)/0.7 < 1.45: relative error <= 2^-96.4.
    /// A relative error ρ_s of the argument s adds at most ρ_s·s/((1+s)·log1p(s)) <= ρ_s (s >= 0)
    /// or <= 1.45·ρ_s (s in [-1/2, 0)).
    static func log1p(_ s: DoubleWord) -> DoubleWord {
        let y0 = Double.log(onePlus: s.hi)
        let e = expm1(y0)
        let num = DoubleWord.anySignSum(s, -e)
        let c = num.hi / (1 + e.hi)
        return fastTwoSum(y0, c - 0.5 * c * c)
    }

    /// log(1 + s) for an extended-range s >= -1/2 (any magnitude, including below 2^-1074).
    ///
    /// |s| < 2^-59: s·(1 - s/2), truncation s^3/3, relative error below 2^-117 + 8.1u² (`product`).
    /// Otherwise `log1p(_: DoubleWord)`. Relative error <= 2^-97 for s >= 0.
    static func log1p(_ s: ScaledDoubleWord) -> ScaledDoubleWord {
        if s.isZero { return .zero }
        if s.exponent < -60 {
            let half = scaled(s.hi, by: s.exponent - 1)
            return ScaledDoubleWord(DoubleWord.product(s.mantissa, fastTwoSum(1, -half)), exponent: s.exponent)
        }
        return ScaledDoubleWord(log1p(s.unscaled))
    }
}
