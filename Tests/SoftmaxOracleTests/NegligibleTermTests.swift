import DoubleWordArithmetic
import Foundation
@testable import SoftmaxOracle
import Testing

/// `exactRowSum` without a store leaves out the exponentials of terms too small to reach the
/// fixed-point sum's unit (ExactRowSum.swift, `negligible`): the same sum and bound as with a
/// store (where every exponential is computed and added), on rows whose terms straddle the cut
/// 2^(σ−127), and the same log_softmax and logsumexp as the MPFR path. Failure messages carry the seed.
@Suite("Exact row sum: negligible terms left out, the same sum")
struct NegligibleTermTests {
    static let seed: UInt64 = 0x5EED_0F_AB5E_0001

    @Test("rowSum with and without a store: the same s, bound and counts, 1 and 2 threads")
    func sameSumWithoutStore() {
        var rng = SplitMix64(seed: Self.seed)
        for n in 0..<60 {
            let k = n % 3 == 0 ? 20_000 : rng.int(5...300)
            // d_j around (σ − 127)·ln2 ≈ −88 below the second largest, and well beyond.
            let spread = [60.0, 90.0, 100.0, 1e3, 1e5][n % 5]
            let x: [Double] = (0..<k).map { _ in rng.oneIn(50) ? -.infinity : -rng.uniform(0, spread) + (rng.oneIn(2) ? 0 : rng.uniform(-1, 1) * 0x1p-30) }
            x.withUnsafeBufferPointer { xs in
                for threads in [1, 2] {
                    let without = DoubleWordTier.rowSum(xs, threads: threads, store: nil, compact: false)
                    let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: k)
                    defer { slots.deallocate() }
                    let with = DoubleWordTier.rowSum(xs, threads: threads, store: DoubleWordTier.ExpStore(slots: slots), compact: false)
                    let note = "seed \(Self.seed), case \(n), K = \(k), spread \(spread), \(threads) threads"
                    #expect((without == nil) == (with == nil), "\(note)")
                    guard let a = without, let b = with else { continue }
                    #expect(a.s.hi.bitPattern == b.s.hi.bitPattern && a.s.lo.bitPattern == b.s.lo.bitPattern && a.s.exponent == b.s.exponent
                            && a.epsS.bitPattern == b.epsS.bitPattern && a.omitted == b.omitted && a.maxIndex == b.maxIndex, "\(note)")
                }
            }
        }
    }

    @Test("log_softmax and logsumexp on rows spread past the cut equal the MPFR path")
    func againstMPFR() throws {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        for n in 0..<8 {
            let x = (0..<300).map { _ in -rng.uniform(0, [95.0, 200, 3e3, 1e5][n % 4]) }
            for function in [OracleFunction.logSoftmax, .logsumexp] {
                let q = OracleRequest(function: function, format: .f64, logits: x)
                #expect(try DoubleWordTierAgreementTests.compare(q, "seed \(Self.seed ^ 1), case \(n), \(function.rawValue)"))
            }
        }
    }
}
