import SoftmaxOracle

/// Choices the generator makes beyond the family's logits. They are part of what a case depends
/// on: the same seed with other options gives other cases.
public struct GeneratorOptions: Sendable, Hashable {
    /// For `cross_entropy`, `cross_entropy_grad` and the batch loss: one case in four (whose
    /// family does not pin a target) gets probability targets instead of a class index.
    public var probabilityTargets: Bool
    /// For hard-target cross-entropies: one case in five gets label smoothing ε ∈ {1/16, 0.1, ¼}
    /// (rounded into the format). Off by default: many kernels do not implement it.
    public var labelSmoothing: Bool
    /// For `bce_with_logits`: half of the cases get a pos_weight (one value, or one per logit).
    public var posWeight: Bool
    /// For the batch loss and the fused linear cross-entropy: rows per batch, 1…this (1 when
    /// K ≥ 1000). Past 3 the rows are also bounded by ``batchLogitBudget`` (N·K logits), so that
    /// realistic batches (e.g. 64 rows of short rows) cost about what 3 rows of long ones do;
    /// up to 3 the cases are those of the 3-row generator.
    public var maxBatchRows: Int
    /// When not empty, the only row lengths K generated (`check --k`), so that a kernel compiled
    /// per shape sees few shapes: case i gets the i-th length (cyclically) among those its family
    /// can use. Families that need two logits (dominant_target, partial_mask, sum_overflow) skip K = 1, and
    /// use K = 2 when no other length is allowed; sum_overflow in the FP8 formats may double K
    /// (its coarse grid needs room); single_logit always has K = 1 (`check` leaves it out when
    /// the lengths do not include 1). Empty: each family's own lengths.
    public var rowLengths: [Int]

    /// Options; with no arguments, those of ``default``.
    public init(probabilityTargets: Bool = true, labelSmoothing: Bool = false, posWeight: Bool = true,
                maxBatchRows: Int = 3, rowLengths: [Int] = []) {
        self.rowLengths = rowLengths
        self.probabilityTargets = probabilityTargets
        self.labelSmoothing = labelSmoothing
        self.posWeight = posWeight
        self.maxBatchRows = Swift.max(1, maxBatchRows)
    }

    /// Probability targets and pos_weight on, label smoothing off, up to 3 batch rows.
    public static let `default` = GeneratorOptions()

    /// The most logits (N·K) of a generated batch when ``maxBatchRows`` is above 3.
    public static let batchLogitBudget = 4096

    /// The largest N to draw for rows of K logits: min(3, maxBatchRows), raised up to
    /// maxBatchRows while N·K stays within ``batchLogitBudget``.
    public func batchRowCap(classes k: Int) -> Int {
        let classic = Swift.min(3, maxBatchRows)
        guard maxBatchRows > 3 else { return classic }
        return Swift.max(classic, Swift.min(maxBatchRows, Self.batchLogitBudget / Swift.max(1, k)))
    }
}

/// Turns (seed, family, format, function, index) into a case, deterministically.
///
/// ## Reproducibility
/// Case i draws from its own xoshiro256** streams, seeded by ``StableHash`` of the seed, the
/// family, format and function names and i. It therefore depends neither on how many cases are
/// asked for nor on which other families, formats or functions run, and it is the same on every
/// machine (see ``DeterministicRandomSource`` for the arithmetic claim).
///
/// The logits of case i do not depend on the function: the row stream is seeded without it, so
/// `softmax` and `cross_entropy` see the same rows (the batch loss's first row is that row too).
/// Targets, labels, weights and the like come from a second stream that includes the function.
public struct CaseGenerator: Sendable, Hashable {
    /// The run seed every case is derived from.
    public var seed: UInt64
    /// What the generator adds beyond the logits.
    public var options: GeneratorOptions

    /// A generator of the cases of `seed`.
    public init(seed: UInt64, options: GeneratorOptions = .default) {
        self.seed = seed
        self.options = options
    }

    /// Cases 0..<count of `family` for (format, function).
    public func cases(family: Family, format: Format, function: OracleFunction, count: Int) -> [HarnessCase] {
        (0..<Swift.max(0, count)).map { makeCase(CaseKey(function: function, format: format, family: family, index: $0)) }
    }

    /// The case at `key`.
    public func makeCase(_ key: CaseKey) -> HarnessCase {
        if key.function.isLinearCrossEntropy { return makeLinearCase(key) }
        let family = key.family
        let format = key.format
        var first = rowContext(key, row: 0)
        var k = family.chooseK(&first)
        if !options.rowLengths.isEmpty {
            let minimum = [.dominantTarget, .partialMask, .sumOverflow].contains(family) ? 2 : 1
            let usable = options.rowLengths.filter { $0 >= minimum }
            k = usable.isEmpty ? minimum : usable[key.index % usable.count]
        }
        let row0 = family.makeRow(k: k, &first)
        let kk = row0.logits.count

        var c = RowContext(
            rng: Xoshiro256StarStar(seed: StableHash.combine(
                seed, StableHash.fnv1a(family.rawValue), StableHash.fnv1a(format.rawValue),
                StableHash.fnv1a(key.function.rawValue), UInt64(key.index), 0x7461_7267)),  // "targ"
            format: format, index: key.index)
        var request = OracleRequest(function: key.function, format: format, logits: row0.logits)

        switch key.function {
        case .crossEntropy, .crossEntropyGrad:
            request.target = rowTarget(preferred: row0.preferredTarget, k: kk, &c)
            if options.labelSmoothing, case .index = request.target, c.rng.nextChance(1, in: 5) {
                request.labelSmoothing = c.value(c.rng.nextElement(of: [0.0625, 0.1, 0.25]))
            }

        case .bceWithLogits:
            request.labels = (0..<kk).map { _ in
                switch c.rng.nextInt(in: 0..<5) {
                case 0, 1: 0
                case 2, 3: 1
                default: c.value(Double(c.rng.nextInt(in: 1...15)) / 16)
                }
            }
            if options.posWeight {
                switch c.rng.nextInt(in: 0..<4) {
                case 2: request.posWeight = [c.value(c.logUniform(-2...4))]
                case 3: request.posWeight = (0..<kk).map { _ in c.value(c.logUniform(-2...4)) }
                default: break
                }
            }

        case .crossEntropyLoss, .crossEntropyLossBackward:
            let n = kk >= 1000 ? 1 : c.rng.nextInt(in: 1...options.batchRowCap(classes: kk))
            var rows = [row0]
            for r in 1..<Swift.max(1, n) {
                var rc = rowContext(key, row: r)
                var row = family.makeRow(k: k, &rc)
                if row.logits.count != kk { row.logits = Array(row.logits.prefix(kk)); row.preferredTarget = nil }
                rows.append(row)
            }
            request.logits = []
            request.batch = rows.map(\.logits)
            let targets = rows.map { rowTarget(preferred: $0.preferredTarget, k: kk, &c) }
            if targets.allSatisfy({ if case .index = $0 { true } else { false } }) || !options.probabilityTargets {
                var indices = targets.map { t -> Int in if case .index(let i) = t { return i } else { return 0 } }
                if c.rng.nextChance(1, in: 4) { indices[c.rng.nextInt(in: 0..<n)] = request.ignoreIndex }
                request.batchTargets = .indices(indices)
            } else {
                request.batchTargets = .probabilities((0..<n).map { _ in probabilities(kk, &c) })
            }
            if c.rng.nextChance(1, in: 4) {
                request.weight = (0..<kk).map { _ in c.rng.nextChance(1, in: 8) ? 0 : c.value(c.logUniform(-2...2)) }
            }
            request.reduction = c.rng.nextElement(of: Reduction.allCases)
            if family == .allIgnored { request.batchTargets = .indices(rows.map { _ in request.ignoreIndex }) }
            if key.function == .crossEntropyLossBackward {
                let count = request.reduction == .none ? n : 1
                // ±2^k, k ∈ −4…4 (loss scaling is by powers of two). An arbitrary grad_output can
                // make −r_c·grad_output an exact rounding tie that only a term far below MPFR's
                // exponent range (e^(−10^300)) decides: such outputs are not certifiable.
                request.gradOutput = (0..<count).map { _ in
                    c.signed(Double(sign: .plus, exponent: c.rng.nextInt(in: -4...4), significand: 1))
                }
            }

        case .softmaxBackward, .logSoftmaxBackward:
            request.gradOutput = Self.gradOutput(kk, logits: row0.logits, &c)

        default:
            break
        }
        if Family.takesLossOptions(key.function) { Self.addLossOptions(&request, key, &c) }
        return HarnessCase(key: key, seed: seed, request: request)
    }

    /// The loss families' options: `softcap` (softcap_saturation), `z_loss` and sometimes
    /// `temperature` (z_loss_dominant); nothing for the other families.
    static func addLossOptions(_ request: inout OracleRequest, _ key: CaseKey, _ c: inout RowContext) {
        switch key.family {
        case .softcapSaturation:
            request.softcap = Family.softcap(index: key.index, key.format)
        case .zLossDominant:
            request.zLoss = c.value(Double(sign: .plus, exponent: -c.rng.nextInt(in: 1...6), significand: 1))
            if c.rng.nextChance(1, in: 3) { request.temperature = c.value(c.rng.nextElement(of: [0.5, 0.7, 2])) }
        default:
            break
        }
    }

    func rowContext(_ key: CaseKey, row: Int) -> RowContext {
        RowContext(
            rng: Xoshiro256StarStar(seed: StableHash.combine(
                seed, StableHash.fnv1a(key.family.rawValue), StableHash.fnv1a(key.format.rawValue),
                UInt64(key.index), UInt64(row))),
            format: key.format, index: key.index)
    }

    private func rowTarget(preferred: Int?, k: Int, _ c: inout RowContext) -> RowTarget {
        if let t = preferred { return .index(t) }
        if options.probabilityTargets && c.rng.nextChance(1, in: 4) {
            return .probabilities(probabilities(k, &c))
        }
        return .index(c.rng.nextInt(in: 0..<k))
    }

    /// Probability targets: each 0 (one in three) or j/16, j ∈ 1…16, rounded into the format.
    private func probabilities(_ k: Int, _ c: inout RowContext) -> [Double] {
        (0..<k).map { _ in c.rng.nextChance(1, in: 3) ? 0 : c.value(Double(c.rng.nextInt(in: 1...16)) / 16) }
    }
}

extension Family {
    /// Cases 0..<count of this family for (seed, format, function), with default options.
    /// Shorthand for ``CaseGenerator/cases(family:format:function:count:)``.
    public func cases(seed: UInt64, format: Format, function: OracleFunction, count: Int) -> [HarnessCase] {
        CaseGenerator(seed: seed).cases(family: self, format: format, function: function, count: count)
    }
}
