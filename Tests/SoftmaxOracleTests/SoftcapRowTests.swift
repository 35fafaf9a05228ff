import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// SoftcapDifferences.swift and `DoubleWordTier.softcapSum`: the saturation threshold (a
/// saturated logit's term within 2^-110 of its sign's shared term), the differences d_j of both
/// same-side forms and the opposite-sides one within their stated bounds, and the row's s and
/// every kept e_j within theirs, against MPFR at 320 bits (2000 for the threshold).
@Suite("Double-word tier: softcap row, saturated logits shared")
struct SoftcapRowTests {
    /// Every reference is computed at this precision (error about 2^-310 relative, far below
    /// the bounds tested, 2^-110 and more).
    static let bits = 320

    /// c·tanh(v/c) at `bits` bits (or `precision`).
    static func z(_ v: Double, _ c: Double, precision: Int = bits) -> BigFloat {
        let r = BigFloat(precision: precision), cb = BigFloat(c, precision: 53)
        r.div(BigFloat(v, precision: 53), cb, .nearest)
        r.tanh(r, .nearest)
        r.mul(r, cb, .nearest)
        return r
    }

    /// (h + l)·2^k of a ScaledDoubleWord, exactly.
    static func big(_ v: ScaledDoubleWord) -> BigFloat {
        let r = BigFloat(precision: bits)
        r.add(BigFloat(v.hi, precision: 53), BigFloat(v.lo, precision: 53), .nearest)
        r.scale(r, byPowerOfTwo: v.exponent, .nearest)
        return r
    }

    /// |computed − exact|/|exact| as a double (rounded up).
    static func relativeError(_ computed: BigFloat, _ exact: BigFloat) -> Double {
        let r = BigFloat(precision: bits)
        r.sub(computed, exact, .nearest)
        r.div(r, exact, .nearest)
        return r.double(.up).magnitude
    }

    static let softcaps: [Double] = [1, 0.3, 5, 30, 50, 0.1, 0x1p-400, 0x1p-112, 0x1p-111, 0x1.8p-100, 0x1.8p399]

    @Test("the threshold: at x = ±threshold, c(1 − tanh(x/c)) < 2^-110 and e_j is its sign's shared term within 2^-110 (MPFR, 2000 bits)")
    func threshold() {
        let bits = 2000  // 1 − tanh(x/c) is about 2^-510 at c = 1.5·2^399
        ExponentRange.widest {
            for c in Self.softcaps {
                let x = SoftcapDifferences.threshold(softcap: c)
                let one = BigFloat(1, precision: 53), bound = BigFloat(0x1p-110, precision: 53)
                let theta = BigFloat(precision: bits)
                theta.div(Self.z(x, c, precision: bits), BigFloat(c, precision: 53), .nearest)
                theta.sub(one, theta, .nearest)
                theta.mul(theta, BigFloat(c, precision: 53), .nearest)  // c(1 − tanh(x/c))
                #expect(theta.compare(bound) < 0, "c \(c): θ = \(theta.double())")
                if c >= 0x1p-100 {  // and not far below: the threshold is not needlessly high
                    #expect(theta.compare(BigFloat(0x1p-116, precision: 53)) > 0, "c \(c): θ = \(theta.double())")
                }
                // e_j against the shared term, x_M = 2x (saturated: e_+ = 1) and x_M = 0.5c (below
                // c = 2^60: e^(−2c) underflows even MPFR's widest range past about −2^62).
                for xm in [2 * x, 0.5 * c] where c < 0x1p60 {
                    let zM = Self.z(xm, c, precision: bits)
                    for sign in [1.0, -1.0] where sign < 0 || xm > x {
                        let e = BigFloat(precision: bits), shared = BigFloat(precision: bits)
                        e.sub(Self.z(sign * x, c, precision: bits), zM, .nearest)
                        e.exp(e, .nearest)
                        if sign > 0 {
                            shared.set(1, .nearest)
                        } else {
                            shared.neg(BigFloat(c, precision: 53), .nearest)
                            shared.sub(shared, zM, .nearest)
                            shared.exp(shared, .nearest)
                        }
                        #expect(Self.relativeError(shared, e) < 0x1p-110, "c \(c), x_M \(xm), sign \(sign)")
                    }
                }
            }
        }
    }

    @Test("d_j (same side near and far, opposite sides) and d₋ within their stated relative bounds (MPFR, 320 bits)")
    func differences() {
        ExponentRange.widest {
            for c in Self.softcaps where c >= 0x1p-100 && c <= 0x1p100 {
                let thr = SoftcapDifferences.threshold(softcap: c)
                for xm in [3 * c, 0.5 * c, 0, -0.25 * c, -4 * c, 2 * thr] {
                    let row = SoftcapDifferences(softcap: c, max: xm, DoubleWordExpTable.shared)
                    let zM = Self.z(xm, c)
                    let others = [xm - 0x1p-30 * c, xm - 0.01 * c, xm - 0.5 * c, xm - c, xm - 3 * c, xm - 20 * c, 0.1 * c, -0.1 * c, -thr.nextDown]
                    for v in others where v < xm && v.magnitude < thr {
                        var out = false
                        guard let (d, eps) = row.difference(v, &out) else {
                            Issue.record("c \(c), x_M \(xm), x \(v): nil")
                            continue
                        }
                        let exact = BigFloat(precision: Self.bits)
                        exact.sub(Self.z(v, c), zM, .nearest)
                        #expect(Self.relativeError(Self.big(d), exact) <= eps, "c \(c), x_M \(xm), x \(v): bound \(eps)")
                    }
                    let (d, eps) = row.saturatedNegative()
                    let exact = BigFloat(precision: Self.bits)
                    exact.neg(BigFloat(c, precision: 53), .nearest)
                    exact.sub(exact, zM, .nearest)
                    #expect(Self.relativeError(Self.big(d), exact) <= eps, "c \(c), x_M \(xm): d₋ bound \(eps)")
                }
            }
        }
    }

    /// Logits times c: unsaturated ones, ties (with the maximum too), saturated ones of both
    /// signs at and beyond the threshold, and `extra` seeded ones over ±12c.
    static func row(c: Double, extra: Int, seed: UInt64, negative: Bool) -> [Double] {
        let thr = SoftcapDifferences.threshold(softcap: c)
        var x: [Double] = [3, -0.5, 0.25, 2, -7, 0, 3, -0.5, 40, -40, 0.25].map { $0 * c }
        x += [thr, -thr, 1.5 * thr, -1.5 * thr, thr.nextDown, -thr.nextDown, 3 * thr, 3 * thr]
        var state = seed
        for _ in 0..<extra {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            x.append((Double(state >> 11) * 0x1p-53 * 24 - 12) * c)
        }
        return negative ? x.map { $0 > 0 ? -$0 : $0 } : x
    }

    @Test("s and every kept e_j within their bounds; one thread and two give the same s (MPFR, 320 bits)")
    func rowSum() throws {
        let seed: UInt64 = 0x50F7_CA95
        for c in [1.0, 0.3, 5, 30, 50, 0.1] {
            for negative in [false, true] {
                let x = Self.row(c: c, extra: c == 1 ? 17_000 : 3000, seed: seed, negative: negative)  // two chunks need 16 384
                let one = try #require(x.withUnsafeBufferPointer { DoubleWordTier.softcapSum($0, target: 1, softcap: c, threads: 1, keepingTerms: true) },
                                       "c \(c), seed \(seed)")
                let two = try #require(x.withUnsafeBufferPointer { DoubleWordTier.softcapSum($0, target: 1, softcap: c, threads: 2, keepingTerms: true) })
                #expect(one.s.hi == two.s.hi && one.s.lo == two.s.lo && one.s.exponent == two.s.exponent && one.epsS == two.epsS,
                        "c \(c), seed \(seed)")
                ExponentRange.widest {
                    let zM = Self.z(x[one.maxIndex], c)
                    var terms: [BigFloat] = []
                    for (j, v) in x.enumerated() where j != one.maxIndex {
                        let e = BigFloat(precision: Self.bits)
                        e.sub(Self.z(v, c), zM, .nearest)
                        e.exp(e, .nearest)
                        terms.append(e)
                        if let kept = one.exps[j], j % 7 == 0 {  // every 7th term: the references are slow
                            let computed = Self.big(ScaledDoubleWord(kept.m, exponent: kept.k))
                            #expect(Self.relativeError(computed, e) <= one.termBound(v, at: j), "c \(c), x \(v), seed \(seed)")
                            #expect(one.termBound(v, at: j) <= one.epsE)
                        }
                    }
                    let s = BigFloat(precision: Self.bits)
                    s.sum(terms, .nearest)
                    #expect(Self.relativeError(Self.big(one.s), s) <= one.epsS, "c \(c), negative \(negative), seed \(seed): bound \(one.epsS)")
                }
            }
        }
    }
}

extension SoftcapRowTests {
    @Test("the chain factor 4E/(1 + E)² within its bound on both sides of E = 2^-110 (4Ê below it; MPFR, 320 bits)")
    func chain() {
        ExponentRange.widest {
            for c in [1.0, 0.3, 5, 50, 0.1] {
                // 2|a| around 110·ln 2 = 76.2: E on both sides of 2^-110, and far from it.
                for a in [38.0, 38.1, 38.12, 38.13, 38.2, 39, 0.5, 2, 300] {
                    for sign in [1.0, -1.0] {
                        let x = sign * a * c
                        let (chain, eps) = DoubleWordTier.softcapChain(x, DoubleWord(c, 0), epsA: DoubleWordTier.softcapQuotientError(c),
                                                                       DoubleWordExpTable.shared)
                        let e = BigFloat(precision: Self.bits), d = BigFloat(precision: Self.bits)
                        e.div(BigFloat(x.magnitude, precision: 53), BigFloat(c, precision: 53), .nearest)
                        e.scale(e, byPowerOfTwo: 1, .nearest)
                        e.neg(e, .nearest)
                        e.exp(e, .nearest)  // E
                        d.add(BigFloat(1, precision: 53), e, .nearest)
                        d.mul(d, d, .nearest)
                        e.scale(e, byPowerOfTwo: 2, .nearest)
                        e.div(e, d, .nearest)
                        #expect(Self.relativeError(Self.big(chain), e) <= eps, "c \(c), x \(x): bound \(eps)")
                    }
                }
            }
        }
    }
}
