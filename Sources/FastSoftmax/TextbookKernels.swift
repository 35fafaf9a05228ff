import RealModule

// The textbook kernels (`naive`, `shifted`, `online`): the reference points the harness compares
// `accurate` against, i.e. what people ship.
// They are deliberately *not* fixed; their error bounds are whatever the algorithms give:
//
// - `Naive`: exp, sum, divide; losses as -log(softmax). Overflows for x > 709 (binary64) or
//   x > 88 (binary32) and gives inf/NaN; [1000, 0, -1000] target 1 gives CE = inf.
//   Probability targets use the literal -Σ p_i·log(softmax_i), so 0·(-inf) is NaN there.
// - `Shifted`: the textbook max shift as in PyTorch/SciPy: logsumexp = m + log(Σ e^(x - m))
//   (shift 0 when m is ±inf, as both libraries do), log_softmax = x - m - log(Σ ...).
//   Loses relative accuracy in small losses (log(S) with S = 1 + tiny) and near-zero
//   logsumexp; softmax is ~ K·u in the sum.
// - `Online`: one pass with a running max and a rescaled sum (the FlashAttention recurrence
//   S ← S·e^(m_old - m_new) + 1), then the same formulas as `Shifted`.
//
// Special values: `Shifted` gets the special-value rules of docs/semantics.md from IEEE arithmetic alone (m = +inf makes
// every x - m NaN or -inf and the sum NaN; m = -inf makes x - m NaN), `Online` checks them
// explicitly (its recurrence would otherwise mix them), `Naive` does nothing special.

/// A textbook kernel: it has a softmax, and forms the cross-entropy gradient from it as
/// softmax - onehot(t), or softmax·Σp - p for probability targets. Both cancel where the softmax
/// is near its target, which is what the harness measures.
protocol TextbookKernel {
    static func softmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                       into out: UnsafeMutableBufferPointer<T>)
}

extension TextbookKernel {
    static func crossEntropyGrad<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, target t: Int,
                                                               into out: UnsafeMutableBufferPointer<T>) {
        softmax(x, into: out)
        out[t] -= 1
    }

    static func crossEntropyGrad<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                               probabilities p: UnsafeBufferPointer<T>,
                                                               into out: UnsafeMutableBufferPointer<T>) {
        softmax(x, into: out)
        var total: T = 0
        for v in p { total += v }
        for i in 0..<out.count { out[i] = out[i] * total - p[i] }
    }
}

enum Naive: TextbookKernel {
    static func sumExp<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> T {
        var sum: T = 0
        for v in x { sum += T.exp(v) }
        return sum
    }

    static func softmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                      into out: UnsafeMutableBufferPointer<T>) {
        var sum: T = 0
        for i in 0..<x.count {
            let e = T.exp(x[i])
            out[i] = e
            sum += e
        }
        for i in 0..<x.count { out[i] /= sum }
    }

    static func logSoftmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                         into out: UnsafeMutableBufferPointer<T>) {
        softmax(x, into: out)
        for i in 0..<x.count { out[i] = T.log(out[i]) }
    }

    static func logsumexp<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> T {
        T.log(sumExp(x))
    }

    static func crossEntropy<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, target t: Int) -> T {
        -T.log(T.exp(x[t]) / sumExp(x))
    }

    static func crossEntropy<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                           probabilities p: UnsafeBufferPointer<T>) -> T {
        let sum = sumExp(x)
        var loss: T = 0
        for i in 0..<x.count { loss -= p[i] * T.log(T.exp(x[i]) / sum) }
        return loss
    }
}

/// Max of a row with NaN propagation (nil: empty row).
func propagatingMax<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> T? {
    guard var m = x.first else { return nil }
    for v in x {
        if v.isNaN { return v }
        if v > m { m = v }
    }
    return m
}

enum Shifted: TextbookKernel {
    /// m and S = Σ e^(x_j - m) (m = -inf for an empty row; S is NaN when m is not finite).
    static func shiftAndSum<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> (m: T, sum: T) {
        guard let m = propagatingMax(x) else { return (-.infinity, 0) }
        var sum: T = 0
        for v in x { sum += T.exp(v - m) }
        return (m, sum)
    }

    static func softmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                      into out: UnsafeMutableBufferPointer<T>) {
        guard let m = propagatingMax(x) else { return }
        var sum: T = 0
        for i in 0..<x.count {
            let e = T.exp(x[i] - m)
            out[i] = e
            sum += e
        }
        for i in 0..<x.count { out[i] /= sum }
    }

    static func logSoftmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                         into out: UnsafeMutableBufferPointer<T>) {
        let (m, sum) = shiftAndSum(x)
        let logSum = T.log(sum)
        for i in 0..<x.count { out[i] = x[i] - m - logSum }
    }

    /// SciPy/PyTorch: the shift is m where m is finite and 0 otherwise (so +inf gives +inf and
    /// an all -inf row -inf).
    static func logsumexp<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> T {
        guard var m = propagatingMax(x) else { return -.infinity }
        if m.isInfinite { m = 0 }
        var sum: T = 0
        for v in x { sum += T.exp(v - m) }
        return m + T.log(sum)
    }

    static func crossEntropy<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, target t: Int) -> T {
        let (m, sum) = shiftAndSum(x)
        return -(x[t] - m - T.log(sum))
    }

    /// -Σ p_i·log_softmax_i, skipping p_i = 0 (0·(-inf) = 0, as scipy.special.xlogy).
    static func crossEntropy<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                           probabilities p: UnsafeBufferPointer<T>) -> T {
        let (m, sum) = shiftAndSum(x)
        let logSum = T.log(sum)
        var loss: T = 0
        for i in 0..<x.count where p[i] != 0 || p[i].isNaN {
            loss -= p[i] * (x[i] - m - logSum)
        }
        if logSum.isNaN { return .nan }
        return loss
    }
}

enum Online: TextbookKernel {
    /// One pass: running max m and S = Σ e^(x_j - m), rescaled when the max grows.
    /// Returns nil for a row docs/semantics.md treats specially (NaN, +inf, all -inf, empty), with the
    /// class in `special`.
    enum Special { case nan, positiveInfinity, allNegativeInfinity }

    static func scan<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> (m: T, sum: T, special: Special?) {
        var m = -T.infinity
        var sum: T = 0
        var sawPositiveInfinity = false
        for v in x {
            if v.isNaN { return (v, v, .nan) }
            if v == .infinity { sawPositiveInfinity = true; continue }
            if v == -.infinity { continue }
            if v > m {
                sum = sum * T.exp(m - v) + 1
                m = v
            } else {
                sum += T.exp(v - m)
            }
        }
        if sawPositiveInfinity { return (.infinity, .infinity, .positiveInfinity) }
        if m == -.infinity { return (m, 0, .allNegativeInfinity) }
        return (m, sum, nil)
    }

    static func softmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                      into out: UnsafeMutableBufferPointer<T>) {
        let (m, sum, special) = scan(x)
        for i in 0..<x.count { out[i] = special == nil ? T.exp(x[i] - m) / sum : .nan }
    }

    static func logSoftmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                         into out: UnsafeMutableBufferPointer<T>) {
        let (m, sum, special) = scan(x)
        let logSum = T.log(sum)
        for i in 0..<x.count { out[i] = special == nil ? x[i] - m - logSum : .nan }
    }

    static func logsumexp<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> T {
        let (m, sum, special) = scan(x)
        switch special {
        case .nan: return .nan
        case .positiveInfinity: return .infinity
        case .allNegativeInfinity: return -.infinity
        case nil: return m + T.log(sum)
        }
    }

    static func crossEntropy<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, target t: Int) -> T {
        let (m, sum, special) = scan(x)
        if special != nil { return .nan }
        return (m - x[t]) + T.log(sum)
    }

    static func crossEntropy<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                           probabilities p: UnsafeBufferPointer<T>) -> T {
        let (m, sum, special) = scan(x)
        if special != nil { return .nan }
        let logSum = T.log(sum)
        var loss: T = 0
        for i in 0..<x.count where p[i] != 0 || p[i].isNaN {
            loss += p[i] * ((m - x[i]) + logSum)
        }
        return loss
    }
}
