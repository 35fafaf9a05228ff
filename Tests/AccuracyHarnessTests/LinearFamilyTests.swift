import SoftmaxOracle
import Testing
@testable import AccuracyHarness

/// The fused linear cross-entropy's cases: the oracle certifies every forward case of every
/// family; near_ties makes near-ties through the product (nearly parallel weight rows against
/// large-norm hidden states); the family cases carry the family's logits through the product.
@Suite("Linear cross-entropy families")
struct LinearFamilyTests {
    @Test("every family gives valid, certified linear_cross_entropy cases within the default sizes", arguments: Format.allCases)
    func everyFamilyCertifies(format: Format) throws {
        for family in Family.allCases {
            for c in family.cases(seed: 11, format: format, function: .linearCrossEntropy, count: 2) {
                let m = try #require(c.request.linear, "\(c.key)")
                #expect(m.rows <= 4 && m.dimension <= 16, "\(c.key): N = \(m.rows), d = \(m.dimension)")
                #expect(m.classes <= CaseGenerator.defaultMaxClasses || family == .largeK, "\(c.key): V = \(m.classes)")
                #expect((m.hidden + m.weight + (m.bias ?? [])).allSatisfy { $0.isFinite && format.contains($0) }, "\(c.key)")
                #expect(throws: Never.self, "\(c.key)") { try Oracle().evaluate(c.request) }
            }
        }
    }

    /// Row i, class j of H·Wᵀ in binary64: the inputs here are f32 values (24 bits), so each
    /// product is exact, and the sum of d <= 16 of them errs by at most 15·2^-53·Σ|h·w|.
    private func scale(_ m: LinearCrossEntropyInputs, row i: Int, class j: Int) -> Double {
        (0..<m.dimension).reduce(0) { $0 + abs(m.hidden[i * m.dimension + $1] * m.weight[j * m.dimension + $1]) }
    }

    private func logit(_ m: LinearCrossEntropyInputs, row i: Int, class j: Int) -> Double {
        (0..<m.dimension).reduce(0) { $0 + m.hidden[i * m.dimension + $1] * m.weight[j * m.dimension + $1] }
    }

    @Test("near_ties: the logits of a row differ by at most 2^-(p-4) of Σ|h·w| (large), and not all are equal", arguments: [Format.f32, .bf16, .f16])
    func nearTiesThroughTheProduct(format: Format) throws {
        var distinct = 0
        for c in Family.nearTies.cases(seed: 11, format: format, function: .linearCrossEntropy, count: 12) {
            let m = try #require(c.request.linear)
            for i in 0..<m.rows {
                let z = (0..<m.classes).map { logit(m, row: i, class: $0) }
                let s = (0..<m.classes).map { scale(m, row: i, class: $0) }.max()!
                // Each weight row is the common row moved by at most 2 grid steps in at most 2
                // coordinates: |Δz| <= 2·2·2^-(p-1)·max|h·w| <= 2^-(p-4)·Σ|h·w| (+ the 2^-49 sum error).
                let tolerance = Double(sign: .plus, exponent: -(format.precision - 4), significand: 1) * s
                #expect(z.max()! - z.min()! <= tolerance * (1 + 0x1p-40), "\(c.key) row \(i): spread \(z.max()! - z.min()!), Σ|h·w| \(s)")
                #expect(s >= (format == .f16 ? 1 : 16), "\(c.key): Σ|h·w| = \(s) is not large")
                if z.max()! > z.min()! { distinct += 1 }
            }
        }
        #expect(distinct > 0, "no row with distinct logits")
    }

    @Test("family cases carry the family's logits: H = 2^a·I (single_logit: V = 1); the loss families' options")
    func familyLogitsThroughTheProduct() throws {
        for c in Family.normalSmall.cases(seed: 11, format: .f32, function: .linearCrossEntropy, count: 4) {
            let m = try #require(c.request.linear)
            let a = m.hidden[0]
            #expect(m.dimension == m.rows && a > 0 && a.significand == 1)
            for i in 0..<m.rows { for k in 0..<m.dimension { #expect(m.hidden[i * m.dimension + k] == (i == k ? a : 0)) } }
        }
        for c in Family.singleLogit.cases(seed: 11, format: .f32, function: .linearCrossEntropy, count: 4) {
            #expect(c.request.linear?.classes == 1)
        }
        for c in Family.allIgnored.cases(seed: 11, format: .f32, function: .linearCrossEntropyGradBias, count: 4) {
            let m = try #require(c.request.linear)
            #expect(m.targets.allSatisfy { $0 == c.request.ignoreIndex })
            #expect(c.request.gradOutput?.count == (c.request.reduction == .none ? m.rows : 1))
        }
        for c in Family.softcapSaturation.cases(seed: 11, format: .f32, function: .linearCrossEntropy, count: 4) {
            #expect(c.request.softcap != nil)
        }
        for c in Family.zLossDominant.cases(seed: 11, format: .f32, function: .linearCrossEntropy, count: 4) {
            #expect(c.request.zLoss > 0)
        }
    }

    /// `scripts/tier-grid.sh --functions linear_cross_entropy_grad_weight --families near_ties`
    /// asks for this case (seed 13, K = 100 000, which near_ties ignores: d = 6, V = 24, 3 rows of
    /// large-norm hidden states). Its grad_weight has 100 outputs whose terms e^(−gap) lie below
    /// MPFR's range with mixed signs; they were "not certified" (enclosure [−tiny, tiny] at
    /// 65 536 bits) until `ExactZeroGradients` enclosed them from their exact form.
    @Test("the tier-grid's near_ties grad_weight case certifies")
    func tierGridNearTiesGradWeight() throws {
        let generator = CaseGenerator(seed: 13, options: GeneratorOptions(rowLengths: [100_000]))
        for function in [OracleFunction.linearCrossEntropyGradWeight, .linearCrossEntropyGradBias, .linearCrossEntropyGradHidden] {
            let c = generator.makeCase(CaseKey(function: function, format: .f64, family: .nearTies, index: 0))
            #expect(throws: Never.self, "\(c.key)") { try Oracle().evaluate(c.request) }
        }
    }
}
