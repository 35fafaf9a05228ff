// Double-word numbers and their arithmetic (notation and FMA policy: ErrorFreeTransforms.swift).
//
// Products go through `twoProduct` only, so every bound below holds under either FMA policy.
// The bounds are derived here, one rounding at a time, and deliberately a little looser than the
// tightest published ones (Joldes, Muller, Popescu, "Tight and rigorous error bounds for basic
// building blocks of double-word arithmetic", ACM TOMS 44(2), 2017, give 2u²–3u² for
// `product(_:_: Double)`, 4u²–5u² for the double-word product and 15u² for their division, with
// FMAs): the certified tier needs about 2^-94 in the end and the kernels 2^-80, so a bound that
// is easy to check beats a tight one. Every bound is at most 14u² < 2^-102, which is what the
// kernels' budgets count per operation (`2^-101`, "ρ_op").

/// A double-word number: the exact real `hi + lo` of two binary64 numbers.
///
/// Normalized when |lo| <= ulp(hi)/2 (then |lo| <= u·|hi| and hi = RN(hi + lo) up to the tie
/// rule); every operation below takes and returns normalized values. About 106 bits.
@frozen
public struct DoubleWord: Sendable, Equatable {
    /// The leading part.
    public var hi: Double
    /// The trailing part.
    public var lo: Double

    /// The double word hi + lo (not normalized by this initializer).
    @inlinable @inline(__always)
    public init(_ hi: Double, _ lo: Double = 0) {
        self.hi = hi
        self.lo = lo
    }

    /// 0 + 0.
    @inlinable public static var zero: DoubleWord { DoubleWord(0, 0) }
    /// 1 + 0.
    @inlinable public static var one: DoubleWord { DoubleWord(1, 0) }

    /// −(hi + lo), exactly.
    @inlinable @inline(__always)
    public static prefix func - (x: DoubleWord) -> DoubleWord { DoubleWord(-x.hi, -x.lo) }
}

extension DoubleWord {
    /// a + b for a normalized a and a double b, of any signs. Relative error <= 2.01u².
    ///
    /// Algorithm DWPlusFP of Joldes, Muller and Popescu (Alg. 4), whose Theorem 2.2 bounds it by
    /// 2u²/(1 + 2u) for any signs. The simple proof for the same-sign case, which the certified
    /// tier uses: (s, e) = TwoSum(a.hi, b) exact; v = RN(a.lo + e): |a.lo + e| <= u|a.hi| + u|s|
    /// <= (2 + u)u(|a.hi| + |b|), error <= (2+u)u²(|a.hi| + |b|) <= 2.01u²|a + b|. Fast2Sum is
    /// exact (|v| < |s|).
    @inlinable @inline(__always)
    public static func sum(_ a: DoubleWord, _ b: Double) -> DoubleWord {
        let s = twoSum(a.hi, b)
        let v = a.lo + s.lo
        return fastTwoSum(s.hi, v)
    }

    /// a + b for normalized a, b of the same sign (both >= 0 or both <= 0). Relative error
    /// <= 3.02u².
    ///
    /// Proof (A = |a.hi| + |b.hi|). (s, e) = TwoSum(a.hi, b.hi) is exact, |s| <= (1+u)A, |e| <=
    /// u|s|. t = RN(a.lo + b.lo): |a.lo + b.lo| <= uA (same signs), error <= u²A. v = RN(e + t):
    /// |v| <= (1+u)(u(1+u) + u(1+u))A <= 2.01uA, error <= 2.01u²A. Fast2Sum(s, v) is exact (|v| <
    /// |s|, as |s| >= (1−u)·max(|a.hi|, |b.hi|) >= (1−u)A/2). Sum: 3.01u²A, and A <= |a+b|/(1−u).
    @inlinable @inline(__always)
    public static func sameSignSum(_ a: DoubleWord, _ b: DoubleWord) -> DoubleWord {
        let s = twoSum(a.hi, b.hi)
        let t = a.lo + b.lo
        let v = s.lo + t
        return fastTwoSum(s.hi, v)
    }

    /// a + b for normalized a, b of any signs. Absolute error <= 3.1u²(|a| + |b|): relative to
    /// the result only when there is no cancellation (callers that subtract count it themselves).
    ///
    /// Proof (A = |a.hi| + |b.hi|). (s, e) = TwoSum(a.hi, b.hi) and (t, f) = TwoSum(a.lo, b.lo)
    /// are exact: |s| <= (1+u)A, |e| <= u|s|, |t| <= (1+u)uA, |f| <= u|t|. g = RN(e + t): |e + t|
    /// <= 2(1+u)uA, error <= 2.01u²A. (s2, h) = TwoSum(s, g) is exact, |s2| <= (1+u)(|s| + |g|) <=
    /// 1.01A, |h| <= 1.01uA. k = RN(f + h): |f + h| <= 1.02uA, error <= 1.03u²A. The last TwoSum
    /// is exact. Sum: 3.04u²A, and A <= (|a| + |b|)/(1 − u). (TwoSum rather than Fast2Sum in the
    /// last two steps: under cancellation s can be smaller than g.)
    @inlinable @inline(__always)
    public static func anySignSum(_ a: DoubleWord, _ b: DoubleWord) -> DoubleWord {
        let s = twoSum(a.hi, b.hi)
        let t = twoSum(a.lo, b.lo)
        let g = s.lo + t.hi
        let s2 = twoSum(s.hi, g)
        let k = t.lo + s2.lo
        return twoSum(s2.hi, k)
    }

    /// a·b for a normalized a and a double b. Relative error <= 3.02u².
    ///
    /// Proof. (p, e) = TwoProduct(a.hi, b) is exact, |e| <= u|p|. t0 = RN(a.lo·b): |a.lo·b| <=
    /// u|a.hi·b|, error <= u²|a.hi·b|. t = RN(t0 + e): |t| <= (1+u)(u(1+u) + u(1+u))|a.hi·b| <=
    /// 2.01u|a.hi·b|, error <= 2.01u²|a.hi·b|. Fast2Sum(p, t) is exact (|t| < |p|). Sum:
    /// 3.01u²|a.hi·b|, and |a.hi·b| <= |a·b|/(1 − u).
    @inlinable @inline(__always)
    public static func product(_ a: DoubleWord, _ b: Double) -> DoubleWord {
        let p = twoProduct(a.hi, b)
        let t = a.lo * b + p.lo
        return fastTwoSum(p.hi, t)
    }

    /// a·b for normalized a, b. Relative error <= 8.1u².
    ///
    /// Proof (P = |a.hi·b.hi|). (p, e) = TwoProduct(a.hi, b.hi) is exact, |e| <= u|p| <=
    /// u(1+u)P. t1 = RN(a.hi·b.lo), t1' = RN(a.lo·b.hi): each of magnitude <= uP, error <= u²P
    /// each. t2 = RN(t1 + t1'): |t2| <= (1+u)(2u(1+u))P <= 2.01uP, error <= 2.01u²P.
    /// t3 = RN(e + t2): |t3| <= (1+u)(u(1+u) + 2.01u)P <= 3.02uP, error <= 3.02u²P.
    /// a.lo·b.lo (<= u²P) is dropped. Fast2Sum(p, t3) is exact (|t3| < |p|). Sum: 8.03u²P, and
    /// P <= |a·b|/(1 − u)², so the error is <= 8.1u²|a·b|.
    @inlinable @inline(__always)
    public static func product(_ a: DoubleWord, _ b: DoubleWord) -> DoubleWord {
        let p = twoProduct(a.hi, b.hi)
        let t2 = a.hi * b.lo + a.lo * b.hi
        let t3 = p.lo + t2
        return fastTwoSum(p.hi, t3)
    }

    /// a/b for normalized a, b, b ≠ 0. Relative error <= 14u².
    ///
    /// Proof (Q = |a.hi/b.hi|). qh = RN(a.hi/b.hi) = (a.hi/b.hi)(1+θ1), |θ1| <= u.
    /// (p, e) = TwoProduct(qh, b.hi) exact: p + e = a.hi(1+θ1); p = RN(p + e) lies within a factor
    /// (1±u)² of a.hi, so r1 = a.hi − p is exact (Sterbenz). r2 = RN(r1 − e), where r1 − e =
    /// −a.hi·θ1 (|·| <= u|a.hi|): error <= 1.01u²|a.hi|. r3 = RN(r2 + a.lo): |r3| <= 2.02u|a.hi|,
    /// error <= 2.02u²|a.hi|. c = RN(qh·b.lo): |qh·b.lo| <= 1.01u|a.hi|, error <= 1.01u²|a.hi|.
    /// r4 = RN(r3 − c): |r4| <= 3.04u|a.hi|, error <= 3.04u²|a.hi|. So r4 = R + η with R = a −
    /// qh·b exactly and |η| <= 7.08u²|a.hi|. ql = RN(r4/b.hi) = (r4/b.hi)(1+θ3). Then q̂ − a/b =
    /// ql − R/b = R(1/b.hi − 1/b) + η/b.hi + θ3·r4/b.hi, where |R| <= (u + u + 1.01u)|a.hi| =
    /// 3.01u|a.hi| and |1/b.hi − 1/b| <= u/|b|: <= (3.02 + 7.08 + 3.05)u²·Q = 13.15u²Q, and Q <=
    /// |a/b|(1+u)/(1−u). Fast2Sum(qh, ql) is exact.
    @inlinable @inline(__always)
    public static func quotient(_ a: DoubleWord, _ b: DoubleWord) -> DoubleWord {
        let qh = a.hi / b.hi
        let p = twoProduct(qh, b.hi)
        let r1 = a.hi - p.hi
        let r2 = r1 - p.lo
        let r3 = r2 + a.lo
        let r4 = r3 - qh * b.lo
        let ql = r4 / b.hi
        return fastTwoSum(qh, ql)
    }
}
