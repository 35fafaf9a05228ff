import DoubleWordArithmetic
import MPFR

/// The exact logits of the fused layer, z_ij = Σ_k h_ik·w_jk + b_j, as MPFR numbers with as many
/// bits as the exact sum needs (nothing rounded).
///
/// Each product h·w is the exact pair (p, e) of `twoProduct` when that is error-free (|h|, |w| <
/// 2^995 and |h·w| >= 2^-969, or a zero factor), else the exact 106-bit MPFR product. The terms
/// are summed by `mpfr_sum` into a number of t − b + ⌈log₂ n⌉ + 2 bits, t the top exponent and
/// b the lowest last-bit exponent of the terms (`ExactArithmetic.sum`'s rule): exact, which the
/// ternary value confirms.
enum ExactLogits {
    /// Row i of the logits, V exact values.
    static func row(_ i: Int, _ m: LinearCrossEntropyInputs) -> [BigFloat] {
        let d = m.dimension
        let pool = (0..<(2 * d + 1)).map { _ in BigFloat(precision: 53) }
        return (0..<m.classes).map { j in logit(i, j, m, pool: pool) }
    }

    static func logit(_ i: Int, _ j: Int, _ m: LinearCrossEntropyInputs, pool: [BigFloat]) -> BigFloat {
        let d = m.dimension
        var parts: [Double] = []
        parts.reserveCapacity(2 * d + 1)
        var slow: [BigFloat] = []
        for k in 0..<d {
            let h = m.hidden[i * d + k], w = m.weight[j * d + k]
            if h == 0 || w == 0 { continue }
            let p = twoProduct(h, w)
            if h.magnitude < 0x1p995 && w.magnitude < 0x1p995 && p.hi.magnitude >= 0x1p-969 && p.hi.isFinite {
                parts.append(p.hi)
                if p.lo != 0 { parts.append(p.lo) }
            } else {
                slow.append(ExactArithmetic.product(ExactArithmetic.value(h), ExactArithmetic.value(w)))
            }
        }
        if let b = m.bias?[j], b != 0 { parts.append(b) }
        if !slow.isEmpty {
            return ExactArithmetic.sum(slow + parts.map(ExactArithmetic.value))
        }
        if parts.isEmpty { return BigFloat(0, precision: 53) }
        var top = Int.min, bottom = Int.max
        for x in parts {
            top = Swift.max(top, Int(x.exponent) + 1)
            bottom = Swift.min(bottom, Int(x.exponent) + 1 - 53)
        }
        let terms = Array(pool.prefix(parts.count))
        for (t, x) in zip(terms, parts) { t.set(x, .nearest) }
        let bits = top - bottom + (Int.bitWidth - parts.count.leadingZeroBitCount) + 2
        let r = BigFloat(precision: bits)
        let ternary = ExponentRange.widest { r.sum(terms, .nearest) }
        precondition(ternary == 0, "exact logit sum was rounded")
        return r
    }
}
