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
        if eps == 0 {
            divisor = 1
            switch target {
            case .index(let t):
                let zero = ExactArithmetic.value(0)
                var r = [BigFloat](repeating: zero, count: k)
                r[t] = w(t)
                scaled = ScaledWeights(r)
                total = ExactArithmetic.sum(r)
            case .probabilities(let p):
                // r̃_c = w_c·p_c, 106 bits (`ExactArithmetic.product` of two doubles), made where
                // it is read (ScaledWeights): the same number each time.
                scaled = ScaledWeights(count: k) { c in ExactArithmetic.product(w(c), ExactArithmetic.value(p[c])) }
                total = Self.exactSum(scaled)
            }
        } else {
            divisor = k
            let e = ExactArithmetic.value(eps)
            let kTimesOneMinusEps = ExactArithmetic.product(
                ExactArithmetic.difference(ExactArithmetic.value(1), e), ExactArithmetic.value(Double(k)))
            switch target {
            case .index(let t):
                scaled = ScaledWeights(count: k) { c in
                    let r = ExactArithmetic.product(e, w(c))
                    return c == t ? ExactArithmetic.sum([r, ExactArithmetic.product(kTimesOneMinusEps, w(t))]) : r
                }
            case .probabilities(let p):
                scaled = ScaledWeights(count: k) { c in
                    let q = ExactArithmetic.sum([ExactArithmetic.product(kTimesOneMinusEps, ExactArithmetic.value(p[c])), e])
                    return ExactArithmetic.product(w(c), q)
                }
            }
            total = Self.exactSum(scaled)
        }
    }

    /// `ExactArithmetic.sum` of the K numbers r̃_c: the same exact sum at the same precision
    /// (top − bottom + bits(n) + 2 over the n nonzero terms), without an array of them. A first
    /// pass finds the precision; the second adds the terms one at a time at it, each addition
    /// exact: every partial sum of these non-negative terms lies between 0 and the total, and
    /// is a multiple of 2^bottom, so it fits the precision that holds the total exactly.
    static func exactSum(_ r: ScaledWeights) -> BigFloat {
        var n = 0, top = Int.min, bottom = Int.max
        for c in 0..<r.count {
            let v = r[c]
            precondition(v.signum >= 0, "non-negative weights")
            if v.isZero { continue }
            n += 1
            top = Swift.max(top, v.exponent)
            bottom = Swift.min(bottom, v.exponent - v.precision)
        }
        guard n > 0 else { return BigFloat(0, precision: 53) }
        let bits = top - bottom + (Int.bitWidth - (n).leadingZeroBitCount) + 2
        let total = BigFloat(0, precision: bits)
        ExponentRange.widest {
            for c in 0..<r.count {
                let v = r[c]
                if v.isZero { continue }
                let t = total.add(total, v, .nearest)
                precondition(t == 0, "exact sum was rounded")
            }
        }
        return total
    }
}

/// The exact weights r̃_c of `TargetWeights`, by class: `scaled[c]`.
///
/// Memory: a hard target without label smoothing keeps K references to one shared zero (8 bytes
/// a class). The other cases keep nothing per class: r̃_c is made where it is read, from the
/// request's doubles, with the `ExactArithmetic` operations that made it before (w_c·p_c;
/// ε·w_c, plus K(1−ε)·w_t at the target; w_c·(K(1−ε)·p_c + ε)), so it is the same exact number
/// at the same precision each time: they used to be kept, in a `PackedFloats` (52 bytes a class)
/// or as K `BigFloat`s (about 140).
struct ScaledWeights {
    private let objects: [BigFloat]
    private let make: ((Int) -> BigFloat)?
    /// K, the number of classes.
    let count: Int

    init(_ objects: [BigFloat]) {
        (self.objects, make, count) = (objects, nil, objects.count)
    }

    /// r̃_c = make(c), made where it is read.
    init(count: Int, _ make: @escaping (Int) -> BigFloat) {
        (objects, self.make, self.count) = ([], make, count)
    }

    /// r̃_c (a number not to be written).
    subscript(c: Int) -> BigFloat {
        if let make { return make(c) }
        return objects[c]
    }
}
