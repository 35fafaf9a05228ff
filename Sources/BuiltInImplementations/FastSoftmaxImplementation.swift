import AccuracyHarness
import FastSoftmax
import SoftmaxOracle

/// A FastSoftmax kernel variant (naive, shifted, online, accurate, mixed) as an implementation
/// under test, through `KernelEvaluator`.
///
/// Support follows `KernelEvaluator.supports(variant:format:)` (mixed in f16/bf16, the others in
/// f64/f32) for the row and elementwise functions, and `linear_cross_entropy` and its gradients
/// composed as a framework does (``TextbookLinearCrossEntropy``); the batch loss is not a kernel. Label
/// smoothing, class weights and the loss options are declined per request (``ImplementationError/unsupported(_:)``).
public struct FastSoftmaxImplementation: ImplementationUnderTest {
    /// The kernel variant run.
    public let variant: KernelVariant

    /// The implementation that runs `variant`.
    public init(_ variant: KernelVariant) {
        self.variant = variant
    }

    /// Every variant, in `KernelVariant` order.
    public static var all: [FastSoftmaxImplementation] { KernelVariant.allCases.map(Self.init) }

    /// The variant's name: "naive", "shifted", "online", "accurate", "mixed".
    public var name: String { variant.rawValue }

    /// True for the row and elementwise functions and the fused linear cross-entropy in the formats the variant computes
    /// (`KernelEvaluator.supports(variant:format:)`).
    public func supports(_ function: OracleFunction, format: Format) -> Bool {
        (KernelFunction(rawValue: function.rawValue) != nil || function.isLinearCrossEntropy)
            && KernelEvaluator.supports(variant: variant, format: format.rawValue)
    }

    /// The kernel's outputs for `request`.
    ///
    /// - Throws: ``ImplementationError/unsupported(_:)`` for label smoothing, class weights or
    ///   what the kernel does not compute; ``ImplementationError/failed(_:)`` for other kernel errors.
    public func evaluate(_ request: OracleRequest) throws -> [Double] {
        if request.function == .linearCrossEntropy { return try TextbookLinearCrossEntropy.evaluate(request, self) }
        if request.function.isLinearCrossEntropy { return try TextbookLinearCrossEntropy.gradient(request, self) }
        if request.labelSmoothing != 0 { throw ImplementationError.unsupported("label smoothing") }
        if request.weight != nil { throw ImplementationError.unsupported("class weights") }
        if request.softcap != nil || request.zLoss != 0 || request.temperature != nil {
            return try lossWithOptions(request)
        }
        let (target, probabilities) = request.kernelTarget
        let single = request.posWeight?.count == 1 ? request.posWeight?.first : nil
        let perLogit = request.posWeight?.count == 1 ? nil : request.posWeight
        do {
            return try KernelEvaluator.evaluate(
                function: request.function.rawValue, variant: variant, format: request.format.rawValue,
                logits: request.logits, target: target, probabilities: probabilities,
                labels: request.labels, posWeight: single, posWeights: perLogit, gradOutput: request.gradOutput)
        } catch {
            if case .unsupported = error { throw ImplementationError.unsupported(error.description) }
            throw ImplementationError.failed(error.description)
        }
    }

    /// Requests with loss options: `accurate`'s own soft-capped / z-loss / temperature
    /// cross-entropy for a hard target (`AccurateLossOptions`, bounded); everything else (the
    /// other variants, gradients, probability targets) composed from the kernels
    /// (`ComposedLossOptions`, unbounded).
    func lossWithOptions(_ request: OracleRequest) throws -> [Double] {
        guard variant == .accurate, request.function == .crossEntropy,
              case .index(let t)? = request.target, (0..<request.logits.count).contains(t) else {
            guard request.function == .crossEntropy || request.function == .crossEntropyGrad else {
                throw ImplementationError.unsupported("loss options (softcap, z_loss, temperature) for \(request.function.rawValue)")
            }
            do {
                return try ComposedLossOptions.evaluate(request, variant: variant)
            } catch let error as KernelError {
                if case .unsupported = error { throw ImplementationError.unsupported(error.description) }
                throw ImplementationError.failed(error.description)
            }
        }
        let x = request.logits
        switch request.format {
        case .f64:
            return [AccurateLossOptions.crossEntropy(x, target: t, softcap: request.softcap, zLoss: request.zLoss,
                                                       temperature: request.temperature)]
        case .f32:
            let xf = x.map { Float($0) }
            return [Double(AccurateLossOptions.crossEntropy(xf, target: t, softcap: request.softcap, zLoss: request.zLoss,
                                                              temperature: request.temperature))]
        default:
            throw ImplementationError.unsupported("loss options in \(request.format.rawValue)")
        }
    }
}
