import DoubleWordArithmetic

// Fixed-point exponential for the `accurate` kernels' slow path (AccurateSlowPath.swift),
// allocation-free in its loop.
//
// Why this engine exists next to double-word arithmetic: the slow path recomputes outputs whose
// exact value is a difference of nearly equal quantities (logsumexp near 0, a probability-target
// gradient entry near 0). The number of bits that cancel there has no bound known in advance,
// so no fixed precision suffices (the double words' ~106 bits included): the exponentials are
// recomputed at 192, 384, 768, 1280 and 2432 bits until the result's error bound passes the
// 1/512-ulp test. Bound: `exp` returns e^x = 2^k·M with M's relative error below C units
// (C = |k| + 3 + 2^s·(2M + 6), one unit = 2^-64n), derived at `exp` below.
//
// A fixed-point number here has w = n + 1 little-endian 64-bit limbs: n fraction limbs and one
// integer limb, value = (Σ limb_i·2^(64i))·2^(-64n); one "unit" is 2^(-64n). Products and
// quotients truncate (error below one unit each), sums are exact.

struct FixedPointExp {
    /// Fraction limbs.
    let n: Int
    var w: Int { n + 1 }
    /// ln 2 truncated to n fraction limbs (error below one unit).
    private var ln2: [UInt64]
    /// Scratch: r, term, sum, a product buffer (2w limbs).
    private var r: [UInt64]
    private var term: [UInt64]
    private var sum: [UInt64]
    private var prod: [UInt64]
    private var kl: [UInt64]
    /// The squaring count: e^x = (e^(r/2^s))^(2^s).
    let squarings: Int

    init(fractionLimbs n: Int) {
        self.n = n
        ln2 = [UInt64](repeating: 0, count: n + 1)
        for i in 0..<n { ln2[n - 1 - i] = ln2Limbs[i] }
        r = [UInt64](repeating: 0, count: n + 1)
        term = r
        sum = r
        prod = [UInt64](repeating: 0, count: 2 * (n + 1))
        kl = r
        squarings = min(6 + n / 2, 16)
    }

    // MARK: limb helpers (fixed-width, in place)

    private static func isZero(_ a: [UInt64]) -> Bool {
        for v in a where v != 0 { return false }
        return true
    }

    /// a += b over the first `count` limbs (all of a's by default); returns the carry out of
    /// the top one (dropped by the fixed-point callers: their values stay far below 2^63).
    @discardableResult
    static func add(_ a: inout [UInt64], _ b: [UInt64], count: Int? = nil) -> UInt64 {
        addLimbs(&a, b, count: count ?? a.count, complementing: false)
    }

    /// a -= b over the first `count` limbs (all of a's by default; two's complement
    /// wrap-around when b > a).
    static func subtract(_ a: inout [UInt64], _ b: [UInt64], count: Int? = nil) {
        addLimbs(&a, b, count: count ?? a.count, complementing: true)
    }

    /// a += b over the first `count` limbs, or, `complementing`, a += ~b + 1: that is a − b
    /// modulo 2^(64·count), limb for limb what a subtraction with borrows gives. Returns the
    /// carry out of the top limb.
    @discardableResult
    private static func addLimbs(_ a: inout [UInt64], _ b: [UInt64], count: Int, complementing: Bool) -> UInt64 {
        var carry: UInt64 = complementing ? 1 : 0
        for i in 0..<count {
            let (s1, o1) = a[i].addingReportingOverflow(complementing ? ~b[i] : b[i])
            let (s2, o2) = s1.addingReportingOverflow(carry)
            a[i] = s2
            carry = (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
        }
        return carry
    }

    /// a = -a (two's complement).
    static func negate(_ a: inout [UInt64]) {
        var carry: UInt64 = 1
        for i in 0..<a.count {
            let (s, o) = (~a[i]).addingReportingOverflow(carry)
            a[i] = s
            carry = o ? 1 : 0
        }
    }

    /// a >>= bits (logical, truncating).
    static func shiftRight(_ a: inout [UInt64], _ bits: Int) {
        let count = a.count
        if bits <= 0 { return }
        let q = bits >> 6, s = bits & 63
        for i in 0..<count {
            let j = i + q
            let lo: UInt64 = j < count ? a[j] : 0
            let hi: UInt64 = j + 1 < count ? a[j + 1] : 0
            a[i] = s == 0 ? lo : (lo >> UInt64(s)) | (hi << UInt64(64 - s))
        }
    }

    /// Adds d·2^(64n) (truncated toward zero below one unit) into a, for |d| < 2^62.
    static func addDouble(_ a: inout [UInt64], _ d: Double, fractionLimbs n: Int) {
        guard d != 0 else { return }
        let mag = d.magnitude
        let e = Int(mag.exponent)
        let s1 = max(-1000, min(1000, 52 - e))
        let sig = UInt64(mag * powerOfTwo(s1) * powerOfTwo(52 - e - s1))   // mag = sig·2^(e-52), exact
        // sig·2^offset in limbs: low part at limb q, high part at q + 1.
        let offset = e - 52 + 64 * n
        var lo: UInt64 = 0, hi: UInt64 = 0, q = 0
        if offset >= 0 {
            q = offset >> 6
            let sh = offset & 63
            lo = sig << UInt64(sh)
            hi = sh == 0 ? 0 : sig >> UInt64(64 - sh)
        } else if offset > -64 {
            lo = sig >> UInt64(-offset)
        } else {
            return
        }
        var carry: UInt64 = 0
        var i = q
        while i < a.count {
            let v: UInt64 = i == q ? lo : (i == q + 1 ? hi : 0)
            if i > q + 1 && carry == 0 { break }
            if d > 0 {
                let (s1, o1) = a[i].addingReportingOverflow(v)
                let (s2, o2) = s1.addingReportingOverflow(carry)
                a[i] = s2
                carry = (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            } else {
                let (s1, o1) = a[i].subtractingReportingOverflow(v)
                let (s2, o2) = s1.subtractingReportingOverflow(carry)
                a[i] = s2
                carry = (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            i += 1
        }
    }

    /// prod = a·b (full), for nonnegative a, b; the fixed-point product (truncated) is
    /// prod[n ..< n + w].
    private static func multiply(_ a: [UInt64], _ b: [UInt64], scratch prod: inout [UInt64]) {
        let w = a.count
        for i in 0..<prod.count { prod[i] = 0 }
        for i in 0..<w {
            let ai = a[i]
            if ai == 0 { continue }
            var carry: UInt64 = 0
            for j in 0..<w {
                let (hi, lo) = ai.multipliedFullWidth(by: b[j])
                let (s1, o1) = prod[i + j].addingReportingOverflow(lo)
                let (s2, o2) = s1.addingReportingOverflow(carry)
                prod[i + j] = s2
                carry = hi &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            prod[i + w] = carry
        }
    }

    /// a /= v (truncating), a nonnegative.
    private static func divide(_ a: inout [UInt64], by v: UInt64) {
        var rem: UInt64 = 0
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            let (q, r) = v.dividingFullWidth((rem, a[i]))
            a[i] = q
            rem = r
        }
    }

    // MARK: exp

    /// e^x = 2^k·M for a double-word x with |x| <= 16000, M in [0.70, 1.42] as a fixed-point
    /// number (returned in `mantissa`, w limbs); returns k and the relative error bound of M in
    /// units (2^-64n).
    ///
    /// Reduction: k = round(x/ln2), r = x - k·ln2 in fixed point: x.hi and x.lo each truncate
    /// below one unit, ln2 is truncated by less than one unit and multiplied exactly by k, so
    /// r is within |k| + 2 units (an absolute error in r is a relative error in e^r). Then
    /// r' = r/2^s (one unit), the Taylor series of e^r' (|r'| < 2^-s) with each term's product
    /// and quotient truncated (2 units per term M terms, plus 2 for the truncated tail), and s
    /// squarings of a value >= 0.70 (each truncation 1.5 units relative, and doubling the
    /// relative error so far). Bound: C = |k| + 3 + 2^s·(2M + 6) units.
    mutating func exp(_ x: DoubleWord, mantissa out: inout [UInt64]) -> (k: Int, errorUnits: Double) {
        let k = Int((x.hi * 0x1.71547652b82fep0).rounded(.toNearestOrEven))
        for i in 0..<w { r[i] = 0 }
        FixedPointExp.addDouble(&r, x.hi, fractionLimbs: n)
        FixedPointExp.addDouble(&r, x.lo, fractionLimbs: n)
        // r -= k·ln2
        for i in 0..<w { kl[i] = ln2[i] }
        var carry: UInt64 = 0
        let km = UInt64(k.magnitude)
        for i in 0..<w {
            let (hi, lo) = kl[i].multipliedFullWidth(by: km)
            let (s, o) = lo.addingReportingOverflow(carry)
            kl[i] = s
            carry = hi &+ (o ? 1 : 0)
        }
        if k >= 0 { FixedPointExp.subtract(&r, kl) } else { FixedPointExp.add(&r, kl) }
        let negative = r[w - 1] >> 63 == 1
        if negative { FixedPointExp.negate(&r) }
        FixedPointExp.shiftRight(&r, squarings)
        // Taylor: sum = Σ (±r')^i / i!
        for i in 0..<w { sum[i] = 0; term[i] = 0 }
        sum[n] = 1
        term[n] = 1
        var m = 0
        for i in 1... {
            FixedPointExp.multiply(term, r, scratch: &prod)
            for j in 0..<w { term[j] = prod[j + n] }
            FixedPointExp.divide(&term, by: UInt64(i))
            if FixedPointExp.isZero(term) { break }
            m = i
            if negative && i & 1 == 1 { FixedPointExp.subtract(&sum, term) } else { FixedPointExp.add(&sum, term) }
            if i > 64 * n { break }
        }
        for _ in 0..<squarings {
            FixedPointExp.multiply(sum, sum, scratch: &prod)
            for j in 0..<w { sum[j] = prod[j + n] }
        }
        for i in 0..<w { out[i] = sum[i] }
        let c = Double(k.magnitude) + 3 + Double(1 << squarings) * Double(2 * m + 6)
        return (k, c)
    }
}
