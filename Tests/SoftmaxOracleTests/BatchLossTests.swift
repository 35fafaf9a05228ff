import SoftmaxOracle
import Testing

/// PyTorch `CrossEntropyLoss` semantics over a batch: reduction none/sum/mean, ignore_index,
/// class weights (the mean divides by Σ w[y_i] over kept rows), probability targets (the mean
/// divides by N). Expected values: certified values of docs/reference-values.md, exact math, and the
/// brute-force reference of this test target.
@Suite("Batch loss (PyTorch CrossEntropyLoss)")
struct BatchLossTests {
    static let rows: [[Double]] = [[1000, 0, -1000], [1.2, -0.8, -0.5], [0.9, -1.2, 1.1], [1, 2, 3]]
    static let targets = [1, 0, -100, 2]

    static func request(
        _ format: Format = .f64, rows: [[Double]] = rows, targets: BatchTargets = .indices(targets),
        weight: [Double]? = nil, eps: Double = 0, ignoreIndex: Int = -100, reduction: Reduction
    ) -> OracleRequest {
        OracleRequest(function: .crossEntropyLoss, format: format, labelSmoothing: eps, weight: weight,
                      batch: rows, batchTargets: targets, ignoreIndex: ignoreIndex, reduction: reduction)
    }

    static func brute(
        _ format: Format = .f64, rows: [[Double]] = rows, targets: BatchTargets = .indices(targets),
        weight: [Double]? = nil, eps: Double = 0, ignoreIndex: Int = -100, reduction: Reduction
    ) -> [Double] {
        BruteForce.batchLoss(rows, targets: targets, weight: weight, labelSmoothing: eps,
                             ignoreIndex: ignoreIndex, reduction: reduction).map { format.round($0) }
    }

    @Test("reduction none: one loss per row, 0 for an ignored row (certified values)")
    func noneReduction() throws {
        let got = try rounded(Self.request(reduction: .none))
        #expect(got.count == 4)
        expectBits(Array(got[0..<3]), [1000.0, 0.27612970554553756, 0.0])
        // Row 3: logsumexp([1, 2, 3]) − 3 = log(1 + e^-1 + e^-2).
        expectBits([got[3]], Self.brute(rows: [[1, 2, 3]], targets: .indices([2]), reduction: .none))
    }

    @Test("reduction sum and mean over kept rows, every format", arguments: Format.allCases)
    func sumAndMean(format: Format) throws {
        for reduction in [Reduction.none, .sum, .mean] {
            expectBits(try rounded(Self.request(format, reduction: reduction)), Self.brute(format, reduction: reduction),
                       "\(format) \(reduction)")
        }
    }

    @Test("class weights: each row's loss is scaled by w[y]; mean divides by Σ w[y] over kept rows", arguments: Format.allCases)
    func weighted(format: Format) throws {
        let w: [Double] = [0.5, 2, 3]
        for reduction in [Reduction.none, .sum, .mean] {
            expectBits(try rounded(Self.request(format, weight: w, reduction: reduction)),
                       Self.brute(format, weight: w, reduction: reduction), "\(format) \(reduction)")
        }
        // Exact check of the semantics: row 0 (weight 2 · 1000) in reduction none is exactly 2000
        // in formats that hold 2000 (f64, f32, f16: 11111010000₂ needs 7 bits; bf16 has 8).
        if [Format.f64, .f32, .f16, .bf16].contains(format) {
            #expect(try rounded(Self.request(format, weight: w, reduction: .none))[0] == 2000)
        }
    }

    @Test("weighted mean with only one class kept equals the unweighted mean")
    func weightedMeanCancels() throws {
        // Every kept row has target 1 with weight 5: mean = Σ 5·CE_i / (5·n) = Σ CE_i / n.
        let rows: [[Double]] = [[0.25, -1, 3], [2, 2, -2], [7, 1, 0]]
        let weighted = try rounded(Self.request(rows: rows, targets: .indices([1, 1, 1]), weight: [1, 5, 2], reduction: .mean))
        let plain = try rounded(Self.request(rows: rows, targets: .indices([1, 1, 1]), reduction: .mean))
        expectBits(weighted, plain)
        expectBits(weighted, Self.brute(rows: rows, targets: .indices([1, 1, 1]), reduction: .mean))
    }

    @Test("probability targets: mean divides by N, class weights included", arguments: Format.allCases)
    func probabilities(format: Format) throws {
        let rows: [[Double]] = [[1, 2, 3], [0, -4, 0.5], [10, 0, -10]]
        let p: BatchTargets = .probabilities([[0.25, 0.25, 0.5], [1, 0, 0], [0, 0.5, 0.125]])
        for reduction in [Reduction.none, .sum, .mean] {
            for weight in [nil, [2, 0.5, 1.0]] as [[Double]?] {
                expectBits(try rounded(Self.request(format, rows: rows, targets: p, weight: weight, reduction: reduction)),
                           Self.brute(format, rows: rows, targets: p, weight: weight, reduction: reduction),
                           "\(format) \(reduction) weight \(weight.map { hex($0) } ?? "none")")
            }
        }
        // The first row alone: the certified 1.1576059644443804; mean over N = 1 is the same.
        expectBits(try rounded(Self.request(rows: [[1, 2, 3]], targets: .probabilities([[0.25, 0.25, 0.5]]), reduction: .mean)),
                   [1.1576059644443804])
    }

    @Test("label smoothing in a batch, with weights and an ignored row")
    func smoothing() throws {
        for eps in [0.1, 0.5, 1] {
            for reduction in [Reduction.none, .sum, .mean] {
                expectBits(try rounded(Self.request(weight: [1, 2, 3], eps: eps, reduction: reduction)),
                           Self.brute(weight: [1, 2, 3], eps: eps, reduction: reduction), "ε=\(eps) \(reduction)")
            }
        }
    }

    @Test("ignore_index: a custom value skips its rows; all rows ignored gives mean NaN, sum 0, none zeros")
    func ignoreIndex() throws {
        let rows: [[Double]] = [[1, 2], [3, 4], [5, 7]]
        // ignore_index 1: only row 0 (target 0) is kept.
        for reduction in [Reduction.none, .sum, .mean] {
            expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, 1, 1]), ignoreIndex: 1, reduction: reduction)),
                       Self.brute(rows: rows, targets: .indices([0, 1, 1]), ignoreIndex: 1, reduction: reduction))
        }
        let none = Self.request(rows: rows, targets: .indices([-100, -100, -100]), reduction: .none)
        expectBits(try rounded(none), [0, 0, 0])
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([-100, -100, -100]), reduction: .sum)), [0])
        for format in Format.allCases {
            expectBits(try rounded(Self.request(format, rows: rows, targets: .indices([-100, -100, -100]), reduction: .mean)), [.nan],
                       "0/0 in \(format)")
        }
        // Kept rows whose weights are all 0: Σ w[y] = 0, the mean is 0/0 = NaN too (as PyTorch).
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, 0, -100]), weight: [0, 1], reduction: .mean)), [.nan])
    }

    @Test("special rows: NaN poisons sum and mean; a +inf loss makes them +inf; none keeps the others")
    func specialRows() throws {
        let rows: [[Double]] = [[0, 1], [.nan, 0], [0, -.infinity]]
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, 0, 1]), reduction: .none)),
                   [Self.brute(rows: [[0, 1]], targets: .indices([0]), reduction: .none)[0], .nan, .infinity])
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, 0, 1]), reduction: .sum)), [.nan])
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, 0, 1]), reduction: .mean)), [.nan])
        // Without the NaN row: +inf; with the NaN row ignored: +inf as well.
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, -100, 1]), reduction: .sum)), [.infinity])
        expectBits(try rounded(Self.request(rows: rows, targets: .indices([0, -100, 1]), reduction: .mean)), [.infinity])
        // A +inf logit: that row's loss is NaN.
        expectBits(try rounded(Self.request(rows: [[0, 1], [.infinity, 0]], targets: .indices([0, 1]), reduction: .none)),
                   [Self.brute(rows: [[0, 1]], targets: .indices([0]), reduction: .none)[0], .nan])
    }

    // MARK: Identities where rounding commutes

    /// Rows and targets whose loss is moderate in every format (normal range, 2·loss far below
    /// e4m3fn's 448), so that scaling by 2 commutes with rounding.
    static let moderate: [([Double], Int)] = [([1, 2, 3], 0), ([0.5, -0.25, 2, 1], 3), ([3, 1], 1), ([-2, 5, 4.5], 2)]

    @Test("sum over 2 identical rows = 2 × the single-row loss, exactly", arguments: Format.allCases)
    func sumOfTwoIdenticalRows(format: Format) throws {
        for (x, t) in Self.moderate {
            let single = try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(t)))[0]
            try #require(single.magnitude >= pow2(format.minNormalExponent) && 2 * single <= designMaxFinite(format))
            let pair = try rounded(Self.request(format, rows: [x, x], targets: .indices([t, t]), reduction: .sum))
            expectBits(pair, [2 * single], "\(format) \(hex(x)) t=\(t)")
            // And the mean of the two (with or without class weights) is the single loss.
            let mean = try rounded(Self.request(format, rows: [x, x], targets: .indices([t, t]),
                                                weight: Array(repeating: 3, count: x.count), reduction: .mean))
            expectBits(mean, [single], "\(format) mean")
        }
    }

    @Test("weighted mean over identical rows with the same target = the unweighted single-row loss", arguments: Format.allCases)
    func weightedMeanOfIdenticalRows(format: Format) throws {
        for (x, t) in Self.moderate {
            var w = Array(repeating: 1.0, count: x.count)
            w[t] = 0.375
            let single = try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(t)))
            let mean = try rounded(Self.request(format, rows: [x, x, x], targets: .indices([t, t, t]), weight: w, reduction: .mean))
            expectBits(mean, single, "\(format) \(hex(x))")
        }
    }
}
