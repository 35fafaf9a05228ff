import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// `DoubleWordCertifier.certifyLowBinade` (f64 outputs in the binades −1118 < e <= −901, where
/// the inline test does not apply) against the exact reference it stands for, `certifyOther`
/// (both ends of the enclosure rounded with integer arithmetic): where it certifies, the same
/// rounded value and exact value, and that rounding is the exact rounding of the midpoint; where
/// it finds the enclosure too wide, `certifyOther` declines too. Failure messages carry the seed.
@Suite("Double-word tier: the low-binade certification equals the exact reference")
struct ElementwiseLowBinadeTests {
    static let seed: UInt64 = 0xE1E3_0B1D

    @Test("certifyLowBinade gives certifyOther's output wherever it decides, on both sides of 2^-1022 and of every quantum")
    func lowBinade() {
        var rng = SplitMix64(seed: Self.seed)
        let certifier = DoubleWordCertifier(.f64)
        var certified = 0, undecided = 0, wide = 0
        for n in 0..<200_000 {
            let e = rng.int(-1117 ... -901)
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
            let shift = rng.int(-20...20)  // h not normalized: k compensates
            let hs = h * pow2(shift)
            let l = (rng.oneIn(4) ? 0 : rng.uniform(-1, 1) * pow2(-rng.int(53...110))) * hs.magnitude
            let err = rng.oneIn(8) ? pow2(-rng.int(0...40)) * hs.magnitude : rng.uniform(0, 1) * pow2(-rng.int(60...110)) * hs.magnitude
            let k = e - shift
            let reference = certifier.certifyOther(hs, l, scale: k, error: err)
            switch certifier.certifyLowBinade(hs, l, scale: k, error: err) {
            case .certified(let v):
                certified += 1
                let midpoint = Format.f64.roundExactly(hs, l, scale: k)
                #expect(reference != nil && v.rounded.bitPattern == reference!.rounded.bitPattern && v.exact == reference!.exact
                        && v.rounded.bitPattern == midpoint.bitPattern,
                        "seed \(Self.seed), case \(n): h = \(hex(hs)), l = \(hex(l)), k = \(k), err = \(hex(err)): \(v) vs \(String(describing: reference))")
            case .notNarrow:
                wide += 1
                #expect(reference == nil, "seed \(Self.seed), case \(n): too wide here, certified by certifyOther: h = \(hex(hs)), k = \(k), err = \(hex(err))")
            case .undecided:
                undecided += 1
            }
        }
        #expect(certified > 100_000 && undecided > 1000 && wide > 1000,
                "seed \(Self.seed): certified \(certified), undecided \(undecided), too wide \(wide)")
    }

    @Test("certifyTiny through the low binades: sigmoid, softplus and log_sigmoid near |x| = 745 equal the MPFR path")
    func outputsNearUnderflow() throws {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        let oracle = Oracle(doubleWordTier: false)
        for n in 0..<300 {
            let x = -rng.uniform(620, 780)
            for function in [OracleFunction.sigmoid, .softplus, .logSigmoid] {
                let q = OracleRequest(function: function, format: .f64, logits: [function == .logSigmoid ? -x : x])
                let tier = DoubleWordTier.elementwise(q, threads: 1).map { $0.values[0].rounded }
                let mpfr = try oracle.evaluate(q).values[0].rounded
                #expect(tier == nil || tier!.bitPattern == mpfr.bitPattern,
                        "seed \(Self.seed ^ 1), case \(n), \(function), x = \(hex(x)): \(String(describing: tier)) vs MPFR \(mpfr)")
            }
        }
    }
}
