import MPFR

/// Enclosures of the elementwise functions: sigmoid, log_sigmoid, softplus, bce_with_logits.
///
/// Each output depends on one logit (a NaN logit makes only its own output NaN). All are written
/// around T = log1p(exp(-|x|)), which never overflows and keeps full relative accuracy:
///
///     softplus(x)    = max(x, 0) + T                 (both terms >= 0)
///     log_sigmoid(x) = -softplus(-x) = -(max(-x, 0) + T)
///     sigmoid(x)     = 1 / (1 + exp(-x)) for x >= 0,  exp(x) / (1 + exp(x)) for x < 0
///     bce(x; z, w)   = w·z·softplus(-x) + (1-z)·softplus(x)
///                    = a·max(-x, 0) + b·max(x, 0) + (a + b)·T,   a = w·z, b = 1 - z,
///
/// (PyTorch's `binary_cross_entropy_with_logits`). a, b and a + b are computed exactly, so for
/// labels in [0, 1] and w >= 0 every term is >= 0 (no cancellation); for other labels an exact zero
/// loss needs a = b = 0 or a term to vanish exactly, which the exact coefficients make a point.
/// At x = ±inf the values are the limits (sigmoid 1 / 0, softplus inf / 0, log_sigmoid -0 / -inf,
/// bce: the sign of the infinite term's coefficient, or 0 when that coefficient is 0).
enum Elementwise {
    private static func t(_ x: Double, _ w: IntervalArithmetic) -> Interval {
        w.log1p(w.exp(w.point(-x.magnitude)))
    }

    static func softplus(_ x: Double, _ w: IntervalArithmetic) -> Enclosure {
        if x.isNaN { return .exact(.nan) }
        if x.isInfinite { return .exact(x > 0 ? .infinity : 0) }
        return .interval(w.add(w.point(Swift.max(x, 0)), t(x, w)))
    }

    static func logSigmoid(_ x: Double, _ w: IntervalArithmetic) -> Enclosure {
        if x.isNaN { return .exact(.nan) }
        if x.isInfinite { return .exact(x > 0 ? -0.0 : -.infinity) }
        return .interval(w.neg(w.add(w.point(Swift.max(-x, 0)), t(x, w))))
    }

    static func sigmoid(_ x: Double, _ w: IntervalArithmetic) -> Enclosure {
        if x.isNaN { return .exact(.nan) }
        if x.isInfinite { return .exact(x > 0 ? 1 : 0) }
        let e = w.exp(w.point(-x.magnitude))
        let denominator = w.add(w.one, e)
        return .interval(w.div(x >= 0 ? w.one : e, denominator))
    }

    /// Needs finite `label` and `posWeight` (validated).
    /// `weight` (PyTorch's per-element `weight`) scales both coefficients, exactly.
    static func bce(_ x: Double, label z: Double, posWeight: Double, weight: Double, _ w: IntervalArithmetic) -> Enclosure {
        if x.isNaN { return .exact(.nan) }
        let scale = ExactArithmetic.value(weight)
        let a = ExactArithmetic.product(scale, ExactArithmetic.product(ExactArithmetic.value(posWeight), ExactArithmetic.value(z)))
        let b = ExactArithmetic.product(scale, ExactArithmetic.difference(ExactArithmetic.value(1), ExactArithmetic.value(z)))
        if x.isInfinite {
            let coefficient = x > 0 ? b : a  // of the term that grows like |x|
            return .exact(coefficient.isZero ? 0 : (coefficient.signBit ? -.infinity : .infinity))
        }
        let c = ExactArithmetic.sum([a, b])
        var terms: [Interval] = []
        if x < 0 { terms.append(w.mul(Interval(point: a), w.point(-x))) }
        if x > 0 { terms.append(w.mul(Interval(point: b), w.point(x))) }
        if !c.isZero { terms.append(w.mul(Interval(point: c), t(x, w))) }
        return .interval(w.sum(terms))
    }
}
