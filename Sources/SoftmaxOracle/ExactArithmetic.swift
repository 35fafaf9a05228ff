import MPFR

/// Exact (error-free) arithmetic on binary numbers, by giving each result enough bits.
///
/// A product of a p-bit and a q-bit number has at most p + q bits. A sum of n numbers, each a
/// multiple of 2^b (b the least exponent of any last bit) and each below 2^t in magnitude, is a
/// multiple of 2^b below n·2^t, so t - b + ⌈log₂ n⌉ + 1 bits hold it. Each result's MPFR ternary
/// value is checked to be 0: these are the exact target weights of the cross-entropy (products and
/// sums of binary64 inputs), whose exactness lets equal logits and zero weights give exact results.
enum ExactArithmetic {
    static func value(_ x: Double) -> BigFloat { BigFloat(x, precision: 53) }

    static func product(_ a: BigFloat, _ b: BigFloat) -> BigFloat {
        let r = BigFloat(precision: a.precision + b.precision)
        let t = ExponentRange.widest { r.mul(a, b, .nearest) }
        precondition(t == 0, "exact product was rounded")
        return r
    }

    static func sum(_ terms: [BigFloat]) -> BigFloat {
        let nonzero = terms.filter { !$0.isZero }
        guard !nonzero.isEmpty else { return BigFloat(0, precision: 53) }
        // MPFR's exponent e is that of 0.1xxx₂·2^e: the top bit is 2^(e-1), the last 2^(e-prec).
        let top = nonzero.map(\.exponent).max()!
        let bottom = nonzero.map { $0.exponent - $0.precision }.min()!
        let n = nonzero.count
        let bits = top - bottom + (Int.bitWidth - (n).leadingZeroBitCount) + 2
        let r = BigFloat(precision: bits)
        let t = ExponentRange.widest { r.sum(nonzero, .nearest) }
        precondition(t == 0, "exact sum was rounded")
        return r
    }

    /// `sum(_:)` of the numbers `packed` holds for each index in `slot` (numbers may repeat):
    /// the same exact sum at the same precision (the terms' exponents and precisions are those
    /// of the `BigFloat`s they stand for), without an array of `BigFloat`s.
    static func sum(_ packed: PackedFloats, slot: [Int32]) -> BigFloat {
        var n = 0, top = Int.min, bottom = Int.max
        for k in slot where !packed.isZero(Int(k)) {
            n += 1
            top = Swift.max(top, packed.exponent(Int(k)))
            bottom = Swift.min(bottom, packed.exponent(Int(k)) - packed.precision)
        }
        guard n > 0 else { return BigFloat(0, precision: 53) }
        let bits = top - bottom + (Int.bitWidth - (n).leadingZeroBitCount) + 2
        let r = BigFloat(precision: bits)
        let terms = slot.lazy.filter { !packed.isZero(Int($0)) }.map { packed.reference(Int($0)) }
        let t = ExponentRange.widest { r.sum(terms, count: n, .nearest) }
        precondition(t == 0, "exact sum was rounded")
        return r
    }

    static func difference(_ a: BigFloat, _ b: BigFloat) -> BigFloat {
        let negB = BigFloat(precision: b.precision)
        negB.neg(b, .nearest)
        return sum([a, negB])
    }
}
