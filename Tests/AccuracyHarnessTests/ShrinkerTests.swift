import SoftmaxOracle
import Testing
@testable import AccuracyHarness

@Suite("Shrinking")
struct ShrinkerTests {
    /// "Fails when any logit > 100 and K ≥ 2."
    static func fails(_ r: OracleRequest) -> Bool {
        r.logits.count >= 2 && r.logits.contains { $0 > 100 }
    }

    @Test("Shrinks to the known minimal case: K = 2, logits {0, 128}")
    func minimal() {
        let start = OracleRequest(function: .softmax, format: .f64,
                                  logits: [-3.25, 0x1.3e8p+10, 7, 101.5, -0x1.8p+500, 1e-300, 12345.678, 0.1])
        let result = Shrinker().shrink(start, stillFails: Self.fails)
        #expect(result.request.logits.count == 2)
        #expect(Set(result.request.logits) == [0, 128])
        #expect(result.reachedFixpoint && result.steps > 0 && result.attempts > result.steps)
        // Deterministic.
        #expect(Shrinker().shrink(start, stillFails: Self.fails) == result)
    }

    @Test("Generated cases of every format shrink to the same minimal case", arguments: [Format.f64, .f32, .f16, .bf16])
    func generated(format: Format) {
        for c in Family.uniformWide.cases(seed: 4, format: format, function: .softmax, count: 10) where Self.fails(c.request) {
            let result = Shrinker().shrink(c.request, stillFails: Self.fails)
            #expect(Set(result.request.logits) == [0, 128], "\(c.key)")
            #expect(result.request.logits.allSatisfy(format.contains))
        }
    }

    @Test("A hard target stays valid and moves to the front")
    func target() {
        let start = OracleRequest(function: .crossEntropy, format: .f32,
                                  logits: [5, -7.5, 300.25, 2, 0x1p-140], target: .index(2))
        let fails: (OracleRequest) -> Bool = { r in
            guard case .index(let t)? = r.target, (0..<r.logits.count).contains(t) else {
                Issue.record("invalid target \(String(describing: r.target))")
                return false
            }
            return r.logits.count >= 2 && r.logits[t] > 100
        }
        let result = Shrinker().shrink(start, stillFails: fails)
        #expect(result.request.logits == [128, 0] && result.request.target == .index(0))
    }

    @Test("Per-logit fields follow dropped logits; auxiliary fields are dropped")
    func auxiliary() {
        let start = OracleRequest(function: .bceWithLogits, format: .f64, logits: [1, 2, 300, 4],
                                  labels: [0, 1, 0.75, 1], posWeight: [2, 3, 4, 5])
        let result = Shrinker().shrink(start) { r in r.labels?.count == r.logits.count && r.logits.contains { $0 > 100 } }
        #expect(result.request.logits == [128] && result.request.labels == [0] && result.request.posWeight == nil)
    }

    @Test("Batches drop rows and columns, keeping targets valid")
    func batch() {
        let start = OracleRequest(function: .crossEntropyLoss, format: .f64,
                                  batch: [[1, 2, 3], [4, 500, 6], [7, 8, 9]], batchTargets: .indices([0, 1, 2]))
        let result = Shrinker().shrink(start) { r in
            guard let b = r.batch, case .indices(let t)? = r.batchTargets, t.count == b.count else { return false }
            return zip(b, t).contains { row, i in row.indices.contains(i) && row[i] > 100 }
        }
        #expect(result.request.batch == [[128]] && result.request.batchTargets == .indices([0]))
    }

    @Test("The attempt budget bounds the work; a passing case is returned unchanged")
    func budget() {
        let start = OracleRequest(function: .softmax, logits: (0..<64).map { Double($0) * 3.7 + 0.1 })
        let result = Shrinker(maxAttempts: 10).shrink(start, stillFails: Self.fails)
        #expect(result.attempts <= 10 && !result.reachedFixpoint)
        let passing = OracleRequest(function: .softmax, logits: [1, 2])
        let unchanged = Shrinker().shrink(passing, stillFails: Self.fails)
        #expect(unchanged.request == passing && unchanged.steps == 0)
    }

    @Test("FailureCriterion drives shrinking against an oracle and an implementation")
    func criterion() {
        let predicate = FailureCriterion(maxULP: 0.5).predicate(implementation: FakeImplementations.nanAbove100,
                                                                oracle: IdentityOracle())
        let start = OracleRequest(function: .softmax, logits: [3, 1e10, -4, 250.5])
        let result = Shrinker().shrink(start, stillFails: predicate)
        #expect(result.request.logits == [128])
    }
}
