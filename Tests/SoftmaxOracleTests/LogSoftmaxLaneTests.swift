import DoubleWordArithmetic
import Foundation
@testable import SoftmaxOracle
import Testing

/// log_softmax's outputs decided on lanes (LogSoftmaxOutputs.swift): exact near-ties
/// (`DoubleWordTier.nearTieLanes`) and f64's binades [901, 1000) (`certifyHighBinades`,
/// HighBinadeLanes.swift). Each against its exact reference (`Format.roundExactly`, integer
/// arithmetic; `certifyOther`'s exact rounding of the enclosure), whole rows against the MPFR
/// path, and the same outputs (rounded and exact) whichever way an index is taken. Failure
/// messages carry the seed.
@Suite("log_softmax on lanes: exact near-ties and the top binades")
struct LogSoftmaxLaneTests {
    static let seed: UInt64 = 0x1065_0F7A_0000_0001

    @Test("nearTieLanes takes a lane only where d − 0⁺ rounds (exactly) to its value, and nearTie gives that output")
    func nearTieLanesAgainstExactRounding() {
        var rng = SplitMix64(seed: Self.seed)
        let certifier = DoubleWordCertifier(.f64)
        var taken = 0, declined = 0
        for n in 0..<100_000 {
            // d = dh + dl = TwoSum(x, −m) < 0: for x < 0 in m's binade, d needs 54 bits, so dl is 0
            // or an exact midpoint half the time; else any x below m.
            let a = rng.int(-40...40)
            let m = rng.uniform(1, 2) * pow2(a)
            let x = rng.oneIn(3) ? m - rng.uniform(0, 4) * pow2(rng.int(-60...60)) : -rng.uniform(1, 2) * pow2(a)
            let d = twoSum(x, -m)
            guard d.hi < 0, d.hi.isFinite else { continue }
            let upper = rng.oneIn(5) ? d.hi.magnitude * pow2(-rng.int(50...60)) : pow2(-rng.int(100...3000) / 3)
            let lp = DoubleWordTier.LogPart(value: ScaledDoubleWord(upper * 0.5), epsL: 0x1p-100,
                                            plain: DoubleWord(upper * 0.5, 0), plainAbsoluteError: upper * 0x1p-60)
            let w = DoubleWord.sameSignSum(DoubleWord(-d.hi, -d.lo), lp.plain)
            let err = roundedUp(lp.plainAbsoluteError + 3.03 * unitRoundoffSquared * w.hi) * (rng.oneIn(8) ? pow2(rng.int(0...60)) : 1)
            let lanes = DoubleWordTier.nearTieLanes(SIMD4(repeating: d.hi), SIMD4(repeating: d.lo), output: SIMD4(repeating: w.hi),
                                                    absoluteError: SIMD4(repeating: err), upper: lp.upperBound)
            let note = "seed \(Self.seed), case \(n): d = \(hex(d.hi)) + \(hex(d.lo)), upper = \(hex(lp.upperBound)), err = \(hex(err))"
            guard lanes.taken[0] else {
                declined += 1
                continue
            }
            taken += 1
            // The reference: d − 0⁺ rounded with integer arithmetic.
            let exact = Format.f64.roundExactly(d.hi, d.lo, scale: 0, nudge: -1)
            #expect(lanes.rounded[0].bitPattern == exact.bitPattern, "\(note): \(hex(lanes.rounded[0])) vs \(hex(exact))")
            let single = DoubleWordTier.nearTie(d, plus: false, -w, absoluteError: err, lp, certifier)
            #expect(single?.rounded.bitPattern == exact.bitPattern, "\(note): nearTie \(String(describing: single))")
        }
        #expect(taken > 10_000 && declined > 10_000, "seed \(Self.seed): taken \(taken), declined \(declined)")
    }

    @Test("certifyHighBinade(s) give certifyOther's output wherever they certify, on and next to f64's rounding boundaries")
    func highBinadesAgainstCertifyOther() {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        let certifier = DoubleWordCertifier(.f64)
        var certified = 0, declined = 0
        for n in 0..<100_000 {
            let e = rng.int(895...1005)
            var h = rng.oneIn(4) ? 1 : rng.uniform(1, 2)
            if rng.oneIn(2) { h = -h }
            h *= pow2(e)
            let ulp = h.ulp
            let l: Double
            switch rng.int(0...3) {
            case 0: l = 0
            case 1: l = (rng.oneIn(2) ? 0.5 : -0.5) * ulp * (rng.oneIn(2) ? 1 : 0.5)  // on a boundary
            case 2: l = (rng.oneIn(2) ? 0.5 : -0.5) * ulp * (1 - pow2(-rng.int(1...60)))  // next to one
            default: l = rng.uniform(-0.5, 0.5) * ulp
            }
            let err = ulp * (rng.oneIn(8) ? pow2(-rng.int(0...45)) : rng.uniform(0, 1) * pow2(-rng.int(41...70)))
            let note = "seed \(Self.seed ^ 1), case \(n): h = \(hex(h)), l = \(hex(l)), err = \(hex(err))"
            let reference = certifier.certifyOther(h, l, scale: 0, error: err)
            let single = certifier.certifyHighBinade(h, l, error: err)
            var out = [OracleValue](repeating: OracleValue(rounded: 0, exact: ExactValue(0.0)), count: 4)
            let lanes = out.withUnsafeMutableBufferPointer {
                certifier.certifyHighBinades(SIMD4(repeating: h), SIMD4(repeating: l), error: SIMD4(repeating: err), into: $0.baseAddress!)
            }
            #expect(lanes == (single != nil), "\(note)")
            guard let value = single else {
                declined += 1
                continue
            }
            certified += 1
            #expect(reference != nil && value.rounded.bitPattern == reference!.rounded.bitPattern && value.exact == reference!.exact
                    && out[3] == value, "\(note): \(value) vs \(String(describing: reference))")
            // certifyOther's rounding is that of the exact midpoint h + l.
            #expect(value.rounded.bitPattern == Format.f64.roundExactly(h, l, scale: 0).bitPattern, "\(note)")
        }
        #expect(certified > 30_000 && declined > 10_000, "seed \(Self.seed ^ 1): certified \(certified), declined \(declined)")
    }

    /// Logits of a few 1e5 (a quarter of x_i − m exact midpoints of binary64's grid, L ≈ e^-1000),
    /// or about 1e300 with four ties at the maximum (x_i − m multiples of 2^944, outputs in
    /// binades [944, 998]).
    static func row(_ rng: inout SplitMix64, top: Bool, count k: Int) -> [Double] {
        if !top { return (0..<k).map { _ in rng.uniform(-1, 1) * 3e5 + rng.uniform(-1, 1) } }
        let base = 1e300
        var x = (0..<k).map { _ in rng.oneIn(8) ? -base * rng.uniform(0.5, 1) : base - Double(rng.int(1...40)) * base.ulp }
        for j in 0..<4 { x[j * 7] = base }
        return x
    }

    @Test("rows of midpoints and of the top binades: the MPFR path's outputs, the same whichever lanes an index falls in")
    func rowsAgainstMPFR() throws {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        for top in [false, true] {
            for k in [61, 400] {
                let x = Self.row(&rng, top: top, count: k)
                let q = OracleRequest(function: .logSoftmax, format: .f64, logits: x)
                #expect(try DoubleWordTierAgreementTests.compare(q, "seed \(Self.seed ^ 2), top \(top), K = \(k)"))
                // Rotated by one index: every group of lanes holds other outputs.
                let a = try Oracle().evaluate(q).values
                let b = try Oracle().evaluate(OracleRequest(function: .logSoftmax, format: .f64, logits: Array(x[1...]) + [x[0]])).values
                for i in 0..<k {
                    #expect(a[(i + 1) % k] == b[i], "seed \(Self.seed ^ 2), top \(top), K = \(k), output \((i + 1) % k)")
                }
            }
        }
    }
}
