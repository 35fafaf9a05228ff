import DoubleWordArithmetic

// A small arbitrary-precision binary floating-point type for the `accurate` kernels' slow path.
//
// Why it exists next to double-word arithmetic (DoubleWordArithmetic): the outputs the slow path
// recomputes cancel by an amount not known in advance, so they need precision that grows until
// the error bound passes (up to 2432 bits), which a fixed-size double word cannot give. Bound:
// every operation errs by below 2^(2-p) relative to its largest operand or result (p = 64n bits,
// truncation); the callers add these up in units of 2^-p (see below).
//
// The fast path (double-word, ~100 bits) meets the 2-ulp bound except where an output is a
// difference of nearly equal quantities whose size is not known in advance:
// logsumexp = m + log1p(s) when m < 0 and log1p(s) ≈ -m, and the probability-target gradient
// softmax_i·Σp - p_i when p_i ≈ softmax_i·Σp. There the fast path's error bound fails its test
// and the kernel recomputes that output at 192, 384, 768, 1280, 2432 bits (exponentials in
// fixed point, FixedPointExp.swift; the rest in MPFloat) until the bound passes (the CORE-MATH "rounding test, then accurate phase" structure).
//
// Arithmetic truncates (rounds toward zero); with n limbs (precision p = 64n) every operation
// has an error below 2^(2-p) relative to the largest of its operands and result. Error bounds
// are carried by the callers in units of 2^-p ("C units": relative error <= C·2^-p).

struct MPFloat: Sendable {
    /// Sign of the value.
    var negative: Bool
    /// Binary exponent: a nonzero value lies in [2^(exponent-1), 2^exponent).
    var exponent: Int
    /// Significand, little-endian 64-bit limbs; the top bit of the last limb is set when the
    /// value is nonzero, all limbs are zero otherwise.
    var limbs: [UInt64]

    var n: Int { limbs.count }
    var isZero: Bool { limbs[limbs.count - 1] == 0 }

    init(zero n: Int) {
        negative = false
        exponent = 0
        limbs = [UInt64](repeating: 0, count: n)
    }

    /// The exact value of a finite binary64 number (n >= 1).
    init(_ d: Double, limbs n: Int) {
        self.init(zero: n)
        guard d != 0, d.isFinite else { return }
        let mag = d.magnitude
        let e = Int(mag.exponent)
        // mag·2^(52-e) is an integer in [2^52, 2^53): scale in two exact steps.
        let s1 = max(-1000, min(1000, 52 - e))
        let s2 = 52 - e - s1
        let sig = UInt64(mag * powerOfTwo(s1) * powerOfTwo(s2))
        negative = d < 0
        exponent = e + 1
        limbs[n - 1] = sig << 11
    }

    /// The value x.hi + x.lo (truncated to n limbs if the two parts are far apart).
    init(_ x: DoubleWord, limbs n: Int) {
        self = MPFloat(x.hi, limbs: n) + MPFloat(x.lo, limbs: n)
    }

    /// The most significant `n` limbs of ln 2, from `ln2Limbs` (error below 2^-64n).
    static func ln2(limbs n: Int) -> MPFloat {
        var r = MPFloat(zero: n)
        r.exponent = 0
        for i in 0..<n { r.limbs[n - 1 - i] = ln2Limbs[i] }
        return r
    }

    // MARK: Normalization

    /// Bits [pos, pos + 64) of the integer whose little-endian limbs are `buf` (0 outside).
    @inline(__always)
    private static func extract64(_ buf: [UInt64], _ pos: Int) -> UInt64 {
        let q = pos >> 6
        let r = pos & 63
        let lo: UInt64 = (q >= 0 && q < buf.count) ? buf[q] : 0
        if r == 0 { return lo }
        let hi: UInt64 = (q + 1 >= 0 && q + 1 < buf.count) ? buf[q + 1] : 0
        return (lo >> UInt64(r)) | (hi << UInt64(64 - r))
    }

    /// The value (Σ buf[i]·2^(64i))·2^scale, truncated to n limbs.
    static func make(_ buf: [UInt64], scale: Int, negative: Bool, limbs n: Int) -> MPFloat {
        guard let top = buf.lastIndex(where: { $0 != 0 }) else { return MPFloat(zero: n) }
        let bitLength = 64 * top + 64 - buf[top].leadingZeroBitCount
        var r = MPFloat(zero: n)
        r.negative = negative
        r.exponent = scale + bitLength
        let shift = bitLength - 64 * n
        for i in 0..<n { r.limbs[i] = extract64(buf, shift + 64 * i) }
        return r
    }

    // MARK: Arithmetic

    /// Compares magnitudes: -1, 0, 1.
    static func compareMagnitudes(_ a: MPFloat, _ b: MPFloat) -> Int {
        if a.isZero { return b.isZero ? 0 : -1 }
        if b.isZero { return 1 }
        if a.exponent != b.exponent { return a.exponent < b.exponent ? -1 : 1 }
        for i in stride(from: a.n - 1, through: 0, by: -1) where a.limbs[i] != b.limbs[i] {
            return a.limbs[i] < b.limbs[i] ? -1 : 1
        }
        return 0
    }

    static prefix func - (x: MPFloat) -> MPFloat {
        var r = x
        if !r.isZero { r.negative.toggle() }
        return r
    }

    /// a + b. Error below 2^(1-64n)·max(|a|, |b|) (one guard limb) plus a final truncation
    /// below 2^(1-64n)·|a + b|.
    static func + (a: MPFloat, b: MPFloat) -> MPFloat {
        if b.isZero { return a }
        if a.isZero { return b }
        let (big, small) = compareMagnitudes(a, b) >= 0 ? (a, b) : (b, a)
        let n = big.n
        let d = big.exponent - small.exponent
        // Both scaled to 2^(big.exponent - 64(n+1)): big's limbs shifted up one limb.
        var acc = [UInt64](repeating: 0, count: n + 2)
        for i in 0..<n { acc[i + 1] = big.limbs[i] }
        var sm = [UInt64](repeating: 0, count: n + 1)
        if d < 64 * (n + 1) {
            var ext = [UInt64](repeating: 0, count: n + 1)
            for i in 0..<n { ext[i + 1] = small.limbs[i] }
            for i in 0...n { sm[i] = extract64(ext, 64 * i + d) }
        }
        if big.negative == small.negative {
            acc[n + 1] = FixedPointExp.add(&acc, sm, count: n + 1)
        } else {
            FixedPointExp.subtract(&acc, sm, count: n + 1)  // |big| >= |small|: no borrow out
        }
        return make(acc, scale: big.exponent - 64 * (n + 1), negative: big.negative, limbs: n)
    }

    static func - (a: MPFloat, b: MPFloat) -> MPFloat { a + (-b) }

    /// a · b, relative error below 2^(1-64n).
    static func * (a: MPFloat, b: MPFloat) -> MPFloat {
        let n = a.n
        if a.isZero || b.isZero { return MPFloat(zero: n) }
        var prod = [UInt64](repeating: 0, count: 2 * n)
        for i in 0..<n {
            var carry: UInt64 = 0
            let ai = a.limbs[i]
            if ai == 0 { continue }
            for j in 0..<n {
                let (hi, lo) = ai.multipliedFullWidth(by: b.limbs[j])
                let (s1, o1) = prod[i + j].addingReportingOverflow(lo)
                let (s2, o2) = s1.addingReportingOverflow(carry)
                prod[i + j] = s2
                carry = hi &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
            }
            prod[i + n] = carry
        }
        return make(prod, scale: a.exponent + b.exponent - 128 * n,
                    negative: a.negative != b.negative, limbs: n)
    }

    /// a · v for a small positive integer v, relative error below 2^(1-64n).
    func multiplied(by v: UInt64) -> MPFloat {
        if isZero || v == 0 { return MPFloat(zero: n) }
        var buf = [UInt64](repeating: 0, count: n + 1)
        var carry: UInt64 = 0
        for i in 0..<n {
            let (hi, lo) = limbs[i].multipliedFullWidth(by: v)
            let (s, o) = lo.addingReportingOverflow(carry)
            buf[i] = s
            carry = hi &+ (o ? 1 : 0)
        }
        buf[n] = carry
        return MPFloat.make(buf, scale: exponent - 64 * n, negative: negative, limbs: n)
    }

    /// a / v for a positive integer v, relative error below 2^(1-64n).
    func divided(by v: UInt64) -> MPFloat {
        if isZero { return self }
        // Dividend: the limbs with one zero guard limb below.
        var q = [UInt64](repeating: 0, count: n + 1)
        var rem: UInt64 = 0
        for i in stride(from: n, through: 0, by: -1) {
            let limb: UInt64 = i == 0 ? 0 : limbs[i - 1]
            let (quo, r) = v.dividingFullWidth((rem, limb))
            q[i] = quo
            rem = r
        }
        return MPFloat.make(q, scale: exponent - 64 * (n + 1), negative: negative, limbs: n)
    }

    /// x · 2^k, exact.
    func scaled(by k: Int) -> MPFloat {
        if isZero { return self }
        var r = self
        r.exponent += k
        return r
    }

    /// The value as an extended-range double-word, relative error below 2^-104.
    var xw: ScaledDoubleWord {
        if isZero { return .zero }
        let top = limbs[n - 1]
        let next: UInt64 = n >= 2 ? limbs[n - 2] : 0
        // top has its bit 63 set: h = top's upper 53 bits (exact), rest = the lower 11 bits of
        // top and the next limb (one rounding, 2^-53 of a part below 2^-52 of the value).
        let h = Double(top & ~UInt64(0x7FF)) * 0x1p-63
        let rest = (Double(top & 0x7FF) * 0x1p64 + Double(next)) * 0x1p-127
        let m = fastTwoSum(h, rest)
        let signed = negative ? -m : m
        return ScaledDoubleWord(signed, exponent: exponent - 1)
    }

    /// An approximation of the value as a Double (for choosing reductions), +-inf if huge.
    var approximateDouble: Double { xw.doubleValue }

    /// log2 of the magnitude, rounded down (the exponent of the leading bit).
    var log2Floor: Int { exponent - 1 }
}

/// ln 2 in binary: 40 limbs of 64 bits after the binary point, most significant first
/// (mpmath at 3000 bits; the first limb is 0xb17217f7d1cf79ab, i.e. ln2 = 0x0.b17217f7d1cf79ab...).
let ln2Limbs: [UInt64] = [
    0xb17217f7d1cf79ab, 0xc9e3b39803f2f6af, 0x40f343267298b62d, 0x8a0d175b8baafa2b,
    0xe7b876206debac98, 0x559552fb4afa1b10, 0xed2eae35c1382144, 0x27573b291169b825,
    0x3e96ca16224ae8c5, 0x1acbda11317c387e, 0xb9ea9bc3b136603b, 0x256fa0ec7657f74b,
    0x72ce87b19d6548ca, 0xf5dfa6bd38303248, 0x655fa1872f20e3a2, 0xda2d97c50f3fd5c6,
    0x07f4ca11fb5bfb90, 0x610d30f88fe551a2, 0xee569d6dfc1efa15, 0x7d2e23de1400b396,
    0x17460775db8990e5, 0xc943e732b479cd33, 0xcccc4e659393514c, 0x4c1a1e0bd1d6095d,
    0x25669b333564a337, 0x6a9c7f8a5e148e82, 0x074db6015cfe7aa3, 0x0c480a5417350d2c,
    0x955d5179b1e17b9d, 0xae313cdb6c606cb1, 0x078f735d1b2db31b, 0x5f50b5185064c18b,
    0x4d162db3b365853d, 0x7598a1951ae273ee, 0x5570b6c68f969834, 0x96d4e6d330af889b,
    0x44a02554731cdc8e, 0xa17293d1228a4ef9, 0x8d6f5177fbcf0755, 0x268a5c1f9538b982,
]

/// Precisions (in 64-bit limbs) of the slow path's escalation: 192 ... 2432 bits.
let mpLevels = [3, 6, 12, 20, 38]
