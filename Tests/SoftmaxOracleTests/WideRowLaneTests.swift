import DoubleWordArithmetic
import Foundation
@testable import SoftmaxOracle
import Testing

/// log_softmax of wide rows on lanes (`WideRowOutputs.logSoftmaxLanes`): wherever the lanes
/// decide, the outputs `single` gives (rounded and exact values, field for field), on rows whose
/// outputs fill f64's top binades (2^901 ... 2^1023, where `certifyOther` decided them one by one)
/// and sit on or next to rounding boundaries; and whole rows against the MPFR path in every format.
@Suite("Wide rows: log_softmax on lanes")
struct WideRowLaneTests {
    static let seed: UInt64 = 0x71DE_1A4E_2026_0001

    /// A wide row of k logits: the maximum m near the top of the format's range, the others far
    /// below it (x_j − m < −2^19), of either sign, many in m's binade (their differences need 54
    /// bits: midpoints of f64's grid), some overflowing m − x_j, some −inf.
    static func row(_ rng: inout SplitMix64, count k: Int, _ format: Format) -> [Double] {
        let top = Swift.max(Swift.min(format.maxExponent, 1023), 40)  // wide in every format
        let m = rng.uniform(1, 2) * pow2(top - rng.int(0...3))
        return [m] + (1..<k).map { _ in
            switch rng.int(0...5) {
            case 0: return -.infinity
            case 1: return -rng.uniform(1, 2) * pow2(top - rng.int(0...2))  // m − x_j in m's binade or above
            case 2: return rng.uniform(-1, 1) * pow2(rng.int(-1074...(top - 2)))  // tails |w_lo| = |x_j| of any size
            case 3: return -Double(rng.int(1...1000)) * pow2(top - 60)  // on f64's grid of m − x_j
            default: return (rng.oneIn(2) ? -1 : 1) * rng.uniform(1, 2) * pow2(rng.int(20...top) - 1)
            }
        }.map { Swift.min($0, m * 0.5) }
    }

    @Test("where the lanes decide, single's outputs, field for field", arguments: Format.allCases)
    func lanesAgainstSingle(format: Format) {
        var rng = SplitMix64(seed: Self.seed &+ UInt64(format.precision))
        var taken = 0, groups = 0
        for n in 0..<400 {
            var x = Self.row(&rng, count: 4 * rng.int(1...16), format)
            x.shuffle(using: &rng)
            let note = "seed \(Self.seed &+ UInt64(format.precision)), row \(n), \(format)"
            x.withUnsafeBufferPointer { xs in
                guard let scan = DoubleWordTier.wideRowScan(xs, threads: 1) else { return }  // every other logit −inf
                let outputs = WideRowOutputs(x: xs, m: scan.max, maxIndex: scan.maxIndex, certifier: DoubleWordCertifier(format))
                let fill = WideLogSoftmaxFill(row: WideRowFill(outputs: outputs, kind: .logSoftmax, target: -1))
                var out = [OracleValue](repeating: OracleValue(rounded: 0, exact: ExactValue(0.0)), count: 4)
                for i in stride(from: 0, to: xs.count, by: 4) {
                    groups += 1
                    guard out.withUnsafeMutableBufferPointer({ fill.lanes(i, into: $0.baseAddress!) }) else { continue }
                    taken += 1
                    for j in 0..<4 {
                        let single = fill.single(i + j)
                        #expect(single == out[j], "output \(i + j), x = \(hex(xs[i + j])), m = \(hex(scan.max)): lanes \(out[j]) vs single \(String(describing: single)); \(note)")
                    }
                }
            }
        }
        // (In the formats of p <= 11 every output of such a row overflows: `certifyOther` decides.)
        #expect(taken > groups / 10 || format.precision <= 11, "\(format): lanes took \(taken) of \(groups) groups")
    }

    @Test("whole wide log_softmax rows: the MPFR path's outputs", arguments: Format.allCases)
    func rowsAgainstMPFRPath(format: Format) throws {
        var rng = SplitMix64(seed: Self.seed ^ UInt64(format.precision))
        for n in 0..<8 {
            let x = Self.row(&rng, count: 64, format)
            try TierCoverageAgreementTests.compare(OracleRequest(function: .logSoftmax, format: format, logits: x),
                                                   "wide log_softmax, seed \(Self.seed ^ UInt64(format.precision)), row \(n), \(format)")
        }
    }
}
