import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// `DoubleWordTier.probabilityTotal` (ProbabilityGradient.swift): P = Σ p_c over the positive
/// targets, its largest binade found four at a time, summed in two fixed-point accumulators.
/// Against the exact sum (MPFR, 4000 bits) at the stated relative bound, every length (the lanes'
/// tail), and the declines: a positive subnormal or +inf target, no positive target. NaN and
/// negative entries take no part; both of its ways (the binary64 sum when every addition is exact,
/// the fixed-point sum) are exercised. Failure messages carry the seed.
@Suite("probabilityTotal: P = Σ p_c, exactly in fixed point")
struct ProbabilityTotalTests {
    static let seed: UInt64 = 0x9707_A1_2026

    @Test("P within its stated bound of the exact sum; declines where it should")
    func total() {
        var rng = SplitMix64(seed: Self.seed)
        var checked = 0
        for n in 0..<2000 {
            let k = rng.int(1...41)
            // Half the rows j/16 (summed exactly in binary64, the first pass's sum), half of any bits.
            let coarse = rng.oneIn(2)
            var p = (0..<k).map { _ in
                rng.oneIn(3) ? 0 : coarse ? Double(rng.int(1...16)) / 16 : rng.uniform(0, 2) * pow2(-rng.int(0...1100) / (rng.oneIn(4) ? 1 : 20))
            }
            if rng.oneIn(6) { p[rng.index(k)] = [-1.0, -.nan, .nan, -.infinity, -0.0][rng.index(5)] }
            if rng.oneIn(12) { p[rng.index(k)] = [0x1p-1074, 0x1.8p-1030, .infinity][rng.index(3)] }
            let note = "seed \(Self.seed), case \(n): \(hex(p))"
            let positive = p.filter { $0 > 0 }
            let result = p.withUnsafeBufferPointer { DoubleWordTier.probabilityTotal($0) }
            guard positive.allSatisfy(\.isNormal), !positive.isEmpty else {
                #expect(result == nil, "\(note)")
                continue
            }
            guard let (total, eps) = result else {
                Issue.record("declined: \(note)")
                continue
            }
            checked += 1
            let exact = BruteForce.sum(positive.map { BruteForce.exact($0) })
            let value = BigFloat(precision: 4000)
            value.add(BruteForce.exact(total.hi), BruteForce.exact(total.lo), .nearest)
            let scale = BigFloat(precision: 4000)
            scale.set(Double(sign: .plus, exponent: total.exponent, significand: 1), .nearest)
            let v = BruteForce.mul(value, scale)
            let bound = BruteForce.mul(exact, BruteForce.exact(eps))
            let d = BruteForce.sub(v, exact)
            #expect(d.compare(bound) <= 0 && BruteForce.neg(d).compare(bound) <= 0, "\(note)")
        }
        #expect(checked > 1000, "seed \(Self.seed): \(checked) checked")
    }

    /// The first pass tells the positive targets that are not normal apart on integer lanes (a
    /// positive p_c's pattern c is subnormal when c − 1 < 2^52 − 1, +inf when it is the largest):
    /// at those boundaries, in every lane position and chunk tail, the largest subnormal and +inf
    /// decline, the least normal number and the largest finite one are taken, and the binary64
    /// sum's exactness (`exact`) is P itself.
    @Test("the normal range's ends, in every lane")
    func normalBoundaries() {
        let least = 0x1p-1022, subnormal = Double(bitPattern: 0x000F_FFFF_FFFF_FFFF), largest = Double.greatestFiniteMagnitude
        for k in 1...9 {
            for at in 0..<k {
                var p = [Double](repeating: 0.25, count: k)
                p[at] = subnormal
                #expect(p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) } == nil, "k \(k), at \(at): subnormal")
                p[at] = .infinity
                #expect(p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) } == nil, "k \(k), at \(at): +inf")
                p[at] = least
                let sum = p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) }
                #expect(sum != nil && sum!.exact == (k == 1 ? least : nil), "k \(k), at \(at): 2^-1022 (P inexact in binary64 for k > 1)")
                p = [Double](repeating: 0, count: k)
                p[at] = least
                #expect(p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) }?.exact == least, "k \(k), at \(at): 2^-1022 alone")
                p[at] = largest
                if k > 1 { p[(at + 1) % k] = -largest }  // (a negative target takes no part)
                #expect(p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) }?.exact == largest, "k \(k), at \(at): the largest")
                p[at] = -0.0
                #expect(p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) } == nil, "k \(k), at \(at): no positive target")
                p[at] = .nan
                #expect(p.withUnsafeBufferPointer { DoubleWordTier.probabilitySum($0) } == nil, "k \(k), at \(at): NaN takes no part")
            }
        }
    }
}
