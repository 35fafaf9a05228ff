import DoubleWordArithmetic
import MPFR
@testable import SoftmaxOracle
import Testing

/// The double-word tier's elementwise enclosures (ElementwiseOutputs.swift,
/// BinaryCrossEntropy.swift) against MPFR at 320 bits computed here: each stated bound holds at
/// the stated bound (T = log1p(e^(−|x|)), sigmoid, the bce coefficients, terms and loss).
@Suite("Double-word tier: elementwise error bounds")
struct ElementwiseTierBoundTests {
    static let seed: UInt64 = 0xE1E3_0001
    static let outputs = ElementwiseOutputs(kind: .sigmoid, format: .f64, labels: nil, posWeight: nil, weight: nil)

    /// Logits over every scale the tier computes: tiny, ordinary, the regimes of log1p (E near
    /// 2^-60, 0.75), up to 2^20, of either sign.
    static func logit(_ rng: inout SplitMix64) -> Double {
        let x: Double
        switch rng.int(0...5) {
        case 0: x = rng.unit() * pow2(-rng.int(1...1070))
        case 1: x = rng.uniform(0, 50)
        case 2: x = 41.5 + rng.uniform(-0.5, 0.5)  // e^-x near 2^-60
        case 3: x = 0.2877 + rng.uniform(-0.01, 0.01)  // e^-x near 0.75
        case 4: x = rng.uniform(0, 1) * pow2(rng.int(0...20))
        default: x = Double(rng.int(0...800))
        }
        return rng.oneIn(2) ? -x : x
    }

    /// e^(−|x|) at 320 bits.
    static func exactE(_ x: Double) -> BigFloat { Exact.exp(big(-x.magnitude)) }

    @Test("T = log1p(e^(−|x|)) is within its run-time relative bound εT")
    func logTerm() throws {
        var rng = SplitMix64(seed: Self.seed)
        for n in 0..<4000 {
            let x = Self.logit(&rng)
            let t = try #require(Self.outputs.logTerm(x), "x = \(hex(x)), seed \(Self.seed), case \(n)")
            let exact = Exact.log1p(Self.exactE(x))
            let err = Exact.relativeError(Exact.value(t.value), exact)
            #expect(err <= t.epsL, "x = \(hex(x)): relative error \(err) > εT = \(t.epsL); seed \(Self.seed), case \(n)")
            #expect(t.epsL <= 0x1p-95, "x = \(hex(x)): εT = \(t.epsL) is looser than the tier needs")
        }
    }

    @Test("sigmoid's enclosure holds the exact value")
    func sigmoid() {
        var rng = SplitMix64(seed: Self.seed &+ 1)
        for n in 0..<4000 {
            let x = Self.logit(&rng)
            let v = Self.outputs.sigmoidEnclosure(x)
            let e = Self.exactE(x)
            let exact = Exact.apply { r in
                let s = BigFloat(precision: Exact.bits)
                s.add(e, big(1), .nearest)
                r.div(x >= 0 ? big(1) : e, s, .nearest)
            }
            // In units of 2^scale, as the bound is stated.
            let unscaled = Exact.apply { $0.scale(exact, byPowerOfTwo: -v.scale, .nearest) }
            let err = Exact.absoluteError(Exact.value(DoubleWord(v.hi, v.lo)), unscaled)
            #expect(err <= v.error, "x = \(hex(x)): error \(err) > \(v.error); seed \(Self.seed + 1), case \(n)")
        }
    }

    @Test("bce: coefficients, terms and loss within their relative bounds")
    func bce() throws {
        var rng = SplitMix64(seed: Self.seed &+ 2)
        for n in 0..<3000 {
            let x = Self.logit(&rng)
            let z = rng.pick([0.0, 1.0, 0.4375, rng.unit(), pow2(-rng.int(1...1074))])
            let pw = rng.pick([1.0, rng.unit() * 16, pow2(rng.int(-1000...1000)) * (1 + rng.unit())])
            let w = rng.pick([1.0, rng.unit(), pow2(rng.int(-1000...1000)) * (1 + rng.unit())])
            let note = "x = \(hex(x)), z = \(hex(z)), pw = \(hex(pw)), w = \(hex(w)); seed \(Self.seed + 2), case \(n)"
            let (c, epsC, t1, eps1, exact1) = ElementwiseOutputs.bceCoefficients(x, label: z, posWeight: pw, weight: w)
            // Exact A = w·pw·z, B = w·(1 − z), C = A + B, term 1.
            let a = Exact.apply { r in r.mul(big(w), big(pw), .nearest); r.mul(r, big(z), .nearest) }
            let b = Exact.apply { r in r.sub(big(1), big(z), .nearest); r.mul(r, big(w), .nearest) }
            let cExact = Exact.apply { $0.add(a, b, .nearest) }
            if !cExact.isZero {
                #expect(Exact.relativeError(Exact.value(c), cExact) <= epsC, "C: \(note)")
            }
            let coefficient = x < 0 ? a : b
            let t1Exact = Exact.apply { r in r.mul(coefficient, big(x.magnitude), .nearest) }
            if t1Exact.isZero || x == 0 {
                #expect(t1.hi == 0, "term 1 should be 0: \(note)")
            } else {
                let err = Exact.relativeError(Exact.value(t1), t1Exact)
                #expect(err <= eps1, "term 1: \(err) > \(eps1): \(note)")
                if exact1 { #expect(err == 0, "term 1 claimed exact: \(note)") }
            }
            guard x.magnitude <= 0x1p20, !cExact.isZero, let t = Self.outputs.logTerm(x) else { continue }
            let (t2, eps2, loss, eps) = ElementwiseOutputs.bceLoss(t1, eps1, c, epsC, t)
            let tExact = Exact.log1p(Self.exactE(x))
            let t2Exact = Exact.apply { $0.mul(cExact, tExact, .nearest) }
            #expect(Exact.relativeError(Exact.value(t2), t2Exact) <= eps2, "term 2: \(note)")
            let lossExact = Exact.apply { $0.add(t1Exact, t2Exact, .nearest) }
            #expect(Exact.relativeError(Exact.value(loss), lossExact) <= eps, "loss: \(note)")
        }
    }
}
