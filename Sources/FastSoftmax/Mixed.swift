import RealModule

/// Mixed precision as GPUs do it: values stored narrow (`Float16`, `BFloat16`, or any
/// `MixedPrecisionStorage`), loaded into `Float`, the shifted algorithm accumulated in `Float`,
/// and every output rounded once to the storage format.
///
/// Error: the Float computation is the `shifted` algorithm (a few Float ulps, 2^-24 each, more
/// for small losses and near-zero logsumexp), then one rounding to the narrow format (1/2 ulp
/// there, 2^-11 for Float16 and 2^-8 for BFloat16 relative). No bound is claimed beyond that.
public enum MixedKernels<N: MixedPrecisionStorage> {
    static func rowMax(_ x: UnsafeBufferPointer<N>) -> Float? {
        guard let first = x.first else { return nil }
        var m = first.floatValue
        for v in x {
            let f = v.floatValue
            if f.isNaN { return f }
            if f > m { m = f }
        }
        return m
    }

    static func shiftAndSum(_ x: UnsafeBufferPointer<N>) -> (m: Float, sum: Float) {
        guard let m = rowMax(x) else { return (-.infinity, 0) }
        var sum: Float = 0
        for v in x { sum += Float.exp(v.floatValue - m) }
        return (m, sum)
    }

    // MARK: buffer API

    /// e^(x_i − m) / Σ e^(x_j − m) in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func softmax(_ x: UnsafeBufferPointer<N>, into out: UnsafeMutableBufferPointer<N>) {
        let (m, sum) = shiftAndSum(x)
        for i in 0..<x.count { out[i] = N(Float.exp(x[i].floatValue - m) / sum) }
    }

    /// x_i − m − log Σ e^(x_j − m) in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func logSoftmax(_ x: UnsafeBufferPointer<N>, into out: UnsafeMutableBufferPointer<N>) {
        let (m, sum) = shiftAndSum(x)
        let logSum = Float.log(sum)
        for i in 0..<x.count { out[i] = N(x[i].floatValue - m - logSum) }
    }

    /// m + log Σ e^(x_j − m) in Float (shift 0 when m is ±inf), rounded to N; -inf when empty.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func logsumexp(_ x: UnsafeBufferPointer<N>) -> N {
        guard var m = rowMax(x) else { return N(-Float.infinity) }
        if m.isInfinite { m = 0 }
        var sum: Float = 0
        for v in x { sum += Float.exp(v.floatValue - m) }
        return N(m + Float.log(sum))
    }

    /// −(x_t − m − log Σ e^(x_j − m)) in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func crossEntropy(_ x: UnsafeBufferPointer<N>, target t: Int) -> N {
        let (m, sum) = shiftAndSum(x)
        return N(-(x[t].floatValue - m - Float.log(sum)))
    }

    /// −Σ p_i·log_softmax_i in Float (0·(-inf) taken as 0), rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func crossEntropy(_ x: UnsafeBufferPointer<N>, probabilities p: UnsafeBufferPointer<N>) -> N {
        let (m, sum) = shiftAndSum(x)
        let logSum = Float.log(sum)
        if logSum.isNaN { return N(Float.nan) }
        var loss: Float = 0
        for i in 0..<x.count {
            let pi = p[i].floatValue
            if pi != 0 || pi.isNaN { loss -= pi * (x[i].floatValue - m - logSum) }
        }
        return N(loss)
    }

    /// softmax − onehot(t) in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func crossEntropyGrad(_ x: UnsafeBufferPointer<N>, target t: Int,
                                        into out: UnsafeMutableBufferPointer<N>) {
        let (m, sum) = shiftAndSum(x)
        for i in 0..<x.count {
            let sm = Float.exp(x[i].floatValue - m) / sum
            out[i] = N(i == t ? sm - 1 : sm)
        }
    }

    /// softmax·Σp − p in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func crossEntropyGrad(_ x: UnsafeBufferPointer<N>, probabilities p: UnsafeBufferPointer<N>,
                                        into out: UnsafeMutableBufferPointer<N>) {
        let (m, sum) = shiftAndSum(x)
        var total: Float = 0
        for v in p { total += v.floatValue }
        for i in 0..<x.count {
            let sm = Float.exp(x[i].floatValue - m) / sum
            out[i] = N(sm * total - p[i].floatValue)
        }
    }

    /// The stable σ in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func sigmoid(_ x: UnsafeBufferPointer<N>, into out: UnsafeMutableBufferPointer<N>) {
        for i in 0..<x.count { out[i] = N(Elementwise.sigmoidStable(x[i].floatValue)) }
    }

    /// The stable log σ in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func logSigmoid(_ x: UnsafeBufferPointer<N>, into out: UnsafeMutableBufferPointer<N>) {
        for i in 0..<x.count { out[i] = N(Elementwise.logSigmoidStable(x[i].floatValue)) }
    }

    /// The stable softplus in Float, rounded to N.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func softplus(_ x: UnsafeBufferPointer<N>, into out: UnsafeMutableBufferPointer<N>) {
        for i in 0..<x.count { out[i] = N(Elementwise.softplusStable(x[i].floatValue)) }
    }

    /// `posWeights` has one value (for every logit) or one per logit.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func bceWithLogits(_ x: UnsafeBufferPointer<N>, labels z: UnsafeBufferPointer<N>,
                                     posWeights w: UnsafeBufferPointer<N>,
                                     into out: UnsafeMutableBufferPointer<N>) {
        for i in 0..<x.count {
            let wi = (w.count == 1 ? w[0] : w[i]).floatValue
            out[i] = N(Elementwise.bceStable(x[i].floatValue, z[i].floatValue, wi))
        }
    }

    // MARK: array API

    /// softmax of an array (see the buffer version).
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func softmax(_ x: [N]) -> [N] { map(x) { softmax($0, into: $1) } }
    /// log_softmax of an array (see the buffer version).
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func logSoftmax(_ x: [N]) -> [N] { map(x) { logSoftmax($0, into: $1) } }
    /// logsumexp of an array (see the buffer version).
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func logsumexp(_ x: [N]) -> N { x.withUnsafeBufferPointer { logsumexp($0) } }
    /// σ of every element of an array.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func sigmoid(_ x: [N]) -> [N] { map(x) { sigmoid($0, into: $1) } }
    /// log σ of every element of an array.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func logSigmoid(_ x: [N]) -> [N] { map(x) { logSigmoid($0, into: $1) } }
    /// softplus of every element of an array.
    @_specialize(where N == BFloat16)
    @_specialize(where N == Float)
    public static func softplus(_ x: [N]) -> [N] { map(x) { softplus($0, into: $1) } }

    static func map(_ x: [N], _ body: (UnsafeBufferPointer<N>, UnsafeMutableBufferPointer<N>) -> Void) -> [N] {
        x.withUnsafeBufferPointer { input in
            [N](unsafeUninitializedCapacity: input.count) { buffer, count in
                buffer.initialize(repeating: N(Float(0)))
                body(input, buffer)
                count = input.count
            }
        }
    }
}
