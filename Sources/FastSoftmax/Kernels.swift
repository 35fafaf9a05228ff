import RealModule

/// Which implementation of a function to run.
public enum KernelVariant: String, CaseIterable, Sendable, Hashable, Codable {
    /// exp, sum, divide; losses as -log(softmax). Overflows and NaNs on purpose.
    case naive
    /// The textbook max shift (PyTorch/SciPy).
    case shifted
    /// One pass with a running max and a rescaled sum (FlashAttention style).
    case online
    /// This project's kernels: at most 2 ulp from the exact value in binary64 and binary32
    /// (docs/formats.md's ulp, subnormal results included) for logsumexp, softmax, log_softmax,
    /// cross_entropy (hard targets, and probability targets that are finite and >= 0) and
    /// cross_entropy_grad (hard or finite probability targets), on every input; special values
    /// as docs/semantics.md says. The analysis gives 0.5 + 2^-27 ulp; outputs that cancel (logsumexp
    /// near 0, gradients near 0) are recomputed in multi-precision until that holds. softmax
    /// and log_softmax in binary64 and binary32 run on SIMD lanes (AccurateVector.swift):
    /// 0.5 + 2^-4.3 ulp in binary64 (log_softmax 0.5 + 2^-5.8), 0.5 + 2^-16 ulp in binary32,
    /// at a textbook kernel's speed.
    /// sigmoid, log_sigmoid, softplus, and bce_with_logits with labels in [0, 1] and
    /// pos_weight >= 0 have no cancellation and meet the same bound.
    case accurate
    /// Narrow storage (Float16, BFloat16), Float accumulation, outputs rounded to the storage
    /// format. For `Kernels<Float>` this is `shifted`; for `Kernels<Double>`, Float compute.
    case mixed
}

/// The functions, named as in docs/semantics.md and the oracle's requests.
public enum KernelFunction: String, CaseIterable, Sendable, Hashable, Codable {
    case logsumexp
    case softmax
    case logSoftmax = "log_softmax"
    case crossEntropy = "cross_entropy"
    case crossEntropyGrad = "cross_entropy_grad"
    case sigmoid
    case logSigmoid = "log_sigmoid"
    case softplus
    case bceWithLogits = "bce_with_logits"

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
    case conflictingFields(String, String, function: String)
    case unknownFunction(String)
    case unknownFormat(String)
    /// The variant does not exist in that format (mixed is f16/bf16 only, the others f64/f32).
    case unsupported(variant: KernelVariant, format: String)

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

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func sigmoid(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                               variant: KernelVariant = .accurate) {
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: for i in 0..<x.count { out[i] = Elementwise.sigmoidNaive(x[i]) }
        case .shifted, .online: for i in 0..<x.count { out[i] = Elementwise.sigmoidStable(x[i]) }
        case .accurate: for i in 0..<x.count { out[i] = T(Elementwise.sigmoidAccurate(Double(x[i]))) }
        case .mixed: MixedKernels<T>.sigmoid(x, into: out)
        }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSigmoid(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                                  variant: KernelVariant = .accurate) {
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: for i in 0..<x.count { out[i] = Elementwise.logSigmoidNaive(x[i]) }
        case .shifted, .online: for i in 0..<x.count { out[i] = Elementwise.logSigmoidStable(x[i]) }
        case .accurate: for i in 0..<x.count { out[i] = T(Elementwise.logSigmoidAccurate(Double(x[i]))) }
        case .mixed: MixedKernels<T>.logSigmoid(x, into: out)
        }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softplus(_ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>,
                                variant: KernelVariant = .accurate) {
        precondition(out.count == x.count, "output length must equal input length")
        switch variant {
        case .naive: for i in 0..<x.count { out[i] = Elementwise.softplusNaive(x[i]) }
        case .shifted, .online: for i in 0..<x.count { out[i] = Elementwise.softplusStable(x[i]) }
        case .accurate: for i in 0..<x.count { out[i] = T(Elementwise.softplusAccurate(Double(x[i]))) }
        case .mixed: MixedKernels<T>.softplus(x, into: out)
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

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softmax(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { softmax($0, into: $1, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSoftmax(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { logSoftmax($0, into: $1, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logsumexp(_ x: [T], variant: KernelVariant = .accurate) -> T {
        x.withUnsafeBufferPointer { logsumexp($0, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropy(_ x: [T], target: Int, variant: KernelVariant = .accurate) throws(KernelError) -> T {
        try withBuffer(x) { (b) throws(KernelError) in try crossEntropy(b, target: target, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropy(_ x: [T], probabilities p: [T], variant: KernelVariant = .accurate) throws(KernelError) -> T {
        try withBuffer(x) { (b) throws(KernelError) in
            try withBuffer(p) { (pb) throws(KernelError) in try crossEntropy(b, probabilities: pb, variant: variant) }
        }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropyGrad(_ x: [T], target: Int, variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try check(x, target: target)
        return map(x) { try? crossEntropyGrad($0, target: target, into: $1, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func crossEntropyGrad(_ x: [T], probabilities p: [T], variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try withBuffer(p) { (pb) throws(KernelError) in
            try check(x, probabilities: pb, function: .crossEntropyGrad)
            return map(x) { try? crossEntropyGrad($0, probabilities: pb, into: $1, variant: variant) }
        }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func sigmoid(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { sigmoid($0, into: $1, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func logSigmoid(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { logSigmoid($0, into: $1, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func softplus(_ x: [T], variant: KernelVariant = .accurate) -> [T] {
        map(x) { softplus($0, into: $1, variant: variant) }
    }

    @_specialize(where T == Double)
    @_specialize(where T == Float)
    public static func bceWithLogits(_ x: [T], labels z: [T], posWeight: T = 1,
                                     variant: KernelVariant = .accurate) throws(KernelError) -> [T] {
        try bceWithLogits(x, labels: z, posWeights: [posWeight], variant: variant)
    }

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
