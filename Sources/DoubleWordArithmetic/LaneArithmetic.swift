// The error-free transformations on SIMD lanes of binary64 (notation and FMA policy:
// ErrorFreeTransforms.swift).
//
// Why a second implementation: the scalar routines return a `DoubleWord` per call, and the
// vector paths of the certified tier and of the kernels keep one double word per lane in two
// registers (hi lanes, lo lanes). These are the same operations, in the same order, lane by
// lane; IEEE operations on SIMD lanes round exactly as scalar ones, so each lane gets the
// scalar routine's result bit for bit, and the scalar routine's error bound.

/// The lane width the certified tier's row loops use: 8 when built with `DOUBLEWORD_FMA` for a
/// CPU with AVX-512 (one register per vector, 32 registers), else 4: on SSE2 two registers per
/// vector, more independent work per iteration than 2 lanes without running out of registers;
/// with AVX2 (`DOUBLEWORD_NARROW_LANES`, set by Package.swift for x86-64-v3 and the AVX2-only CPU
/// names) one register per vector, since 8 double-word lanes need more than AVX2's 16 registers
/// and spill (measured: the x86-64-v3 build with 8 lanes certified f64 softmax more slowly than
/// the portable build).
#if DOUBLEWORD_FMA && !DOUBLEWORD_NARROW_LANES
public typealias DoubleWordLanes = SIMD8<Double>
/// `DoubleWordLanes`' lanes as bit patterns (`FixedPointSumLanes`).
public typealias DoubleWordLaneBits = SIMD8<UInt64>
#else
public typealias DoubleWordLanes = SIMD4<Double>
/// `DoubleWordLanes`' lanes as bit patterns (`FixedPointSumLanes`).
public typealias DoubleWordLaneBits = SIMD4<UInt64>
#endif

/// `twoSum` on every lane: a + b = hi + lo exactly, hi = RN(a + b) (lo is NaN where hi is ±inf).
@inlinable @inline(__always)
public func twoSum<V: SIMD>(_ a: V, _ b: V) -> (hi: V, lo: V) where V.Scalar == Double {
    let s = a + b
    let bb = s - a
    return (s, (a - (s - bb)) + (b - bb))
}

/// `fastTwoSum` on every lane: exact when, lane by lane, a = 0 or |a| >= |b|.
@inlinable @inline(__always)
public func fastTwoSum<V: SIMD>(_ a: V, _ b: V) -> (hi: V, lo: V) where V.Scalar == Double {
    let s = a + b
    return (s, b - (s - a))
}

/// `veltkampSplit` on every lane: a = hi + lo exactly, 26-bit halves (|a| < 2^995).
@inlinable @inline(__always)
public func veltkampSplit<V: SIMD>(_ a: V) -> (hi: V, lo: V) where V.Scalar == Double {
    let c = 134_217_729.0 * a
    let hi = c - (c - a)
    return (hi, a - hi)
}

/// `twoProduct(_:split:_:split:)` on every lane: p + e = a·b exactly, p = RN(a·b), with the
/// splits of a and b given (same preconditions as the scalar routine).
@inlinable @inline(__always)
public func twoProduct<V: SIMD>(_ a: V, split x: (hi: V, lo: V), _ b: V, split y: (hi: V, lo: V))
    -> (hi: V, lo: V) where V.Scalar == Double {
    let p = a * b
    #if DOUBLEWORD_FMA
    return (p, (-p).addingProduct(a, b))
    #else
    var e: V = x.hi * y.hi - p
    e = e + x.hi * y.lo
    e = e + x.lo * y.hi
    e = e + x.lo * y.lo
    return (p, e)
    #endif
}

/// `twoSquare` on every lane: p + e = a² exactly, p = RN(a²) (same preconditions as the scalar
/// routine).
@inlinable @inline(__always)
public func twoSquare<V: SIMD>(_ a: V) -> (hi: V, lo: V) where V.Scalar == Double {
    let p = a * a
    #if DOUBLEWORD_FMA
    return (p, (-p).addingProduct(a, a))
    #else
    let x = veltkampSplit(a)
    var e: V = x.hi * x.hi - p
    e = e + 2 * (x.hi * x.lo)
    e = e + x.lo * x.lo
    return (p, e)
    #endif
}

extension DoubleWord {
    /// `DoubleWord.sameSignSum` on every lane (the same operations, relative error <= 3.02u²).
    @inlinable @inline(__always)
    public static func sameSignSum<V: SIMD>(_ ah: V, _ al: V, _ bh: V, _ bl: V) -> (hi: V, lo: V) where V.Scalar == Double {
        let s = twoSum(ah, bh)
        let t: V = al + bl
        let v: V = s.lo + t
        return fastTwoSum(s.hi, v)
    }

    /// `DoubleWord.anySignSum` on every lane (the same operations, absolute error <=
    /// 3.1u²(|a| + |b|)).
    @inlinable @inline(__always)
    public static func anySignSum<V: SIMD>(_ ah: V, _ al: V, _ bh: V, _ bl: V) -> (hi: V, lo: V) where V.Scalar == Double {
        let s = twoSum(ah, bh)
        let t = twoSum(al, bl)
        let g: V = s.lo + t.hi
        let s2 = twoSum(s.hi, g)
        let k: V = t.lo + s2.lo
        return twoSum(s2.hi, k)
    }

    /// `DoubleWord.product(a, b)` on every lane of a = (ah, al) and b = (bh, bl): the same
    /// operations lane by lane, so the same results and the same bound (relative error <= 8.1u²).
    @inlinable @inline(__always)
    public static func product<V: SIMD>(_ ah: V, _ al: V, _ bh: V, _ bl: V) -> (hi: V, lo: V)
        where V.Scalar == Double {
        let p = twoProduct(ah, split: veltkampSplit(ah), bh, split: veltkampSplit(bh))
        let t2: V = ah * bl + al * bh
        let t3: V = p.lo + t2
        return fastTwoSum(p.hi, t3)
    }

    /// `DoubleWord.product(a, b)` on every lane of a = (ah, al) with a common b: the same
    /// operations lane by lane, so the same results and the same bound (relative error <= 8.1u²).
    @inlinable @inline(__always)
    public static func product<V: SIMD>(_ ah: V, _ al: V, _ b: DoubleWord) -> (hi: V, lo: V)
        where V.Scalar == Double {
        let y = veltkampSplit(b.hi)
        let p = twoProduct(ah, split: veltkampSplit(ah), V(repeating: b.hi),
                           split: (V(repeating: y.hi), V(repeating: y.lo)))
        let t2: V = ah * b.lo + al * b.hi
        let t3: V = p.lo + t2
        return fastTwoSum(p.hi, t3)
    }
}
