import DoubleWordArithmetic
import RealModule

// sigmoid, log_sigmoid, softplus, bce_with_logits: one output per logit.
//
// - naive: 1/(1 + e^-x), log(sigmoid), log(1 + e^x), -[w·z·log σ + (1 - z)·log(1 - σ)].
// - stable (the `shifted` and `online` variants, and `mixed` in Float): PyTorch's forms,
//   sigmoid by the sign of x, softplus = max(x, 0) + log1p(e^-|x|),
//   log_sigmoid = min(x, 0) - log1p(e^-|x|),
//   bce = (1 - z)·x + (1 + (w - 1)·z)·(log1p(e^-|x|) + max(-x, 0)).
// - accurate: double-word, see each routine.

enum Elementwise {
    // MARK: naive

    static func sigmoidNaive<T: Real & BinaryFloatingPoint>(_ x: T) -> T { 1 / (1 + T.exp(-x)) }

    static func logSigmoidNaive<T: Real & BinaryFloatingPoint>(_ x: T) -> T { T.log(sigmoidNaive(x)) }

    static func softplusNaive<T: Real & BinaryFloatingPoint>(_ x: T) -> T { T.log(1 + T.exp(x)) }

    static func bceNaive<T: Real & BinaryFloatingPoint>(_ x: T, _ z: T, _ w: T) -> T {
        let s = sigmoidNaive(x)
        return -(w * z * T.log(s) + (1 - z) * T.log(1 - s))
    }

    // MARK: stable (PyTorch)

    static func sigmoidStable<T: Real & BinaryFloatingPoint>(_ x: T) -> T {
        if x >= 0 { return 1 / (1 + T.exp(-x)) }
        let e = T.exp(x)
        return e / (1 + e)
    }

    static func softplusStable<T: Real & BinaryFloatingPoint>(_ x: T) -> T {
        if x.isNaN { return x }
        return (x > 0 ? x : 0) + T.log(onePlus: T.exp(-x.magnitude))
    }

    static func logSigmoidStable<T: Real & BinaryFloatingPoint>(_ x: T) -> T {
        if x.isNaN { return x }
        return (x < 0 ? x : 0) - T.log(onePlus: T.exp(-x.magnitude))
    }

    static func bceStable<T: Real & BinaryFloatingPoint>(_ x: T, _ z: T, _ w: T) -> T {
        let logWeight = 1 + (w - 1) * z
        return (1 - z) * x + logWeight * (T.log(onePlus: T.exp(-x.magnitude)) + (x < 0 ? -x : 0))
    }

    // MARK: accurate (binary64 internals; binary32 rounds the binary64 result once more)

    /// sigmoid(x) = 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) for x < 0 (e^-|x| in extended range,
    /// so results down to the least subnormal keep their digits).
    /// Error: rhoExp + 2·rhoOp relative: <= 0.5 + 2^-44 ulp (subnormal results included).
    static func sigmoidAccurate(_ x: Double) -> Double {
        if x.isNaN { return x }
        let e = DoubleWordMath.exp(DoubleWord(-x.magnitude))
        let denominator = ScaledDoubleWord.one + e
        return (x >= 0 ? ScaledDoubleWord.one / denominator : e / denominator).doubleValue
    }

    /// softplus(x) = log1p(e^x) for x <= 0, x + log1p(e^-x) for x > 0 (both terms positive).
    /// Error: e^-|x| rhoExp, log1p rhoLog1p + rhoExp, the sum rhoOp: relative <= 2^-95.
    static func softplusAccurateScaled(_ x: Double) -> ScaledDoubleWord {
        if x.isNaN || x == .infinity { return ScaledDoubleWord(hi: x, lo: 0, exponent: 0) }
        let l = DoubleWordMath.log1p(DoubleWordMath.exp(DoubleWord(-x.magnitude)))
        return x > 0 ? ScaledDoubleWord(x) + l : l
    }

    static func softplusAccurate(_ x: Double) -> Double { softplusAccurateScaled(x).doubleValue }

    /// log_sigmoid(x) = -softplus(-x); same bound.
    static func logSigmoidAccurate(_ x: Double) -> Double { (-softplusAccurateScaled(-x)).doubleValue }

    /// bce = w·z·softplus(-x) + (1 - z)·softplus(x), since -log σ(x) = softplus(-x) and
    /// -log(1 - σ(x)) = softplus(x). w·z is an exact extended-range product, 1 - z an exact
    /// two-sum; a zero weight times an infinite softplus is 0 (as 0·(-inf) in cross-entropy).
    /// Error for z in [0, 1] and w >= 0 (two nonnegative terms): <= 2^-94 relative.
    static func bceAccurate(_ x: Double, _ z: Double, _ w: Double) -> Double {
        if x.isNaN || z.isNaN || w.isNaN { return .nan }
        let wz = ScaledDoubleWord(w) * ScaledDoubleWord(z)
        let oneMinusZ = ScaledDoubleWord(twoSum(1, -z))
        var loss = ScaledDoubleWord.zero
        if !wz.isZero { loss = loss + wz * softplusAccurateScaled(-x) }
        if !oneMinusZ.isZero { loss = loss + oneMinusZ * softplusAccurateScaled(x) }
        return loss.doubleValue
    }
}
