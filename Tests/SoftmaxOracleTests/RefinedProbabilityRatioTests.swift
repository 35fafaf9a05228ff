import MPFR
@testable import SoftmaxOracle
import Testing

/// RefinedProbabilityGradient.swift: [P/S] with its terms split over threads (`splitTerms`,
/// `ProbabilityTerms`) holds P/S (MPFR at 2000 bits), has the same ends on one thread and on
/// two, and the cancelling output it refines is RN(grad) (MPFR at 2000 bits).
@Suite("Double-word tier: refined probability gradient, [P/S] split over threads")
struct RefinedProbabilityRatioTests {
    /// Digits of the references: errors about 2^-1990 relative, far below the enclosures' widths
    /// (2^-120 and less) and the cancellation (2^-54) of the output checked.
    static let bits = 2000

    /// Logits: ties with the maximum 3, subnormal and tiny ones (x_j − m not a 128-bit point),
    /// terms below the cut (−200, −1e4), −inf, and `extra` in [−60, 3) from a seeded generator
    /// (more than 512 terms: two threads).
    static func row(extra: Int, seed: UInt64) -> [Double] {
        var x: [Double] = [0.25, 3, -0.5, 3, 0x1p-1074, -0x1p-1074, 0x1p-1022, 1e-300, -200, -1e4, -.infinity, 2.75, 0]
        var state = seed
        for _ in 0..<extra {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            x.append(Double(state >> 11) * 0x1p-53 * 63 - 60)
        }
        return x
    }

    /// e_j = e^(x_j − m) and S = Σ e_j over the finite logits, at `bits` bits (to nearest).
    static func exponentials(_ x: [Double]) -> (e: [BigFloat], s: BigFloat) {
        let m = BigFloat(x.max()!, precision: 53)
        let e = x.map { v -> BigFloat in
            let r = BigFloat(precision: bits)
            if v == -.infinity { r.setZero(); return r }
            r.sub(BigFloat(v, precision: 53), m, .nearest)
            r.exp(r, .nearest)
            return r
        }
        let s = BigFloat(precision: bits)
        s.sum(e, .nearest)
        return (e, s)
    }

    @Test("a cancelling output (p_0 = RN(e_0·P'/(S − e_0))): [P/S] holds P/S at 128 and 384 bits, one and two threads give the same ends and the output RN(grad_0)")
    func splitRatio() throws {
        let seed: UInt64 = 0x5EED_9A71
        try ExponentRange.widest {
            let x = Self.row(extra: 1500, seed: seed)
            var p = x.indices.map { Double($0 % 17) / 16 }
            let (e, s) = Self.exponentials(x)
            // p_0 = RN(t), t = e_0·P'/(S − e_0), P' = Σ_{j>0} p_j: q_0 = e_0·(P' + p_0)/S is then
            // within about 2^-53 of p_0 (relative), an output the double-word tier declines.
            let rest = BigFloat(precision: Self.bits), t = BigFloat(precision: Self.bits)
            rest.sum(p.dropFirst().map { BigFloat($0, precision: 53) }, .nearest)
            t.sub(s, e[0], .nearest)
            t.div(rest, t, .nearest)
            t.mul(t, e[0], .nearest)
            p[0] = t.double()
            let total = BigFloat(precision: Self.bits), ratio = BigFloat(precision: Self.bits), grad = BigFloat(precision: Self.bits)
            total.sum(p.map { BigFloat($0, precision: 53) }, .nearest)
            ratio.div(total, s, .nearest)
            grad.mul(e[0], ratio, .nearest)
            grad.sub(grad, BigFloat(p[0], precision: 53), .nearest)
            #expect(grad.double() != 0 && abs(grad.double()) < 0x1p-50 * p[0], "seed \(seed): grad_0 = \(grad.double())")
            let maxIndex = x.firstIndex(of: x.max()!)!
            try x.withUnsafeBufferPointer { xs in
                try p.withUnsafeBufferPointer { ps in
                    let one = RefinedOutputs(.probabilityGradient, x: xs, targets: ps, maxIndex: maxIndex, format: .f64, threads: 1)
                    let two = RefinedOutputs(.probabilityGradient, x: xs, targets: ps, maxIndex: maxIndex, format: .f64, threads: 2)
                    for w in RefinedOutputs.precisions {
                        let a = IntervalArithmetic(precision: w)
                        let r = one.sums(a).ratio, r2 = two.sums(a).ratio
                        #expect(r.lo.compare(ratio) <= 0 && r.hi.compare(ratio) >= 0, "w \(w), seed \(seed)")
                        #expect(r.lo.compare(r2.lo) == 0 && r.hi.compare(r2.hi) == 0, "w \(w), seed \(seed)")
                    }
                    let v1 = try #require(one.output(0)), v2 = try #require(two.output(0))
                    #expect(v1.rounded.bitPattern == grad.double().bitPattern, "seed \(seed)")
                    #expect(v2.rounded.bitPattern == v1.rounded.bitPattern, "seed \(seed)")
                }
            }
        }
    }

    /// `splitSum`: the terms summed as they are made (`IntervalEnds`, chunks of exact partial
    /// sums) give `IntervalArithmetic.sum` of the same terms made by `IntervalArithmetic` itself
    /// (exp(sub(point(x_j), point(m))), each end one `mpfr_sum`), on one thread and on two, with
    /// some terms scaled by an exact count (ends of w + 64 bits) as `ratio` does for ties.
    @Test("splitSum gives IntervalArithmetic.sum of the terms, one thread or two", arguments: [128, 384])
    func splitSumIsSum(precision w: Int) {
        let a = IntervalArithmetic(precision: w)
        let x = Self.row(extra: 1500, seed: 3).filter { $0 > -.infinity }
        let m = x.max()!
        let scale: (Int) -> Int = { $0 % 5 == 0 ? 3 : 1 }
        let want = a.sum(x.indices.map { k in
            let t = a.exp(a.sub(a.point(x[k]), a.point(m)))
            if scale(k) == 1 { return t }
            let lo = BigFloat(precision: w + 64), hi = BigFloat(precision: w + 64)
            lo.mul(t.lo, scale(k), .down)  // exact
            hi.mul(t.hi, scale(k), .up)
            return Interval(lo: lo, hi: hi)
        })
        for threads in [1, 2] {
            var ends = RefinedOutputs.splitSum(count: x.count, threads: threads, precision: w + 64,
                                                           scratch: { ProbabilityTerms(precision: w, max: m) }) { t, k in
                let term = t.term(x[k])
                if scale(k) == 1 { return term }
                let lo = BigFloat(precision: w + 64), hi = BigFloat(precision: w + 64)
                lo.mul(term.lo, scale(k), .down)
                hi.mul(term.hi, scale(k), .up)
                return Interval(lo: lo, hi: hi)
            }
            let got = ends.total(a)
            #expect(CompactTermsTests.same(got.lo, want.lo) && CompactTermsTests.same(got.hi, want.hi), "\(threads) thread(s) at \(w) bits")
        }
    }
}
