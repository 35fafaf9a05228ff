// e^d on binary64 lanes without a table, for the binary32 vector path (AccurateVectorFloat.swift),
// and the multiply-add both vector paths evaluate polynomials with.
//
// Why no table: a table lookup per lane is a gather, which the compiler emits as one scalar load
// and insert per lane; a polynomial is a chain of multiply-adds, one instruction per step for all
// lanes at once on a CPU with FMA (Package.swift's SOFTMAX_ORACLE_TARGET_CPU build), two without.
//
// ## The bound (both builds), for d in [-708, 0]
// n = round(d/ln2) by the 1.5·2^52 shifter (d·(1/ln2) rounded once with FMA, twice without: n is
// within 1/2 + 2^-41 of d/ln2, |n| <= 1022). r = (d - n·C1) - n·C2 with C1 = ln2 truncated to 32
// bits: n·C1 is exact (43 bits) and so is d - n·C1 (Sterbenz: for n != 0, d and n·C1 are within
// a factor 2 of each other; with FMA it is the same exact value rounded once, i.e. unchanged);
// n·C2 rounds by at most u·2^10·2^-32 = 2^-75, C1 + C2 misses ln2 by 2^-86 relative (n times:
// 2^-76), and the subtraction rounds by u·|r|: r is within 2^-54.4 of d - n·ln2, and
// |r| <= (1/2 + 2^-41)·ln2 < 0.3466.
// e^r = Σ_{i<=11} r^i/i! (Horner, coefficients the binary64 roundings of 1/i!): the truncation is
// |r|^12/12!·e^|r| < 2^-46.6 relative (e^r >= e^-|r|: a factor e^(2|r|) < 2, counted); Horner's
// roundings, two per step without FMA and one with, and the coefficients' own (u each) add at
// most γ_23·Σ|c_i||r|^i/e^r <= 23u·e^(2|r|) < 2^-47.4. So P = 1 + p approximates e^r to
//     ρ_P <= 2^-46.6 + 2^-47.4 + 2^-54.4 < 2^-45.8.
// e^d = 2^n·P: P in [0.70, 1.42] and n >= -1022 (d >= -708 gives d/ln2 >= -1021.5), so adding n
// to P's exponent field is an exact scaling onto a normal binary64 number.

/// a·b + c on lanes: one fused multiply-add (a single rounding) in the FMA build, a product and a
/// sum (two roundings) in the portable one. Bounds that use it count two roundings.
@inline(__always)
func multiplyAdd(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes {
    #if DOUBLEWORD_FMA
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
}

enum LaneExp {
    /// ln2 truncated to 32 significant bits (n·C1 exact for |n| < 2^21).
    static let c1 = 0x1.62e42feep-1
    /// RN(ln2 - C1).
    static let c2 = 0x1.a39ef35793c76p-33
    /// RN(1/ln2).
    static let invLn2 = 0x1.71547652b82fep+0
    /// RN(1/i!) for i = 11, 10, ..., 2 (Horner's order); 1/1! and 1/0! are the 1 below.
    static let coefficients: (Double, Double, Double, Double, Double, Double, Double, Double, Double, Double) = (
        0x1.ae64567f544e4p-26, 0x1.27e4fb7789f5cp-22, 0x1.71de3a556c734p-19, 0x1.a01a01a01a01ap-16,
        0x1.a01a01a01a01ap-13, 0x1.6c16c16c16c17p-10, 0x1.1111111111111p-7, 0x1.5555555555555p-5,
        0x1.5555555555555p-3, 0x1p-1
    )
    /// The least d this routine takes (callers clamp, and zero or drop the lanes below).
    static let cutoff = -708.0

    /// e^d for every lane, d in [-708, 0], to a relative error below 2^-45.8 (see above).
    @inline(__always)
    static func exp(_ d: Lanes) -> Lanes {
        let shifter = Lanes(repeating: 0x1.8p52)
        let s = multiplyAdd(d, Lanes(repeating: invLn2), shifter)
        let n = s - shifter
        let r = (d - n * c1) - n * c2
        let c = coefficients
        var p = multiplyAdd(Lanes(repeating: c.0), r, Lanes(repeating: c.1))
        p = multiplyAdd(p, r, Lanes(repeating: c.2))
        p = multiplyAdd(p, r, Lanes(repeating: c.3))
        p = multiplyAdd(p, r, Lanes(repeating: c.4))
        p = multiplyAdd(p, r, Lanes(repeating: c.5))
        p = multiplyAdd(p, r, Lanes(repeating: c.6))
        p = multiplyAdd(p, r, Lanes(repeating: c.7))
        p = multiplyAdd(p, r, Lanes(repeating: c.8))
        p = multiplyAdd(p, r, Lanes(repeating: c.9))
        p = multiplyAdd(p, r, Lanes(repeating: 1))
        p = multiplyAdd(p, r, Lanes(repeating: 1))
        // n as an integer from the low bits of s (two's complement), added to P's exponent.
        let nBits = s.bitPattern(as: LaneBits.self) &- shifter.bitPattern(as: LaneBits.self)
        return Lanes(bitPattern: p.bitPattern(as: LaneBits.self) &+ (nBits &<< 52))
    }
}
