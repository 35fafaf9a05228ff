// Error-free transformations: the exact building blocks of double-word arithmetic.
//
// Notation for every file of this module. u = 2^-53, the unit roundoff of binary64 in round to
// nearest: RN(x) = x(1 + θ) with |θ| <= u, and |RN(x) − x| <= ulp(RN(x))/2. A double word
// (hi, lo) stands for the exact real hi + lo; it is *normalized* when |lo| <= ulp(hi)/2, hence
// |lo| <= u|hi|. "Relative error <= c·u²" means |computed − exact| <= c·u²·|exact|. Every bound
// assumes that no operation overflows and that no product's error term underflows (|a·b| >=
// 2^-969 for `twoProduct`); each caller states why that holds, or counts the underflow as an
// absolute error (an underflowing rounding errs by at most 2^-1075).
//
// FMA policy, decided here and only here. `twoProduct` is the one place that forms an exact
// product. By default it uses Dekker's algorithm with Veltkamp's split (17 operations, no FMA):
// the default x86-64 target has no FMA instruction, and Swift's `addingProduct` then becomes a
// libm call that costs more than Dekker's product. Compiled with `-DDOUBLEWORD_FMA` (for example
// `swift build -Xswiftc -DDOUBLEWORD_FMA` on a target with a hardware FMA, `-Xswiftc
// -target-cpu -Xswiftc haswell`), it uses one fused multiply-add instead. Both give the same
// exact pair (p, e) = (RN(a·b), a·b − RN(a·b)) whenever the preconditions below hold, so every
// other routine of this module, which forms products only through `twoProduct` and otherwise
// uses plain additions and multiplications, has the same results and the same error bounds
// under either policy.

/// u = 2^-53, the unit roundoff of binary64 (round to nearest).
public let unitRoundoff: Double = 0x1p-53
/// u² = 2^-106.
public let unitRoundoffSquared: Double = 0x1p-106

/// A bound rounded up: x·(1 + 2^-40), for sums of error terms computed in round-to-nearest
/// (each such sum of a few positive terms errs by far less than 2^-40 relative).
@inlinable @inline(__always)
public func roundedUp(_ x: Double) -> Double { x * (1 + 0x1p-40) }

/// Knuth's TwoSum: s + e = a + b exactly with s = RN(a + b), for any finite a, b whose sum does
/// not overflow (6 operations, no branch). When s is ±inf, e is NaN.
@inlinable @inline(__always)
public func twoSum(_ a: Double, _ b: Double) -> DoubleWord {
    let s = a + b
    let bb = s - a
    let e = (a - (s - bb)) + (b - bb)
    return DoubleWord(s, e)
}

/// Dekker's Fast2Sum: s + e = a + b exactly with s = RN(a + b), when a = 0 or the exponent of a
/// is at least that of b (in particular when |a| >= |b|). 3 operations.
@inlinable @inline(__always)
public func fastTwoSum(_ a: Double, _ b: Double) -> DoubleWord {
    let s = a + b
    return DoubleWord(s, b - (s - a))
}

/// Veltkamp's split: a = hi + lo exactly, each part with at most 26 significant bits, for
/// |a| < 2^995 (so that (2^27 + 1)·a does not overflow).
@inlinable @inline(__always)
public func veltkampSplit(_ a: Double) -> DoubleWord {
    let c = 134_217_729.0 * a  // 2^27 + 1
    let hi = c - (c - a)
    return DoubleWord(hi, a - hi)
}

/// The exact product: p + e = a·b with p = RN(a·b).
///
/// Needs |a|, |b| < 2^995 and no underflow of the partial products (|a·b| >= 2^-969 suffices;
/// below that e may err by up to 2^-1075 per partial product). Dekker's algorithm by default;
/// one FMA under `DOUBLEWORD_FMA` (see the top of this file): the same (p, e) either way.
@inlinable @inline(__always)
public func twoProduct(_ a: Double, _ b: Double) -> DoubleWord {
    #if DOUBLEWORD_FMA
    let p = a * b
    return DoubleWord(p, (-p).addingProduct(a, b))
    #else
    return twoProduct(a, split: veltkampSplit(a), b, split: veltkampSplit(b))
    #endif
}

/// `twoProduct(a, b)` with `veltkampSplit(a)` given (precomputed for constants and table
/// entries): the same result.
@inlinable @inline(__always)
public func twoProduct(_ a: Double, split x: DoubleWord, _ b: Double) -> DoubleWord {
    #if DOUBLEWORD_FMA
    return twoProduct(a, b)
    #else
    return twoProduct(a, split: x, b, split: veltkampSplit(b))
    #endif
}

/// `twoProduct(a, b)` with both splits given: the same result.
@inlinable @inline(__always)
public func twoProduct(_ a: Double, split x: DoubleWord, _ b: Double, split y: DoubleWord) -> DoubleWord {
    let p = a * b
    #if DOUBLEWORD_FMA
    return DoubleWord(p, (-p).addingProduct(a, b))
    #else
    // Dekker: every partial product of 26-bit halves is exact, and so is each sum (Dekker 1971).
    let e = ((x.hi * y.hi - p) + x.hi * y.lo + x.lo * y.hi) + x.lo * y.lo
    return DoubleWord(p, e)
    #endif
}

/// `twoProduct(a, a)`, with one split and the cross term doubled (exact): the same result.
@inlinable @inline(__always)
public func twoSquare(_ a: Double) -> DoubleWord {
    let p = a * a
    #if DOUBLEWORD_FMA
    return DoubleWord(p, (-p).addingProduct(a, a))
    #else
    let x = veltkampSplit(a)
    let e = ((x.hi * x.hi - p) + 2 * (x.hi * x.lo)) + x.lo * x.lo
    return DoubleWord(p, e)
    #endif
}
