// The fast tier, part 1: error-free transformations and the double-double operations whose
// error bounds the fast tier's proofs use (FastExp.swift, FastLog1p.swift, FastTier.swift).
//
// Notation for every fast-tier file. u = 2^-53, the unit roundoff of binary64 in round to
// nearest: RN(x) = x(1 + θ) with |θ| <= u, and |RN(x) - x| <= ulp(RN(x))/2. A double-double
// (DD) (hi, lo) stands for the exact real hi + lo; it is *normalized* when |lo| <= ulp(hi)/2,
// hence |lo| <= u|hi|. "Relative error <= c·u²" means |computed − exact| <= c·u²·|exact|.
// Every bound assumes that no operation overflows and that no product's error term underflows
// (|a·b| >= 2^-969 for `twoProd`); each caller states why that holds, or counts the underflow
// as an absolute error (an underflowing rounding errs by at most 2^-1075). No FMA is used
// (Swift's `addingProduct` is a libm call on the default x86-64 target): products are exact by
// Dekker's algorithm, and multiply-adds are two roundings, which the bounds below count.
//
// The bounds are derived here, one rounding at a time, and deliberately a little looser than
// the tightest published ones (Joldes, Muller, Popescu, "Tight and rigorous error bounds for
// basic building blocks of double-word arithmetic", ACM TOMS 44(2), 2017, give 2u²–3u² for
// `mulDF`, 4u²–5u² for `mulDD`, 15u² for their division, with FMAs): the fast tier needs about
// 2^-94 in the end and has 2^-100-ish to spend, so a bound that is easy to check beats a tight
// one.

/// u = 2^-53.
let unitRoundoff: Double = 0x1p-53
/// u².
let unitRoundoff2: Double = 0x1p-106

/// The exact real hi + lo.
struct DD: Sendable {
    var hi: Double
    var lo: Double

    @inline(__always) init(_ hi: Double, _ lo: Double) {
        self.hi = hi
        self.lo = lo
    }

    @inline(__always) static prefix func - (x: DD) -> DD { DD(-x.hi, -x.lo) }
}

/// 2^e for −1022 <= e <= 1023 (a normal binary64 number), from its bits.
@inline(__always) func powerOfTwo(_ e: Int) -> Double {
    Double(bitPattern: UInt64(truncatingIfNeeded: e + 1023) << 52)
}

/// x·2^e, exact when x·2^e is normal or zero and −1022 <= e <= 1023 (else as RN(x·2^e) when
/// that is subnormal; callers bound that case). Two multiplications for e outside that range.
@inline(__always) func scaled(_ x: Double, _ e: Int) -> Double {
    if e >= -1022 && e <= 1023 { return x * powerOfTwo(e) }
    let half = e / 2
    return (x * powerOfTwo(Swift.min(Swift.max(half, -1022), 1023))) * powerOfTwo(Swift.min(Swift.max(e - half, -1022), 1023))
}

/// ⌊log₂|x|⌋ for a normal x, from its bits.
@inline(__always) func binade(_ x: Double) -> Int {
    Int((x.bitPattern >> 52) & 0x7FF) - 1023
}

/// Knuth's TwoSum: s + e = a + b exactly, s = RN(a + b), for any finite a, b (no overflow).
@inline(__always) func twoSum(_ a: Double, _ b: Double) -> DD {
    let s = a + b
    let bb = s - a
    let e = (a - (s - bb)) + (b - bb)
    return DD(s, e)
}

/// Dekker's Fast2Sum: s + e = a + b exactly, s = RN(a + b), when a = 0 or the exponent of a is
/// at least that of b (in particular when |a| >= |b|).
@inline(__always) func fastTwoSum(_ a: Double, _ b: Double) -> DD {
    let s = a + b
    return DD(s, b - (s - a))
}

/// Veltkamp's splitting: a = hi + lo exactly, each with at most 26 significant bits (|a| < 2^995).
@inline(__always) func split(_ a: Double) -> DD {
    let c = 134_217_729.0 * a  // 2^27 + 1
    let hi = c - (c - a)
    return DD(hi, a - hi)
}

/// Dekker's TwoProd: p + e = a·b exactly, p = RN(a·b), when |a|, |b| < 2^995 and the partial
/// products do not underflow (|a·b| >= 2^-969 suffices), without an FMA instruction (the
/// default x86-64 target has none, and a libm `fma` call costs more than these 17 operations).
@inline(__always) func twoProd(_ a: Double, _ b: Double) -> DD {
    let p = a * b
    let x = split(a), y = split(b)
    let e = ((x.hi * y.hi - p) + x.hi * y.lo + x.lo * y.hi) + x.lo * y.lo
    return DD(p, e)
}

/// TwoProd with the split of `a` given (`split(a)`, precomputed for constants and table
/// entries): the same operations and result as `twoProd(a, b)`.
@inline(__always) func twoProd(_ a: Double, split x: DD, _ b: Double) -> DD {
    let p = a * b
    let y = split(b)
    let e = ((x.hi * y.hi - p) + x.hi * y.lo + x.lo * y.hi) + x.lo * y.lo
    return DD(p, e)
}

/// TwoProd with both splits given.
@inline(__always) func twoProd(_ a: Double, split x: DD, _ b: Double, split y: DD) -> DD {
    let p = a * b
    let e = ((x.hi * y.hi - p) + x.hi * y.lo + x.lo * y.hi) + x.lo * y.lo
    return DD(p, e)
}

/// TwoProd of a with itself.
@inline(__always) func twoSquare(_ a: Double) -> DD {
    let p = a * a
    let x = split(a)
    let e = ((x.hi * x.hi - p) + 2 * (x.hi * x.lo)) + x.lo * x.lo
    return DD(p, e)
}

/// a·b for a normalized DD a and a double b. Relative error <= 3.02u².
///
/// Proof. (p, e) = TwoProd(a.hi, b) is exact, |e| <= u|p|. t0 = RN(a.lo·b): |a.lo·b| <=
/// u|a.hi·b|, error <= u²|a.hi·b|. t = RN(t0 + e): |t| <= (1+u)(u(1+u) + u(1+u))|a.hi·b| <=
/// 2.01u|a.hi·b|, error <= 2.01u²|a.hi·b|. Fast2Sum(p, t) is exact (|t| < |p|). Sum: 3.01u²|a.hi·b|,
/// and |a.hi·b| <= |a·b|/(1 − u).
@inline(__always) func mulDF(_ a: DD, _ b: Double) -> DD {
    let p = twoProd(a.hi, b)
    let t = a.lo * b + p.lo
    return fastTwoSum(p.hi, t)
}

/// a·b for normalized DDs. Relative error <= 8.1u².
///
/// Proof (P = |a.hi·b.hi|). (p, e) = TwoProd(a.hi, b.hi) is exact, |e| <= u|p| <= u(1+u)P.
/// t1 = RN(a.hi·b.lo), t1' = RN(a.lo·b.hi): each of magnitude <= uP, error <= u²P each.
/// t2 = RN(t1 + t1'): |t2| <= (1+u)(2u(1+u))P <= 2.01uP, error <= 2.01u²P.
/// t3 = RN(e + t2): |t3| <= (1+u)(u(1+u) + 2.01u)P <= 3.02uP, error <= 3.02u²P.
/// a.lo·b.lo (<= u²P) is dropped. Fast2Sum(p, t3) is exact (|t3| < |p|). Sum: 8.03u²P, and
/// P <= |a·b|/(1 − u)², so the error is <= 8.1u²|a·b|.
@inline(__always) func mulDD(_ a: DD, _ b: DD) -> DD {
    let p = twoProd(a.hi, b.hi)
    let t2 = a.hi * b.lo + a.lo * b.hi
    let t3 = p.lo + t2
    return fastTwoSum(p.hi, t3)
}

/// a + b for normalized DDs of the same sign (both >= 0 or both <= 0). Relative error <= 3.02u².
///
/// Proof (A = |a.hi| + |b.hi|). (s, e) = TwoSum(a.hi, b.hi) is exact, |s| <= (1+u)A, |e| <= u|s|.
/// t = RN(a.lo + b.lo): |a.lo + b.lo| <= uA (same signs), error <= u²A. v = RN(e + t):
/// |v| <= (1+u)(u(1+u) + u(1+u))A <= 2.01uA, error <= 2.01u²A. Fast2Sum(s, v) is exact
/// (|v| < |s|, as |s| >= (1−u)·max(|a.hi|, |b.hi|) >= (1−u)A/2). Sum: 3.01u²A, and A <= |a+b|/(1−u).
@inline(__always) func addSameSign(_ a: DD, _ b: DD) -> DD {
    let s = twoSum(a.hi, b.hi)
    let t = a.lo + b.lo
    let v = s.lo + t
    return fastTwoSum(s.hi, v)
}

/// a + b for a normalized DD a and a double b of the same sign. Relative error <= 2.01u².
///
/// Proof. (s, e) = TwoSum(a.hi, b) exact; v = RN(a.lo + e): |a.lo + e| <= u|a.hi| + u|s| <=
/// (2 + u)u(|a.hi| + |b|), error <= (2+u)u²(|a.hi| + |b|) <= 2.01u²|a + b|. Fast2Sum exact (|v| < |s|).
@inline(__always) func addSameSign(_ a: DD, _ b: Double) -> DD {
    let s = twoSum(a.hi, b)
    let v = a.lo + s.lo
    return fastTwoSum(s.hi, v)
}

/// a + b for normalized DDs of any signs. Absolute error <= 3.1u²(|a| + |b|) (not relative to
/// the result: callers that subtract account for the cancellation themselves).
///
/// Proof (A = |a.hi| + |b.hi|). (s, e) = TwoSum(a.hi, b.hi) and (t, f) = TwoSum(a.lo, b.lo) are
/// exact: |s| <= (1+u)A, |e| <= u|s|, |t| <= (1+u)uA, |f| <= u|t|. g = RN(e + t): |e + t| <=
/// 2(1+u)uA, error <= 2.01u²A. (s2, h) = TwoSum(s, g) is exact, |s2| <= (1+u)(|s| + |g|) <=
/// 1.01A, |h| <= 1.01uA. k = RN(f + h): |f + h| <= 1.02uA, error <= 1.03u²A. The last TwoSum is
/// exact. Sum: 3.04u²A, and A <= (|a| + |b|)/(1 − u). (TwoSum rather than Fast2Sum in the last
/// two steps: under cancellation s can be smaller than g.)
@inline(__always) func addAnySign(_ a: DD, _ b: DD) -> DD {
    let s = twoSum(a.hi, b.hi)
    let t = twoSum(a.lo, b.lo)
    let g = s.lo + t.hi
    let s2 = twoSum(s.hi, g)
    let k = t.lo + s2.lo
    return twoSum(s2.hi, k)
}

/// a / b for normalized DDs, b ≠ 0. Relative error <= 14u².
///
/// Proof (Q = |a.hi/b.hi|). qh = RN(a.hi/b.hi) = (a.hi/b.hi)(1+θ1), |θ1| <= u.
/// (p, e) = TwoProd(qh, b.hi) exact: p + e = a.hi(1+θ1); p = RN(p + e) lies within a factor
/// (1±u)² of a.hi, so r1 = a.hi − p is exact (Sterbenz). r2 = RN(r1 − e), where r1 − e = −a.hi·θ1
/// (|·| <= u|a.hi|): error <= 1.01u²|a.hi|. r3 = RN(r2 + a.lo): |r3| <= 2.02u|a.hi|, error <=
/// 2.02u²|a.hi|. c = RN(qh·b.lo): |qh·b.lo| <= 1.01u|a.hi|, error <= 1.01u²|a.hi|. r4 = RN(r3 − c):
/// |r4| <= 3.04u|a.hi|, error <= 3.04u²|a.hi|. So r4 = R + η with R = a − qh·b exactly and
/// |η| <= 7.08u²|a.hi|. ql = RN(r4/b.hi) = (r4/b.hi)(1+θ3). Then q̂ − a/b = ql − R/b =
/// R(1/b.hi − 1/b) + η/b.hi + θ3·r4/b.hi, where |R| <= (u + u + 1.01u)|a.hi| = 3.01u|a.hi| and
/// |1/b.hi − 1/b| <= u/|b|: <= (3.02 + 7.08 + 3.05)u²·Q = 13.15u²Q, and Q <= |a/b|(1+u)/(1−u).
/// Fast2Sum(qh, ql) is exact.
@inline(__always) func divDD(_ a: DD, _ b: DD) -> DD {
    let qh = a.hi / b.hi
    let p = twoProd(qh, b.hi)
    let r1 = a.hi - p.hi
    let r2 = r1 - p.lo
    let r3 = r2 + a.lo
    let r4 = r3 - qh * b.lo
    let ql = r4 / b.hi
    return fastTwoSum(qh, ql)
}

/// A bound rounded up: x·(1 + 2^-40), for summing error terms computed in round-to-nearest
/// (each such sum of a few positive terms errs by far less than 2^-40 relative).
@inline(__always) func roundedUp(_ x: Double) -> Double { x * (1 + 0x1p-40) }

/// `mulDD(a, b)` on two SIMD lanes of a and a common b: the same operations lane by lane
/// (TwoProd by Dekker with the splits of a.hi and b.hi), so the same results and bound.
@inline(__always) func mulDD2(_ ah: SIMD2<Double>, _ al: SIMD2<Double>, _ b: DD) -> (hi: SIMD2<Double>, lo: SIMD2<Double>) {
    let p = ah * b.hi
    let c = 134_217_729.0 * ah
    let xh = c - (c - ah)
    let xl = ah - xh
    let y = split(b.hi)
    var e: SIMD2<Double> = xh * y.hi - p
    e = e + xh * y.lo
    e = e + xl * y.hi
    e = e + xl * y.lo
    let t2: SIMD2<Double> = ah * b.lo + al * b.hi
    let t3: SIMD2<Double> = e + t2
    let s: SIMD2<Double> = p + t3
    return (s, t3 - (s - p))
}
