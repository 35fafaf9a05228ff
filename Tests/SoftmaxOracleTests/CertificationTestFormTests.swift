import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// `DoubleWordCertifier.test` is written with binary64 comparisons and exponent-field arithmetic
/// (cheap in SSE2); its notes define each quantity with integer exponents. These tests check the
/// two forms agree, lane by lane, on every field where the test applies (and on `inRange`
/// everywhere), against `ReferenceTest` below: the integer-exponent form transcribed from those
/// notes, and `LaneTests.writeOutputs` against `ExactValue(normalHi:lo:)` for every lane.
@Suite("Double-word tier: the certification test's binary64 form = its integer-exponent definition")
struct CertificationTestFormTests {
    static let seed: UInt64 = 0xF0_2A_5EED

    /// The test as its notes define it (⌊log₂|h|⌋, e = ⌊log₂|h|⌋ + k, Q = max(e, minNormal) − p + 1
    /// and the room, narrowness and range conditions in integers), one lane at a time.
    struct ReferenceTest {
        var inRange = false, narrow = false, certified = false
        var rounded = 0.0, hs = 0.0, ls = 0.0

        init(_ f: Format, _ h: Double, _ l: Double, _ k: Int, _ err: Double) {
            let p = f.precision, emin = f.minNormalExponent
            let eh = Int((h.bitPattern >> 52) & 0x7FF) - 1023
            let e = eh + k
            inRange = eh >= -999 && eh <= 999 && k >= -1000 && k <= 1000 && e > -901 && e < Swift.min(f.maxExponent, 901)
            guard inRange else { return }
            hs = h * pow2(k)
            ls = l * pow2(k)
            let scaledError = err * pow2(k), floorE = pow2(e - 110)
            let es = (floorE >= scaledError ? floorE : scaledError) * (1 + 0x1p-50)  // NaN stays NaN
            narrow = es <= pow2(Swift.max(e - p, f.minSubnormalExponent) - 41)
            var r = hs
            if p < 53 {
                let c = (hs < 0 ? -1.5 : 1.5) * pow2(Swift.max(e, emin) + 53 - p)
                r = (hs + c) - c
            }
            let er = Int((r.bitPattern >> 52) & 0x7FF) - 1023
            let halving = r != 0 && r.significandBitPattern == 0 && er > emin ? 1 : 0
            let room = pow2(Swift.max(er, emin) - p - halving)
            let reach = (abs((hs - r) + ls) * (1 + 0x1p-50) + es) * (1 + 0x1p-50)
            let zeroOK = r != 0 || (abs(ls) + es) * (1 + 0x1p-50) < abs(hs)
            certified = reach < room && zeroOK
            rounded = r == 0 ? (hs < 0 ? -0.0 : 0.0) : r
        }
    }

    /// Random cases over the whole range (`DoubleWordCertificationTests.randomCase` and its hard
    /// cases), with k anywhere from −1100 to 1100 at times and error bounds from 2^-110 to 2^-20
    /// of h, NaN at times.
    static func cases(_ rng: inout SplitMix64, _ format: Format) -> [(h: Double, l: Double, k: Int, err: Double)] {
        var out: [(h: Double, l: Double, k: Int, err: Double)] = []
        for c in DoubleWordCertificationTests.hardCases(&rng, format, count: 600) { out.append((c.h, c.l, c.k, c.err)) }
        for _ in 0..<2400 {
            var (h, l, k) = DoubleWordCertificationTests.randomCase(&rng, format)
            if rng.oneIn(4) { k = rng.int(-1100...1100) }
            if rng.oneIn(8) { h = h * pow2(rng.int(-1020...1020)); l = l * pow2(rng.int(-1020...1020)) }
            let err = rng.oneIn(50) ? Double.nan : pow2(-rng.int(20...110)) * abs(h)
            out.append((h, l, k, err))
        }
        return out
    }

    @Test("test(lanes:) equals the integer-exponent definition, and writeOutputs equals output(j)", arguments: Format.allCases)
    func sameAsDefinition(format: Format) {
        let seed = Self.seed &+ UInt64(format.precision)
        var rng = SplitMix64(seed: seed)
        let certifier = DoubleWordCertifier(format)
        let all = Self.cases(&rng, format)
        let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: 4)
        defer { out.deallocate() }
        var inRangeCount = 0
        for i in stride(from: 0, to: all.count - 3, by: 4) {
            let slice = all[i..<i + 4]
            var h = SIMD4<Double>(), l = SIMD4<Double>(), err = SIMD4<Double>()
            var k = SIMD4<Int64>()
            for (j, c) in slice.enumerated() { h[j] = c.h; l[j] = c.l; k[j] = Int64(c.k); err[j] = c.err }
            let t = certifier.test(lanes: h, l, scale: k, error: err)
            for (j, c) in slice.enumerated() {
                let r = ReferenceTest(format, c.h, c.l, c.k, c.err)
                let note = "seed \(seed): (\(hex(c.h)) + \(hex(c.l)))·2^\(c.k) ± \(c.err)"
                #expect(t.inRange[j] == r.inRange, "\(note)")
                guard r.inRange && t.inRange[j] else { continue }
                inRangeCount += 1
                #expect(t.narrow[j] == r.narrow && t.certified[j] == r.certified
                        && t.rounded[j].bitPattern == r.rounded.bitPattern
                        && t.hs[j].bitPattern == r.hs.bitPattern && t.ls[j].bitPattern == r.ls.bitPattern, "\(note)")
            }
            // writeOutputs on lanes in range (h·2^k normal): the scalar ExactValue, field by field.
            if (0..<4).allSatisfy({ t.inRange[$0] }) {
                t.writeOutputs(to: out)
                for j in 0..<4 {
                    #expect(out[j] == t.output(j) && out[j].exact.exponent == t.output(j).exact.exponent
                            && out[j].exact.tail.bitPattern == t.output(j).exact.tail.bitPattern,
                            "seed \(seed): lane \(j) of case \(i)")
                }
            }
        }
        #expect(inRangeCount > 1000, "seed \(seed): only \(inRangeCount) lanes in range")
    }

    @Test("writeOutputs: the exact value's binade step at head = 1, tail < 0")
    func binadeStep() {
        let certifier = DoubleWordCertifier(.f32)
        let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: 2)
        defer { out.deallocate() }
        // 1 − 2^-60 as (1, −2^-60): exponent −1, head 2, tail −2^-59; and its negation.
        let t = certifier.test(SIMD2(1, -1), SIMD2(-0x1p-60, 0x1p-60), scale: SIMD2(0, 0), error: SIMD2(0x1p-100, 0x1p-100))
        t.writeOutputs(to: out)
        for j in 0..<2 {
            #expect(out[j].exact.exponent == -1 && out[j].exact.head == 2 && out[j].exact.tail == -0x1p-59)
            #expect(out[j].exact.isNegative == (j == 1) && out[j].rounded == (j == 0 ? 1 : -1))
        }
    }
}
