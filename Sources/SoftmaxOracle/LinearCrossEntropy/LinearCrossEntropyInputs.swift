/// The inputs of the fused linear cross-entropy functions (`linear_cross_entropy` and its three
/// gradients), kept apart from `OracleRequest`'s row fields.
///
/// The logits are the exact real products z = H·Wᵀ (+ bias), as `F.linear(hidden, weight,
/// bias)`: row i, class j is Σ_k hidden[i][k]·weight[j][k] + bias[j], with nothing rounded. The
/// loss on z is `cross_entropy_loss`'s, with the request's `ignoreIndex`, `labelSmoothing`,
/// `reduction`, `softcap`, `zLoss` and `temperature`, and `classWeight` as the class weights
/// (PyTorch's `weight`, which here names the matrix). Matrices are flat, row-major. The gradients'
/// upstream gradient is the request's `gradOutput`.
public struct LinearCrossEntropyInputs: Sendable, Hashable {
    /// N, the rows of `hidden` (tokens).
    public var rows: Int
    /// d, the hidden size (columns of `hidden` and of `weight`).
    public var dimension: Int
    /// V, the classes (rows of `weight`).
    public var classes: Int
    /// H, N × d, row-major.
    public var hidden: [Double]
    /// W, V × d, row-major (as `F.linear`'s weight).
    public var weight: [Double]
    /// The bias, V values, or nil.
    public var bias: [Double]?
    /// One class index per row, in [0, V) or `ignoreIndex`.
    public var targets: [Int]
    /// Class weights (V values, finite, >= 0), JSON `ce_weight`; nil: all 1.
    public var classWeight: [Double]?

    /// Inputs from flat row-major matrices; `rows`, `dimension` and `classes` give the shapes
    /// (checked by the oracle against the array lengths).
    public init(rows: Int, dimension: Int, classes: Int, hidden: [Double], weight: [Double],
                bias: [Double]? = nil, targets: [Int], classWeight: [Double]? = nil) {
        self.rows = rows
        self.dimension = dimension
        self.classes = classes
        self.hidden = hidden
        self.weight = weight
        self.bias = bias
        self.targets = targets
        self.classWeight = classWeight
    }

    /// Inputs from nested rows: `hidden` N rows of d, `weight` V rows of d. Ragged rows give
    /// arrays whose lengths disagree with N·d or V·d, which the oracle rejects (naming the field).
    public init(hidden: [[Double]], weight: [[Double]], bias: [Double]? = nil, targets: [Int],
                classWeight: [Double]? = nil) {
        let d = hidden.first?.count ?? weight.first?.count ?? 0
        self.init(rows: hidden.count, dimension: d, classes: weight.count,
                  hidden: hidden.flatMap { $0 }, weight: weight.flatMap { $0 },
                  bias: bias, targets: targets, classWeight: classWeight)
    }

    /// The number of outputs of `function` (one loss or N for reduction none; N·d, V·d, V).
    public func outputCount(_ function: OracleFunction, reduction: Reduction) -> Int {
        switch function {
        case .linearCrossEntropyGradHidden: rows * dimension
        case .linearCrossEntropyGradWeight: classes * dimension
        case .linearCrossEntropyGradBias: classes
        default: reduction == .none ? rows : 1
        }
    }
}

extension OracleFunction {
    /// Every function whose inputs are rows of logits: all but the fused linear cross-entropy
    /// ones (which take matrices).
    public static var logitFunctions: [OracleFunction] { allCases.filter { !$0.isLinearCrossEntropy } }
}
