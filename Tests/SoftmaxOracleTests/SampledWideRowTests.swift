import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// `DoubleWordTier.sampledWideRow` (WideRow.swift) answers a row whose first 64 logits look wide
/// before `plainValues` does: `rowValues` must give, value for value, what its paths give in their
/// usual order (tiny-spread, few-distinct, plain, wide, special), and the MPFR path's rounding, on
/// rows that look wide and are; that look wide and are not (a logit after the first 64 within 2^19
/// of the maximum: `plainValues` answers); and that are wide with a −inf target logit (cross_entropy
/// declines there, the plain path's +inf answers).
@Suite("Wide rows answered before the plain path")
struct SampledWideRowTests {
    static let seed: UInt64 = 0x5A3B_1ED0_2026

    /// The paths of `rowValues` in their order before `sampledWideRow`.
    static func usualOrder(_ q: OracleRequest, rounded: Bool) -> RoundedResult.Values? {
        if let first = q.logits.first, !first.isFinite, let special = DoubleWordTier.specialRowValues(q, rounded: rounded) { return special }
        return DoubleWordTier.tinySpreadRow(q, threads: 1, rounded: rounded) ?? DoubleWordTier.distinctRow(q, threads: 1, rounded: rounded)
            ?? DoubleWordTier.plainValues(q, threads: 1).map { .certified($0) }
            ?? DoubleWordTier.wideRow(q, threads: 1, rounded: rounded) ?? DoubleWordTier.specialRowValues(q, rounded: rounded)
    }

    /// The rounded values' bits, and the exact values (`ExactValue` is Hashable: field for field).
    static func bits(_ v: RoundedResult.Values?) -> ([UInt64], [ExactValue])? {
        switch v {
        case .rounded(let r)?: return (r.map(\.bitPattern), [])
        case .certified(let c)?: return (c.map(\.rounded.bitPattern), c.map(\.exact))
        case nil: return nil
        }
    }

    @Test("wide, looking wide only, −inf targets: the usual order's values and the MPFR path's")
    func sameAnswers() throws {
        var rng = SplitMix64(seed: Self.seed)
        for n in 0..<24 {
            let k = 300
            // The first 64 logits: a maximum, the others at least 2^30 below it.
            var x = (0..<k).map { _ in rng.uniform(-1, 1) * pow2(rng.int(40...60)) - 0x1p62 }
            let m = rng.uniform(1, 2)
            x[rng.index(64)] = m
            let kind = n % 3
            if kind == 1 { x[64 + rng.index(k - 64)] = m - rng.uniform(0, 0x1p18) }  // not wide after all
            if n % 4 == 0 { x[64 + rng.index(k - 64)] = -.infinity }
            let t = kind == 2 ? (x.firstIndex(of: -.infinity) ?? 100) : rng.index(k)
            if kind == 2 { x[t] = -.infinity }
            for format in [Format.f64, .f32, .bf16] {
                var requests = [OracleRequest]()
                for f in [OracleFunction.logsumexp, .softmax, .logSoftmax] { requests.append(OracleRequest(function: f, format: format, logits: x)) }
                var q = OracleRequest(function: .crossEntropy, format: format, logits: x)
                q.target = .index(t)
                requests.append(q)
                q.function = .crossEntropyGrad
                requests.append(q)
                q.target = .probabilities((0..<k).map { _ in rng.oneIn(3) ? 0 : Double(rng.int(1...16)) / 16 })
                requests.append(q)
                for q in requests {
                    let note = "seed \(Self.seed), row \(n) (kind \(kind)), \(q.function), \(format)"
                    for rounded in [false, true] {
                        let got = DoubleWordTier.rowValues(q, threads: 1, rounded: rounded)
                        let a = Self.bits(got), b = Self.bits(Self.usualOrder(q, rounded: rounded))
                        #expect(a?.0 == b?.0 && a?.1 == b?.1, "\(note), rounded \(rounded)")
                    }
                    _ = try TierCoverageAgreementTests.compare(q, note)
                }
            }
        }
    }
}
