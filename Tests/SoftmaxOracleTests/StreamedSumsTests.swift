import MPFR
@testable import SoftmaxOracle
import Testing

/// The sums that hold a chunk of terms at a time (StreamedSums.swift): expected values from
/// MPFR's own `mpfr_sum` of the whole list (`w.sum`, `BigFloat.sum`), which must give the same
/// bits, signed zeros included.
@Suite("MPFR path: streamed sums")
struct StreamedSumsTests {
    @Test("StreamedIntervalSum gives w.sum's bits", arguments: [64, 93, 200])
    func sameSums(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        for seed in 1...6 as ClosedRange<UInt64> {
            let t = PackedSumsTests.terms(w, seed).compactMap { $0 }
            var s = StreamedIntervalSum(w)
            for term in t { s.add(term) }
            #expect(CompactTermsTests.same(s.total(), w.sum(t)), "seed \(seed) at \(precision) bits")
        }
        #expect(CompactTermsTests.same(StreamedIntervalSum(w).total(), w.zero), "no term: the exact 0")
    }

    /// Terms whose exact sum is 0 or tiny after folds, in each direction; and small chunks, so
    /// that every path (folds, the held rest, a fold's exact zero) runs.
    @Test("cancellation to an exact zero, and zeros of either sign, give mpfr_sum's signed zero",
          arguments: [Rounding.down, .up, .nearest])
    func signedZeros(rounding: Rounding) {
        func check(_ values: [Double], chunk: Int, _ note: String) {
            let terms = values.map { BigFloat($0, precision: 64) }
            var s = StreamedSum(precision: 64, rounding: rounding, chunk: chunk)
            for t in terms { s.add(t) }
            let want = BigFloat(precision: 64)
            want.sum(terms, rounding)
            #expect(CompactTermsTests.same(s.total(), want), "\(note), chunk \(chunk), \(rounding)")
        }
        for chunk in [1, 2, 3, 256] {
            check([1, -1], chunk: chunk, "1 − 1")
            check([1, 0x1p-60, -1, -0x1p-60], chunk: chunk, "cancelling pairs")
            check([1, 2, -3, 0.0, -0.0], chunk: chunk, "a cancellation and both zeros")
            check([1, -1, -0.0], chunk: chunk, "a cancellation and −0")
            check([-0.0, -0.0], chunk: chunk, "−0 only")
            check([0.0, 0.0], chunk: chunk, "+0 only")
            check([0.0, -0.0], chunk: chunk, "zeros of both signs")
            check([1e300, 1, -1e300, 0x1p-1000], chunk: chunk, "a wide fold leaving 1 + 2^-1000")
        }
    }

    /// A term below 2^(−2^40) next to 1: a fold would need 2^40 bits, so the sum stops folding
    /// and holds its terms (the MPFR path's [0, 2^(−2^62)] exponentials below MPFR's range).
    @Test("terms too far apart to fold give mpfr_sum's value too")
    func unfoldable() {
        ExponentRange.widest {
            let tiny = BigFloat(1, precision: 64)
            tiny.scale(tiny, byPowerOfTwo: -(1 << 40), .nearest)
            var terms: [BigFloat] = [tiny]
            for j in 0..<1000 { terms.append(BigFloat(Double(j % 7) - 3.5, precision: 64)) }
            terms.append(tiny)
            for r in [Rounding.down, .up] {
                var s = StreamedSum(precision: 64, rounding: r, chunk: 16)
                for t in terms { s.add(t) }
                let want = BigFloat(precision: 64)
                want.sum(terms, r)
                #expect(CompactTermsTests.same(s.total(), want), "\(r)")
            }
        }
    }

    /// 10^5 terms of one sign in chunks of 16 (6 250 folds): the partial sum's width must stay
    /// that of the terms' span (under 100 bits here), not grow by each fold's count bits (it
    /// passed `maxFoldBits` after about 1 500 folds, and `exactTotal` stopped on its precondition
    /// on rows of 10^6).
    @Test("many folds keep the partial sum as narrow as the terms' span")
    func manyFolds() {
        var rng = SplitMix64(seed: 11)
        let values = (0..<100_000).map { _ in rng.uniform(0.5, 4) * Double(sign: .plus, exponent: rng.int(-20...0), significand: 1) }
        var s = StreamedSum(precision: 53, rounding: .nearest, chunk: 16)
        for v in values { s.add(ExactArithmetic.value(v)) }
        let got = s.exactTotal()
        #expect(s.partialPrecision <= 128, "partial precision \(s.partialPrecision)")
        #expect(got.compare(ExactArithmetic.sum(values.map(ExactArithmetic.value))) == 0)
    }

    @Test("exactTotal of doubles is their exact sum, as ExactArithmetic.sum")
    func exactDoubles() {
        var rng = SplitMix64(seed: 7)
        let cases: [[Double]] = [
            (0..<1000).map { _ in rng.uniform(-1, 1) * Double(sign: .plus, exponent: rng.int(-1074...1000), significand: 1) },
            [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 1],
            [1, -1], [], [0.0, -0.0],
        ]
        for (n, dy) in cases.enumerated() {
            var s = StreamedSum(precision: 53, rounding: .nearest, chunk: 64)
            for v in dy { s.add(ExactArithmetic.value(v)) }
            let got = s.exactTotal()
            let want = ExactArithmetic.sum(dy.map(ExactArithmetic.value))
            #expect(got.compare(want) == 0 && got.signBit == want.signBit, "case \(n)")
        }
    }
}
