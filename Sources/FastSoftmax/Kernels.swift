import RealModule

/// Which implementation of a function to run.
public enum KernelVariant: String, CaseIterable, Sendable, Hashable, Codable {
    /// exp, sum, divide; losses as -log(softmax). Overflows and NaNs on purpose.
    case naive
    /// The textbook max shift (PyTorch/SciPy).
    case shifted
    /// One pass with a running max and a rescaled sum (FlashAttention style).
    case online
    /// This project's kernels: within 0.5 + 2^-27 ulp of the exact value in binary64 and
    /// 0.5 + 2^-29 + 2^-56 in binary32 (the ulp of docs/formats.md, subnormal results included;
    /// the SIMD softmax/log_softmax bounds below are looser) for logsumexp, softmax, log_softmax,
    /// cross_entropy (hard targets, and probability targets that are finite and >= 0) and
    /// cross_entropy_grad (hard or finite probability targets), on every input; special values
    /// as docs/semantics.md says. The analysis gives 0.5 + 2^-27 ulp; outputs that cancel (logsumexp
    /// near 0, gradients near 0) are recomputed in multi-precision until that holds. softmax
    /// and log_softmax in binary64 and binary32 run on SIMD lanes (AccurateVector.swift):
    /// 0.5 + 2^-4.3 ulp in binary64 (log_softmax 0.5 + 2^-5.8), 0.5 + 2^-16 ulp in binary32,
    /// at a textbook kernel's speed.
    /// sigmoid, log_sigmoid, softplus, and bce_with_logits with labels in [0, 1] and
    /// pos_weight >= 0 have no cancellation and meet the same bound.
    /// softmax_backward: 0.5 + 2^-8 + 2^-26 ulp, log_softmax_backward: 0.5 + 2^-8 ulp
    /// (AccurateBackward.swift), exact zeros exactly 0.
    case accurate
    /// Narrow storage (Float16, BFloat16), Float accumulation, outputs rounded to the storage
    /// format. For `Kernels<Float>` this is `shifted`; for `Kernels<Double>`, Float compute.
    case mixed
}

/// The functions, named as in docs/semantics.md and the oracle's requests.
public enum KernelFunction: String, CaseIterable, Sendable, Hashable, Codable {
    /// log Σ_j e^(x_j).
    case logsumexp
    /// e^(x_i) / Σ_j e^(x_j).
    case softmax
    /// x_i − logsumexp(x).
    case logSoftmax = "log_softmax"
    /// logsumexp(x) − x_t, or −Σ p_i·log_softmax(x)_i for probability targets.
    case crossEntropy = "cross_entropy"
    /// ∂cross_entropy/∂x_i: softmax(x) − onehot(t), or softmax(x)·Σp − p.
    case crossEntropyGrad = "cross_entropy_grad"
    /// 1 / (1 + e^-x), elementwise.
    case sigmoid
    /// log σ(x) = −softplus(−x), elementwise.
    case logSigmoid = "log_sigmoid"
    /// log(1 + e^x), elementwise.
    case softplus
    /// Binary cross-entropy on logits with labels z and pos_weight w, elementwise.
    case bceWithLogits = "bce_with_logits"
    /// y ⊙ (dy − ⟨dy, y⟩), y = softmax(x): the softmax vector–Jacobian product.
    case softmaxBackward = "softmax_backward"
    /// dy − softmax(x)·Σ dy: the log_softmax vector–Jacobian product.
    case logSoftmaxBackward = "log_softmax_backward"

    /// True for the functions that take a target (hard index or probabilities).
    public var isLoss: Bool { self == .crossEntropy || self == .crossEntropyGrad }
}

/// A scalar type the kernels run on: `Double`, `Float`, and (where the platform has it)
/// `Float16`.
public protocol KernelScalar: Real, BinaryFloatingPoint, MixedPrecisionStorage {}
extension Double: KernelScalar {}
extension Float: KernelScalar {}
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
@available(macOS 11.0, iOS 14.0, tvOS 14.0, watchOS 7.0, *)
extension Float16: KernelScalar {}
#endif

/// Errors of invalid arguments: each names the field and the value.
public enum KernelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `target` is not in [0, K).
    case targetOutOfRange(target: Int, count: Int)
    /// A loss on an empty row (K = 0).
    case emptyRow(function: String)
    /// An array whose length should be K (or 1 for `posWeight`).
    case lengthMismatch(field: String, expected: Int, actual: Int)
    /// A required input is missing, or two exclusive ones were both given.
    case missingField(field: String, function: String)
    /// Two inputs of which a function takes one were both given.
    case conflictingFields(String, String, function: String)
    /// A function name that is not a `KernelFunction`.
    case unknownFunction(String)
    /// A format name other than f64, f32, f16, bf16.
    case unknownFormat(String)
    /// The variant does not exist in that format (mixed is f16/bf16 only, the others f64/f32).
    case unsupported(variant: KernelVariant, format: String)

    /// A sentence naming the field and the value.
    public var description: String {
        switch self {
        case let .targetOutOfRange(target, count):
            "target \(target) is out of range: the row has K = \(count) logits, so it must be in [0, \(count))"
        case let .emptyRow(function):
            "\(function) needs at least one logit (K = 0 given)"
        case let .lengthMismatch(field, expected, actual):
            "\(field) has \(actual) values, expected \(expected)"
        case let .missingField(field, function):
            "\(function) needs \(field)"
        case let .conflictingFields(a, b, function):
            "\(function) takes \(a) or \(b), not both"
        case let .unknownFunction(name):
            "unknown function \"\(name)\" (known: \(KernelFunction.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unknownFormat(name):
            "unknown format \"\(name)\" (known: f64, f32, f16, bf16)"
        case let .unsupported(variant, format):
            variant == .mixed
                ? "variant mixed runs on narrow storage only (f16, bf16), not \(format)"
                : "variant \(variant.rawValue) runs in f64 and f32 only, not \(format) (use mixed)"
        }
    }
}

/// The kernels for one scalar type, all variants.
///
/// The buffer functions write into a caller-provided output of the same length as the input
/// and allocate nothing (except the `accurate` slow path, which allocates when it runs: only
/// for a logsumexp or probability-target gradient entry that cancels by more than ~25 bits).
/// The array functions are conveniences over them.
///
/// Special values (all variants but `naive`): NaN anywhere → all outputs NaN; -inf logits
/// contribute 0; all -inf → logsumexp -inf, others NaN; any +inf → logsumexp +inf, others NaN.
/// `cross_entropy` with probabilities treats p_i·(-inf) as 0 when p_i = 0.
public enum Kernels<T: KernelScalar> {
    // MARK: - Row functions on buffers

    /// softmax(x) into `out` (same length). `accurate`: see `KernelVariant.accurate` (0.5 + 2^-4.3 ulp
    /// in binary64, 0.5 + 2^-16 in binary32); NaN anywhere, or a +inf logit, gives all NaN.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softmax(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                               variant: KernelVariant = .accurate) {
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: Naive.softmax(x, into: out)
        case .shifted: Shifted.softmax(x, into: out)
        case .online: Online.softmax(x, into: out)
        case .accurate: Accurate.softmax(x, into: out)
        case .mixed: MixedKernels<T>.softmax(x, into: out)
        }
    }

    /// log_softmax(x) into `out` (same length). `accurate`: 0.5 + 2^-5.8 ulp in binary64, 0.5 + 2^-16
    /// in binary32; a logit of -inf gives -inf; NaN or +inf anywhere gives all NaN.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSoftmax(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                                  variant: KernelVariant = .accurate) {
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: Naive.logSoftmax(x, into: out)
        case .shifted: Shifted.logSoftmax(x, into: out)
        case .online: Online.logSoftmax(x, into: out)
        case .accurate: Accurate.logSoftmax(x, into: out)
        case .mixed: MixedKernels<T>.logSoftmax(x, into: out)
        }
    }

    /// log Σ e^(x_j); -inf for an empty row.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logsumexp(_ x: UnsafeBufferPointer<T>, variant: KernelVariant = .accurate) -> T {
        switch variant {
        case .naive: Naive.logsumexp(x)
        case .shifted: Shifted.logsumexp(x)
        case .online: Online.logsumexp(x)
        case .accurate: Accurate.logsumexp(x)
        case .mixed: MixedKernels<T>.logsumexp(x)
        }
    }

    /// logsumexp(x) - x_t.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropy(_ x: UnsafeBufferPointer<T>, target: Int,
                                    variant: KernelVariant = .accurate) throws(KernelError) -> T {
        try check(x, target: target, function: .crossEntropy)
        return switch variant {
        case .naive: Naive.crossEntropy(x, target: target)
        case .shifted: Shifted.crossEntropy(x, target: target)
        case .online: Online.crossEntropy(x, target: target)
        case .accurate: Accurate.crossEntropy(x, target: target)
        case .mixed: MixedKernels<T>.crossEntropy(x, target: target)
        }
    }

    /// -Σ p_i·log_softmax(x)_i, with 0·(-inf) = 0.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropy(_ x: UnsafeBufferPointer<T>, probabilities p: UnsafeBufferPointer<T>,
                                    variant: KernelVariant = .accurate) throws(KernelError) -> T {
        try check(x, probabilities: p, function: .crossEntropy)
        return switch variant {
        case .naive: Naive.crossEntropy(x, probabilities: p)
        case .shifted: Shifted.crossEntropy(x, probabilities: p)
        case .online: Online.crossEntropy(x, probabilities: p)
        case .accurate: Accurate.crossEntropy(x, probabilities: p)
        case .mixed: MixedKernels<T>.crossEntropy(x, probabilities: p)
        }
    }

    /// softmax(x) - onehot(t).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropyGrad(_ x: UnsafeBufferPointer<T>, target: Int,
                                        into out: UnsafeMutableBufferPointer<T>,
                                        variant: KernelVariant = .accurate) throws(KernelError) {
        try check(x, target: target, function: .crossEntropyGrad)
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: Naive.crossEntropyGrad(x, target: target, into: out)
        case .shifted: Shifted.crossEntropyGrad(x, target: target, into: out)
        case .online: Online.crossEntropyGrad(x, target: target, into: out)
        case .accurate: Accurate.crossEntropyGrad(x, target: target, into: out)
        case .mixed: MixedKernels<T>.crossEntropyGrad(x, target: target, into: out)
        }
    }

    /// softmax(x)·Σp - p.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropyGrad(_ x: UnsafeBufferPointer<T>, probabilities p: UnsafeBufferPointer<T>,
                                        into out: UnsafeMutableBufferPointer<T>,
                                        variant: KernelVariant = .accurate) throws(KernelError) {
        try check(x, probabilities: p, function: .crossEntropyGrad)
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: Naive.crossEntropyGrad(x, probabilities: p, into: out)
        case .shifted: Shifted.crossEntropyGrad(x, probabilities: p, into: out)
        case .online: Online.crossEntropyGrad(x, probabilities: p, into: out)
        case .accurate: Accurate.crossEntropyGrad(x, probabilities: p, into: out)
        case .mixed: MixedKernels<T>.crossEntropyGrad(x, probabilities: p, into: out)
        }
    }

    // MARK: - Elementwise functions on buffers

    /// σ(x) = 1/(1 + e^-x) per logit. `accurate`: correctly rounded up to 0.5 + 2^-27 ulp (no
    /// cancellation: 1 + e^-|x| in extended range, one division).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func sigmoid(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                               variant: KernelVariant = .accurate) {
        elementwise(x, into: out, variant: variant, naive: Elementwise.sigmoidNaive, stable: Elementwise.sigmoidStable,
                    accurate: Elementwise.sigmoidAccurate, mixed: MixedKernels<T>.sigmoid)
    }

    /// log σ(x) = -softplus(-x) per logit. `accurate`: as `softplus`.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSigmoid(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                                  variant: KernelVariant = .accurate) {
        elementwise(x, into: out, variant: variant, naive: Elementwise.logSigmoidNaive, stable: Elementwise.logSigmoidStable,
                    accurate: Elementwise.logSigmoidAccurate, mixed: MixedKernels<T>.logSigmoid)
    }

    /// softplus(x) = log(1 + e^x) per logit. `accurate`: max(x, 0) + log1p(e^-|x|), both terms
    /// >= 0, in extended range: 0.5 + 2^-27 ulp.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softplus(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                                variant: KernelVariant = .accurate) {
        elementwise(x, into: out, variant: variant, naive: Elementwise.softplusNaive, stable: Elementwise.softplusStable,
                    accurate: Elementwise.softplusAccurate, mixed: MixedKernels<T>.softplus)
    }

    /// One elementwise function, the variant's formula applied to every logit.
    @inline(__always)
    static func elementwise(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>, variant: KernelVariant,
                            naive: (T) -> T, stable: (T) -> T, accurate: (Double) -> Double,
                            mixed: (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void) {
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: for i in 0..<x.count { out[i] = naive(x[i]) }
        case .shifted, .online: for i in 0..<x.count { out[i] = stable(x[i]) }
        case .accurate: for i in 0..<x.count { out[i] = T(accurate(Double(x[i]))) }
        case .mixed: mixed(x, out)
        }
    }

    /// -[w·z·log σ(x) + (1 - z)·log(1 - σ(x))] per logit; `posWeights` has 1 or K values.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func bceWithLogits(_ x: UnsafeBufferPointer<T>, labels z: UnsafeBufferPointer<T>,
                                     posWeights w: UnsafeBufferPointer<T>,
                                     into out: UnsafeMutableBufferPointer<T>,
                                     variant: KernelVariant = .accurate) throws(KernelError) {
        guard z.count == x.count else {
            throw .lengthMismatch(field: "labels", expected: x.count, actual: z.count)
        }
        guard w.count == 1 || w.count == x.count else {
            throw .lengthMismatch(field: "posWeight", expected: x.count, actual: w.count)
        }
        precondition(out.count == x.count, "output length must equal input length")
        for i in 0..<x.count {
            let wi = w.count == 1 ? w[0] : w[i]
            switch variant {
            case .naive: out[i] = Elementwise.bceNaive(x[i], z[i], wi)
            case .shifted, .online: out[i] = Elementwise.bceStable(x[i], z[i], wi)
            case .accurate: out[i] = T(Elementwise.bceAccurate(Double(x[i]), Double(z[i]), Double(wi)))
            case .mixed: out[i] = T(Elementwise.bceStable(x[i].floatValue, z[i].floatValue, wi.floatValue))
            }
        }
    }

    // MARK: - Array conveniences

    /// softmax of an array (see the buffer version).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softmax(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { softmax($0, into: $1, variant: variant) }
    }

    /// log_softmax of an array (see the buffer version).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSoftmax(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { logSoftmax($0, into: $1, variant: variant) }
    }

    /// logsumexp of an array (see the buffer version); -inf when empty.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logsumexp(_ x: [T], variant: KernelVariant = .accurate) -> T {
        x.withUnsafeBufferPointer { logsumexp($0, variant: variant) }
    }

    /// cross-entropy with a hard target of an array; throws when the row is empty or t is out of range.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropy(_ x: [T], target: Int, variant: KernelVariant = .accurate) throws(KernelError) -> T {
        try withBuffer(x) { (b) throws(KernelError) in try crossEntropy(b, target: target, variant: variant) }
    }

    /// cross-entropy with probability targets of an array; throws when the lengths differ.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropy(_ x: [T], probabilities p: [T], variant: KernelVariant = .accurate) throws(KernelError) -> T {
        try withBuffer(x) { (b) throws(KernelError) in
            try withBuffer(p) { (pb) throws(KernelError) in try crossEntropy(b, probabilities: pb, variant: variant) }
        }
    }

    /// The hard-target gradient of an array (see the buffer version).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropyGrad(_ x: [T], target: Int, variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try check(x, target: target)
        return map(x) { try? crossEntropyGrad($0, target: target, into: $1, variant: variant) }
    }

    /// The probability-target gradient of an array (see the buffer version).
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropyGrad(_ x: [T], probabilities p: [T], variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try withBuffer(p) { (pb) throws(KernelError) in
            try check(x, probabilities: pb, function: .crossEntropyGrad)
            return map(x) { try? crossEntropyGrad($0, probabilities: pb, into: $1, variant: variant) }
        }
    }

    /// σ of every element of an array.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func sigmoid(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { sigmoid($0, into: $1, variant: variant) }
    }

    /// log σ of every element of an array.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSigmoid(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { logSigmoid($0, into: $1, variant: variant) }
    }

    /// softplus of every element of an array.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softplus(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { softplus($0, into: $1, variant: variant) }
    }

    /// bce_with_logits of arrays with one pos_weight for every logit.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func bceWithLogits(_ x: [T], labels z: [T], posWeight: T = 1,
                                     variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try bceWithLogits(x, labels: z, posWeights: [posWeight], variant: variant)
    }

    /// bce_with_logits of arrays with pos_weight given once or per logit; throws on a length mismatch.
    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func bceWithLogits(_ x: [T], labels z: [T], posWeights w: [T],
                                     variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        guard z.count == x.count else {
            throw .lengthMismatch(field: "labels", expected: x.count, actual: z.count)
        }
        guard w.count == 1 || w.count == x.count else {
            throw .lengthMismatch(field: "posWeight", expected: x.count, actual: w.count)
        }
        return z.withUnsafeBufferPointer { zb in
            w.withUnsafeBufferPointer { wb in
                map(x) { try? bceWithLogits($0, labels: zb, posWeights: wb, into: $1, variant: variant) }
            }
        }
    }

    // MARK: - Helpers

    static func check(_ x: UnsafeBufferPointer<T>, target: Int, function: KernelFunction) throws(KernelError) {
        if x.isEmpty { throw .emptyRow(function: function.rawValue) }
        guard target >= 0 && target < x.count else { throw .targetOutOfRange(target: target, count: x.count) }
    }

    static func check(_ x: [T], target: Int) throws(KernelError) {
        if x.isEmpty { throw .emptyRow(function: KernelFunction.crossEntropyGrad.rawValue) }
        guard target >= 0 && target < x.count else { throw .targetOutOfRange(target: target, count: x.count) }
    }

    static func check(_ x: some Collection, probabilities p: UnsafeBufferPointer<T>,
                      function: KernelFunction) throws(KernelError) {
        if x.isEmpty { throw .emptyRow(function: function.rawValue) }
        guard p.count == x.count else {
            throw .lengthMismatch(field: "probabilities", expected: x.count, actual: p.count)
        }
    }

    static func withBuffer<R>(_ x: [T], _ body: (UnsafeBufferPointer<T>) throws(KernelError) -> R) throws(KernelError) -> R {
        let result: Result<R, KernelError> = x.withUnsafeBufferPointer { b in
            do throws(KernelError) { return .success(try body(b)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    static func map(_ x: [T], _ body: (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) -> Void) -> [T] {
        x.withUnsafeBufferPointer { input in
            [T](unsafeUninitializedCapacity: input.count) { buffer, count in
                buffer.initialize(repeating: 0)
                body(input, buffer)
                count = input.count
            }
        }
    }
}
