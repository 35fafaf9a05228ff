import MPFR
@testable import SoftmaxOracle
import Testing

/// RefinedSoftcapGradient.swift: the saturation bound A_w (1 − tanh|a| < 2^-(w+11) beyond it),
/// the row's [P/S] with the saturated logits grouped (against MPFR at 2000 bits), the same
/// enclosure on one thread and on two, and rows whose cancelling outputs the grouped row
/// refines, with the MPFR path's outputs.
@Suite("Double-word tier: refined softcap gradient, saturated logits grouped")
struct RefinedSoftcapGradientTests {
    /// Digits of the references: every quantity below is computed at this precision, so its
    /// error (about 2^-1990 relative) is far below the enclosures' widths (2^-120 and less).
    static let bits = 2000

    /// The least binary64 x > 0 with RN(x/c) >= A (the saturation test's boundary).
    static func leastSaturated(_ bound: Double, _ c: Double) -> Double {
        var x = bound * c
        while x / c >= bound { x = x.nextDown }
        while x / c < bound { x = x.nextUp }
        return x
    }

    @Test("A_w at w = 128, 384: the least x with RN(x/c) >= A_w has 2^-(w+13) < 1 − tanh(x/c) < 2^-(w+11) (MPFR, 2000 bits)")
    func saturationBound() {
        ExponentRange.widest {
            for w in RefinedOutputs.precisions {
                let bound = RefinedSoftcapGradient.saturationBound(precision: w)
                for c in [1.0, 0.3, 5, 30, 50, 0x1p-400, 0x1.8p399] {
                    let x = Self.leastSaturated(bound, c)
                    let a = BigFloat(precision: Self.bits), t = BigFloat(precision: Self.bits)
                    a.div(BigFloat(x, precision: 53), BigFloat(c, precision: 53), .nearest)
                    t.tanh(a, .nearest)
                    t.sub(BigFloat(1, precision: 53), t, .nearest)  // 1 − tanh(a), 1860 bits left
                    let upper = BigFloat(precision: 53), lower = BigFloat(precision: 53)
                    upper.set(1, .nearest)
                    upper.scale(upper, byPowerOfTwo: -(w + 11), .nearest)
                    lower.scale(upper, byPowerOfTwo: -2, .nearest)
                    #expect(t.compare(upper) < 0, "w \(w), c \(c), x \(x): 1 − tanh = \(t.double())")
                    #expect(t.compare(lower) > 0, "w \(w), c \(c), x \(x): 1 − tanh = \(t.double())")
                }
            }
        }
    }

    /// P/S at `bits` bits: z_j = c·tanh(x_j/c), e_j = e^(z_j − z_M), every step to nearest.
    static func reference(_ x: [Double], _ p: [Double], c: Double) -> (ratio: BigFloat, e: [BigFloat], s: BigFloat) {
        ExponentRange.widest {
            let cb = BigFloat(c, precision: 53)
            func z(_ v: Double) -> BigFloat {
                let r = BigFloat(precision: bits)
                r.div(BigFloat(v, precision: 53), cb, .nearest)
                r.tanh(r, .nearest)
                r.mul(r, cb, .nearest)
                return r
            }
            let zMax = z(x.max()!)
            let e = x.map { v -> BigFloat in
                let r = z(v)
                r.sub(r, zMax, .nearest)
                r.exp(r, .nearest)
                return r
            }
            let s = BigFloat(precision: bits), total = BigFloat(precision: bits), ratio = BigFloat(precision: bits)
            s.sum(e, .nearest)
            total.sum(p.map { BigFloat($0, precision: 53) }, .nearest)
            ratio.div(total, s, .nearest)
            return (ratio, e, s)
        }
    }

    /// Logits times c: small ones (some equal, ±0), saturated ones of both signs around A_128 and
    /// A_384, far ones, ties with the maximum, and `extra` from a seeded generator (enough for
    /// two threads).
    static func row(c: Double, extra: Int, seed: UInt64) -> [Double] {
        var x: [Double] = [3, -0.5, 0.25, 2, -7, 0, 1e3, -1e3, 4e4, -4e4, 4e4, 3, -0.5, -0.5, -0.0].map { $0 * c }
        for w in RefinedOutputs.precisions {
            let a = Self.leastSaturated(RefinedSoftcapGradient.saturationBound(precision: w), c)
            x += [a, a.nextDown, -a, -a.nextDown, 1.5 * a, -1.5 * a]
        }
        var state = seed
        for _ in 0..<extra {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            x.append((Double(state >> 11) * 0x1p-53 * 6 - 3) * c)
        }
        return x
    }

    @Test("[P/S] at 128 and 384 bits holds P/S (MPFR, 2000 bits); one thread and two give the same ends")
    func rowEnclosure() {
        let seed: UInt64 = 0x5EED_50F7
        for c in [1.0, 0.75, 5, 30, 50] {
            let x = Self.row(c: c, extra: 1200, seed: seed)
            let p = x.indices.map { Double($0 % 17) / 16 }
            let exact = Self.reference(x, p, c: c).ratio
            x.withUnsafeBufferPointer { xs in
                p.withUnsafeBufferPointer { ps in
                    let one = RefinedSoftcapGradient(x: xs, p: ps, softcap: c, format: .f64, threads: 1)
                    let two = RefinedSoftcapGradient(x: xs, p: ps, softcap: c, format: .f64, threads: 2)
                    for w in RefinedOutputs.precisions {
                        ExponentRange.widest {
                            let a = IntervalArithmetic(precision: w)
                            let r = one.row(a).ratio, r2 = two.row(a).ratio
                            #expect(r.lo.compare(exact) <= 0 && r.hi.compare(exact) >= 0, "c \(c), w \(w), seed \(seed)")
                            #expect(r.lo.compare(r2.lo) == 0 && r.hi.compare(r2.hi) == 0, "c \(c), w \(w), seed \(seed)")
                        }
                    }
                }
            }
        }
    }

    @Test("a cancelling output (p_j = RN₂₀ or RN(q_j)) among saturated logits: the tier answers, with the MPFR path's outputs")
    func cancellingOutputs() throws {
        for c in [1.0, 5, 50] {
            // j = 2 (x = 0.25c) and j = 4 (x = −7c, saturated at neither precision's bound for
            // c = 1); the target r = 3/4 at j = 0.
            let x = Self.row(c: c, extra: 40, seed: 7)
            for j in [2, 4] {
                for digits in [20, 53] {  // q_j − p_j about 2^-21·q_j (128 bits) or 2^-54·q_j (384)
                    // p_j = t rounded, t = r·e_j/(S − e_j), so that q_j = e_j·(p_j + r)/S is near p_j.
                    var p = [Double](repeating: 0, count: x.count)
                    p[0] = 0.75
                    let (_, e, s) = Self.reference(x, p, c: c)
                    let t = BigFloat(precision: Self.bits)
                    ExponentRange.widest {
                        t.sub(s, e[j], .nearest)
                        t.div(e[j], t, .nearest)
                        t.mul(t, BigFloat(0.75, precision: 53), .nearest)
                    }
                    let tj = t.double()
                    let unit = Double(sign: .plus, exponent: tj.exponent - digits + 1, significand: 1)
                    p[j] = (tj / unit).rounded() * unit
                    for format in [Format.f64, .f32] {
                        var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
                        q.target = .probabilities(p)
                        q.softcap = c
                        try LossTierCoverageTests.expectTier(q, "softcap \(c), j \(j), \(digits) digits, \(format)")
                    }
                }
            }
        }
    }

    /// A long row (two threads, chunks) whose 8000 saturated outputs x_j = 100c all cancel
    /// (p_j = v rounded to 20 digits, v = e·r/(S − n·e) so that e·P/S = v: q_j − p_j about
    /// 2^-21·q_j, too wide for the double-word bound): every one is refined, the fixed-point
    /// part by chunks on two threads (`softcapGradient`), with the MPFR path's outputs.
    @Test("many refined outputs on two threads: the MPFR path's outputs")
    func manyRefinedOutputs() throws {
        for c in [1.0, 0.5] {
            var x: [Double] = []
            var state: UInt64 = 0x5EED_0013
            for _ in 0..<8400 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                x.append((Double(state >> 11) * 0x1p-53 * 6 - 3) * c)
            }
            let n = 8000
            x += [Double](repeating: 100 * c, count: n) + [200 * c]  // the maximum, saturated too
            var p = [Double](repeating: 0, count: x.count)
            p[0] = 0.75
            let (_, e, s) = Self.reference(x, p, c: c)
            let t = BigFloat(precision: Self.bits)
            ExponentRange.widest {
                t.mul(e[8400], BigFloat(Double(n), precision: 53), .nearest)
                t.sub(s, t, .nearest)
                t.div(e[8400], t, .nearest)
                t.mul(t, BigFloat(0.75, precision: 53), .nearest)
            }
            let v = t.double()
            let unit = Double(sign: .plus, exponent: v.exponent - 19, significand: 1)
            for j in 8400..<(8400 + n) { p[j] = (v / unit).rounded() * unit }
            var q = OracleRequest(function: .crossEntropyGrad, format: .f64, logits: x)
            q.target = .probabilities(p)
            q.softcap = c
            #expect(try Oracle(threads: 2).evaluateDoubleWordTier(q) != nil, "the tier declined; c \(c)")
            expectBits(try Oracle(threads: 2).evaluate(q).rounded, try Oracle(doubleWordTier: false).evaluate(q).rounded, "c \(c)")
        }
    }
}
