/// The functions of the softmax family that the oracle evaluates. Raw values are the names used
/// in JSON Lines requests and on the command line.
public enum OracleFunction: String, CaseIterable, Sendable, Hashable, Codable {
    /// log Σ_j e^(x_j): one value.
    case logsumexp
    /// e^(x_i) / Σ_j e^(x_j): one value per logit.
    case softmax
    /// x_i − logsumexp(x): one value per logit.
    case logSoftmax = "log_softmax"
    /// One row's loss: hard `target`, or probability `targets`; optional `labelSmoothing`, `weight`.
    case crossEntropy = "cross_entropy"
    /// ∂(cross_entropy)/∂x, one value per logit.
    case crossEntropyGrad = "cross_entropy_grad"
    /// 1 / (1 + e^(−x)), elementwise.
    case sigmoid
    /// log(sigmoid(x)) = −softplus(−x), elementwise.
    case logSigmoid = "log_sigmoid"
    /// log(1 + e^x), elementwise.
    case softplus
    /// Elementwise binary cross-entropy on logits with `labels` and optional `posWeight`.
    case bceWithLogits = "bce_with_logits"
    /// PyTorch `CrossEntropyLoss` over a `batch` of rows, with `reduction`.
    case crossEntropyLoss = "cross_entropy_loss"
    /// ∂(cross_entropy_loss)/∂(batch) times `gradOutput`: N×K values, row-major.
    case crossEntropyLossBackward = "cross_entropy_loss_backward"
    /// Fused linear cross-entropy: `cross_entropy_loss` of the logits H·Wᵀ (+ bias), exact
    /// (inputs in `OracleRequest.linear`).
    case linearCrossEntropy = "linear_cross_entropy"
    /// ∂(linear_cross_entropy)/∂H · grad_output, N × d values.
    case linearCrossEntropyGradHidden = "linear_cross_entropy_grad_hidden"
    /// ∂(linear_cross_entropy)/∂W · grad_output, V × d values.
    case linearCrossEntropyGradWeight = "linear_cross_entropy_grad_weight"
    /// ∂(linear_cross_entropy)/∂bias · grad_output, V values.
    case linearCrossEntropyGradBias = "linear_cross_entropy_grad_bias"
}

extension OracleFunction {
    /// True for the functions of a `batch` with one target per row (`cross_entropy_loss` and
    /// `cross_entropy_loss_backward`).
    public var isBatchLoss: Bool { self == .crossEntropyLoss || self == .crossEntropyLossBackward }

    /// True for the fused linear cross-entropy and its gradients (inputs in `OracleRequest.linear`).
    public var isLinearCrossEntropy: Bool {
        switch self {
        case .linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias: true
        default: false
        }
    }
}

/// PyTorch's `reduction` for the batch loss.
public enum Reduction: String, CaseIterable, Sendable, Hashable, Codable {
    /// One loss per row (ignored rows give 0).
    case none
    /// The sum of the kept rows' losses.
    case sum
    /// PyTorch's mean: for class indices, the sum divided by the total class weight of the kept
    /// rows (their number without `weight`); for probability targets, divided by the number of
    /// rows. A mean over no kept rows is NaN.
    case mean
}

/// Targets of a single-row cross-entropy.
public enum RowTarget: Sendable, Hashable {
    /// A class index in [0, K).
    case index(Int)
    /// A probability per class (finite, >= 0; need not sum to 1).
    case probabilities([Double])
}

/// Targets of the batch loss: one class index per row, or one probability row per row.
public enum BatchTargets: Sendable, Hashable {
    /// One class index per row (or `ignoreIndex` to skip the row).
    case indices([Int])
    /// One probability row per row (K values each, finite and >= 0).
    case probabilities([[Double]])
}

/// One oracle request: a function, an output format, and its inputs (exact binary64 values).
///
/// Fields a function does not use are ignored; fields it needs are checked by the oracle, which
/// names the field and value in its error.
public struct OracleRequest: Sendable, Hashable {
    /// What to compute.
    public var function: OracleFunction
    /// The output format every value is rounded into.
    public var format: Format
    /// The row of logits (for the elementwise functions, the inputs x).
    public var logits: [Double]
    /// For `cross_entropy` and `cross_entropy_grad`.
    public var target: RowTarget?
    /// Label smoothing ε in [0, 1]: targets become (1-ε)·target + ε/K, exactly.
    public var labelSmoothing: Double
    /// Class weights (K values, finite and >= 0), PyTorch's `weight`.
    public var weight: [Double]?
    /// `bce_with_logits` labels z, one per logit.
    public var labels: [Double]?
    /// `bce_with_logits` pos_weight: one value for all, or one per logit.
    public var posWeight: [Double]?
    /// `cross_entropy_loss`: the rows.
    public var batch: [[Double]]?
    /// `cross_entropy_loss`: the targets, one per row.
    public var batchTargets: BatchTargets?
    /// `cross_entropy_loss`: rows whose hard target equals this are skipped (PyTorch: -100).
    public var ignoreIndex: Int
    /// `cross_entropy_loss`: none, sum or mean (PyTorch's default, mean).
    public var reduction: Reduction
    /// Logit soft-capping c > 0 (Gemma 2): the logits become c·tanh(x/c), after `temperature`
    /// and before everything else; nil: off. Cross-entropy functions only (docs/semantics.md).
    public var softcap: Double?
    /// z-loss coefficient >= 0 (PaLM; Liger's `lse_square_scale`): each kept row adds
    /// coefficient·logsumexp(z)², z the transformed logits; 0: off.
    public var zLoss: Double
    /// Temperature T > 0: the logits become x/T, the exact real quotient, before `softcap`;
    /// nil: off (T = 1 gives the same outputs as nil).
    public var temperature: Double?
    /// `cross_entropy_loss_backward`: the upstream gradient, one value (reduction sum or mean)
    /// or one per row (none); nil: 1.
    public var gradOutput: [Double]?
    /// The fused linear cross-entropy's matrices, targets and upstream gradient (nil for every
    /// other function).
    public var linear: LinearCrossEntropyInputs? = nil

    /// A request; every field but `function` has the default of an unused field (PyTorch's
    /// defaults for `ignoreIndex`, -100, and `reduction`, mean). The oracle checks the fields the
    /// function needs when it evaluates the request.
    public init(
        function: OracleFunction, format: Format = .f64, logits: [Double] = [],
        target: RowTarget? = nil, labelSmoothing: Double = 0, weight: [Double]? = nil,
        labels: [Double]? = nil, posWeight: [Double]? = nil,
        batch: [[Double]]? = nil, batchTargets: BatchTargets? = nil,
        ignoreIndex: Int = -100, reduction: Reduction = .mean,
        softcap: Double? = nil, zLoss: Double = 0, temperature: Double? = nil,
        gradOutput: [Double]? = nil
    ) {
        self.function = function
        self.format = format
        self.logits = logits
        self.target = target
        self.labelSmoothing = labelSmoothing
        self.weight = weight
        self.labels = labels
        self.posWeight = posWeight
        self.batch = batch
        self.batchTargets = batchTargets
        self.ignoreIndex = ignoreIndex
        self.reduction = reduction
        self.softcap = softcap
        self.zLoss = zLoss
        self.temperature = temperature
        self.gradOutput = gradOutput
    }
}
