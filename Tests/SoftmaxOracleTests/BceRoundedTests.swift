import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
@testable import SoftmaxOracle
import Testing

/// bce_with_logits' rounded-only f64 path (BceRounded.swift): its outputs at the regimes' bounds
/// (|x| = 2^11 and 2^-60) and on exact ties P + 0⁺, against values derived from the math (mpmath
/// at 3000 bits, or the tie argument stated at each case), and `evaluateRounded` against
/// `evaluate`'s rounded values, bit for bit, on randomized rows of every regime.
@Suite("Double-word tier: bce_with_logits rounded values")
struct BceRoundedTests {
    static func request(_ x: [Double], labels: [Double], posWeight: [Double]? = nil, weight: [Double]? = nil) -> OracleRequest {
        var q = OracleRequest(function: .bceWithLogits, format: .f64, logits: x)
        q.labels = labels
        q.posWeight = posWeight
        q.weight = weight
        return q
    }

    /// Both paths' rounded values (bit patterns) for one request.
    static func rounded(_ q: OracleRequest) throws -> (rounded: [UInt64], full: [UInt64]) {
        let oracle = Oracle()
        return (try oracle.evaluateRounded(q).rounded.map(\.bitPattern), try oracle.evaluate(q).rounded.map(\.bitPattern))
    }

    /// P = a·|x| exactly on a midpoint of f64, plus t = C·T > 0 far below it: the double above P.
    /// 0.75·(2^53 − 2) = 6755399441055742.5 (between ...742 and ...743, spacing 1; RN-even of P
    /// alone would give ...742), 0.75·(2^53 − 6) = ...739.5 (the double above, ...740, is also
    /// P's RN-even: the tie below hi), and the same scaled by 2^-33 (|x| just under 2^20, where
    /// the tier computes T on lanes: x = 1048575.99...).
    @Test("exact ties P + 0⁺ round up, at |x| >= 2^11")
    func ties() throws {
        let cases: [(x: Double, z: Double, expected: Double)] = [
            (0x1p53 - 2, 0.25, 6755399441055743),
            (-(0x1p53 - 2), 0.75, 6755399441055743),  // A = pw·z = 0.75 for x < 0
            (0x1p53 - 6, 0.25, 6755399441055740),
            (-(0x1p53 - 6), 0.75, 6755399441055740),
            ((0x1p53 - 2) * 0x1p-33, 0.25, 6755399441055743 * 0x1p-33),
            ((0x1p53 - 6) * 0x1p-33, 0.25, 6755399441055740 * 0x1p-33),
            ((0x1p53 - 2) * 0x1p900, 0.25, 6755399441055743 * 0x1p900),
        ]
        let q = Self.request(cases.map(\.x), labels: cases.map(\.z))
        let (rounded, full) = try Self.rounded(q)
        #expect(rounded == cases.map(\.expected.bitPattern))
        #expect(full == rounded)
    }

    /// |x| = 2^11 (the huge regime's bound: term 1 alone, plus 0⁺) and the double below it (T
    /// computed), and the tiny regime's bound |x| = 2^-60 and inside it, with soft, non-dyadic
    /// labels, pos_weight and weight. Expected: mpmath at 3000 bits, rounded to nearest.
    @Test("outputs at the regimes' bounds match mpmath")
    func bounds() throws {
        let third = 1.0 / 3, w = 0.7, pw = 2.5
        let cases: [(x: Double, z: Double, pw: Double, w: Double, expected: Double)] = [
            (0x1p11, 0.3, 1, 1, 0x1.6666666666667p+10),
            (0x1p11.nextDown, 0.3, 1, 1, 0x1.6666666666666p+10),
            (-0x1p11, 0.3, 1, 1, 0x1.3333333333333p+9),
            (0, 0.3, 1, 1, 0x1.62e42fefa39efp-1),
            (0x1p-60, 0.3, 1, 1, 0x1.62e42fefa39efp-1),
            (-0x1p-60, 0.3, 1, 1, 0x1.62e42fefa39efp-1),
            (0x1p-60, third, pw, w, 0x1.74a2cbeed233bp-1),
            (-0x1p-60, third, pw, w, 0x1.74a2cbeed233bp-1),
            (0, 0.1, 3, 0x1.4f8b588e368f1p-17, 0x1.1719113c1fbfcp-17),
            (0x1p-60, 0, 1, 1, 0x1.62e42fefa39efp-1),
            (-0x1p-60, 1, 1, 1, 0x1.62e42fefa39efp-1),
            (0x1p-61, 0.75, 1, 1, 0x1.62e42fefa39efp-1),
            (-0.0, 0.625, 1, 1, 0x1.62e42fefa39efp-1),
        ]
        let q = Self.request(cases.map(\.x), labels: cases.map(\.z), posWeight: cases.map(\.pw), weight: cases.map(\.w))
        let (rounded, full) = try Self.rounded(q)
        #expect(rounded == cases.map(\.expected.bitPattern))
        #expect(full == rounded)
    }

    /// |x| >= 2^11 with a coefficient that is not a double (z·pw or 1 − z needs two), an exact
    /// double word a + aLo: outputs against mpmath at 3000 bits.
    @Test("double-word coefficients at |x| >= 2^11 match mpmath")
    func doubleWordCoefficients() throws {
        let cases: [(x: Double, z: Double, pw: Double, w: Double, expected: Double)] = [
            (-0x1.9a534d8a28884p+754, 0x1.3333333333333p-2, 0x1.999999999999ap-4, 1, 0x1.89e9921e3b641p+749),
            (-0x1.9a534d8a28884p+754, 0x1.6p-1, 0x1.c1a768d17298ap+1, 1, 0x1.ef7ecc8ccf573p+755),
            (0x1.d0ca0e00de9ap+753, 0x1.8p-59, 1, 1, 0x1.d0ca0e00de9ap+753),
            (-0x1.0014p+12, 0x1.3333333333333p-2, 0x1.999999999999ap-4, 1, 0x1.ebab851eb851fp+6),
            (-0x1.5p+40, 0.25, 1, 3, 0x1.f8p+39),
            (0x1.5p+40, 0x1.999999999999ap-4, 1, 1, 0x1.2e66666666666p+40),
        ]
        let q = Self.request(cases.map(\.x), labels: cases.map(\.z), posWeight: cases.map(\.pw), weight: cases.map(\.w))
        let (rounded, full) = try Self.rounded(q)
        #expect(rounded == cases.map(\.expected.bitPattern))
        #expect(full == rounded)
    }

    /// The 2^9 <= |x| < 2^11 regime takes a coefficient a (≠ 0) exactly when ⌊log₂a⌋ >=
    /// ⌊log₂C⌋ − 637 (BceRounded.swift's notes). The outputs there are right on both sides of
    /// the threshold (the bound has room: the review found the values go wrong only near
    /// a ≈ 2^-695), so `middleRegime` cannot see where the threshold lies: this checks it
    /// directly. a = z·pw and C = pw·z + (1 − z) ≈ 1 for the small z below (so a pos_weight of
    /// 2^20 moves the threshold on z by 20 binades); b = 1 − z, exact as a double word, is taken.
    @Test("the 2^9 regime's coefficient threshold is ⌊log₂C⌋ − 637, exactly")
    func middleRegimeThreshold() {
        let o = ElementwiseOutputs(kind: .bce, format: .f64, labels: [0], posWeight: nil, weight: nil)
        let cases: [(z: Double, pw: Double, w: Double, taken: Bool)] = [
            (0x1.8p-637, 1, 1, true), (0x1p-637, 1, 1, true), (0x1.8p-638, 1, 1, false), (0x1.fffffffffffffp-638, 1, 1, false),
            (0x1.8p-657, 0x1p20, 1, true), (0x1.8p-658, 0x1p20, 1, false),
        ]
        for c in cases {
            let k = o.bceRoundedCoefficients(label: c.z, posWeight: c.pw, weight: c.w)
            #expect(k.aMid.isNaN == !c.taken, "z \(c.z) pw \(c.pw) w \(c.w)")
            #expect(!k.bMid.isNaN)  // b = (1 − z)·w ≈ C: always taken
        }
    }

    /// 2^9 <= |x| < 2^11 (term 1 plus 0⁺ where ⌊log₂a⌋ >= ⌊log₂C⌋ − 637, BceRounded.swift) at
    /// the regime's ends, on exact ties P + 0⁺ (the tie argument of `ties`: B = 0.75 or A = 0.75
    /// times (2^53 − 2)·2^-43, P = 6755399441055742.5·2^-43, up), at the coefficient bound (C =
    /// 1; a = 1.5·2^-637 is taken, a tie 3·(2^52 − 1)·2^-680, up; 1.5·2^-638 and 2^-638 are not,
    /// 2^-637 is), and A = 0 (the loss is C·T alone, subnormal from |x| = 709.78 on, certified on
    /// lanes below binary64's normals). Expected: mpmath at 3000 bits, rounded to nearest. Each
    /// case also in rows of 256 and more with one pos_weight (labels k/16 on lanes).
    @Test("2^9 <= |x| < 2^11 and subnormal C·T match mpmath")
    func middleRegime() throws {
        let cases: [(x: Double, z: Double, expected: Double)] = [
            (0x1.0000000000000p+9, 0x1.3333333333333p-2, 0x1.6666666666667p+8),
            (-0x1.0000000000000p+9, 0x1.3333333333333p-2, 0x1.3333333333333p+7),
            (0x1.fffffffffffffp+8, 0x1.3333333333333p-2, 0x1.6666666666666p+8),
            (-0x1.fffffffffffffp+8, 0x1.3333333333333p-2, 0x1.3333333333332p+7),
            (0x1.fffffffffffffp+10, 0x1.3333333333333p-2, 0x1.6666666666666p+10),
            (-0x1.fffffffffffffp+10, 0x1.6666666666666p-1, 0x1.6666666666665p+10),
            (0x1.ffffffffffffep+9, 0x1.0000000000000p-2, 0x1.7ffffffffffffp+9),
            (-0x1.ffffffffffffep+9, 0x1.8000000000000p-1, 0x1.7ffffffffffffp+9),
            (-0x1.ffffffffffffep+9, 0x1.8000000000000p-637, 0x1.7ffffffffffffp-627),
            (-0x1.ffffffffffffep+9, 0x1.8000000000000p-638, 0x1.7ffffffffffffp-628),
            (-0x1.0000000000000p+9, 0x1.0000000000000p-637, 0x1.0000000000000p-628),
            (-0x1.0000000000000p+9, 0x1.0000000000000p-638, 0x1.0000000000000p-629),
            (-0x1.5e00000000000p+9, 0, 0x1.14f2b0fb9307fp-1010),
            (-0x1.62e3d70a3d70ap+9, 0, 0x0.402c8225ec681p-1022),
            (-0x1.7480000000000p+9, 0, 0x0.0000000000001p-1022),
            (-0x1.749999999999ap+9, 0, 0),
            (0x1.5e00000000000p+9, 1, 0x1.14f2b0fb9307fp-1010),
            (-0x1.f400000000000p+9, 0, 0),
            (-0x1.f400000000000p+9, 0x1.0000000000000p-4, 0x1.f400000000000p+5),
            (-0x1.2c00000000000p+9, 0, 0x1.4dd4d0d12c071p-866),
        ]
        for copies in [1, 13] {
            let all = Array(repeating: cases, count: copies).joined()
            let q = Self.request(all.map(\.x), labels: all.map(\.z), posWeight: copies == 1 ? nil : [1])
            let (rounded, full) = try Self.rounded(q)
            #expect(rounded == all.map(\.expected.bitPattern))
            #expect(full == rounded)
        }
    }

    /// A logit of every regime of the rounded path and of the gathered ones around them.
    static func logit(_ rng: inout SplitMix64) -> Double {
        let x: Double
        switch rng.int(0...11) {
        case 0: x = rng.oneIn(2) ? 0 : rng.unit() * 0x1p-1022
        case 1: x = rng.oneIn(3) ? .infinity : (rng.oneIn(2) ? .nan : 0x1p-60 * Double(rng.int(0...2)) / 2)
        case 2: x = rng.uniform(1, 2) * powerOfTwo(rng.int(11...1023))
        case 3: x = (0x1p53 - 2 * Double(rng.int(1...64))) * powerOfTwo(rng.int(-42...900))  // ties
        case 4: x = [0x1p11, 0x1p11.nextDown, 0x1p11.nextUp, 0x1p-60, 0x1p-60.nextUp, .greatestFiniteMagnitude][rng.int(0...5)]
        case 5: x = rng.uniform(1, 2) * powerOfTwo(rng.int(-1022 ... -60))
        case 10: x = rng.oneIn(4) ? (0x1p53 - 2 * Double(rng.int(1...64))) * 0x1p-43 : rng.uniform(512, 2048)  // 2^9 <= |x| < 2^11
        case 11: x = rng.uniform(600, 746)  // C·T below binary64's normals where a = 0
        default: x = BceLaneTests.logit(&rng)
        }
        return rng.oneIn(2) ? -x : x
    }

    @Test("evaluateRounded equals evaluate's rounded values, bit for bit")
    func sameAsEvaluate() throws {
        let seed: UInt64 = 0xBCE0_5EED
        var rng = SplitMix64(seed: seed)
        for n in 0..<24 {
            let count = [1, 5, 64, 1500][n % 4]
            let x = (0..<count).map { _ in Self.logit(&rng) }
            var (labels, posWeight, weight) = BceLaneTests.row(&rng, count: count)
            labels = labels.map { $0.isFinite ? $0 : 0.5 }  // (requests take finite labels only)
            if n % 3 == 0 { labels = labels.map { _ in Double(rng.int(0...16)) / 16 } }
            let q = Self.request(x, labels: labels, posWeight: posWeight, weight: weight)
            let (rounded, full) = try Self.rounded(q)
            #expect(rounded == full, "seed \(seed), row \(n)")
        }
    }

    /// Labels k/16 (hard labels +0 and 1 among them) with one pos_weight and no weight, which the
    /// rounded path takes on lanes (`BceLabelLanes`, in rows of 256 logits or more:
    /// the cases repeated), mixed with a −0 label (the scalar loop) in the same groups of four. Expected values: the tie argument of `ties`
    /// (A = pw·1 = 0.75), B = 1 (P = x, a double: x), B = 0 at x = 2^53 − 2 (C·T < e^-2^52: +0),
    /// label 0.5 (A = 0.375: P = 3377699720527871.25, a tie, plus 0⁺: the double above), `infiniteLoss` (A = 0 at −inf for label 0, B = 0 at +inf for label 1), NaN, and mpmath at
    /// 3000 bits at |x| = 2^-60 (0.75·softplus(−x) and softplus(x)) and at x = −3000.
    @Test("labels k/16 on lanes: ties, infinities, NaN, tiny and huge logits")
    func hardLabelLanes() throws {
        let ln2 = 0x1.62e42fefa39efp-1, tinyOne = 0x1.0a2b23f3bab73p-1
        let cases: [(x: Double, z: Double, expected: Double)] = [
            (-(0x1p53 - 2), 1, 6755399441055743), (-(0x1p53 - 6), 1, 6755399441055740),
            (0x1p53 - 2, 0, 0x1p53 - 2), (0x1p53 - 2, 1, 0),
            (-.infinity, 0, 0), (-.infinity, 1, .infinity), (.infinity, 0, .infinity), (.infinity, 1, 0),
            (.nan, 1, .nan), (-.nan, 0, .nan), (0x1p-60, 0, ln2), (0x1p-60, 1, tinyOne),
            (-0x1p-60, 1, tinyOne), (-0x1p-60, 0, ln2), (0, 1, tinyOne), (-3000, 1, 2250),
            (-3000, 0, 0), (3000, 0, 3000), (-(0x1p53 - 2), 0.5, 0x1.7ffffffffffffp+51), (-.infinity, -0.0, 0),
        ]
        let all = Array(repeating: cases, count: 13).joined()
        let q = Self.request(all.map(\.x), labels: all.map(\.z), posWeight: [0.75])
        let (rounded, full) = try Self.rounded(q)
        #expect(rounded == all.map(\.expected.bitPattern))
        #expect(full == rounded)
    }

    /// Masked rows (every logit ±inf; `BceLabelLanes` writes a vector of four infinities at
    /// once): the loss at x = −inf is A·∞ (A = z·pw), at +inf B·∞ (B = 1 − z), so +inf where that
    /// coefficient is positive and 0 where it is 0 (the C·log1p(e^-∞) term is 0). Labels k/16
    /// with pos_weight 0.75, 0 (A = 0 on every label) and 1, in rows of 256 and more (the lanes
    /// take them), some vectors also holding a label the lanes do not take (0.3, −0, 1/16 + ulp:
    /// the scalar loop) or a finite logit or NaN; every output also against the MPFR path.
    @Test("labels k/16 on lanes: rows of ±inf logits")
    func infiniteLogitLanes() throws {
        var rng = SplitMix64(seed: 0xBCE0_1F1F)
        for (n, pw) in [0.75, 0, 1, 0x1.2d369baa6a9eep+1].enumerated() {
            let count = [256, 259, 1024, 4099][n]
            let x = (0..<count).map { i in i % 2 == 0 ? -Double.infinity : (rng.oneIn(3) ? .infinity : -.infinity) }
            let labels = (0..<count).map { _ in Double(rng.int(0...16)) / 16 }
            let expected = zip(x, labels).map { x, z in ((x < 0 ? z * pw : 1 - z) > 0 ? Double.infinity : 0).bitPattern }
            let q = Self.request(x, labels: labels, posWeight: [pw])
            let (rounded, full) = try Self.rounded(q)
            #expect(rounded == expected, "pos_weight \(pw)")
            #expect(full == rounded, "pos_weight \(pw)")
            // Some vectors with a lane the label lanes leave (or a finite or NaN logit).
            var mixedX = x, mixedLabels = labels
            for i in stride(from: 1, to: count, by: 37) {
                if rng.oneIn(2) {
                    mixedLabels[i] = [0.3, -0.0, (1.0 / 16).nextUp][rng.int(0...2)]
                } else {
                    mixedX[i] = [.nan, 0, -3000, 0x1p-60, 600][rng.int(0...4)]
                }
            }
            let mixed = Self.request(mixedX, labels: mixedLabels, posWeight: [pw])
            let values = try Oracle().evaluateRounded(mixed).rounded.map(\.bitPattern)
            #expect(values == (try Oracle(doubleWordTier: false).evaluate(mixed).rounded.map(\.bitPattern)), "pos_weight \(pw)")
        }
    }

    /// Tiny logits (|x| <= 2^-60, ±0 and subnormals among them) with labels k/16 and pos_weight
    /// 1 or none: C = 1 for every label, so every label has the one tiny-logit output RN(ln 2)
    /// (the loss lies within 1.5·|x| <= 1.5·2^-60 of ln 2: `bounds`' argument), which the lanes
    /// take without reading the table (`sameTiny`); vectors all tiny and mixed with huge logits
    /// (B·|x| = |x| for label 0 at x > 0), in rows of 256 and more; also against the MPFR path.
    @Test("labels k/16 on lanes: tiny logits with one tiny output for every label")
    func sameTinyLanes() throws {
        let ln2 = 0x1.62e42fefa39efp-1
        var rng = SplitMix64(seed: 0xBCE0_7147)
        let tinies: [Double] = [0, -0.0, 0x1p-60, -0x1p-60, 0x1p-61, 0x1p-1074, -0x1p-1000, 0x1.8p-70]
        for (n, posWeight) in [nil, [1.0]].enumerated() {
            let count = [256, 1027][n]
            let x = (0..<count).map { i in i % 8 < 4 || rng.oneIn(2) ? tinies[rng.int(0...7)] : 0x1.5p+40 }
            let labels = (0..<count).map { i in x[i] == 0x1.5p+40 ? 0 : Double(rng.int(0...16)) / 16 }
            let expected = x.map { ($0 == 0x1.5p+40 ? $0 : ln2).bitPattern }
            let q = Self.request(x, labels: labels, posWeight: posWeight)
            let (rounded, full) = try Self.rounded(q)
            #expect(rounded == expected, "pos_weight \(String(describing: posWeight))")
            #expect(full == rounded)
            #expect(rounded == (try Oracle(doubleWordTier: false).evaluate(q).rounded.map(\.bitPattern)))
        }
    }

    @Test("labels k/16 on lanes: evaluateRounded equals evaluate's rounded values, bit for bit")
    func hardLabelLanesSameAsEvaluate() throws {
        let seed: UInt64 = 0xBCE0_4A2D
        var rng = SplitMix64(seed: seed)
        for n in 0..<24 {
            let count = [3, 300, 67, 1500][n % 4]
            let x = (0..<count).map { _ in Self.logit(&rng) }
            let labels = (0..<count).map { _ in
                rng.oneIn(4) ? [-0.0, 0.3, (1.0 / 16).nextUp, (15.0 / 16).nextDown, 0x1p-1074, 1.0.nextDown][rng.int(0...5)]
                    : (rng.oneIn(2) ? Double(rng.int(0...16)) / 16 : (rng.oneIn(2) ? 0.0 : 1.0))
            }
            let posWeight: [Double]? = [nil, [1], [0x1.c1a768d17298ap+1], [0x1p-1000], [0], [0x1p700]][n % 6]
            let (rounded, full) = try Self.rounded(Self.request(x, labels: labels, posWeight: posWeight))
            #expect(rounded == full, "seed \(seed), row \(n)")
        }
    }

    /// Which labels k/16 the label lanes take (`BceLabelLanes`: the lanes compute A = z·pw,
    /// its remainder, and B = 1 − z themselves, and take a label only where those are the bits
    /// `bceRoundedCoefficients` makes), whether they take 2^9 <= |x| < 2^11, and whether every
    /// A is a double, per pos_weight, from the math: pw = 1: A = z, B = 1 − z, C = 1, all
    /// doubles; pw = 0x1.c1a768d17298ap+1 (an odd 53-bit significand): 3/16·pw needs 54 bits;
    /// pw = 0: C = 1 − z is 0 at z = 1 (that label is not taken); pw = 2^700: C ≈ z·2^700
    /// lies more than 637 binades above B = 1 − z (z = 1/16 ... 15/16), so the 2^9 regime
    /// takes no B there and the lanes leave it; pw = 2^-1000: z·pw < 2^-960 for z > 0 (not an
    /// exact product in range), only z = 0 is taken; pw = −0: the lanes' z·pw is −0 where the
    /// table has +0 (`exactProduct` of a zero factor), so no label is taken.
    @Test("label lanes: the labels taken, the 2^9 regime and exact products, per pos_weight")
    func labelLaneChoices() {
        let o = ElementwiseOutputs(kind: .bce, format: .f64, labels: [0], posWeight: nil, weight: nil)
        let tiny = UnsafeMutablePointer<Double>.allocate(capacity: 17)
        defer { tiny.deallocate() }
        let cases: [(pw: Double, plain: Int64, exact: Bool, middle: Bool)] = [
            (1, 0x1FFFF, true, true), (0x1.c1a768d17298ap+1, 0x1FFFF, false, true), (0, 0xFFFF, true, true),
            (0x1p700, 0x1FFFF, true, false), (0x1p-1000, 0x1, true, true), (-0.0, 0, true, true),
        ]
        for c in cases {
            let lanes = o.labelLanes(onePosWeight: c.pw, tiny: tiny) { o.bceRoundedCoefficients(label: $0, posWeight: $1, weight: $2) }
            #expect(lanes?.plain == c.plain, "pw \(c.pw)")
            #expect(lanes?.exactProducts == c.exact, "pw \(c.pw)")
            #expect(lanes?.middle == c.middle, "pw \(c.pw)")
        }
        #expect(o.labelLanes(onePosWeight: nil, tiny: tiny) { o.bceRoundedCoefficients(label: $0, posWeight: $1, weight: $2) } == nil)
    }
}

