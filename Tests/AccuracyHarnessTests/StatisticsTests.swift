import SoftmaxOracle
import Testing
@testable import AccuracyHarness

@Suite("Statistics and scoring")
struct StatisticsTests {
    @Test("Max, mean and nearest-rank p99 on hand-made scores")
    func summary() {
        let values = (1...100).map(Double.init)  // 1 … 100
        #expect(Statistics.maximum(values) == 100)
        #expect(Statistics.mean(values) == 50.5)
        #expect(Statistics.percentile(values, 99) == 99)
        #expect(Statistics.percentile(values, 100) == 100)
        #expect(Statistics.percentile(values, 50) == 50)
        #expect(Statistics.percentile(values, 0) == 1)
        #expect(Statistics.percentile([0.5, 0.25, 3], 99) == 3)  // rank ⌈2.97⌉ = 3
        #expect(Statistics.mean([]) == nil && Statistics.maximum([]) == nil && Statistics.percentile([], 99) == nil)
        #expect(Statistics.mean([1e308, 1e308]) == .infinity)
        // Order does not matter, to the bit.
        let odd = [0.1, 1e-17, 3.3, 1e-17, 7e5, 0.2]
        #expect(Statistics.mean(odd)!.bitPattern == Statistics.mean(odd.reversed())!.bitPattern)
    }

    @Test("Verdicts: correct, finite error, special mismatch, signed zero, worst element")
    func verdicts() {
        let ref = [ReferenceValue(exactly: 1, format: .f32), ReferenceValue(exactly: 0, format: .f32),
                   ReferenceValue(exactly: .infinity, format: .f32), ReferenceValue(exactly: 2, format: .f32)]
        let good = Scoring.verdict(outputs: [1, -0.0, .infinity, 2], reference: ref, format: .f32)!
        #expect(good.isCorrectlyRounded && good.signedZeroNotes == 1 && good.maxULP == 0)
        let off = Scoring.verdict(outputs: [1, 0, .infinity, 2 + 3 * 0x1p-22], reference: ref, format: .f32)!
        #expect(!off.isCorrectlyRounded && off.maxULP == 3 && off.worstElement == 3 && !off.hasSpecialMismatch)
        let special = Scoring.verdict(outputs: [.nan, 0, 3, 2], reference: ref, format: .f32)!
        #expect(special.specialMismatches == 2 && special.maxULP == .infinity && special.worstElement == 0)
        #expect(Scoring.verdict(outputs: [1], reference: ref, format: .f32) == nil)
    }

    @Test("Accumulators: statistics, worst case, and merging in any split gives the same result")
    func accumulator() {
        let format = Format.f32
        let cases = (0..<40).map { i in
            HarnessCase(key: CaseKey(function: .softmax, format: format, family: .normalSmall, index: i), seed: 1,
                        request: OracleRequest(function: .softmax, format: format, logits: [1, Double(i)]))
        }
        func outcome(_ i: Int) -> ImplementationOutcome {
            switch i % 10 {
            case 3: return .unsupported("nope")
            case 7: return .failed("boom")
            case 9: return .outputs([.nan, Double(i)])
            default: return .outputs([1 + Double(i % 4) * 0x1p-23, Double(i)])  // i % 4 ULPs at 1
            }
        }
        var whole = ScoreAccumulator()
        var parts = [ScoreAccumulator(), ScoreAccumulator(), ScoreAccumulator()]
        for (i, c) in cases.enumerated() {
            let reference = c.request.logits.map { ReferenceValue(exactly: $0, format: format) }
            whole.record(c, reference: reference, outcome: outcome(i))
            parts[(i * 7) % 3].record(c, reference: reference, outcome: outcome(i))
        }
        let merged = parts[2].merged(with: parts[0]).merged(with: parts[1])
        let s = whole.statistics
        #expect(s == merged.statistics)
        // (Records holding NaN outputs never compare equal: compare what identifies them.)
        #expect(whole.worst?.key == merged.worst?.key && whole.worst?.element == merged.worst?.element)
        #expect(whole.worstFinite == merged.worstFinite)
        #expect(whole.firstError == merged.firstError && whole.firstError?.key.index == 7)
        #expect(s.cases == 40 && s.unsupported == 4 && s.errors == 4 && s.scored == 32)
        #expect(s.specialMismatchCases == 4 && s.specialMismatchOutputs == 4)
        #expect(s.maxULP == 3)
        // Finite cases: i % 10 ∈ {0,1,2,4,5,6,8}; errors i % 4.
        let finite = (0..<40).filter { ![3, 7, 9].contains($0 % 10) }.map { Double($0 % 4) }
        #expect(s.meanULP == Statistics.mean(finite))
        #expect(s.p99ULP == 3)
        #expect(s.correctlyRoundedCases == finite.filter { $0 == 0 }.count)
        #expect(whole.worst?.specialMismatch == true && whole.worst?.key.index == 9)
        #expect(whole.worstFinite?.ulps == 3 && whole.worstFinite?.key.index == 11)
    }
}
