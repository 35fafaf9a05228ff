import MPFR

// Sums of per-logit intervals without the intervals (issue 13: about 100 bytes a logit beyond
// input and output). `IntervalArithmetic.sum(terms)` rounds each end with one `mpfr_sum` of the
// terms' ends; these make the same terms (the caller's `term(j)`, the same MPFR operations, so
// the same bits: MPFR's results depend on operands, precision and rounding alone), copy their
// ends into `PackedFloats` (48 bytes a number at up to 128 bits: exact copies, the same
// precision) and sum those, in the same order: the same sums, bit for bit.

extension IntervalArithmetic {
    /// `sum` of the intervals `term(j)` that are not nil, j = 0 ..< count, made once each, their
    /// two ends kept packed while they are summed (96 bytes a term at up to 128 bits). The terms'
    /// ends must have this precision.
    func packedSum(count: Int, _ term: (Int) -> Interval?) -> Interval {
        var sum = PackedIntervalSum(capacity: count, self)
        for j in 0..<count {
            if let t = term(j) { sum.add(t) }
        }
        return sum.total()
    }

    /// `sum` of the intervals `term(j)` that are not nil, j = 0 ..< count, made twice each (once
    /// per end: half the memory of `packedSum`, 48 bytes a term, for terms that are cheap to
    /// make), their ends summed from `store` (room for `count` numbers at this precision).
    func packedSum(count: Int, store: PackedFloats, _ term: (Int) -> Interval?) -> Interval {
        var ends: [BigFloat] = []
        for r in [Rounding.down, .up] {
            var n = 0
            for j in 0..<count {
                guard let t = term(j) else { continue }
                store.set(n, r == .down ? t.lo : t.hi, .nearest)  // exact: the same precision
                n += 1
            }
            if n == 0 { return zero }
            let end = BigFloat(precision: precision)
            end.sum((0..<n).lazy.map { store.reference($0) }, count: n, r)
            ends.append(end)
        }
        return Interval(lo: ends[0], hi: ends[1])
    }
}

/// `IntervalArithmetic.sum` of intervals added one at a time, for terms made where the caller
/// has them (inside another pass): each end one correctly rounded sum of the same numbers as
/// `sum`'s (`ExactChunkedSum`: the same bits as one `mpfr_sum`), without keeping the terms.
struct PackedIntervalSum {
    private var lower: ExactChunkedSum, upper: ExactChunkedSum
    private let w: IntervalArithmetic

    /// For terms whose ends have `w`'s precision (`capacity`: how many, at most; not kept).
    init(capacity: Int, _ w: IntervalArithmetic) {
        lower = ExactChunkedSum(precision: w.precision)
        upper = ExactChunkedSum(precision: w.precision)
        self.w = w
    }

    /// Adds `t`.
    mutating func add(_ t: Interval) {
        lower.add(t.lo)
        upper.add(t.hi)
    }

    /// The enclosure of the terms' sum (the exact 0 with no term).
    mutating func total() -> Interval {
        if lower.isEmpty { return w.zero }
        return Interval(lo: lower.total(precision: w.precision, .down), hi: upper.total(precision: w.precision, .up))
    }
}

/// The correctly rounded sum of numbers added one at a time, without keeping them: every
/// `chunkSize` numbers are summed exactly (one `mpfr_sum` into a number with enough bits to hold
/// their exact sum), and `total` rounds the sum of those exact partial sums once, with one
/// `mpfr_sum`. Memory: one chunk's numbers (48 bytes each at up to 128 bits) and a partial sum
/// per chunk, instead of every number (issue 13: about 100 bytes a logit beyond input and output).
///
/// Why the same bits as `mpfr_sum` of all the numbers: `mpfr_sum` returns the exact sum correctly
/// rounded (MPFR manual, "mpfr_sum": one rounding, whatever the cancellation), so its result
/// depends only on the exact sum, the precision and the rounding, not on how the terms are
/// grouped; the partial sums are exact (their ternary value is checked), so the exact total is
/// the same. Exact partial sum: n numbers of one sign and exponents <= E (MPFR's: a number lies
/// in [2^(E−1), 2^E) in magnitude) whose last significand bits weigh 2^U or more (U = the least
/// exponent − precision) have a sum that is a multiple of 2^U below n·2^E in magnitude, so
/// E + ⌈log₂ n⌉ − U + 1 bits hold it exactly. A chunk of positive numbers within `partialBits`
/// is one partial sum. Any other chunk (a zero, a negative or non-finite number, or numbers of
/// very different magnitudes) is split: its positive numbers and its negative numbers, each in
/// order of exponent, into runs whose exact sums fit in `partialBits` (a run holds at least one
/// number), one exact partial sum per run; one zero of each sign the chunk has; non-finite
/// numbers as they are. The exact total is unchanged, so the rounded total is too. Zero results:
/// the exact total is 0 when every partial sum is a zero, or when nonzero partial sums cancel;
/// `mpfr_sum` then gives the zero IEEE 754 gives, which depends on the zeros' signs (one of each
/// sign seen decides as all of them do: +0 + −0 gives the same as any number of each) and on the
/// rounding, as for the numbers themselves.
struct ExactChunkedSum {
    /// Numbers summed exactly at a time.
    static let chunkSize = 256
    /// The widest exact partial sum of numbers of at most 64 bits, in bits; `partialBits` adds
    /// the numbers' precision. (A wide row at 128 bits: e^(d_j) over [e^-3000, 1] in one chunk
    /// makes two or three runs instead of 256 kept numbers.)
    static let maxPartialBits = 4096
    private let buffer: PackedFloats
    private var n = 0
    /// Exact partial sums, and numbers kept as they are.
    private var parts: [BigFloat] = []
    /// Whether the chunk's numbers are all finite and > 0; their largest exponent, and the least
    /// weight of a significand bit among them (exponent − the store's precision).
    private var positive = true, top = Int.min, bottom = Int.max
    /// The widest exact partial sum: `maxPartialBits` plus the numbers' precision, so that one
    /// number always fits and wider numbers do not fall back to one part each.
    private let partialBits: Int

    /// For numbers of at most `precision` bits.
    init(precision: Int) {
        buffer = PackedFloats(count: Self.chunkSize, precision: precision)
        partialBits = Self.maxPartialBits + precision
    }

    /// How many numbers and partial sums the total will add (for tests of the memory it keeps).
    var partCount: Int { parts.count }

    /// True when no number was added.
    var isEmpty: Bool { n == 0 && parts.isEmpty }

    /// Adds x (exactly: its precision must be at most the store's).
    mutating func add(_ x: BigFloat) {
        let t = buffer.set(n, x, .nearest)
        precondition(t == 0, "a number of at most the store's precision")
        if positive && x.signum > 0 && x.isFinite {
            top = Swift.max(top, x.exponent)
            bottom = Swift.min(bottom, x.exponent - buffer.precision)
        } else {
            positive = false
        }
        n += 1
        if n == Self.chunkSize { flush() }
    }

    /// Sums the numbers not yet in a partial sum (`total` and `merge` do it too).
    mutating func flushChunk() { flush() }

    /// Sums the chunk's numbers exactly into one partial sum, or into one per run (see the type).
    private mutating func flush() {
        if n == 0 { return }
        let bits = positive ? Self.exactBits(top: top, bottom: bottom, count: n) : Int.max
        if bits <= partialBits {
            appendExactSum(of: 0..<n, bits: bits)
        } else {
            splitChunk()
        }
        (n, positive, top, bottom) = (0, true, Int.min, Int.max)
    }

    /// Bits that hold the exact sum of `count` numbers of one sign, exponents <= top, last bits
    /// weighing 2^bottom or more (see the type).
    private static func exactBits(top: Int, bottom: Int, count: Int) -> Int {
        top + (Int.bitWidth - (count - 1).leadingZeroBitCount) - bottom + 1
    }

    /// Appends the exact sum of the chunk's numbers at `indices` (one sign, fitting in `bits`).
    private mutating func appendExactSum<Indices: Collection<Int>>(of indices: Indices, bits: Int) {
        let partial = BigFloat(precision: Swift.max(bits, 2))
        let t = partial.sum(indices.lazy.map { [buffer] in buffer.reference($0) }, count: indices.count, .nearest)
        precondition(t == 0, "an exact partial sum")
        parts.append(partial)
    }

    /// The chunk as runs of one sign and close exponents, zeros and non-finite numbers (see the type).
    private mutating func splitChunk() {
        var positives: [(exponent: Int, index: Int)] = [], negatives: [(exponent: Int, index: Int)] = []
        var zeros: Set<Bool> = []
        for i in 0..<n {
            let v = buffer.view(i)
            if v.isZero {
                zeros.insert(v.signBit)
            } else if !v.isFinite {
                let copy = BigFloat(precision: v.precision)
                copy.set(v, .nearest)
                parts.append(copy)
            } else if v.signum > 0 {
                positives.append((v.exponent, i))
            } else {
                negatives.append((v.exponent, i))
            }
        }
        for var run in [positives, negatives] where !run.isEmpty {
            run.sort { $0.exponent > $1.exponent }
            var start = 0
            while start < run.count {
                let top = run[start].exponent
                var end = start + 1
                while end < run.count
                        && Self.exactBits(top: top, bottom: run[end].exponent - buffer.precision, count: end - start + 1) <= partialBits {
                    end += 1
                }
                appendExactSum(of: run[start..<end].lazy.map(\.index),
                               bits: Self.exactBits(top: top, bottom: run[end - 1].exponent - buffer.precision, count: end - start))
                start = end
            }
        }
        for negative in zeros.sorted(by: { !$0 && $1 }) {
            let zero = BigFloat(precision: 2)
            zero.setZero(negative: negative)
            parts.append(zero)
        }
    }

    /// Takes `other`'s numbers into this sum (their exact partial sums: the exact total is that of
    /// every number of both).
    mutating func merge(_ other: ExactChunkedSum) {
        var other = other
        other.flush()
        parts += other.parts
    }

    /// The sum of every number added, rounded once in direction r to `precision` bits (0 with no
    /// number: callers decide what an empty sum is).
    mutating func total(precision: Int, _ r: Rounding) -> BigFloat {
        flush()
        let result = BigFloat(precision: precision)
        result.sum(parts, r)
        return result
    }
}
