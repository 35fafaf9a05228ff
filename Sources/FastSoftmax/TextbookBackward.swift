import RealModule

// The textbook backward passes: PyTorch's formulas (aten/src/ATen/native/SoftMax.cpp,
// `_softmax_backward_data` and `_log_softmax_backward_data`), on each variant's own forward
// output, in the input format. No bound is claimed; they are what the harness measures:
//
//   softmax_backward:     y = softmax(x);      dx_i = y_i·(dy_i − Σ_j dy_j·y_j)
//   log_softmax_backward: o = log_softmax(x);  dx_i = dy_i − exp(o_i)·Σ_j dy_j
//
// Both cancel where dy_i ≈ ⟨dy, y⟩ (resp. dy_i ≈ y_i·Σdy), e.g. a constant dy gives rounding
// noise instead of the exact 0; `Naive` overflows with its forward pass.

/// A textbook kernel with a log_softmax: the backward passes in PyTorch's form.
protocol TextbookBackwardKernel: TextbookKernel {
    static func logSoftmax<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                         into out: UnsafeMutableBufferPointer<T>)
}

extension Naive: TextbookBackwardKernel {}
extension Shifted: TextbookBackwardKernel {}
extension Online: TextbookBackwardKernel {}

extension TextbookBackwardKernel {
    /// y ⊙ (dy − ⟨dy, y⟩) with y this kernel's softmax.
    static func softmaxBackward<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                                              into out: UnsafeMutableBufferPointer<T>) {
        softmax(x, into: out)
        var dot: T = 0
        for i in 0..<out.count { dot += dy[i] * out[i] }
        for i in 0..<out.count { out[i] = out[i] * (dy[i] - dot) }
    }

    /// dy − exp(log_softmax(x))·Σ dy with this kernel's log_softmax.
    static func logSoftmaxBackward<T: Real & BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                                                 into out: UnsafeMutableBufferPointer<T>) {
        logSoftmax(x, into: out)
        var sum: T = 0
        for v in dy { sum += v }
        for i in 0..<out.count { out[i] = dy[i] - T.exp(out[i]) * sum }
    }
}

extension MixedKernels {
    /// `Shifted.softmaxBackward` in Float on the widened inputs, each output rounded once to N.
    public static func softmaxBackward(_ x: UnsafeBufferPointer<N>, gradOutput dy: UnsafeBufferPointer<N>,
                                       into out: UnsafeMutableBufferPointer<N>) {
        widened(x, dy, into: out) { Shifted.softmaxBackward($0, gradOutput: $1, into: $2) }
    }

    /// `Shifted.logSoftmaxBackward` in Float on the widened inputs, each output rounded once to N.
    public static func logSoftmaxBackward(_ x: UnsafeBufferPointer<N>, gradOutput dy: UnsafeBufferPointer<N>,
                                          into out: UnsafeMutableBufferPointer<N>) {
        widened(x, dy, into: out) { Shifted.logSoftmaxBackward($0, gradOutput: $1, into: $2) }
    }

    private static func widened(
        _ x: UnsafeBufferPointer<N>, _ dy: UnsafeBufferPointer<N>, into out: UnsafeMutableBufferPointer<N>,
        _ body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void
    ) {
        let xf = x.map(\.floatValue), df = dy.map(\.floatValue)
        var of = [Float](repeating: 0, count: x.count)
        xf.withUnsafeBufferPointer { xb in
            df.withUnsafeBufferPointer { db in of.withUnsafeMutableBufferPointer { body(xb, db, $0) } }
        }
        for i in 0..<x.count { out[i] = N(of[i]) }
    }
}

extension Kernels {
    /// softmax_backward: y ⊙ (dy − ⟨dy, y⟩), y = softmax(x), into `out` (same length).
    /// `accurate`: within 0.5 + 2^-8 + 2^-26 ulp of the exact value (binary64 and binary32),
    /// exact zeros exactly 0 (AccurateBackward.swift); NaN or +inf in x, all −inf, or a
    /// non-finite dy: all NaN; a −inf logit gives 0.
    ///
    /// - Throws: `KernelError.lengthMismatch` when dy's length is not K.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softmaxBackward(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                       into out: UnsafeMutableBufferPointer<T>,
                                       variant: KernelVariant = .accurate) throws(KernelError) {
        try backward(log: false, x, dy, out, variant)
    }

    /// log_softmax_backward: dy − softmax(x)·Σ dy, into `out` (same length). `accurate`: within
    /// 0.5 + 2^-8 ulp (binary64 and binary32); a −inf logit gives dy_i; NaN or +inf in x, all
    /// −inf, or a non-finite dy: all NaN.
    ///
    /// - Throws: `KernelError.lengthMismatch` when dy's length is not K.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSoftmaxBackward(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                          into out: UnsafeMutableBufferPointer<T>,
                                          variant: KernelVariant = .accurate) throws(KernelError) {
        try backward(log: true, x, dy, out, variant)
    }

    /// Checks the lengths and runs the variant's softmax_backward (or log_softmax_backward).
    private static func backward(log: Bool, _ x: UnsafeBufferPointer<T>, _ dy: UnsafeBufferPointer<T>,
                                 _ out: UnsafeMutableBufferPointer<T>, _ variant: KernelVariant) throws(KernelError) {
        guard dy.count == x.count else { throw .lengthMismatch(field: "grad_output", expected: x.count, actual: dy.count) }
        precondition(out.count == x.count, "output length must equal input length")
        switch (variant, log) {
        case (.naive, false): Naive.softmaxBackward(x, gradOutput: dy, into: out)
        case (.naive, true): Naive.logSoftmaxBackward(x, gradOutput: dy, into: out)
        case (.shifted, false): Shifted.softmaxBackward(x, gradOutput: dy, into: out)
        case (.shifted, true): Shifted.logSoftmaxBackward(x, gradOutput: dy, into: out)
        case (.online, false): Online.softmaxBackward(x, gradOutput: dy, into: out)
        case (.online, true): Online.logSoftmaxBackward(x, gradOutput: dy, into: out)
        case (.accurate, false): Accurate.softmaxBackward(x, gradOutput: dy, into: out)
        case (.accurate, true): Accurate.logSoftmaxBackward(x, gradOutput: dy, into: out)
        case (.mixed, false): MixedKernels<T>.softmaxBackward(x, gradOutput: dy, into: out)
        case (.mixed, true): MixedKernels<T>.logSoftmaxBackward(x, gradOutput: dy, into: out)
        }
    }

    /// softmax_backward of arrays (see the buffer version).
    public static func softmaxBackward(_ x: [T], gradOutput dy: [T], variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try backward(x, dy) { (xb, db, ob) throws(KernelError) in try softmaxBackward(xb, gradOutput: db, into: ob, variant: variant) }
    }

    /// log_softmax_backward of arrays (see the buffer version).
    public static func logSoftmaxBackward(_ x: [T], gradOutput dy: [T], variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try backward(x, dy) { (xb, db, ob) throws(KernelError) in try logSoftmaxBackward(xb, gradOutput: db, into: ob, variant: variant) }
    }

    private static func backward(
        _ x: [T], _ dy: [T],
        _ body: (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) throws(KernelError) -> Void
    ) throws(KernelError) -> [T] {
        guard dy.count == x.count else { throw .lengthMismatch(field: "grad_output", expected: x.count, actual: dy.count) }
        var out = [T](repeating: 0, count: x.count)
        var failure: KernelError?
        x.withUnsafeBufferPointer { xb in
            dy.withUnsafeBufferPointer { db in
                out.withUnsafeMutableBufferPointer { ob in
                    do throws(KernelError) { try body(xb, db, ob) } catch { failure = error }
                }
            }
        }
        if let failure { throw failure }
        return out
    }
}
