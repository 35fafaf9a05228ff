import SoftmaxOracle

/// The fields of a JSON Lines request; raw values are the JSON names (snake_case).
///
/// | field | JSON | meaning |
/// |---|---|---|
/// | `id` | any | echoed back verbatim with the result (optional) |
/// | `function` | string | an ``OracleFunction`` raw value (required) |
/// | `format` | string | a `Format` raw value (optional; the decoder's default otherwise) |
/// | `logits` | [float] | the row (inputs x of the elementwise functions) |
/// | `target` | integer | hard class index for `cross_entropy`, `cross_entropy_grad` |
/// | `targets` | [float], or [integer] / [[float]] | probability targets; for the batch loss one index or one probability row per row |
/// | `label_smoothing` | float | ε |
/// | `weight` | [float] | class weights |
/// | `labels` | [float] | `bce_with_logits` labels |
/// | `pos_weight` | float or [float] | `bce_with_logits` positive weight |
/// | `batch` | [[float]] | the rows of the batch loss |
/// | `ignore_index` | integer | batch loss: skip rows with this target (default -100) |
/// | `reduction` | string | batch loss: `none`, `sum`, `mean` (default `mean`) |
/// | `softcap` | float | cross-entropies: c > 0, logits become c·tanh(x/c) (after `temperature`) |
/// | `z_loss` | float | cross-entropies: coefficient >= 0 of logsumexp(z)² per kept row (default 0) |
/// | `temperature` | float | cross-entropies: T > 0, logits become x/T first |
/// | `hidden` | [[float]] | `linear_cross_entropy*`: H, N rows of d |
/// | `weight` | [[float]] | `linear_cross_entropy*`: W, V rows of d (`F.linear`'s weight; class weights are `ce_weight` there) |
/// | `bias` | [float] | `linear_cross_entropy*`: V values (optional) |
/// | `ce_weight` | [float] | `linear_cross_entropy*`: class weights, V values |
/// | `grad_output` | float or [float] | `cross_entropy_loss_backward`, `linear_cross_entropy_grad_*`: upstream gradient (a scalar; one per row for `none`) |
///
/// A float is a JSON number (nearest binary64 of its text) or a string that
/// ``HexFloat/parse(_:)`` accepts.
public enum RequestField: String, CaseIterable, Sendable, Hashable {
    // The fields of the table above, in its order (each documented there).
    case id, function, format, logits, target, targets
    case labelSmoothing = "label_smoothing"
    case weight, labels
    case posWeight = "pos_weight"
    case batch
    case ignoreIndex = "ignore_index"
    case reduction
    case softcap
    case zLoss = "z_loss"
    case temperature
    case hidden, bias
    case ceWeight = "ce_weight"
    case gradOutput = "grad_output"

    /// The fields `function` uses besides `id`, `function` and `format` (which every request may
    /// have), in the order they are listed in messages. A request that gives any other field is
    /// rejected, so that a field sent to the wrong function is never silently ignored.
    public static func used(by function: OracleFunction) -> [RequestField] {
        switch function {
        case .logsumexp, .softmax, .logSoftmax, .sigmoid, .logSigmoid, .softplus:
            [.logits]
        case .bceWithLogits:
            [.logits, .labels, .posWeight, .weight]
        case .crossEntropy, .crossEntropyGrad:
            [.logits, .target, .targets, .labelSmoothing, .weight, .softcap, .zLoss, .temperature]
        case .crossEntropyLoss:
            [.batch, .targets, .weight, .ignoreIndex, .reduction, .labelSmoothing, .softcap, .zLoss, .temperature]
        case .crossEntropyLossBackward:
            [.batch, .targets, .gradOutput, .weight, .ignoreIndex, .reduction, .labelSmoothing, .softcap, .zLoss, .temperature]
        case .linearCrossEntropy:
            [.hidden, .weight, .bias, .targets, .ceWeight, .ignoreIndex, .reduction, .labelSmoothing, .softcap, .zLoss, .temperature]
        case .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            [.hidden, .weight, .bias, .targets, .ceWeight, .gradOutput, .ignoreIndex, .reduction, .labelSmoothing,
             .softcap, .zLoss, .temperature]
        }
    }
}
