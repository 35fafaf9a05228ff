import MPFR
import SoftmaxOracle
import Testing

/// `OracleValue.exact` is what the harness measures other outputs against (ULP scores), and is
/// documented as "the exact value (to ~106 bits)". These tests compare it with the brute-force
/// reference (the random cases of `BruteForcePropertyTests` check it too, to 2^-20 output ulps).
@Suite("Accuracy of OracleValue.exact")
struct ExactValueAccuracyTests {
    /// |a − b| in units of the format's ulp at b (the ulp of docs/formats.md), from BigFloats.
    static func distanceInULPs(_ a: ExactValue, _ b: BigFloat, _ format: Format) -> Double {
        let truth = ExactValue(b)
        let av = BigFloat(precision: 256)
        av.add(big(a.head), big(a.tail), .nearest)
        av.scale(av, byPowerOfTwo: a.exponent, .nearest)
        if a.isNegative { av.neg(av, .nearest) }
        let d = BigFloat(precision: 256)
        d.sub(av, b, .nearest)
        let u = max(truth.exponent, format.minNormalExponent) - format.precision + 1
        d.scale(d, byPowerOfTwo: -u, .nearest)
        return abs(d.double())
    }

    /// Guaranteed by construction: the reported exact value lies in the certifying enclosure, which
    /// rounds to `rounded` at both ends, so `rounded` scores at most 1/2 against it.
    @Test("the correctly rounded output scores ≤ 0.5 against the oracle's own exact value", arguments: Format.allCases)
    func selfScore(format: Format) throws {
        let fi = UInt64(Format.allCases.firstIndex(of: format)!)
        for n in 0..<BruteForcePropertyTests.casesPerFormat {
            let seed = BruteForcePropertyTests.seed &+ (fi << 32) &+ UInt64(n)
            var rng = SplitMix64(seed: seed)
            let c = BruteForcePropertyTests.make(&rng, format: format, variant: BruteForcePropertyTests.Variant.allCases[n % 11])
            let r = try Oracle().evaluate(c.request)
            for v in r.values {
                let s = ULP.score(v.rounded, exact: v.exact, correctlyRounded: v.rounded, format: format)
                #expect(s.isCorrectlyRounded && s.ulps <= 0.5, "case seed 0x\(String(seed, radix: 16)): \(c.description)")
            }
        }
    }

    static let reproducerLogits: [Double] = [0x1.36867b68942cdp+1, 0x1.36867b68932e6p+1, 0x1.36867b689439dp+1]

    /// Regression test. Output 2 certifies at the first precision (64 bits) although its enclosure
    /// is almost as wide as an f32 cell (the gradient is ~2^-42, from cancellation of terms ~1/3).
    /// The exact value used to be that enclosure's midpoint, 0.44 f32-ulps from the truth; the
    /// certifier now narrows such enclosures before taking the midpoint.
    @Test("exact stays within 2^-20 ulps where cancellation made the certifying enclosure wide")
    func wideEnclosureMidpoint() throws {
        let x = Self.reproducerLogits
        let q = OracleRequest(function: .crossEntropyGrad, format: .f32, logits: x, target: .index(0), labelSmoothing: 1)
        let r = try Oracle().evaluate(q)
        let truth = BruteForce.crossEntropyGrad(x, weights: BruteForce.targetWeights(classes: 3, target: .index(0), weight: nil, labelSmoothing: 1))
        expectBits(r.rounded, truth.map { Format.f32.round($0) })  // the rounding itself is correct
        let own = ULP.score(r.rounded[2], exact: r.values[2].exact, correctlyRounded: r.rounded[2], format: .f32).ulps
        let real = ULP.score(r.rounded[2], exact: ExactValue(truth[2]), correctlyRounded: r.rounded[2], format: .f32).ulps
        #expect(Self.distanceInULPs(r.values[2].exact, truth[2], .f32) < 0x1p-20,
                "exact \(r.values[2].exact), truth \(ExactValue(truth[2])); score of the rounded value: \(own) reported, \(real) true")
    }
}
