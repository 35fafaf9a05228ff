/// A type-erased entry for harnesses that hold a function name, a variant and a format as
/// strings: inputs and outputs are binary64 values.
///
/// Inputs are converted to the format (round to nearest even, once: exact when they are
/// already values of that format, which is what a harness should pass), the kernel runs in
/// that format, and its outputs are returned as `Double`s (exactly, every value of every
/// format being a binary64 value).
///
/// Support: `naive`, `shifted`, `online`, `accurate` in `f64` and `f32`; `mixed` in `f16` and
/// `bf16` (storage narrow, accumulation in Float). Any other pairing throws
/// ``KernelError/unsupported(variant:format:)``.
public enum KernelEvaluator {
    /// The formats the kernels run in.
    public static let formats = ["f64", "f32", "f16", "bf16"]

    /// Whether `variant` runs in `format` (names as in docs/semantics.md and docs/formats.md).
    public static func supports(variant: KernelVariant, format: String) -> Bool {
        switch format {
        case "f64", "f32": variant != .mixed
        case "f16", "bf16": variant == .mixed
        default: false
        }
    }

    /// Runs `function` (`logsumexp`, `softmax`, `log_softmax`, `cross_entropy`,
    /// `cross_entropy_grad`, `sigmoid`, `log_sigmoid`, `softplus`, `bce_with_logits`).
    ///
    /// - Parameters:
    ///   - target: hard target for the cross-entropies (exclusive with `probabilities`).
    ///   - probabilities: one target probability per logit.
    ///   - labels: `bce_with_logits` labels, one per logit.
    ///   - posWeight: `bce_with_logits` pos_weight for every logit (default 1).
    ///   - posWeights: one pos_weight per logit (exclusive with `posWeight`).
    ///   - gradOutput: the upstream gradient dy of `softmax_backward` and `log_softmax_backward`.
    /// - Returns: K outputs for the vector functions, one for logsumexp and cross_entropy.
    /// - Throws: `KernelError` naming the field and value: unknown function or format, an
    ///   unsupported variant/format pair, K = 0 for a loss, a target outside [0, K), a missing
    ///   or mis-sized input.
    public static func evaluate(function: String, variant: KernelVariant, format: String,
                                logits: [Double], target: Int? = nil, probabilities: [Double]? = nil,
                                labels: [Double]? = nil, posWeight: Double? = nil,
                                posWeights: [Double]? = nil, gradOutput: [Double]? = nil) throws(KernelError) -> [Double] {
        guard let fn = KernelFunction(rawValue: function) else { throw .unknownFunction(function) }
        guard formats.contains(format) else { throw .unknownFormat(format) }
        guard supports(variant: variant, format: format) else {
            throw .unsupported(variant: variant, format: format)
        }
        let k = logits.count
        var weights: [Double] = [1]
        switch fn {
        case .crossEntropy, .crossEntropyGrad:
            if k == 0 { throw .emptyRow(function: fn.rawValue) }
            switch (target, probabilities) {
            case (nil, nil): throw .missingField(field: "target or probabilities", function: fn.rawValue)
            case (.some, .some): throw .conflictingFields("target", "probabilities", function: fn.rawValue)
            case (let t?, nil):
                guard t >= 0 && t < k else { throw .targetOutOfRange(target: t, count: k) }
            case (nil, let p?):
                guard p.count == k else { throw .lengthMismatch(field: "probabilities", expected: k, actual: p.count) }
            }
        case .bceWithLogits:
            guard let z = labels else { throw .missingField(field: "labels", function: fn.rawValue) }
            guard z.count == k else { throw .lengthMismatch(field: "labels", expected: k, actual: z.count) }
            if posWeight != nil && posWeights != nil {
                throw .conflictingFields("posWeight", "posWeights", function: fn.rawValue)
            }
            if let w = posWeight { weights = [w] }
            if let w = posWeights {
                guard w.count == k || w.count == 1 else {
                    throw .lengthMismatch(field: "posWeight", expected: k, actual: w.count)
                }
                weights = w
            }
        case .softmaxBackward, .logSoftmaxBackward:
            guard let dy = gradOutput else { throw .missingField(field: "grad_output", function: fn.rawValue) }
            guard dy.count == k else { throw .lengthMismatch(field: "grad_output", expected: k, actual: dy.count) }
        default:
            break
        }
        let inputs = Inputs(function: fn, logits: logits, target: target, probabilities: probabilities,
                            labels: labels ?? [], weights: weights, gradOutput: gradOutput ?? [])
        switch format {
        case "f64": return run(Double.self, variant, inputs)
        case "f32": return run(Float.self, variant, inputs)
        case "f16":
            #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            if #available(macOS 11.0, iOS 14.0, tvOS 14.0, watchOS 7.0, *) {
                return runMixed(Float16.self, inputs)
            }
            #endif
            throw .unsupported(variant: variant, format: format)
        default: return runMixed(BFloat16.self, inputs)
        }
    }

    struct Inputs {
        var function: KernelFunction
        var logits: [Double]
        var target: Int?
        var probabilities: [Double]?
        var labels: [Double]
        var weights: [Double]
        var gradOutput: [Double]
    }

    /// f64/f32: the `Kernels` buffer API (arguments were validated above, so the `try!`s
    /// cannot fire).
    static func run<T: KernelScalar>(_: T.Type, _ variant: KernelVariant, _ a: Inputs) -> [Double] {
        let x = a.logits.map { T($0) }
        let k = x.count
        var out = [T](repeating: 0, count: k)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                switch a.function {
                case .softmax: Kernels<T>.softmax(xb, into: ob, variant: variant)
                case .logSoftmax: Kernels<T>.logSoftmax(xb, into: ob, variant: variant)
                case .sigmoid: Kernels<T>.sigmoid(xb, into: ob, variant: variant)
                case .logSigmoid: Kernels<T>.logSigmoid(xb, into: ob, variant: variant)
                case .softplus: Kernels<T>.softplus(xb, into: ob, variant: variant)
                case .logsumexp, .crossEntropy: break
                case .crossEntropyGrad:
                    if let t = a.target {
                        try! Kernels<T>.crossEntropyGrad(xb, target: t, into: ob, variant: variant)
                    } else {
                        let p = a.probabilities!.map { T($0) }
                        p.withUnsafeBufferPointer { pb in
                            try! Kernels<T>.crossEntropyGrad(xb, probabilities: pb, into: ob, variant: variant)
                        }
                    }
                case .bceWithLogits:
                    let z = a.labels.map { T($0) }, w = a.weights.map { T($0) }
                    z.withUnsafeBufferPointer { zb in
                        w.withUnsafeBufferPointer { wb in
                            try! Kernels<T>.bceWithLogits(xb, labels: zb, posWeights: wb, into: ob, variant: variant)
                        }
                    }
                case .softmaxBackward, .logSoftmaxBackward:
                    let dy = a.gradOutput.map { T($0) }
                    dy.withUnsafeBufferPointer { db in
                        if a.function == .softmaxBackward {
                            try! Kernels<T>.softmaxBackward(xb, gradOutput: db, into: ob, variant: variant)
                        } else {
                            try! Kernels<T>.logSoftmaxBackward(xb, gradOutput: db, into: ob, variant: variant)
                        }
                    }
                }
            }
        }
        switch a.function {
        case .logsumexp:
            return [Double(Kernels<T>.logsumexp(x, variant: variant))]
        case .crossEntropy:
            if let t = a.target { return [Double(try! Kernels<T>.crossEntropy(x, target: t, variant: variant))] }
            let p = a.probabilities!.map { T($0) }
            return [Double(try! Kernels<T>.crossEntropy(x, probabilities: p, variant: variant))]
        default:
            return out.map { Double($0) }
        }
    }

    /// f16/bf16: `MixedKernels` on narrow storage.
    static func runMixed<N: MixedPrecisionStorage>(_: N.Type, _ a: Inputs) -> [Double] {
        let x = a.logits.map { N($0) }
        let k = x.count
        var out = [N](repeating: N(Float(0)), count: k)
        var scalar: N? = nil
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                switch a.function {
                case .softmax: MixedKernels<N>.softmax(xb, into: ob)
                case .logSoftmax: MixedKernels<N>.logSoftmax(xb, into: ob)
                case .sigmoid: MixedKernels<N>.sigmoid(xb, into: ob)
                case .logSigmoid: MixedKernels<N>.logSigmoid(xb, into: ob)
                case .softplus: MixedKernels<N>.softplus(xb, into: ob)
                case .logsumexp: scalar = MixedKernels<N>.logsumexp(xb)
                case .crossEntropy, .crossEntropyGrad:
                    if let t = a.target {
                        if a.function == .crossEntropy {
                            scalar = MixedKernels<N>.crossEntropy(xb, target: t)
                        } else {
                            MixedKernels<N>.crossEntropyGrad(xb, target: t, into: ob)
                        }
                    } else {
                        let p = a.probabilities!.map { N($0) }
                        p.withUnsafeBufferPointer { pb in
                            if a.function == .crossEntropy {
                                scalar = MixedKernels<N>.crossEntropy(xb, probabilities: pb)
                            } else {
                                MixedKernels<N>.crossEntropyGrad(xb, probabilities: pb, into: ob)
                            }
                        }
                    }
                case .bceWithLogits:
                    let z = a.labels.map { N($0) }, w = a.weights.map { N($0) }
                    z.withUnsafeBufferPointer { zb in
                        w.withUnsafeBufferPointer { wb in
                            MixedKernels<N>.bceWithLogits(xb, labels: zb, posWeights: wb, into: ob)
                        }
                    }
                case .softmaxBackward, .logSoftmaxBackward:
                    let dy = a.gradOutput.map { N($0) }
                    dy.withUnsafeBufferPointer { db in
                        if a.function == .softmaxBackward {
                            MixedKernels<N>.softmaxBackward(xb, gradOutput: db, into: ob)
                        } else {
                            MixedKernels<N>.logSoftmaxBackward(xb, gradOutput: db, into: ob)
                        }
                    }
                }
            }
        }
        if let s = scalar { return [Double(s.floatValue)] }
        return out.map { Double($0.floatValue) }
    }
}
