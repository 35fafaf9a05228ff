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
        // Classes with the same target and weight (the same bits) share one r̃_c
        // (SharedTerms.swift): the same exact number as computing it again.
        var shared = SharedTerms<BigFloat>()
        let probabilities: [Double]? = if case .probabilities(let p) = target { p } else { nil }
        let pair: (Int) -> SIMD4<UInt64> = { c in SIMD4((probabilities?[c] ?? 0).bitPattern, (weight?[c] ?? 1).bitPattern, 0, 0) }
        var r: [BigFloat]
        if eps == 0 {
            divisor = 1
            switch target {
            case .index(let t):
                let zero = ExactArithmetic.value(0)
                r = [BigFloat](repeating: zero, count: k)
                r[t] = w(t)
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
                r = (0..<k).map { c in shared.value(pair(c)) { ExactArithmetic.product(e, w(c)) } }
                r[t] = ExactArithmetic.sum([r[t], ExactArithmetic.product(kTimesOneMinusEps, w(t))])
            case .probabilities(let p):
                r = (0..<k).map { c in shared.value(pair(c)) {
                    let q = ExactArithmetic.sum([ExactArithmetic.product(kTimesOneMinusEps, ExactArithmetic.value(p[c])), e])
                    return ExactArithmetic.product(w(c), q)
                } }
            }
        }
        scaled = ScaledWeights(r)
        total = ExactArithmetic.sum(r)
    }
}

/// The exact weights r̃_c of `TargetWeights`, by class: `scaled[c]`.
///
/// Memory: probability targets without label smoothing (the common soft-target case) keep their
/// K distinct products w_c·p_c of 106 bits in a `PackedFloats` (48 bytes each) and an index a
/// class (4 bytes), not K `BigFloat`s (about 130 bytes each with the allocator's overhead);
/// `scaled[c]` lends the number (not to be written). The other cases keep `BigFloat`s: a hard
/// target shares one zero, and label smoothing's sums have precisions of their own.
struct ScaledWeights {
    private let objects: [BigFloat]
    private let packed: PackedFloats?
    private let slot: [Int32]

    init(_ objects: [BigFloat]) {
        (self.objects, packed, slot) = (objects, nil, [])
    }

    init(packed: PackedFloats, slot: [Int32]) {
        (objects, self.packed, self.slot) = ([], packed, slot)
    }

    /// K, the number of classes.
    var count: Int { packed == nil ? objects.count : slot.count }

    /// r̃_c.
    subscript(c: Int) -> BigFloat {
        if let packed { return packed.view(Int(slot[c])) }
        return objects[c]
    }
}
