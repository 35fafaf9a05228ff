import MPFR
@testable import SoftmaxOracle
import Testing

/// The sums that replace lists of per-logit intervals (PackedSums.swift): expected values from
/// the computation they replace, written out again here (`w.sum` of an array of intervals),
/// which must give the same bits.
@Suite("MPFR path: packed sums")
struct PackedSumsTests {
    static func terms(_ w: IntervalArithmetic, _ seed: UInt64) -> [Interval?] {
        var rng = SplitMix64(seed: seed)
        return (0..<300).map { j -> Interval? in
            switch rng.int(0...5) {
            case 0: return nil
            case 1: return w.exp(w.sub(w.point(rng.uniform(-50, 0)), w.point(1e-300)))
            case 2: return w.mul(w.exp(w.point(rng.uniform(-5, 0))), w.point(rng.uniform(-3, 3)))
            case 3: return w.zero
            case 4: return w.neg(w.log1p(w.point(Double(j) * 0x1p-20)))
            default: return w.point(rng.uniform(-1, 1))
            }
        }.map { $0.map { t in
            // Every end at w's precision, as the callers' terms (fresh `IntervalArithmetic` results).
            w.add(t, w.zero)
        } }
    }

    @Test("packedSum gives w.sum's bits, with either store", arguments: [64, 93, 200])
    func sameSums(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        for seed in 1...4 as ClosedRange<UInt64> {
            let t = Self.terms(w, seed)
            let want = w.sum(t.compactMap { $0 })
            let one = w.packedSum(count: t.count) { t[$0] }
            let two = w.packedSum(count: t.count, store: PackedFloats(count: t.count, precision: precision)) { t[$0] }
            #expect(CompactTermsTests.same(one, want) && CompactTermsTests.same(two, want), "seed \(seed) at \(precision) bits")
        }
        let none = w.packedSum(count: 5) { _ in nil }
        #expect(CompactTermsTests.same(none, w.zero), "no term: the exact 0")
    }
}

/// `ExactChunkedSum`: the correctly rounded sum of numbers it does not keep. Expected values:
/// MPFR's `mpfr_sum` of all the numbers at once (an independent, correctly rounded sum), and
/// exact midpoints worked out by hand.
@Suite("MPFR path: exact chunked sums")
struct ExactChunkedSumTests {
    static func chunked(_ terms: [BigFloat], precision: Int, _ r: Rounding) -> BigFloat {
        var sum = ExactChunkedSum(precision: terms.map(\.precision).max() ?? 53)
        for t in terms { sum.add(t) }
        return sum.total(precision: precision, r)
    }

    static func direct(_ terms: [BigFloat], precision: Int, _ r: Rounding) -> BigFloat {
        let s = BigFloat(precision: precision)
        s.sum(terms, r)
        return s
    }

    @Test("positive terms over several chunks: mpfr_sum's bits", arguments: [64, 93, 200])
    func positive(precision: Int) {
        var rng = SplitMix64(seed: UInt64(precision))
        let terms = (0..<1000).map { _ -> BigFloat in
            let t = BigFloat(precision: precision)
            t.exp(BigFloat(rng.uniform(-60, 0), precision: 53), .down)
            return t
        }
        for r in [Rounding.down, .up, .nearest] {
            #expect(CompactTermsTests.same(Self.chunked(terms, precision: precision, r), Self.direct(terms, precision: precision, r)))
        }
    }

    @Test("chunks whose exact sum would be too wide, signs, zeros: kept as they are, same bits")
    func keptChunks() {
        var rng = SplitMix64(seed: 7)
        let terms = (0..<700).map { j -> BigFloat in
            let t = BigFloat(precision: 93)
            switch j % 7 {
            case 0: t.set(0.0, .nearest)
            case 1: t.set(-rng.uniform(0, 1), .nearest)
            default:  // magnitudes 2^-20000 .. 1: a chunk spans far more than maxPartialBits
                t.exp(BigFloat(rng.uniform(-14000, 0), precision: 53), .up)
            }
            return t
        }
        for r in [Rounding.down, .up, .nearest] {
            #expect(CompactTermsTests.same(Self.chunked(terms, precision: 93, r), Self.direct(terms, precision: 93, r)))
            #expect(CompactTermsTests.same(Self.chunked(Array(terms[700 - 256 ..< 700].filter { $0.signum > 0 }), precision: 93, r),
                                           Self.direct(Array(terms[700 - 256 ..< 700].filter { $0.signum > 0 }), precision: 93, r)))
        }
    }

    @Test("a wide chunk keeps a few runs, not its 256 numbers; zeros collapse; precisions above 4096 too",
          arguments: [93, 5000])
    func wideChunkRuns(precision: Int) {
        // 256 numbers: +0, −0, e^u for u uniform in [−14000, 0] (magnitudes 2^-20198 .. 1) and a
        // few negatives of the same spread. Runs of one sign whose exact sums fit in 4096 bits
        // plus the precision: at most ⌈20198/4096⌉ + 1 = 6 per sign, one zero per sign.
        var rng = SplitMix64(seed: UInt64(precision))
        let terms = (0..<256).map { j -> BigFloat in
            let t = BigFloat(precision: precision)
            switch j % 16 {
            case 0: t.setZero(negative: j % 32 == 0)
            case 1: t.exp(BigFloat(rng.uniform(-14000, 0), precision: 53), .up); t.neg(t, .nearest)
            default: t.exp(BigFloat(rng.uniform(-14000, 0), precision: 53), .up)
            }
            return t
        }
        var sum = ExactChunkedSum(precision: precision)
        for t in terms { sum.add(t) }
        sum.flushChunk()
        #expect(sum.partCount <= 2 * 6 + 2, "runs kept: \(sum.partCount) (the 256 numbers kept one by one before)")
        for r in [Rounding.down, .up, .nearest] {
            #expect(CompactTermsTests.same(Self.chunked(terms, precision: precision, r), Self.direct(terms, precision: precision, r)))
        }
        // Zeros alone: the sign IEEE 754 gives the sum of all of them (−0 only when every zero is −0,
        // or with any −0 when rounding down).
        for zeros in [[true, true], [false, true], [false, false]] {
            let z = zeros.map { negative -> BigFloat in
                let t = BigFloat(precision: precision)
                t.setZero(negative: negative)
                return t
            }
            for r in [Rounding.down, .up, .nearest] {
                let c = Self.chunked(z + [z[0]], precision: 53, r), d = Self.direct(z + [z[0]], precision: 53, r)
                #expect(c.isZero && c.signBit == d.signBit, "zeros \(zeros), \(r)")
            }
        }
    }

    @Test("an exact midpoint split over two chunks rounds as the total does")
    func midpoint() {
        // 1 + 256·2^-(p+8) = 1 + 2^-p: the midpoint of 1 and its successor 1 + 2^(1−p) at p bits.
        let p = 93
        let tiny = BigFloat(precision: p)
        tiny.set(1.0, .nearest)
        tiny.scale(tiny, byPowerOfTwo: -(p + 8), .nearest)
        let terms = [BigFloat(1.0, precision: p)] + Array(repeating: tiny, count: 256)
        let one = BigFloat(1.0, precision: p)
        let next = BigFloat(precision: p)
        next.set(1.0, .nearest)
        next.nextUp()
        #expect(CompactTermsTests.same(Self.chunked(terms, precision: p, .nearest), one), "ties to even: 1")
        #expect(CompactTermsTests.same(Self.chunked(terms, precision: p, .up), next))
        #expect(CompactTermsTests.same(Self.chunked(terms, precision: p, .down), one))
        let power = BigFloat(precision: p)
        power.scale(one, byPowerOfTwo: -p, .nearest)
        #expect(CompactTermsTests.same(Self.chunked(Array(terms.dropFirst()), precision: p, .nearest), power), "256·2^-(p+8) = 2^-p exactly")
    }

    @Test("no number: the zero callers replace")
    func empty() {
        var sum = ExactChunkedSum(precision: 93)
        #expect(sum.isEmpty)
        #expect(sum.total(precision: 93, .down).isZero)
    }
}
