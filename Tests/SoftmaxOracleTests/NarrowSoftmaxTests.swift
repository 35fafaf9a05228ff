import DoubleWordArithmetic
import Foundation
import MPFR
@testable import SoftmaxOracle
import Testing

/// softmax's outputs into formats with p <= 24 (`NarrowSoftmaxOutputs`): its group test against
/// the exact rounding (MPFR) of both ends of the enclosure it certifies, at the stated error
/// bound; and whole rows against the MPFR path (random, near-boundary, subnormal and long rows).
@Suite("softmax into p <= 24: the group test = exact rounding of the enclosure; rows = MPFR path")
struct NarrowSoftmaxTests {
    static let seed: UInt64 = 0x5AFE_1A2E_0000_0013
    static let formats: [Format] = [.f32, .f16, .bf16, .e5m2, .e4m3fn]

    /// One group of `OutputLanes` stored exponentials 2^k·(h + l) and a 1/Ŝ; the group test's
    /// answer (nil: declined) and what `SoftmaxOutputs` computes for each lane.
    static func group(_ format: Format, h: [Double], l: [Double], k: [Int32], inverse: DoubleWord, epsUp: Double)
        -> [OracleValue]? {
        let width = OutputLanes.scalarCount
        let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: width)
        let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: width)
        defer { slots.deallocate(); out.deallocate() }
        let store = DoubleWordTier.ExpStore(slots: slots)
        for j in 0..<width { store.store(j, hi: h[j], lo: l[j], k: k[j]) }
        let x = [Double](repeating: 0, count: width)
        return x.withUnsafeBufferPointer { xb in
            let general = SoftmaxOutputs(x: xb, store: store, maxIndex: -1, inverse: inverse, inverseError: 0,
                                         epsUp: epsUp, zero: OracleValue(rounded: 0, exact: .zero()),
                                         certifier: DoubleWordCertifier(format))
            guard NarrowSoftmaxOutputs(general).lanes(0, into: out) else { return nil }
            return (0..<width).map { out[$0] }
        }
    }

    /// (h + l)·b as `DoubleWord.product` on one lane, in BigFloat: exact (the product's own value).
    static func exact(_ v: DoubleWord, k: Int) -> BigFloat {
        let r = BigFloat(precision: 200)
        ExponentRange.widest {
            r.add(big(v.hi), big(v.lo), .nearest)
            r.scale(r, byPowerOfTwo: k, .nearest)
        }
        return r
    }

    /// Checks a certified lane: both ends of [v − err, v + err]·2^k round (MPFR, exactly) to the
    /// output; the exact value reported is v·2^k; 2·err·2^k <= 2^-40 of the format's ulp there.
    static func check(_ format: Format, _ got: OracleValue, product v: DoubleWord, k: Int, epsUp: Double, _ note: String) {
        let err = epsUp * v.hi
        let center = exact(v, k: k)
        let e = BigFloat(precision: 200)
        let lo = BigFloat(precision: 200), hi = BigFloat(precision: 200)
        ExponentRange.widest {
            e.set(err, .nearest)
            e.scale(e, byPowerOfTwo: k, .nearest)
            lo.sub(center, e, .nearest)
            hi.add(center, e, .nearest)
        }
        #expect(format.round(lo).bitPattern == got.rounded.bitPattern && format.round(hi).bitPattern == got.rounded.bitPattern,
                "\(format) rounded \(got.rounded) vs ends \(format.round(lo)), \(format.round(hi)); \(note)")
        let reported = DoubleWordTierAgreementTests.bigValue(got.exact)
        #expect(reported.compare(center) == 0, "\(format) exact value \(got.exact) ≠ v; \(note)")
        // The format's ulp at the lower end: 2^(max(⌊log₂ lo⌋, minNormal) − p + 1).
        let binade = lo.isZero ? format.minNormalExponent : lo.exponent - 1
        let ulp = Swift.max(binade, format.minNormalExponent) - format.precision + 1
        let width = BigFloat(precision: 200)
        ExponentRange.widest {
            width.scale(e, byPowerOfTwo: 41 - ulp, .nearest)  // 2·err·2^k / 2^-40 ulp
        }
        #expect(width.compare(BigFloat(1.0, precision: 53)) <= 0, "\(format): not narrow; \(note)")
    }

    @Test("certified groups round both ends of the enclosure to the output, at the stated bound; seed printed")
    func groupTest() {
        var rng = SplitMix64(seed: Self.seed)
        let width = OutputLanes.scalarCount
        var certified = [Format: Int](), declined = [Format: Int]()
        for round in 0..<4000 {
            let format = Self.formats[round % Self.formats.count]
            let p = format.precision
            // 1/Ŝ in (2^-30, 1], with a low part; the row's bound at its largest allowed value
            // (2^(−p−42)) or at the softmax path's typical 2^-67.
            let ih = round % 7 == 0 ? 1.0 : rng.uniform(0x1p-30, 1)
            let inverse = fastTwoSum(ih, ih * rng.uniform(-0x1p-53, 0x1p-53))
            let epsUp = round % 2 == 0 ? pow2(-p - 42) : 0x1p-67
            var h = [Double](), l = [Double](), k = [Int32]()
            for _ in 0..<width {
                var hj = rng.uniform(1 - 0x1p-9, 2)
                if rng.oneIn(2) {
                    // Near a rounding boundary of p bits: a midpoint (or a grid point) of the
                    // product, moved by 2^-(45...80) relative.
                    let grid = pow2(-p + 1)
                    let m = (Foundation.floor(rng.uniform(1, 2) / grid) + (rng.oneIn(3) ? 0 : 0.5)) * grid
                    let target = m * (1 + (rng.oneIn(2) ? 1 : -1) * pow2(-rng.int(45...80)))
                    let candidate = target / inverse.hi
                    if candidate >= 1 - 0x1p-9 && candidate < 2 { hj = candidate }
                }
                h.append(hj)
                l.append(hj * rng.uniform(-0x1p-53, 0x1p-53))
                // Binades from the tiny range through the subnormals to the top of the normal range.
                k.append(Int32(rng.int((format.minSubnormalExponent - 12)...Swift.min(2, format.maxExponent - 1))))
            }
            let note = "seed \(Self.seed) round \(round) h \(hex(h)) l \(hex(l)) k \(k) inverse \(hex(inverse.hi)) \(hex(inverse.lo))"
            guard let outs = Self.group(format, h: h, l: l, k: k, inverse: inverse, epsUp: epsUp) else {
                declined[format, default: 0] += 1
                continue
            }
            certified[format, default: 0] += 1
            for j in 0..<width {
                let v = DoubleWord.product(DoubleWord(h[j], l[j]), inverse)
                Self.check(format, outs[j], product: v, k: Int(k[j]), epsUp: epsUp, note + " lane \(j)")
            }
        }
        print("narrow group test: certified \(certified), declined \(declined)")
        for f in Self.formats { #expect(certified[f, default: 0] > 0, "\(f): no group certified") }
    }

    @Test("an output exactly on a p-bit midpoint, or within the bound of one, is declined")
    func midpointsDeclined() {
        for format in Self.formats {
            let p = format.precision
            let mid = 1 + pow2(-p)  // halfway between 1 and 1 + 2^(1−p)
            for offset in [0.0, pow2(-p - 44), -pow2(-p - 44)] {
                let h = [Double](repeating: mid + offset, count: OutputLanes.scalarCount)
                let outs = Self.group(format, h: h, l: h.map { _ in 0 }, k: h.map { _ in 0 },
                                      inverse: DoubleWord(1, 0), epsUp: pow2(-p - 42))
                #expect(outs == nil, "\(format) offset \(offset)")
            }
        }
    }

    static func normalRow(_ rng: inout SplitMix64, count k: Int, sigma: Double) -> [Double] {
        (0..<k).map { _ in
            (-2 * Foundation.log(rng.unit() + 0x1p-60)).squareRoot() * Foundation.cos(2 * Double.pi * rng.unit()) * sigma
        }
    }

    @Test("rows: the same rounded values as the MPFR path (random, ties, near-boundary, subnormal outputs, long rows)")
    func rowsAgree() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0xA5A5)
        var rows: [[Double]] = []
        for sigma in [1.0, 10, 40, 200] { rows.append(Self.normalRow(&rng, count: 257, sigma: sigma)) }
        rows.append((0..<64).map { _ in Double(rng.int(-2...2)) })                // ties: exact 1/K multiples
        rows.append([Double](repeating: 0, count: 3) + [Foundation.log(3.0)] + [Double](repeating: -1, count: 9))
        // Outputs near f32 / f16 / bf16 midpoints: x_1 = ln t with 1/(1 + t) near a midpoint m.
        for p in [24, 11, 8] {
            var x = [0.0]
            for _ in 0..<15 {
                let m = 0.25 + pow2(-p - 2) * Double(2 * rng.int(1...(1 << 10)) + 1)
                x.append(Foundation.log(1 / m - 1))
            }
            rows.append(x)
        }
        // Outputs through the subnormal range of f16 (2^-24 ... 2^-14) and of f32/bf16.
        rows.append((0..<200).map { i in -Double(i) * 0.09 })
        rows.append((0..<200).map { i in -Double(i) * 0.53 })
        rows.append(Self.normalRow(&rng, count: 20_000, sigma: 10))  // long: threads and the lane groups
        for (n, x) in rows.enumerated() {
            for format in Self.formats {
                let q = OracleRequest(function: .softmax, format: format, logits: x)
                try DoubleWordTierAgreementTests.compare(q, "seed \(Self.seed) row \(n) \(format)")
            }
        }
    }

    /// How many of a row's `OutputLanes` groups the group test declines (they go to `SoftmaxOutputs`).
    static func declinedGroups(_ x: [Double], _ format: Format) -> (declined: Int, groups: Int) {
        var declined = 0, groups = 0
        x.withUnsafeBufferPointer { xb in
            _ = DoubleWordTier.withOutputs(count: xb.count) { slots in
                let store = DoubleWordTier.ExpStore(slots: slots)
                guard let row = DoubleWordTier.rowSum(xb, threads: 1, store: store, compact: true) else { return false }
                let (inverse, epsInverse) = DoubleWordTier.inverseOfSum(row)
                let eps = roundedUp(DoubleWordExp.compactRelativeError + epsInverse + 8.1 * unitRoundoffSquared) * (1 + 0x1p-50)
                #expect(DoubleWordTier.narrowOutputsApply(format, epsUp: eps))
                let general = SoftmaxOutputs(x: xb, store: store, maxIndex: row.maxIndex, inverse: inverse, inverseError: 0,
                                             epsUp: eps, zero: OracleValue(rounded: 0, exact: .zero()),
                                             certifier: DoubleWordCertifier(format))
                let narrow = NarrowSoftmaxOutputs(general)
                let out = UnsafeMutablePointer<OracleValue>.allocate(capacity: OutputLanes.scalarCount)
                defer { out.deallocate() }
                var i = 0
                while i + OutputLanes.scalarCount <= xb.count {
                    groups += 1
                    if !narrow.lanes(i, into: out) { declined += 1 }
                    i += OutputLanes.scalarCount
                }
                return false
            }
        }
        return (declined, groups)
    }

    @Test("normal(0, 10) rows of K = 100 000: the groups declined are few (printed)")
    func fallbackFraction() {
        var rng = SplitMix64(seed: Self.seed ^ 0x100_000)
        let x = Self.normalRow(&rng, count: 100_000, sigma: 10)
        for format in [Format.f32, .f16, .bf16] {
            let (declined, groups) = Self.declinedGroups(x, format)
            print("normal(0, 10), K = 100 000, \(format): \(declined) of \(groups) groups of \(OutputLanes.scalarCount) declined")
            #expect(declined * 100 <= groups, "\(format): \(declined) of \(groups) declined")
        }
    }
}
