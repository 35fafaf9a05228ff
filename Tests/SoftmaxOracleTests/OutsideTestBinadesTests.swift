import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// The f64 certification outside the inline test's binades against the exact reference it stands
/// for, `Format.certifiedValue` (both ends of the enclosure rounded with integer arithmetic):
/// above them (e >= 901) `DoubleWordCertifier.testOutsideBinades`, below them (e <= −901)
/// `certifyOther`'s lanes (`band`, `belowSubnormals`). Where they certify, the same rounded value
/// and exact value, and that rounding is the exact rounding of the midpoint; where they find the
/// enclosure too wide, the reference declines too. Failure messages carry the seed.
@Suite("Double-word tier: the certification outside the inline test's binades equals the exact reference")
struct OutsideTestBinadesTests {
    static let seed: UInt64 = 0xE1E3_0B1D

    /// A case in binade e: h in ±[1, 2) (random, on or next to a rounding boundary of f64 at 2^e,
    /// a power of two, or just below 2), l random below h's last bits or 0, err mostly narrow
    /// (<= 2^-94), one in eight up to 1.
    static func randomCase(_ rng: inout SplitMix64, binade e: Int) -> (h: Double, l: Double, err: Double) {
        var h: Double
        switch rng.int(0...3) {
        case 0: h = rng.uniform(1, 2)
        case 1:  // on or next to a rounding boundary of f64 at 2^e (a multiple of half a quantum)
            let q = max(e, -1022) - 52 - e  // the quantum's exponent relative to 2^e
            let units = (Double(rng.int(0...(1 << 20))) + (rng.oneIn(2) ? 0.5 : 0)) * pow2(q)
            h = 1 + min(units, 0.999)
        case 2: h = 1  // powers of two
        default: h = 2 - pow2(-rng.int(1...52))
        }
        if rng.oneIn(2) { h = -h }
        let l = rng.oneIn(4) ? 0 : rng.uniform(-1, 1) * pow2(-rng.int(53...110))
        let err = rng.oneIn(8) ? pow2(-rng.int(0...90)) : rng.uniform(0, 1) * pow2(-rng.int(95...110))
        return (h, l, err)
    }

    /// Checks a certified `value` of (h + l)·2^e ± err against `reference` (certifiedValue's).
    static func expectReference(_ value: OracleValue, _ reference: OracleValue?, _ h: Double, _ l: Double, _ e: Int,
                                _ note: @autoclosure () -> String) {
        let midpoint = Format.f64.roundExactly(h, l, scale: e)
        #expect(reference != nil && value.rounded.bitPattern == reference!.rounded.bitPattern && value.exact == reference!.exact
                && value.rounded.bitPattern == midpoint.bitPattern,
                "\(note()): h = \(hex(h)), l = \(hex(l)), e = \(e): \(value) vs \(String(describing: reference))")
    }

    @Test("testOutsideBinades (e >= 901) gives certifiedValue's output wherever it decides, on both sides of every quantum")
    func outsideBinades() {
        var rng = SplitMix64(seed: Self.seed)
        let certifier = DoubleWordCertifier(.f64)
        var certified = 0, undecided = 0, wide = 0
        for n in 0..<50_000 {
            let e = rng.int(901...1023)
            let (h, l, err) = Self.randomCase(&rng, binade: e)
            let v = ScaledDoubleWord(hi: h, lo: l, exponent: e)
            let reference = Format.f64.certifiedValue(v, error: err)
            switch certifier.testOutsideBinades(v, error: err) {
            case .certified(let value):
                certified += 1
                Self.expectReference(value, reference, h, l, e, "seed \(Self.seed), case \(n), err = \(hex(err))")
            case .notNarrow:
                wide += 1
                #expect(reference == nil, "seed \(Self.seed), case \(n): too wide here, certified by the reference: h = \(hex(h)), e = \(e), err = \(hex(err))")
            case .undecided:
                undecided += 1
            }
        }
        #expect(certified > 40_000 && undecided > 20 && wide > 5000,
                "seed \(Self.seed): certified \(certified), undecided \(undecided), too wide \(wide)")
    }

    @Test("below the inline test's binades (−1117 <= e <= −901) certifyOther's lanes give certifiedValue's output wherever they decide")
    func belowBinades() {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        let certifier = DoubleWordCertifier(.f64)
        var certified = 0, undecided = 0, wide = 0
        for n in 0..<150_000 {
            let e = rng.int(-1117 ... -901)
            let (h, l, err) = Self.randomCase(&rng, binade: e)
            let reference = Format.f64.certifiedValue(ScaledDoubleWord(hi: h, lo: l, exponent: e), error: err)
            let h2 = SIMD2(repeating: h), l2 = SIMD2(repeating: l), k2 = SIMD2(repeating: Int64(e)), e2 = SIMD2(repeating: err)
            let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: 2)
            defer { out.deallocate() }
            let decided = certifier.certifyBelowNormals(h2, l2, scale: k2, error: e2, certifier.test(lanes: h2, l2, scale: k2, error: e2),
                                                        SIMDMask(repeating: false), into: out)
            if decided {
                certified += 1
                Self.expectReference(out[0], reference, h, l, e, "seed \(Self.seed ^ 2), case \(n), err = \(hex(err))")
                #expect(certifier.certify(h, l, scale: e, error: err) == out[0], "seed \(Self.seed ^ 2), case \(n)")
            } else if err > 0x1p-94 {
                wide += 1
            } else {
                undecided += 1
            }
        }
        #expect(certified > 100_000 && undecided > 1000 && wide > 1000,
                "seed \(Self.seed ^ 2): certified \(certified), undecided \(undecided), too wide \(wide)")
    }

    @Test("sigmoid, softplus and log_sigmoid near |x| = 745 and at |x| near 1e300 equal the MPFR path")
    func outputsOutsideBinades() {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        let oracle = Oracle(doubleWordTier: false)
        for n in 0..<300 {
            let x = n % 5 == 0 ? -rng.uniform(1, 2) * pow2(rng.int(901...1023)) : -rng.uniform(620, 780)
            for function in [OracleFunction.sigmoid, .softplus, .logSigmoid] {
                let q = OracleRequest(function: function, format: .f64, logits: [function == .logSigmoid ? x : -x, function == .logSigmoid ? -x : x])
                guard let tier = DoubleWordTier.elementwise(q, threads: 1), let mpfr = try? oracle.evaluate(q) else {
                    Issue.record("seed \(Self.seed ^ 1), case \(n), \(function), x = \(hex(x)): no answer")
                    continue
                }
                for j in 0..<2 where !tier.pending.contains(j) {
                    #expect(tier.values[j].rounded.bitPattern == mpfr.values[j].rounded.bitPattern,
                            "seed \(Self.seed ^ 1), case \(n), \(function), x = \(hex(q.logits[j])): \(tier.values[j].rounded) vs MPFR \(mpfr.values[j].rounded)")
                }
            }
        }
    }
}
