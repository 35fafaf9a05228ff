import Foundation
@testable import SoftmaxOracle
import Testing

/// The losses the double-word tier took over from the MPFR path — rows decided by NaN, +inf or
/// only −inf logits; the batch loss with class weights, probability targets, special rows and
/// +inf losses; the gradient's target entry when x_t is far below the maximum; probability-target
/// gradients that cancel; the z-loss (cross_entropy and cross_entropy_grad) — against
/// `Oracle(doubleWordTier: false)` (`TierCoverageAgreementTests.compare`: the same rounded
/// values bit for bit, exact values within 2^-39 ulps), on hand-made rows where the tier must
/// answer, and on seeded random rows (each failure names its seed and case).
@Suite("Double-word tier loss coverage = MPFR path")
struct LossTierCoverageTests {
    static let seed: UInt64 = 0x1055_CE11

    /// The tier answers q wholly, with the MPFR path's values.
    static func expectTier(_ q: OracleRequest, _ note: String) throws {
        #expect(try Oracle().evaluateDoubleWordTier(q) != nil, "the tier declined; \(note)")
        #expect(try TierCoverageAgreementTests.compare(q, note), "\(note)")
    }

    @Test("rows decided by NaN, +inf or only −inf logits: cross_entropy, its gradient, the batch loss")
    func specialRows() throws {
        let rows: [[Double]] = [[1, .nan, 2], [1, .infinity, -.infinity], [-.infinity, -.infinity], [.nan, .infinity, 0]]
        for (n, x) in rows.enumerated() {
            for format in Format.allCases {
                for function in [OracleFunction.crossEntropy, .crossEntropyGrad] {
                    var q = OracleRequest(function: function, format: format, logits: x)
                    q.target = .index(0)
                    try Self.expectTier(q, "\(function) row \(n) \(format)")
                    q.weight = [0.5, 2, 0.25, 1].prefix(x.count).map { $0 }
                    q.labelSmoothing = 0.125
                    try Self.expectTier(q, "\(function) row \(n) \(format), weights and smoothing")
                }
                for reduction in Reduction.allCases {
                    var q = OracleRequest(function: .crossEntropyLoss, format: format, logits: [])
                    q.batch = [x, [0.5, -1, 2, 3].prefix(x.count).map { $0 }]
                    q.batchTargets = .indices([0, 1])
                    q.reduction = reduction
                    try Self.expectTier(q, "batch row \(n) \(format) \(reduction)")
                }
            }
        }
    }

    @Test("batch loss: class weights (zero weights, ignored rows, a −inf target), probability targets")
    func batchLoss() throws {
        var rng = SplitMix64(seed: Self.seed)
        for family in DoubleWordTierAgreementTests.Family.allCases {
            for n in 0..<4 {
                let k = [3, 7, 16, 61][n]
                let rows = (0..<3).map { _ in DoubleWordTierAgreementTests.row(&rng, family, count: k) }
                for format in [Format.f64, .f32, .bf16] {
                    for reduction in Reduction.allCases {
                        let note = "\(family), seed \(Self.seed), case \(n), \(format), \(reduction)"
                        var q = OracleRequest(function: .crossEntropyLoss, format: format, logits: [])
                        q.batch = rows
                        q.reduction = reduction
                        q.batchTargets = .indices([rng.index(k), rng.oneIn(3) ? q.ignoreIndex : rng.index(k), rng.index(k)])
                        q.weight = (0..<k).map { _ in rng.oneIn(5) ? 0 : Double(rng.int(1...64)) / 16 }
                        try TierCoverageAgreementTests.compare(q, "weights, \(note)")
                        q.weight = nil
                        q.batchTargets = .probabilities((0..<3).map { _ in (0..<k).map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 } })
                        try TierCoverageAgreementTests.compare(q, "probabilities, \(note)")
                    }
                }
            }
        }
        // Hand-made: a −inf target logit with a positive weight (+inf) and with weight 0 (0).
        for reduction in Reduction.allCases {
            var q = OracleRequest(function: .crossEntropyLoss, format: .f64, logits: [])
            q.batch = [[0, -.infinity, 1], [2, 0.5, -3]]
            q.batchTargets = .indices([1, 0])
            q.weight = [1, 3, 0.5]
            q.reduction = reduction
            try Self.expectTier(q, "−inf target, \(reduction)")
            q.weight = [1, 0, 0.5]
            try Self.expectTier(q, "−inf target of weight 0, \(reduction)")
            q.batchTargets = .indices([0, 2])
            q.weight = [0, 2, 0]
            // mean: 0/0, NaN; none: exact zeros; sum: a sum of exact zeros, left to the MPFR path.
            if reduction == .sum {
                try TierCoverageAgreementTests.compare(q, "all kept weights 0, sum")
            } else {
                try Self.expectTier(q, "all kept weights 0, \(reduction)")
            }
        }
    }

    @Test("cross_entropy_grad: target entry far below the maximum (−1 + tiny), probability targets that cancel")
    func gradientEntries() throws {
        let c = 1e300
        for format in Format.allCases {
            var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: [c, c.nextDown.nextDown, c, 1])
            q.target = .index(1)
            try Self.expectTier(q, "near_ties target, \(format)")
            q.target = .index(3)
            try Self.expectTier(q, "target 2^997 below, \(format)")
        }
        // Wide rows (the two largest logits more than 2^19 apart) with probability targets:
        // −p_c + tiny (p_c = 0.1 is no bf16 value), +tiny, −inf logits, and R = P − p_M = 0.
        // (With 0.25 for 0.375, R = 0.475… would be an exact f64 midpoint: R − tiny is then an
        // exact near-tie, which the tier leaves to the MPFR path.)
        for format in Format.allCases {
            for p in [[0.375, 0, 0.1, 0.125, 0.5], [0, 0, 0, 0, 0.5], [0, 1, 0.1, 0, 0.75]] {
                var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: [0, -1e6, -2e300, -.infinity, 3e6])
                q.target = .probabilities(p)
                try Self.expectTier(q, "wide row, probabilities \(p), \(format)")
            }
        }
        // Subnormal logits: softmax ≈ 1/K, grad_c = P/K − p_c cancels by a factor of about 17
        // where p_c = 0.375 (the harness's subnormal_logits case that went to the MPFR path).
        let k = 1000
        var rng = SplitMix64(seed: Self.seed &+ 1)
        let x = (0..<k).map { _ in rng.oneIn(4) ? 0 : Double(sign: .plus, exponent: -1074 + rng.int(0...50), significand: 1) }
        var p = (0..<k).map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 }
        p[29] = 0.375
        var q = OracleRequest(function: .crossEntropyGrad, format: .f64, logits: x)
        q.target = .probabilities(p)
        try Self.expectTier(q, "subnormal logits, probability targets, seed \(Self.seed &+ 1)")
    }

    @Test("z-loss: cross_entropy (hard and probability targets) and cross_entropy_grad (hard target)")
    func zLoss() throws {
        var rng = SplitMix64(seed: Self.seed &+ 2)
        var answered = 0, total = 0
        for n in 0..<12 {
            let k = [2, 5, 16, 200][n % 4]
            let offset = Double(rng.oneIn(2) ? -1 : 1) * Double(sign: .plus, exponent: rng.int(0...14), significand: 1)
            let x = (0..<k).map { _ in offset + Double(rng.int(-4000...4000)) / 1000 }
            let coefficient = Double(sign: .plus, exponent: -rng.int(1...6), significand: 1)
            for format in Format.allCases {
                let note = "seed \(Self.seed &+ 2), case \(n), offset \(offset), z_loss \(coefficient), \(format)"
                var q = OracleRequest(function: .crossEntropy, format: format, logits: x)
                q.zLoss = coefficient
                q.target = .index(rng.index(k))
                if try TierCoverageAgreementTests.compare(q, "cross_entropy, \(note)") { answered += 1 }
                q.function = .crossEntropyGrad
                if try TierCoverageAgreementTests.compare(q, "cross_entropy_grad, \(note)") { answered += 1 }
                q.function = .crossEntropy
                q.target = .probabilities((0..<k).map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 })
                if try TierCoverageAgreementTests.compare(q, "cross_entropy probabilities, \(note)") { answered += 1 }
                total += 3
            }
        }
        print("z-loss: \(answered) of \(total) answered wholly by the double-word tier")
        // Hand-made, f64: F = 1 + 2·c·lse > 0 (offset +1000) and < 0 (offset −4096: F ≈ −511),
        // target at the maximum and elsewhere.
        for offset in [1000.0, -4096] {
            var q = OracleRequest(function: .crossEntropyGrad, format: .f64, logits: [offset, offset - 0.5, offset + 2, offset - 3])
            q.zLoss = 0x1p-4
            for t in [2, 1] {
                q.target = .index(t)
                try Self.expectTier(q, "z-loss gradient, offset \(offset), target \(t)")
            }
            q.function = .crossEntropy
            try Self.expectTier(q, "z-loss loss, offset \(offset)")
        }
    }

    /// Softcap-family logits for c: a quarter unsaturated, saturated ones of random sign or of
    /// `sign`, negative saturated ones, repeated multiples of c (ties); x[0] = 0 when `zero`.
    static func softcapRow(_ rng: inout SplitMix64, c: Double, count k: Int, sign: Double, zero: Bool) -> [Double] {
        var x = (0..<k).map { _ -> Double in
            switch rng.int(0...3) {
            case 0: return c * (2 * rng.unit() - 1)
            case 1: return sign * c * Double(sign: .plus, exponent: rng.int(1...12), significand: 1 + rng.unit())
            case 2: return -c * Double(sign: .plus, exponent: rng.int(1...12), significand: 1)
            default: return sign * c * Double(rng.int(1...8))
            }
        }
        if zero { x[0] = 0 }
        return x
    }

    @Test("softcap: cross_entropy and its gradient with a hard target, saturated and unsaturated logits, both signs, ties")
    func softcap() throws {
        var rng = SplitMix64(seed: Self.seed &+ 3)
        var tally = (answered: 0, total: 0)
        for (n, c) in [1.0, 5, 30, 50, 0.3, 1, 5, 30, 50, 0.3, 1, 5, 30, 50, 0.3, 1].enumerated() {
            let k = [2, 3, 16, 64][n % 4]
            let x = Self.softcapRow(&rng, c: c, count: k, sign: n % 3 == 0 ? -1 : 1, zero: n % 4 == 1)
            for format in Format.allCases {
                for t in [rng.index(k), x.firstIndex(of: x.max()!)!] {
                    var q = OracleRequest(function: .crossEntropy, format: format, logits: x)
                    q.softcap = c
                    q.target = .index(t)
                    for function in [OracleFunction.crossEntropy, .crossEntropyGrad] {
                        q.function = function
                        if try TierCoverageAgreementTests.compare(q, "\(function) softcap \(c), seed \(Self.seed &+ 3), case \(n), target \(t), \(format)") {
                            tally.answered += 1
                        }
                        tally.total += 1
                    }
                }
            }
        }
        // Probability targets for the gradient.
        for (n, c) in [1.0, 5, 30, 0.3].enumerated() {
            let x = Self.softcapRow(&rng, c: c, count: [3, 16, 64, 7][n], sign: n % 2 == 0 ? 1 : -1, zero: n == 1)
            for format in Format.allCases {
                var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
                q.softcap = c
                q.target = .probabilities(x.map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 })
                if try TierCoverageAgreementTests.compare(q, "softcap \(c) probabilities, seed \(Self.seed &+ 3), case \(n), \(format)") {
                    tally.answered += 1
                }
                tally.total += 1
            }
        }
        print("softcap cross_entropy and its gradient: \(tally.answered) of \(tally.total) answered wholly by the double-word tier")
        #expect(tally.answered * 10 >= tally.total * 8)
        // Quotients that would underflow (x/c and (x_M − x_j)/c below 2^-1022 for c = 2^400):
        // the tier must decline or agree, never answer from an underflowed quotient.
        for x in [[1e-250, 2e-250, -3e-250], [1e-140, 1e-140 * (1 + 0x1p-52), 0.5]] {
            var q = OracleRequest(function: .crossEntropy, format: .f64, logits: x)
            q.softcap = 0x1p400
            q.target = .index(0)
            try TierCoverageAgreementTests.compare(q, "softcap 2^400, \(x)")
        }
        // Hand-made: saturated maxima (tanh within e^-8192 of 1), a target in (−c, c), opposite signs.
        var q = OracleRequest(function: .crossEntropy, format: .f64, logits: [4096, 4096, 0.25, -3, -4096, 700, 2])
        q.softcap = 1
        for t in [0, 2, 3, 4] {
            q.target = .index(t)
            for function in [OracleFunction.crossEntropy, .crossEntropyGrad] {
                q.function = function
                try Self.expectTier(q, "\(function) softcap 1, target \(t)")
            }
        }
    }

    /// Class weights and label smoothing on rows whose two largest logits lie more than 2^19
    /// apart: the wide-row outputs compute neither, so the tier must leave these to the MPFR path
    /// (it answered them without the weights or the smoothing: 1e6 for a loss of 2e6). Expected
    /// values from the definitions (docs/semantics.md), δ = log1p(e^-1e6) far below every ulp:
    /// 1. w_t·(lse − x_t) = 2·(1e6 + δ) → 2e6;
    /// 2. (1 − ε)(lse − x_1) + ε/K·Σ_j (lse − x_j) = 0.5·1e6 + 0.25·(0 + 1e6) (+ δ) → 750 000;
    /// 3. w_t·(softmax − e_t) = 2·([1 − τ, τ] − [0, 1]) → [2, −2];
    /// 4. softmax − q, q = [ε/2, 1 − ε/2], ε = 0.1 → [τ − 0.05, 0.05 − τ] → [−0.05, 0.05];
    /// 5. probability targets p = [1/2, 1/2], weights [3, 0]: softmax_j·Σ_c w_c p_c − w_j p_j =
    ///    [1.5(1 − τ) − 1.5, 1.5τ] → [−0, +0];
    /// 6. f16: ε = 1, ε/K·Σ_j (lse − x_j) ≈ 0.5·1e300 → +inf.
    @Test("wide rows with class weights or label smoothing: the MPFR path's answer, not the plain loss's")
    func wideRowsWithWeightsOrSmoothing() throws {
        func request(_ f: OracleFunction, _ x: [Double], _ format: Format = .f64, target: RowTarget,
                     weight: [Double]? = nil, smoothing: Double = 0) -> OracleRequest {
            var q = OracleRequest(function: f, format: format, logits: x)
            q.target = target
            q.weight = weight
            q.labelSmoothing = smoothing
            return q
        }
        let cases: [(OracleRequest, [Double])] = [
            (request(.crossEntropy, [0, -1e6], target: .index(1), weight: [1, 2]), [2e6]),
            (request(.crossEntropy, [0, -1e6], target: .index(1), smoothing: 0.5), [750_000]),
            (request(.crossEntropyGrad, [1e6, 0], target: .index(1), weight: [1, 2]), [2, -2]),
            (request(.crossEntropyGrad, [0, 1e6], target: .index(1), smoothing: 0.1), [-0.05, 0.05]),
            (request(.crossEntropyGrad, [1e6, 0], target: .probabilities([0.5, 0.5]), weight: [3, 0]), [-0.0, 0.0]),
            (request(.crossEntropy, [-1e300, 23.475133288283736], .f16, target: .index(1), smoothing: 1), [.infinity]),
        ]
        for (n, (q, want)) in cases.enumerated() {
            expectBits(try Oracle().evaluate(q).rounded, want, "case \(n + 1)")
            try TierCoverageAgreementTests.compare(q, "case \(n + 1)")  // the default path = the MPFR path
        }
    }
}
