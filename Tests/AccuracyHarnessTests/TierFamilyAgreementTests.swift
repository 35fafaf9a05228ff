import Foundation
import MPFR
import AccuracyHarness
import SoftmaxOracle
import Testing

/// The oracle with its double-word tier against the MPFR path alone (`--mpfr-only`,
/// `Oracle(doubleWordTier: false)`) on the harness's own families: every family, every function,
/// every format, several seeds (each failure names its seed and case). The rounded values must
/// agree bit for bit, and the exact values within 2^-39 output ulps (each is within 2^-40 of the
/// truth). SOFTMAX_ORACLE_TIER_SEEDS sets the number of seeds (default 2), SOFTMAX_ORACLE_TIER_SEED
/// the first.
@Suite("Double-word tier = MPFR path on every harness family")
struct TierFamilyAgreementTests {
    static let environment = ProcessInfo.processInfo.environment
    static let firstSeed = environment["SOFTMAX_ORACLE_TIER_SEED"].flatMap { UInt64($0) } ?? 0x71E5_A6EE
    static let seedCount = environment["SOFTMAX_ORACLE_TIER_SEEDS"].flatMap { Int($0) } ?? 2
    /// Cases per (seed, family, format, function).
    static let casesEach = 2
    /// Requests with more values are skipped (the MPFR path is slow in debug builds).
    static let maxValues = 4096

    static let tier = Oracle()
    static let mpfr = Oracle(doubleWordTier: false)

    /// x as a BigFloat (finite nonzero values).
    static func value(_ x: ExactValue) -> BigFloat {
        let r = BigFloat(precision: 256)
        ExponentRange.widest {
            r.add(BigFloat(x.head, precision: 53), BigFloat(x.tail, precision: 53), .nearest)
            r.scale(r, byPowerOfTwo: x.exponent, .nearest)
            if x.isNegative { r.neg(r, .nearest) }
        }
        return r
    }

    /// |a − b| in ulps of the format at b (the least subnormal's quantum below the normals).
    static func distance(_ a: ExactValue, _ b: ExactValue, _ format: Format) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: 256)
            d.sub(value(a), value(b), .nearest)
            let u = max(b.exponent, format.minNormalExponent) - format.precision + 1
            d.scale(d, byPowerOfTwo: -u, .nearest)
            return abs(d.double(.up))
        }
    }

    @Test("same rounded values and exact values on every family and format", arguments: OracleFunction.logitFunctions)  // the fused functions: LinearFamilyTests
    func agreement(function: OracleFunction) throws {
        var compared = 0, tierAnswered = 0
        for s in 0..<Self.seedCount {
            let seed = Self.firstSeed &+ UInt64(s)
            let generator = CaseGenerator(seed: seed)
            for family in Family.allCases {
                for format in Format.allCases {
                    for c in generator.cases(family: family, format: format, function: function, count: Self.casesEach) {
                        let q = c.request
                        if q.logits.count + (q.batch?.reduce(0) { $0 + $1.count } ?? 0) > Self.maxValues { continue }
                        let note = "seed \(seed), \(c.key)"
                        let a: OracleResult, b: OracleResult
                        do {
                            a = try Self.tier.evaluate(q)
                            b = try Self.mpfr.evaluate(q)
                        } catch {
                            // Both paths must fail alike (invalid or not certified).
                            #expect((try? Self.tier.evaluate(q)) == nil && (try? Self.mpfr.evaluate(q)) == nil, "\(note): \(error)")
                            continue
                        }
                        compared += 1
                        if a.tier == .doubleWord { tierAnswered += 1 }
                        #expect(a.values.count == b.values.count, "\(note)")
                        for (i, (x, y)) in zip(a.values, b.values).enumerated() {
                            #expect(x.rounded.bitPattern == y.rounded.bitPattern || (x.rounded.isNaN && y.rounded.isNaN),
                                    "\(note), output \(i): \(x.rounded) vs MPFR \(y.rounded)")
                            #expect(x.exact.kind == y.exact.kind && x.exact.isNegative == y.exact.isNegative,
                                    "\(note), output \(i): exact \(x.exact) vs MPFR \(y.exact)")
                            if x.exact.kind == .finite && y.exact.kind == .finite {
                                let d = Self.distance(x.exact, y.exact, format)
                                #expect(d <= 0x1p-39, "\(note), output \(i): exact values \(d) ulps apart")
                            }
                        }
                    }
                }
            }
        }
        print("\(function.rawValue): \(compared) cases compared, \(tierAnswered) answered wholly by the double-word tier")
        #expect(compared > 0)
    }
}
