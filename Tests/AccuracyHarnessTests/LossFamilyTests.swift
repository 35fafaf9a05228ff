import SoftmaxOracle
import Testing
@testable import AccuracyHarness

/// The loss-option families (softcap_saturation, z_loss_dominant, all_ignored) reach what they
/// claim, and the oracle certifies every case they make for the loss functions, in every format.
@Suite("Loss-option families")
struct LossFamilyTests {
    static let functions: [OracleFunction] = [.crossEntropy, .crossEntropyGrad, .crossEntropyLoss, .crossEntropyLossBackward]

    @Test("softcap_saturation: |x| ≫ c in most rows; the cross-entropies carry the soft-cap", arguments: Format.allCases)
    func softcapSaturation(format: Format) throws {
        var saturated = 0, total = 0
        for c in Family.softcapSaturation.cases(seed: 5, format: format, function: .crossEntropy, count: 16) {
            let cap = try #require(c.request.softcap)
            #expect([1.0, 5, 30, 50].map { FormatGrid.finiteRound($0, format) }.contains(cap))
            saturated += c.request.logits.filter { abs($0) >= 2 * cap }.count
            total += c.request.logits.count
        }
        #expect(saturated * 2 > total, "\(saturated) of \(total) logits at |x| >= 2c")
        for c in Family.softcapSaturation.cases(seed: 5, format: format, function: .softmax, count: 4) {
            #expect(c.request.softcap == nil, "softmax takes no soft-cap")
        }
    }

    @Test("z_loss_dominant: the z-loss term exceeds the cross-entropy", arguments: [Format.f64, .f32])
    func zLossDominates(format: Format) throws {
        for c in Family.zLossDominant.cases(seed: 5, format: format, function: .crossEntropy, count: 12) {
            let q = c.request
            #expect(q.zLoss > 0)
            // |logsumexp| >= 2^8 / 2 (offset over T <= 2, less a few σ): coefficient·lse² >=
            // 2^-6·2^14 = 256, while the cross-entropy stays below about 8σ/T + log K ≈ 70.
            var plain = q
            plain.zLoss = 0
            let ce = try Oracle().evaluate(plain).rounded[0]
            let all = try Oracle().evaluate(q).rounded[0]
            #expect(all - ce > ce, "\(c.key): CE \(ce), with z-loss \(all)")
        }
    }

    @Test("all_ignored: every batch target is ignore_index; mean is NaN, backward all +0 without escalation")
    func allIgnored() throws {
        for c in Family.allIgnored.cases(seed: 5, format: .f32, function: .crossEntropyLossBackward, count: 8) {
            let q = c.request
            guard case .indices(let t)? = q.batchTargets else { Issue.record("\(c.key): no indices"); continue }
            #expect(t.allSatisfy { $0 == q.ignoreIndex })
            let r = try Oracle().evaluate(q)
            #expect(r.rounded.allSatisfy { $0 == 0 && $0.sign == .plus } && r.escalations == 0, "\(c.key)")
        }
    }

    @Test("the oracle certifies every loss-family case of the loss functions", arguments: Format.allCases)
    func certified(format: Format) throws {
        for family in [Family.softcapSaturation, .zLossDominant, .allIgnored] {
            for function in Self.functions {
                for c in family.cases(seed: 9, format: format, function: function, count: 6) {
                    #expect(throws: Never.self, "\(c.key)") { _ = try Oracle().evaluate(c.request) }
                }
            }
        }
    }
}
