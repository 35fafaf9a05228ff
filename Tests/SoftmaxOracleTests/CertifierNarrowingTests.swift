import MPFR
@testable import SoftmaxOracle
import Testing

/// `Certifier.narrowsExactValues`: rounds that only narrow the exact values of certified outputs
/// are run for `evaluate` (ULP scores need them) and skipped for `evaluateRounded`, with the same
/// rounded values, precision and escalations.
@Suite("Certifier: narrowing rounds")
struct CertifierNarrowingTests {
    /// One output whose enclosure at the first precision, [1 − 2^-30, 1 + 2^-30], certifies 1 in
    /// f32 (both ends round to 1: f32's neighbours of 1 are 2^-24 below and 2^-23 above) but is
    /// wider than `isNarrow` allows (2^-40 of f32's ulp at 1, 2^-63); at any later precision it is
    /// the point 1. Returns the rounds the certifier asked for and its result.
    static func run(narrowing: Bool) throws -> (rounds: [Int], result: OracleResult) {
        var rounds: [Int] = []
        let certifier = Certifier(format: .f32, guardBits: 40, maxPrecision: 1 << 16, narrowsExactValues: narrowing)
        let result = try certifier.run(outputs: 1, streaming: { w, _ in
            rounds.append(w.precision)
            let wide = Interval(lo: BigFloat(1 - 0x1p-30, precision: 53), hi: BigFloat(1 + 0x1p-30, precision: 53))
            return { _ in .interval(rounds.count == 1 ? wide : w.one) }
        })
        return (rounds, result)
    }

    @Test("narrowing: a second round for the wide enclosure; without: one round; the same rounded value, precision and escalations")
    func roundsAndResults() throws {
        let with = try Self.run(narrowing: true), without = try Self.run(narrowing: false)
        #expect(with.rounds == [64, 128])
        #expect(without.rounds == [64])
        #expect(with.result.values.map(\.rounded) == [1] && without.result.values.map(\.rounded) == [1])
        #expect(with.result.precision == 64 && without.result.precision == 64)
        #expect(with.result.escalations == 0 && without.result.escalations == 0)
    }

    @Test("evaluateRounded equals evaluate's rounded values on MPFR-path requests whose outputs certify before they are narrow")
    func roundedMatchesEvaluate() throws {
        // Soft-capped gradients and a batch backward cancel: their outputs certify at the first
        // precision with enclosures far wider than 2^-40 ulp (the narrowing rounds follow).
        let x = [3.0, 2.5, -1, 0x1p-30, 40, 39.999999]
        let requests = [
            OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .index(4), softcap: 30),
            OracleRequest(function: .crossEntropyGrad, format: .bf16, logits: x, target: .probabilities([0.1, 0.2, 0.3, 0.1, 0.2, 0.1]),
                          labelSmoothing: 0.1, temperature: 3),
            OracleRequest(function: .crossEntropyLossBackward, format: .f64, weight: [1, 2, 0.5, 1, 3, 1], batch: [x, x.reversed()],
                          batchTargets: .indices([4, 1]), reduction: .mean, zLoss: 1e-4, gradOutput: [0.75]),
        ]
        for q in requests {
            for tier in [true, false] {
                let oracle = Oracle(doubleWordTier: tier)
                let exact = try oracle.evaluate(q), rounded = try oracle.evaluateRounded(q)
                expectBits(rounded.rounded, exact.values.map(\.rounded), "\(q.function) tier \(tier)")
                #expect(rounded.precision == exact.precision && rounded.escalations == exact.escalations)
            }
        }
    }
}
