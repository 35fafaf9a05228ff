import Foundation
import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// log_softmax_backward on the double-word tier (DoubleWordTier/BackwardOutputs.swift): the signed
/// sum G at its stated bound (the exact sum from MPFR), and outputs equal to the MPFR path's
/// (an oracle without the tier), including outputs that cancel so deeply that only the refined
/// MPFR intervals certify them.
@Suite("log_softmax_backward on the double-word tier")
struct BackwardTierTests {
    /// |Ĝ − G|/|G| from exact MPFR arithmetic.
    static func relativeError(_ total: ScaledDoubleWord, _ v: [Double]) -> Double {
        ExponentRange.widest {
            let g = ExactArithmetic.sum(v.map(ExactArithmetic.value))
            let ghat = BigFloat(precision: 2200)
            let part = BigFloat(precision: 53)
            part.scale(BigFloat(total.hi, precision: 53), byPowerOfTwo: total.exponent, .nearest)
            ghat.set(part, .nearest)
            part.scale(BigFloat(total.lo, precision: 53), byPowerOfTwo: total.exponent, .nearest)
            ghat.add(ghat, part, .nearest)  // exact at 2200 bits
            let diff = BigFloat(precision: 64)
            diff.sub(ghat, g, .nearest)
            diff.div(diff, g, .nearest)
            return diff.double(.nearest).magnitude
        }
    }

    /// v_0 = 1 sets 2^top = 2 (units of 2^-125); v_1 = −(1 − 2^-20) leaves G ≈ 2^-20, so
    /// A = n·2^-125/2^-20 = n·2^-105 dominates ε; the other n − 2 terms lie just below one unit
    /// and are truncated to 0, each losing almost a whole unit: the error approaches A.
    @Test("the signed sum's error reaches its bound ε and stays within it", arguments: [1 << 10, 1 << 14])
    func signedTotalAtTheBound(n: Int) throws {
        for sign in [1.0, -1.0] {
            var v = [sign, -sign * (1 - 0x1p-20)]
            v += Array(repeating: sign * 0x1p-125 * (1 - 0x1p-52), count: n - 2)
            let (total, eps) = try #require(v.withUnsafeBufferPointer { DoubleWordTier.signedTotal($0) })
            #expect((total.hi < 0) == (sign < 0))
            let err = Self.relativeError(total, v)
            #expect(err <= eps, "n \(n) sign \(sign): error \(err) over the bound \(eps)")
            #expect(err >= 0.99 * eps * Double(n - 2) / Double(n) - FixedPointSum.conversionError,
                    "n \(n): the bound is far from the error (\(err) vs \(eps)): not tested at the bound")
        }
    }

    @Test("G too small against the dy_j (A > 2^-90), or 0, declines; a subnormal largest too")
    func signedTotalDeclines() {
        // G = 2^-40 after 2^-125-unit truncations of n = 2^10 terms: A = 2^10·2^-125/2^-40 = 2^-75.
        var v = [1.0, -(1 - 0x1p-40)]
        v += Array(repeating: 0x1p-126, count: 1 << 10)
        #expect(v.withUnsafeBufferPointer { DoubleWordTier.signedTotal($0) } == nil)
        #expect([1.0, -1.0].withUnsafeBufferPointer { DoubleWordTier.signedTotal($0) } == nil)
        #expect([0.0, -0.0].withUnsafeBufferPointer { DoubleWordTier.signedTotal($0) } == nil)
        #expect([0x1p-1070, 0x1p-1073].withUnsafeBufferPointer { DoubleWordTier.signedTotal($0) } == nil)
    }

    /// The MPFR path's values (an oracle without the tier), and the tier's, which must have
    /// answered.
    static func compare(_ x: [Double], _ dy: [Double], _ format: Format, _ note: String,
                        function: OracleFunction = .logSoftmaxBackward) throws {
        let q = OracleRequest(function: function, format: format, logits: x, gradOutput: dy)
        let want = try Oracle(doubleWordTier: false).evaluate(q)
        let got = try Oracle().evaluate(q)
        #expect(got.tier == .doubleWord, "\(note): the tier declined")
        #expect(got.rounded.map(\.bitPattern) == want.rounded.map(\.bitPattern), "\(note)")
    }

    @Test("random rows: the tier's values are the MPFR path's", arguments: [Format.f64, .f32, .bf16])
    func randomRows(format: Format) throws {
        var rng = SplitMix64(seed: 0xB4C4_7135)
        for k in [2, 7, 300, 3000] {
            let x = (0..<k).map { _ in rng.uniform(-12, 12) }
            let dy = (0..<k).map { _ in rng.oneIn(5) ? 0 : rng.uniform(-3, 3) }
            try Self.compare(x, dy, format, "k \(k) \(format)")
        }
        // −inf logits (their outputs are dy_i exactly) and a huge spread of dy.
        try Self.compare([0, -.infinity, 3, 1, -.infinity], [1e-300, -2, 1e300, 0, 0], format, "−inf logits")
    }

    /// e4m3fn has no infinity: an output past 464 in magnitude rounds to NaN, which the MPFR path
    /// gives as +NaN (`Format.round`); the double-word certifier's NaN for a negative output had
    /// its sign bit set (found by random requests: bytes differed from the MPFR path's).
    @Test("e4m3fn overflows of negative outputs give the MPFR path's NaN")
    func e4m3fnOverflow() throws {
        try Self.compare([0, 1, 2, 3], [-1000, 500, -600, 2], .e4m3fn, "overflows")
        try Self.compare([0, 1, 2, 3, -1], [-3000, 5000, -600, 2, -1e10], .e4m3fn, "overflows of both signs")
    }

    /// dy_0 = y_0·(G − dy_0) + (the nearest double's residue): dx_0 = dy_0 − y_0·G is about
    /// 2^-53·dy_0, a cancellation of about 2^53 that the double-word enclosure (2^-100·|q|)
    /// cannot certify: that output is refined in MPFR (at 384 bits), the row stays on the tier.
    @Test("an output cancelling by 2^53 is refined in MPFR and equals the MPFR path's")
    func refinedOutput() throws {
        var rng = SplitMix64(seed: 0x7E5_0001)
        let k = 500
        let x = [4.0] + (0..<(k - 1)).map { _ in rng.uniform(-6, 3) }
        var dy = [0.0] + (0..<(k - 1)).map { _ in rng.uniform(-2, 2) }
        // y_0 and G_rest = Σ_{j>0} dy_j in MPFR at 300 bits; dy_0 = RN(y_0·G_rest/(1 − y_0)).
        let dy0: Double = ExponentRange.widest {
            let w = IntervalArithmetic(precision: 300)
            let s = w.sum(x.map { w.exp(w.sub(w.point($0), w.point(4))) })
            let y = w.div(w.one, s)
            let rest = Interval(point: ExactArithmetic.sum(dy.dropFirst().map(ExactArithmetic.value)))
            let v = w.div(w.mul(y, rest), w.sub(w.one, y))
            return v.lo.double(.nearest)
        }
        dy[0] = dy0
        try Self.compare(x, dy, .f64, "refined output 0")
        // Without the refinement the double-word outputs alone decline the row.
        x.withUnsafeBufferPointer { xb in
            dy.withUnsafeBufferPointer { db in
                #expect(DoubleWordTier.logSoftmaxBackward(xb, db, .f64, threads: 1, refine: false) == nil)
                #expect(DoubleWordTier.logSoftmaxBackward(xb, db, .f64, threads: 1) != nil)
            }
        }
    }
}

extension BackwardTierTests {
    /// dy = the rounded softmax of x: dx_i = dy_i − y_i·Σdy cancels to about 2^-53·y_i at every
    /// index, so no double-word output certifies. Refining all of them took 1.76x the MPFR
    /// path's time (the review: K = 10^5, 1323 against 750 ms); past `refinedLimit` (n/8 + 64)
    /// the row is declined instead, and the MPFR path gives the same values.
    @Test("a row where most outputs would be refined is declined to the MPFR path")
    func tooManyRefined() throws {
        var rng = SplitMix64(seed: 0x7E5_0002)
        let k = 1000
        let x = (0..<k).map { _ in rng.uniform(-4, 4) }
        let m = x.max()!
        let e = x.map { Foundation.exp($0 - m) }
        let total = e.reduce(0, +)
        let dy = e.map { $0 / total }
        x.withUnsafeBufferPointer { xb in
            dy.withUnsafeBufferPointer { db in
                #expect(DoubleWordTier.logSoftmaxBackward(xb, db, .f64, threads: 1) == nil)
            }
        }
        let q = OracleRequest(function: .logSoftmaxBackward, format: .f64, logits: x, gradOutput: dy)
        #expect(try Oracle().evaluate(q).rounded.map(\.bitPattern)
                == Oracle(doubleWordTier: false).evaluate(q).rounded.map(\.bitPattern))
    }
}

/// softmax_backward on the double-word tier (DoubleWordTier/SoftmaxBackwardOutputs.swift): each
/// double-word output's enclosure at its stated bound (exact values from 300-bit MPFR), and
/// outputs equal to the MPFR path's, including outputs whose dy_i − ⟨dy, y⟩ cancels so deeply
/// that only the refined MPFR intervals certify them.
@Suite("softmax_backward on the double-word tier")
struct SoftmaxBackwardTierTests {
    static func compare(_ x: [Double], _ dy: [Double], _ format: Format, _ note: String) throws {
        try BackwardTierTests.compare(x, dy, format, note, function: .softmaxBackward)
    }

    /// y_i·(dy_i − Σ y_j·dy_j) at 300 bits (an enclosure far narrower than the bound tested).
    static func exact(_ x: [Double], _ dy: [Double], _ i: Int) -> BigFloat {
        ExponentRange.widest {
            let w = IntervalArithmetic(precision: 300)
            let m = x.max()!
            let e = x.map { w.exp(w.sub(w.point($0), w.point(m))) }
            let s = w.sum(e)
            let t = w.sum(e.indices.map { w.mul(e[$0], w.point(dy[$0])) })
            let v = w.div(w.mul(e[i], w.sub(w.point(dy[i]), w.div(t, s))), s)
            return v.lo
        }
    }

    @Test("every double-word output lies within its stated bound of the exact value")
    func enclosuresHold() throws {
        var rng = SplitMix64(seed: 0x5B_2026)
        for k in [2, 9, 400] {
            let x = (0..<k).map { _ in rng.uniform(-20, 20) }
            let dy = (0..<k).map { _ in rng.uniform(-3, 3) * (rng.oneIn(3) ? 1e-200 : 1) }
            try x.withUnsafeBufferPointer { xb in
                try dy.withUnsafeBufferPointer { db in
                    let scan = try #require(DoubleWordTier.sumScan(xb, threads: 1))
                    let maxGrad = db.map(\.magnitude).max()!
                    var checked = 0
                    _ = DoubleWordTier.withOutputs(count: k) { slots in
                        let store = DoubleWordTier.ExpStore(slots: slots)
                        guard let row = DoubleWordTier.rowSum(xb, threads: 1, store: store, compact: false, scan: scan),
                              let t = DoubleWordTier.weightedTotal(xb, db, store, maxIndex: row.maxIndex, top: binade(maxGrad) + 2)
                        else { return false }
                        let (inverse, epsInverse) = DoubleWordTier.inverseOfSum(row)
                        let o = SoftmaxBackwardOutputs(x: xb, dy: db, store: store, row: row, inverse: inverse, epsInverse: epsInverse,
                                                       weighted: t, maxGrad: maxGrad, marked: false, certifier: DoubleWordCertifier(.f64))
                        for i in 0..<k {
                            guard let (z, rho) = o.enclosure(i), rho.isFinite else { continue }
                            // |ẑ − exact| <= ρ·|ẑ|, in 300-bit arithmetic.
                            let ok: Bool = ExponentRange.widest {
                                let zv = BigFloat(precision: 300), part = BigFloat(precision: 300), d = BigFloat(precision: 300)
                                zv.scale(BigFloat(z.hi, precision: 53), byPowerOfTwo: z.exponent, .nearest)
                                part.scale(BigFloat(z.lo, precision: 53), byPowerOfTwo: z.exponent, .nearest)
                                zv.add(zv, part, .nearest)
                                d.sub(zv, Self.exact(x, dy, i), .up)
                                d.abs(d, .up)
                                let bound = BigFloat(precision: 300)
                                bound.abs(zv, .nearest)
                                bound.mul(bound, BigFloat(rho, precision: 53), .down)
                                return d.compare(bound) <= 0
                            }
                            #expect(ok, "k \(k) output \(i)")
                            checked += 1
                        }
                        return false
                    }
                    #expect(checked > 0, "k \(k): no output had a double-word enclosure")
                }
            }
        }
    }

    @Test("random rows: the tier's values are the MPFR path's", arguments: [Format.f64, .f32, .bf16, .e4m3fn])
    func randomRows(format: Format) throws {
        var rng = SplitMix64(seed: 0x50F7_0001)
        for k in [2, 7, 300, 3000] {
            let x = (0..<k).map { _ in rng.uniform(-12, 12) }
            let dy = (0..<k).map { _ in rng.oneIn(5) ? 0 : rng.uniform(-3, 3) * (format == .e4m3fn ? 1e4 : 1) }
            try Self.compare(x, dy, format, "k \(k) \(format)")
        }
        // (max|dy| within [2^-900, 2^900]: the tier's range for softmax_backward.)
        try Self.compare([0, -.infinity, 3, 1, -.infinity], [1e-300, -2, 1e200, 0, 0], format, "−inf logits")
    }

    /// dy_0 = ⟨dy, y⟩ rounded to a double (solved for dy_0 at 300 bits): dy_0 − D is about
    /// 2^-53·D, far below the double-word bound (about 2^-100·max|dy|/|dy_0 − D| relative): that
    /// output is refined in MPFR.
    @Test("an output cancelling by 2^53 is refined in MPFR and equals the MPFR path's")
    func refinedOutput() throws {
        var rng = SplitMix64(seed: 0x50F7_0002)
        let k = 500
        let x = (0..<k).map { _ in rng.uniform(-6, 3) }
        var dy = (0..<k).map { _ in rng.uniform(-2, 2) }
        // D = (y_0·dy_0 + R)/1 with R = Σ_{j>0} y_j·dy_j: dy_0 = D gives dy_0 = R/(1 − y_0).
        dy[0] = ExponentRange.widest {
            let w = IntervalArithmetic(precision: 300)
            let m = x.max()!
            let e = x.map { w.exp(w.sub(w.point($0), w.point(m))) }
            let s = w.sum(e)
            let r = w.div(w.sum((1..<k).map { w.mul(e[$0], w.point(dy[$0])) }), s)
            return w.div(r, w.sub(w.one, w.div(e[0], s))).lo.double(.nearest)
        }
        try Self.compare(x, dy, .f64, "refined output 0")
        x.withUnsafeBufferPointer { xb in
            dy.withUnsafeBufferPointer { db in
                #expect(DoubleWordTier.softmaxBackward(xb, db, .f64, threads: 1, refine: false) == nil)
                #expect(DoubleWordTier.softmaxBackward(xb, db, .f64, threads: 1) != nil)
            }
        }
    }
}
