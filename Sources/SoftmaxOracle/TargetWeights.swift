import MPFR

/// The exact weights r_c of a cross-entropy written as one sum over classes:
///
///     loss = Σ_c r_c · (-log_softmax_c),   r_c = r̃_c / D,   r̃_c >= 0 exact binary numbers.
///
/// Every variant is of this form (PyTorch's `CrossEntropyLoss` semantics, w the class weights,
/// default 1, and ε the label smoothing):
/// - hard target t:           r_c = w_t·[c = t]                         (D = 1)
/// - hard target, smoothing:  r_c = (1-ε)·w_t·[c = t] + ε·w_c/K         (D = K)
/// - probabilities p:         r_c = w_c·p_c                             (D = 1)
/// - probabilities, smoothing: r_c = w_c·((1-ε)·p_c + ε/K)              (D = K)
/// Multiplying by D = K keeps r̃ exact (ε/K is not a binary number for most K); r̃ is computed
/// with `ExactArithmetic`, so equal logits and zero weights give exact results, and the only
/// rounding left is the final division by D inside an enclosure.
struct TargetWeights {
    /// r̃_c, exact and >= 0.
    let scaled: ScaledWeights
    /// Σ_c r̃_c, exact.
    let total: BigFloat
    /// D: 1, or K when label smoothing is on.
    let divisor: Int

    /// Inputs must be validated (finite, >= 0, ε in [0, 1], lengths K, target in range).
    init(target: RowTarget, classes k: Int, weight: [Double]?, labelSmoothing eps: Double) {
        let w: (Int) -> BigFloat = { c in ExactArithmetic.value(weight?[c] ?? 1) }
        let probabilities: [Double]? = if case .probabilities(let p) = target { p } else { nil }
        let pair: (Int) -> SIMD4<UInt64> = { c in SIMD4((probabilities?[c] ?? 0).bitPattern, (weight?[c] ?? 1).bitPattern, 0, 0) }
        if eps == 0 {
            divisor = 1
            switch target {
            case .index(let t):
                // r̃_c = 0 for c ≠ t (one shared zero), r̃_t = w_t: no number per class.
                scaled = ScaledWeights(count: k, target: t, atTarget: w(t), other: ExactArithmetic.value(0))
            case .probabilities(let p):
                // r̃_c = w_c·p_c, 106 bits each (`ExactArithmetic.product` of two doubles): packed
                // (ScaledWeights), the same numbers at the same precision.
                let packed = PackedFloats(count: k, precision: 106)
                var slot = [Int32](repeating: 0, count: k)
                var made: Int32 = 0
                var sharedSlots = SharedTerms<Int32>()
                let wc = BigFloat(precision: 53), pc = BigFloat(precision: 53)
                for c in 0..<k {
                    slot[c] = sharedSlots.value(pair(c)) {
                        wc.set(weight?[c] ?? 1, .nearest)  // exact
                        pc.set(p[c], .nearest)
                        let t = ExponentRange.widest { packed.mul(Int(made), wc, pc, .nearest) }
                        precondition(t == 0, "exact product was rounded")
                        made += 1
                        return made - 1
                    }
                }
                scaled = ScaledWeights(packed: packed, slot: slot)
                total = ExactArithmetic.sum(packed, slot: slot)
                return
            }
        } else {
            divisor = k
            let e = ExactArithmetic.value(eps)
            let kTimesOneMinusEps = ExactArithmetic.product(
                ExactArithmetic.difference(ExactArithmetic.value(1), e), ExactArithmetic.value(Double(k)))
            switch target {
            case .index(let t):
                // r̃_c = ε·w_c for c ≠ t, r̃_t = ε·w_t + K(1−ε)·w_t: one shared number without class
                // weights, else each made when asked for (the same operations, so the same number).
                let atTarget = ExactArithmetic.sum([ExactArithmetic.product(e, w(t)), ExactArithmetic.product(kTimesOneMinusEps, w(t))])
                if weight == nil {
                    scaled = ScaledWeights(count: k, target: t, atTarget: atTarget, other: ExactArithmetic.product(e, w(0)))
                } else {
                    scaled = ScaledWeights(count: k) { c in c == t ? atTarget : ExactArithmetic.product(e, w(c)) }
                }
            case .probabilities(let p):
                // r̃_c = w_c·(K(1−ε)·p_c + ε), made from the request's doubles when asked for:
                // `ExactArithmetic.product(w(c), ExactArithmetic.sum([ExactArithmetic.product(
                // kTimesOneMinusEps, value(p_c)), e]))`, the same exact numbers at the same
                // precisions, with scratch numbers for the operands (two numbers made, not eight).
                let a = kTimesOneMinusEps
                let pc = BigFloat(precision: 53), wc = BigFloat(precision: 53)
                let ap = BigFloat(precision: a.precision + 53)
                scaled = ScaledWeights(count: k) { c in
                    pc.set(p[c], .nearest)  // exact
                    wc.set(weight?[c] ?? 1, .nearest)
                    var t = ExponentRange.widest { ap.mul(a, pc, .nearest) }
                    precondition(t == 0, "exact product was rounded")
                    // `ExactArithmetic.sum`'s precision for [ap, e] without a zero (e > 0).
                    let (top, bottom) = ap.isZero ? (e.exponent, e.exponent - e.precision)
                        : (Swift.max(ap.exponent, e.exponent), Swift.min(ap.exponent - ap.precision, e.exponent - e.precision))
                    let n = ap.isZero ? 1 : 2
                    let q = BigFloat(precision: top - bottom + (Int.bitWidth - n.leadingZeroBitCount) + 2)
                    t = ExponentRange.widest { q.add(ap, e, .nearest) }
                    precondition(t == 0, "exact sum was rounded")
                    let r = BigFloat(precision: wc.precision + q.precision)
                    t = ExponentRange.widest { r.mul(wc, q, .nearest) }
                    precondition(t == 0, "exact product was rounded")
                    return r
                }
            }
        }
        total = scaled.exactTotal()
    }
}

/// The exact weights r̃_c of `TargetWeights`, by class: `scaled[c]`.
///
/// Memory (issue 13: about 100 bytes a logit beyond input and output): no `BigFloat` is kept per
/// class (about 130 bytes each with the allocator's overhead, and 8 bytes a class for the array of
/// references). Probability targets without label smoothing (the common soft-target case) keep
/// their K distinct products w_c·p_c of 106 bits in a `PackedFloats` (48 bytes each) and an index
/// a class (4 bytes); `scaled[c]` lends the number (not to be written). A hard target keeps two
/// numbers (r̃_t and the one r̃_c of every other class). Label smoothing with class weights or
/// probabilities makes r̃_c from the request's doubles when it is asked for (two or three exact
/// products and sums: the same operations as making it once and keeping it, so the same number,
/// precision included), the last one asked for kept for the next ask (an output asks for its
/// class's weight a few times).
struct ScaledWeights {
    private enum Storage {
        case packed(PackedFloats, slot: [Int32])
        case hardTarget(target: Int, atTarget: BigFloat, other: BigFloat)
        case made((Int) -> BigFloat, last: Last)
    }

    /// The last number `made` gave, and its class.
    private final class Last {
        var c = -1
        var value: BigFloat?
    }

    private let storage: Storage
    /// K, the number of classes.
    let count: Int

    init(packed: PackedFloats, slot: [Int32]) {
        (storage, count) = (.packed(packed, slot: slot), slot.count)
    }

    /// r̃_t = `atTarget`, r̃_c = `other` for every c ≠ t.
    init(count: Int, target: Int, atTarget: BigFloat, other: BigFloat) {
        (storage, self.count) = (.hardTarget(target: target, atTarget: atTarget, other: other), count)
    }

    /// r̃_c = make(c), made when asked for (`make` must give the same number every time).
    init(count: Int, _ make: @escaping (Int) -> BigFloat) {
        (storage, self.count) = (.made(make, last: Last()), count)
    }

    /// r̃_c.
    subscript(c: Int) -> BigFloat {
        switch storage {
        case .packed(let packed, let slot): return packed.view(Int(slot[c]))
        case .hardTarget(let t, let atTarget, let other): return c == t ? atTarget : other
        case .made(let make, let last):
            if last.c == c, let v = last.value { return v }
            let v = make(c)
            (last.c, last.value) = (c, v)
            return v
        }
    }

    /// `ExactArithmetic.sum` of r̃_0, …, r̃_(K−1): the same exact number at the same precision,
    /// without an array of them (the numbers are summed exactly 256 at a time, then the partial
    /// sums; the result's precision is `sum`'s, from the terms' exponents and precisions).
    func exactTotal() -> BigFloat {
        var n = 0, top = Int.min, bottom = Int.max
        var partial: BigFloat?
        var chunk: [BigFloat] = []
        chunk.reserveCapacity(257)
        let add = { (r: BigFloat) in
            n += 1
            top = Swift.max(top, r.exponent)
            bottom = Swift.min(bottom, r.exponent - r.precision)
            chunk.append(r)
            if chunk.count == 256 {
                if let p = partial { chunk.append(p) }
                partial = ExactArithmetic.sum(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if case .hardTarget(let t, let atTarget, let other) = storage {
            // K − 1 copies of `other` and r̃_t: (K − 1)·other + r̃_t, exactly.
            if !other.isZero && count > 1 {
                n = count - 1
                (top, bottom) = (other.exponent, other.exponent - other.precision)
                partial = ExactArithmetic.product(other, ExactArithmetic.value(Double(count - 1)))
            }
            _ = t
            if !atTarget.isZero { add(atTarget) }
        } else {
            for c in 0..<count {
                let r = self[c]
                if !r.isZero { add(r) }
            }
        }
        guard n > 0 else { return BigFloat(0, precision: 53) }
        if let p = partial { chunk.append(p) }
        let exact = ExactArithmetic.sum(chunk)
        // `ExactArithmetic.sum`'s precision for these n terms: the exact sum fits it.
        let bits = top - bottom + (Int.bitWidth - (n).leadingZeroBitCount) + 2
        let r = BigFloat(precision: bits)
        let t = ExponentRange.widest { r.set(exact, .nearest) }
        precondition(t == 0, "exact sum was rounded")
        return r
    }
}
