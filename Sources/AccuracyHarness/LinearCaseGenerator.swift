import SoftmaxOracle

/// Cases of the fused linear cross-entropy functions (`linear_cross_entropy` and its three
/// gradients): matrices H (N × d), W (V × d), an optional bias, targets and the loss options.
///
/// Two ways of making the matrices, both values of the case's format:
///
/// - **The family's logits, carried by the product.** Rows x⁽ⁱ⁾ of the family (N ∈ 1…3 rows of
///   V logits, more up to ``GeneratorOptions/maxBatchRows`` with N·V within its budget; V capped
///   at ``defaultMaxClasses`` except in `large_k`) become H = 2^a·I (N × N,
///   d = N) and W[j][i] = x⁽ⁱ⁾_j·2^−a: z = H·Wᵀ is the family's rows (exactly, unless the
///   scaling by 2^−a, a ∈ 0…2, leaves the format's range). Non-finite logits (the mask, infinity
///   and NaN families), which the fused functions refuse, become ±(2·|ln leastPositive| + 64)
///   (±inf: a softmax term below every format's least subnormal) and 0 (NaN).
/// - **Hard cases through the product** (`near_ties` and `normal_huge`, d ∈ 4…16): nearly
///   parallel weight rows (a common row w, each row moved by one or two grid steps in a few
///   coordinates) against large-norm hidden states (|h| ~ 2^e, e up to a third of the format's
///   exponent range, capped so that d·|h|·|w| stays finite in the format): the logits of a row
///   agree in their leading digits and differ only through the products' low bits (`near_ties`);
///   or unrelated weight rows against large-norm hidden states, huge logit gaps (`normal_huge`).
///
/// Targets: uniform, one row in four ignored (`all_ignored`: every row). One case in four gets a
/// bias, one in four class weights (`ce_weight`); the reduction is random; the gradients get
/// `grad_output` ±2^k. `softcap_saturation` and `z_loss_dominant` add their loss options as for
/// the batch loss (the soft cap near saturation: the family's logits are ≫ c).
extension CaseGenerator {
    /// Classes V of a fused case outside `large_k` (a family's longer rows are cut to this).
    public static let defaultMaxClasses = 64
    /// A bound on large_k's classes for the batch-row budget (its rows reach 10^5).
    static let largeClasses = 100_000

    func makeLinearCase(_ key: CaseKey) -> HarnessCase {
        let family = key.family, format = key.format
        var c = RowContext(
            rng: Xoshiro256StarStar(seed: StableHash.combine(
                seed, StableHash.fnv1a(family.rawValue), StableHash.fnv1a(format.rawValue),
                StableHash.fnv1a(key.function.rawValue), UInt64(key.index), 0x6c69_6e65)),  // "line"
            format: format, index: key.index)
        // N·V within the budget for the largest V a case may draw (large_k's rows are longer).
        let n = c.rng.nextInt(in: 1...options.batchRowCap(classes: family == .largeK ? Self.largeClasses : Self.defaultMaxClasses))
        let inputs: LinearCrossEntropyInputs
        switch family {
        case .nearTies, .normalHuge:
            inputs = Self.productCase(parallel: family == .nearTies, rows: n, &c)
        default:
            inputs = familyCase(key, rows: n)
        }
        var m = inputs
        let v = m.classes
        m.targets = (0..<n).map { _ in c.rng.nextInt(in: 0..<v) }
        var request = OracleRequest(function: key.function, format: format)
        if c.rng.nextChance(1, in: 4) { m.targets[c.rng.nextInt(in: 0..<n)] = request.ignoreIndex }
        if family == .allIgnored { m.targets = m.targets.map { _ in request.ignoreIndex } }
        if c.rng.nextChance(1, in: 4) { m.bias = (0..<v).map { _ in c.normal(mean: 0, sd: 1) } }
        if c.rng.nextChance(1, in: 4) {
            m.classWeight = (0..<v).map { _ in c.rng.nextChance(1, in: 8) ? 0 : c.value(c.logUniform(-2...2)) }
        }
        request.reduction = c.rng.nextElement(of: Reduction.allCases)
        if key.function != .linearCrossEntropy {
            request.gradOutput = (0..<(request.reduction == .none ? n : 1)).map { _ in
                c.signed(Double(sign: .plus, exponent: c.rng.nextInt(in: -4...4), significand: 1))
            }
        }
        Self.addLossOptions(&request, key, &c)
        request.linear = m
        return HarnessCase(key: key, seed: seed, request: request)
    }

    /// H = 2^a·I, W[j][i] = x⁽ⁱ⁾_j·2^−a: the product is the family's rows.
    private func familyCase(_ key: CaseKey, rows n: Int) -> LinearCrossEntropyInputs {
        var first = rowContext(key, row: 0)
        var k = key.family.chooseK(&first)
        if !options.rowLengths.isEmpty { k = options.rowLengths[key.index % options.rowLengths.count] }
        if key.family != .largeK { k = Swift.min(k, Self.defaultMaxClasses) }
        var logits = [Array(key.family.makeRow(k: k, &first).logits.prefix(k))]
        let v = logits[0].count
        for r in 1..<Swift.max(1, n) {
            var rc = rowContext(key, row: r)
            var row = Array(key.family.makeRow(k: k, &rc).logits.prefix(v))
            while row.count < v { row.append(0) }
            logits.append(row)
        }
        let f = key.format
        var c = rowContext(key, row: n)
        let a = c.rng.nextInt(in: 0...2)
        let scale = Double(sign: .plus, exponent: a, significand: 1)
        // A masked logit stays masked in effect: 2·ln(leastPositive) below (above) the others'
        // range, so that its softmax term underflows every format, yet within a gap MPFR resolves.
        let masked = FormatGrid.finiteRound(-2 * c.lnLeastPositive + 64, f)
        let finite = { (x: Double) -> Double in
            x.isNaN ? 0 : x.isInfinite ? (x < 0 ? -masked : masked) : x
        }
        var hidden = [Double](repeating: 0, count: n * n)
        for i in 0..<n { hidden[i * n + i] = scale }
        var weight = [Double](repeating: 0, count: v * n)
        for j in 0..<v {
            for i in 0..<n { weight[j * n + i] = FormatGrid.finiteRound(finite(logits[i][j]) / scale, f) }
        }
        return LinearCrossEntropyInputs(rows: n, dimension: n, classes: v, hidden: hidden, weight: weight, targets: [])
    }

    /// Large-norm hidden states against nearly parallel (or unrelated) weight rows.
    static func productCase(parallel: Bool, rows n: Int, _ c: inout RowContext) -> LinearCrossEntropyInputs {
        let f = c.format
        let d = c.rng.nextInt(in: 4...16)
        let v = c.rng.nextInt(in: 2...defaultMaxClasses)
        // d·|h|·|w| <= maxFinite/64 with |h| < 2^(e+1), |w| < 8 (σ = 1, the format's range
        // permitting), d <= 16: e + 1 + 3 + 4 <= exponent(maxFinite) − 6.
        let cap = Swift.max(0, Int(f.maxFinite.exponent) - 14)
        let e = c.rng.nextInt(in: Swift.min(4, cap)...Swift.max(Swift.min(4, cap), cap / 3))
        let hidden = (0..<(n * d)).map { _ in c.value(c.signed(c.logUniform(e...e))) }
        let base = (0..<d).map { _ in c.normal(mean: 0, sd: 1) }
        var weight: [Double] = []
        for _ in 0..<v {
            var row = parallel ? base : (0..<d).map { _ in c.normal(mean: 0, sd: 1) }
            if parallel {
                for _ in 0..<c.rng.nextInt(in: 1...2) {
                    let k = c.rng.nextInt(in: 0..<d)
                    row[k] = FormatGrid.step(row[k], by: c.rng.nextElement(of: [-2, -1, 1, 2]), f)
                }
            }
            weight += row
        }
        return LinearCrossEntropyInputs(rows: n, dimension: d, classes: v, hidden: hidden, weight: weight, targets: [])
    }
}

extension OracleFunction {
    /// The functions the harness, `report` and `regress` run by default: every logit function
    /// and the fused `linear_cross_entropy`. Its three gradients are left out there (the
    /// built-in implementations have no fused gradients to score).
    public static var harnessFunctions: [OracleFunction] { logitFunctions + [.linearCrossEntropy] }

    /// The functions `fixtures generate` writes by default: `harnessFunctions` and the three
    /// gradients of the fused loss (`linear_cross_entropy_grad_hidden`, `_grad_weight`,
    /// `_grad_bias`), about 2.8 MB of the committed set at 3 cases per family.
    public static var fixtureFunctions: [OracleFunction] {
        harnessFunctions + [.linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias]
    }
}
