import DoubleWordArithmetic

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// `DoubleWordExp.expm1` and `DoubleWordLog1p.logOnePlus` on SIMD lanes, for the elementwise
// functions (T = log1p(e^(−|x|)) for four logits at once).
//
// Why the results and bounds are the scalar routines': as in DoubleWordExpLanes.swift, each
// lane goes through the scalar routine's IEEE operations in the same order (DoubleWordArithmetic's
// lane twoSum, fastTwoSum, twoProduct, twoSquare and DoubleWord.product, sameSignSum and
// anySignSum), the integer parts are the scalar bit manipulations on Int64 lanes, and only the table entries and libm's log1p/log (the starting
// guesses L0) are taken lane by lane. Scalings by 2^e (e in binary64's normal range, values
// normal) are exact multiplications, the same numbers `Double(sign:exponent:significand:)`
// gives. A lane whose regime or guards differ is not taken here: the caller computes it with
// the scalar routine. So each lane's value and bound are the scalar routine's, bit for bit
// (Tests/SoftmaxOracleTests: ElementwiseLaneTests).

extension DoubleWordExp {
    /// `expm1` on every lane: e^x − 1 as (hi, lo) with its relative error bound, each lane bit
    /// for bit the scalar `expm1` (its domain: 0 < x < 0.6, so t < 2^16 and i1 = t >> 8 < 256).
    @inline(__always)
    static func expm1<V: DoubleLanes>(_ x: V, _ tab: DoubleWordExpTable) -> (hi: V, lo: V, relativeError: V) {
        let u2 = unitRoundoffSquared
        let (tf, t) = integerPart(x * tab.inverseC)
        let tfSplit = veltkampSplit(tf)
        let p1 = twoProduct(tf, split: tfSplit, V(repeating: tab.c1), split: (V(repeating: tab.c1Split.hi), V(repeating: tab.c1Split.lo)))
        let a: V = x - p1.hi
        let p2 = twoProduct(tf, split: tfSplit, V(repeating: tab.c2), split: (V(repeating: tab.c2Split.hi), V(repeating: tab.c2Split.lo)))
        let b = twoSum(a, -p2.hi)
        let f = twoSum(b.hi, -p1.lo)
        var rl0: V = f.lo + b.lo
        rl0 = rl0 - p2.lo
        rl0 = rl0 - tf * tab.c3
        let r = twoSum(f.hi, rl0)
        let rh = r.hi, rl = r.lo
        let q = twoSquare(rh)
        let cube = twoProduct(q.hi, split: veltkampSplit(q.hi), rh, split: veltkampSplit(rh))
        var cubeTail: V = cube.lo + q.lo * rh
        cubeTail = cubeTail + 3 * q.hi * rl
        let cubeNorm = fastTwoSum(cube.hi, cubeTail)
        let sixthOfCube = DoubleWord.product(cubeNorm.hi, cubeNorm.lo, tab.sixth)
        var quarticFactor: V = (1.0 / 720) * rh + 1.0 / 120
        quarticFactor = quarticFactor * rh + 1.0 / 24
        let quartic: V = (q.hi * q.hi) * quarticFactor
        let a1 = twoSum(rh, 0.5 * q.hi)
        let b1 = twoSum(a1.hi, sixthOfCube.hi)
        var low: V = a1.lo + b1.lo
        low = low + rl
        let qr: V = 0.5 * q.lo + rh * rl
        low = low + qr
        low = low + sixthOfCube.lo
        low = low + quartic
        let p = fastTwoSum(b1.hi, low)
        // The tables, lane by lane (t = 0 lanes read entry 0 and discard it).
        var tm1h = V(), tm1l = V(), tm2h = V(), tm2l = V(), t1h = V(), t1l = V(), t2h = V(), t2l = V()
        let e = tab.entries
        for j in 0..<V.scalarCount {
            let i1 = Int(truncatingIfNeeded: t[j] >> 8), i2 = Int(truncatingIfNeeded: t[j] & 255)
            tm1h[j] = e[1024 + 2 * i1]; tm1l[j] = e[1024 + 2 * i1 + 1]
            tm2h[j] = e[1536 + 2 * i2]; tm2l[j] = e[1536 + 2 * i2 + 1]
            t1h[j] = e[2 * i1]; t1l[j] = e[2 * i1 + 1]
            t2h[j] = e[512 + 2 * i2]; t2l[j] = e[512 + 2 * i2 + 1]
        }
        let cross = DoubleWord.product(tm1h, tm1l, tm2h, tm2l)
        let am = DoubleWord.sameSignSum(tm1h, tm1l, tm2h, tm2l)
        let aPart = DoubleWord.sameSignSum(am.hi, am.lo, cross.hi, cross.lo)
        let tt = DoubleWord.product(t1h, t1l, t2h, t2l)
        let tp = DoubleWord.product(tt.hi, tt.lo, p.hi, p.lo)
        let sum = DoubleWord.anySignSum(aPart.hi, aPart.lo, tp.hi, tp.lo)
        let magA = magnitudeLanes(aPart.hi), magTP = magnitudeLanes(tp.hi)
        var absolute: V = 12 * u2 * magA + 18.3 * u2 * magTP
        absolute = absolute + 0x1p-117
        absolute = absolute + 3.1 * u2 * (magA + magTP)
        let result: V = magnitudeLanes(sum.hi) * (1 - 0x1p-50)
        let eps: V = ((absolute / result) * (1 + 0x1p-40)) * 1.01
        let zero = t .== 0
        return (sum.hi.replacing(with: p.hi, where: zero), sum.lo.replacing(with: p.lo, where: zero),
                eps.replacing(with: 13 * u2, where: zero))
    }
}

extension DoubleWordLog1p {
    /// log1p(s) on every lane as normalized (hi, lo)·2^exponent with its relative error bound.
    typealias Lanes<V: DoubleLanes> = (hi: V, lo: V, exponent: V.MaskStorage, relativeError: V)

    /// `logOnePlus` on every lane of s = sh + sl (ŝ·2^e as plain doubles, |ŝ − s| <= εs·s), every
    /// lane in regime (ii), 2^-60 <= sh <= 0.75: the scalar routine's operations and bound, lane
    /// by lane. Nil when a guard of the scalar routine fails on some lane (the caller then takes
    /// each lane through `logOnePlus`, which declines where that guard fails).
    @inline(__always)
    static func logOnePlusMiddle<V: DoubleLanes>(_ sh: V, _ sl: V, relativeError epsS: Double, _ tab: DoubleWordExpTable) -> Lanes<V>? {
        let u = unitRoundoff, u2 = unitRoundoffSquared
        var l0 = V()
        for j in 0..<V.scalarCount { l0[j] = log1p(sh[j]) }
        guard all((l0 .> 0) .& (l0 .< 0.6)) else { return nil }
        let e1 = DoubleWordExp.expm1(l0, tab)
        guard all((e1.hi .>= 0.5 * sh) .& (e1.hi .<= 2 * sh)) else { return nil }
        let dh: V = sh - e1.hi                       // exact (Sterbenz)
        let t: V = sl - e1.lo
        let d: V = dh + t
        let delta: V = d / (1 + e1.hi)
        guard all(magnitudeLanes(delta) .<= 0x1p-20) else { return nil }
        let l = twoSum(l0, delta)
        let magD = magnitudeLanes(d)
        var etaD: V = 1.01 * u2 * (sh + e1.hi) + u * magD
        etaD = etaD + 1.01 * e1.relativeError * e1.hi
        let dErr: V = etaD + 3.02 * u * magD
        let reach: V = magnitudeLanes(delta) + dErr
        let absolute: V = dErr + reach * reach
        let v = normalizedLanes(l.hi, l.lo, V.MaskStorage(repeating: 0))
        let eps: V = (1.01 * epsS + absolute / (l.hi * (1 - 0x1p-50))) * (1 + 0x1p-40)
        return (v.hi, v.lo, v.exponent, eps)
    }

    /// `logOnePlus` on every lane in regime (iii), sh > 0.75 (as `logOnePlusMiddle`).
    @inline(__always)
    static func logOnePlusHigh<V: DoubleLanes>(_ sh: V, _ sl: V, relativeError epsS: Double, _ tab: DoubleWordExpTable) -> Lanes<V>? {
        let u = unitRoundoff, u2 = unitRoundoffSquared
        let s = twoSum(sh, V(repeating: 1))          // DoubleWord.sum((sh, sl), 1)
        let y = fastTwoSum(s.hi, sl + s.lo)
        var l0 = V()
        for j in 0..<V.scalarCount { l0[j] = log(y.hi[j]) }
        guard all((l0 .> 0.5) .& (l0 .< 0x1p19)) else { return nil }
        let e = DoubleWordExp.exp(-l0, V(), tab)
        guard all((e.k .>= -1000) .& (e.k .<= 1000)) else { return nil }
        let z = DoubleWord.product(y.hi, y.lo, e.hi, e.lo)
        let scale: V = powerOfTwoLanes(e.k)
        let zh: V = z.hi * scale, zl: V = z.lo * scale
        guard all((zh .>= 0.5) .& (zh .<= 2)) else { return nil }
        let delta: V = (zh - 1) + zl
        guard all(magnitudeLanes(delta) .<= 0x1p-20) else { return nil }
        let l = twoSum(l0, delta)
        var dErr = V(repeating: (DoubleWordExp.relativeError + 8.1 * u2) * 1.001) + u * magnitudeLanes(delta)
        dErr = dErr + 2.02 * u2
        let reach: V = magnitudeLanes(delta) + dErr
        let quad: V = reach * reach
        let v = normalizedLanes(l.hi, l.lo, V.MaskStorage(repeating: 0))
        let eps: V = (1.01 * epsS + (dErr + quad) / (l.hi * (1 - 0x1p-50))) * (1 + 0x1p-40)
        return (v.hi, v.lo, v.exponent, eps)
    }
}

extension DoubleWordLog1p {
    /// `logOnePlus` on every lane in regime (i), s = (sh + sl)·2^e normalized (sh in [1, 2)) with
    /// e < −60: the product ŝ ⊗ (1 − ŝ_hi/2) and its constant bound, lane by lane. ŝ_hi/2 is the
    /// scalar routine's `scaled(sh, by: e − 1)`, RN(sh·2^(e−1)): exact for e >= −1021; for
    /// −1100 < e < −1021 (a subnormal half) it is RN((sh·2^(e+99))·2^-100), the first product
    /// exact (normal: sh·2^(e+99) >= 2^-1001) and the second the one rounding of the same exact
    /// value; 0 for e <= −1100, as the scalar routine takes it.
    @inline(__always)
    static func logOnePlusLow<V: DoubleLanes>(_ sh: V, _ sl: V, exponent e: V.MaskStorage, relativeError epsS: Double) -> Lanes<V> {
        let normalHalf = e .>= -1021
        let subnormalHalf = (e .> -1100) .& .!normalHalf
        let halfExponent = (e &- 1).replacing(with: e &+ 99, where: subnormalHalf)
            .replacing(with: 0, where: .!(normalHalf .| subnormalHalf))
        let product: V = sh * powerOfTwoLanes(halfExponent)
        let half: V = product.replacing(with: product * 0x1p-100, where: subnormalHalf)
            .replacing(with: 0, where: .!(normalHalf .| subnormalHalf))
        let l = DoubleWord.product(sh, sl, V(repeating: 1), -half)
        let v = normalizedLanes(l.hi, l.lo, e)
        return (v.hi, v.lo, v.exponent, V(repeating: roundedUp(1.01 * epsS + 8.1 * unitRoundoffSquared + 0x1p-112)))
    }
}
