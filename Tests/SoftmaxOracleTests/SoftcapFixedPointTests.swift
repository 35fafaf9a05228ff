import MPFR
@testable import SoftmaxOracle
import Testing

/// SoftcapFixedPoint.swift: the Q4.124 tables, exponentials, tanh, terms and row sum against MPFR
/// at 600 bits, each at its stated bound (in units u = 2^-124), and the refined outputs they give
/// (`RefinedSoftcapGradient.fixedOutput`) against the MPFR path's, in every format.
@Suite("Double-word tier: softcap gradient's fixed-point row")
struct SoftcapFixedPointTests {
    static let bits = 600
    static let seed: UInt64 = 0xF1_5ED_C0DE

    /// |v·2^-124 − exact| in units of 2^-124 (exact at `bits` bits), as a Double.
    static func unitsOff(_ v: UInt128, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = RefinedSoftcapGradient.interval(v, carry: 0, error: 0, IntervalArithmetic(precision: bits)).lo
            d.sub(d, exact, .nearest)
            d.scale(d, byPowerOfTwo: 124, .nearest)
            return Swift.abs(d.double())
        }
    }

    /// e^(−t) at `bits` bits, t a BigFloat.
    static func expNegative(_ t: BigFloat) -> BigFloat {
        ExponentRange.widest {
            let r = BigFloat(precision: bits)
            r.neg(t, .nearest)
            r.exp(r, .nearest)
            return r
        }
    }

    /// c·tanh(x/c) at `bits` bits.
    static func z(_ x: Double, _ c: Double) -> BigFloat {
        ExponentRange.widest {
            let r = BigFloat(precision: bits)
            r.div(BigFloat(x, precision: 53), BigFloat(c, precision: 53), .nearest)
            r.tanh(r, .nearest)
            r.mul(r, BigFloat(c, precision: 53), .nearest)
            return r
        }
    }

    /// `count` values in [lo, hi) from a seeded LCG.
    static func uniform(_ count: Int, _ lo: Double, _ hi: Double, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return lo + Double(state >> 11) * 0x1p-53 * (hi - lo)
        }
    }

    @Test("tables: e^-k, e^(-i/64), e^(-i/4096), 1/n! within u/2 (MPFR, 600 bits)")
    func tables() {
        for (k, v) in FixedPoint124.wholes.enumerated() {
            #expect(Self.unitsOff(v, Self.expNegative(BigFloat(Double(k), precision: 53))) <= 0.5, "e^-\(k)")
        }
        for (i, v) in FixedPoint124.sixtyFourths.enumerated() {
            #expect(Self.unitsOff(v, Self.expNegative(BigFloat(Double(i) / 64, precision: 53))) <= 0.5, "e^-\(i)/64")
        }
        #expect(FixedPoint124.fourThousandNinetySixths.count == 64)
        for (i, v) in FixedPoint124.fourThousandNinetySixths.enumerated() {
            #expect(Self.unitsOff(v, Self.expNegative(BigFloat(Double(i) / 4096, precision: 53))) <= 0.5, "e^-\(i)/4096")
        }
        var factorial = 1.0
        for (n, v) in FixedPoint124.reciprocalFactorials.enumerated() {
            if n > 0 { factorial *= Double(n) }  // exact up to 14!
            let r = BigFloat(precision: Self.bits)
            r.div(BigFloat(1, precision: 53), BigFloat(factorial, precision: 53), .nearest)
            #expect(Self.unitsOff(v, r) <= 0.5, "1/\(n)!")
        }
    }

    @Test("expNegative: a double t within 7.1u (0, tiny, integers, 88's neighbours, the tables' steps, seeded), Q4.124 y within 6.1u")
    func exponentials() {
        let special: [Double] = [0, 0x1p-1074, 1e-30, 0x1p-72, 0x1p-73, 1, 2, 87, 88.0.nextDown, 88, 100, 1 - 0x1p-52, 63.0 / 64, 64.0 / 64 - 0x1p-60]
        // k + i/64 + i'/4096, and just below (r near 2^-12: the polynomial's widest argument)
        let steps = (0..<200).flatMap { n -> [Double] in
            let t = Double(n % 88) + Double((n * 37) % 64) / 64 + Double((n * 11) % 64) / 4096
            return [t, t.nextDown, t + 0x1p-12 - 0x1p-40].filter { $0 >= 0 }
        }
        for t in special + steps + Self.uniform(3000, 0, 90, seed: Self.seed) {
            let off = Self.unitsOff(FixedPoint124.expNegative(t), Self.expNegative(BigFloat(t, precision: 53)))
            #expect(off < 7.1, "t \(t): \(off)u, seed \(Self.seed)")
        }
        for t in Self.uniform(2000, 0, 15.99, seed: Self.seed + 1) + [0, 15.99, 8, 2] {
            let y = FixedPoint124.fromDouble(t)  // t exactly for t >= 2^-72
            let off = Self.unitsOff(FixedPoint124.expNegative(fixed: y), Self.expNegative(BigFloat(t, precision: 53)))
            #expect(off < 6.1, "y \(t): \(off)u, seed \(Self.seed)")
        }
    }

    @Test("ẑ = c·tanh(x/c) within (17.2c + 1)u, c = 2^-400 ... 2 (MPFR, 600 bits)")
    func tanhValues() throws {
        for c in [1.0, 2, 0.5, 0x1p-3, 0x1p-400] {
            let shift = Int(c.exponent)
            let xs = Self.uniform(1500, -50 * c, 50 * c, seed: Self.seed + 2) + [0, c, -c, 44 * c, 44 * c.nextDown, -44 * c, 1e-300 * c]
            for x in xs {
                let z = try #require(SoftcapFixedRow.z(x, shift: shift))
                let exact = Self.z(x, c)
                let v = RefinedSoftcapGradient.interval(UInt128(z.magnitude), carry: 0, error: 0, IntervalArithmetic(precision: Self.bits)).lo
                if z < 0 { v.neg(v, .nearest) }
                v.sub(v, exact, .nearest)
                v.scale(v, byPowerOfTwo: 124, .nearest)
                #expect(Swift.abs(v.double()) < 17.2 * c + 1, "c \(c), x \(x): \(v.double())u, seed \(Self.seed)")
            }
        }
    }

    /// A row around the saturation threshold 2|x/c| = 88 and the ties, with seeded logits.
    static func row(c: Double, count: Int, seed: UInt64) -> [Double] {
        [8190 * c, 8190 * c, 44 * c, 44 * c.nextDown, -44 * c, -44 * c.nextDown, 0, -0.0, 3 * c, -3 * c, 400 * c, -400 * c]
            + uniform(count, -60 * c, 60 * c, seed: seed)
    }

    @Test("terms within termError; S within sumError, the same on one thread and two (MPFR, 600 bits)")
    func rowSum() throws {
        for c in [1.0, 2, 0.25, 0x1p-400] {
            let x = Self.row(c: c, count: 20_000, seed: Self.seed + 3)
            let fixedRow = x.withUnsafeBufferPointer { SoftcapFixedRow($0, softcap: c, threads: 1) }
            let row = try #require(fixedRow, "c \(c)")
            let two = try #require(x.withUnsafeBufferPointer { SoftcapFixedRow($0, softcap: c, threads: 2) })
            #expect(row.low == two.low && row.carry == two.carry, "c \(c)")
            let zMax = Self.z(x.max()!, c)
            let s = BigFloat(precision: Self.bits)
            let terms = x.map { v -> BigFloat in
                let r = Self.z(v, c)
                r.sub(r, zMax, .nearest)
                r.neg(r, .nearest)
                return Self.expNegative(r)
            }
            for (j, v) in x.enumerated() where j % 7 == 0 || j < 12 {
                let (e, error) = try #require(row.term(v))
                #expect(Self.unitsOff(e, terms[j]) < Swift.max(error, 0x1p-200), "c \(c), x \(v), seed \(Self.seed)")
            }
            ExponentRange.widest {
                s.sum(terms, .nearest)
                let a = IntervalArithmetic(precision: Self.bits)
                let sum = RefinedSoftcapGradient.interval(row.low, carry: row.carry, error: row.sumError, a)
                #expect(sum.lo.compare(s) <= 0 && sum.hi.compare(s) >= 0, "c \(c), seed \(Self.seed)")
            }
        }
        for c in [0.75, 5, 4, 0x1p-401] {  // outside the domain
            #expect([1.0, 2].withUnsafeBufferPointer { SoftcapFixedRow($0, softcap: c, threads: 1) } == nil, "c \(c)")
        }
    }

    @Test("kept terms: slot j of the store holds term(x_j) for every j, on one thread and two; the magnitudes' range")
    func keptTerms() throws {
        for c in [1.0, 0.5, 2] {
            let x = Self.row(c: c, count: 20_000, seed: Self.seed + 5)
            for threads in [1, 2] {
                let slots = UnsafeMutablePointer<OracleValue>.allocate(capacity: x.count)
                defer { slots.deallocate() }
                let store = FixedTermStore(slots: slots)
                let row = try #require(x.withUnsafeBufferPointer { SoftcapFixedRow($0, softcap: c, threads: threads, store: store) })
                for (j, v) in x.enumerated() {
                    let (e, error) = try #require(row.term(v))
                    #expect(store.load(j) == e, "c \(c), threads \(threads), j \(j)")
                    #expect(error == (v == row.xMax ? 0 : row.termError), "c \(c), j \(j)")
                }
                #expect(row.largestMagnitude == x.map(\.magnitude).max()!, "c \(c)")
                #expect(row.smallestMagnitude == x.map(\.magnitude).filter { $0 != 0 }.min()!, "c \(c)")
            }
        }
    }

    /// A long row (two threads, chunks) with ties at the maximum, zeros, saturated logits of both
    /// signs and targets j/16 (a few outputs cancel too far for the fixed-point difference and
    /// take the MPFR terms): the tier answers every output from the fixed-point terms
    /// (`fixedPointSoftcapGradient`), with the MPFR path's outputs in every format; a logit at
    /// 2^18·c (outside the chain factor's domain) leaves the row to the double-word path, which
    /// declines it too.
    @Test("the whole gradient from the fixed-point terms: the MPFR path's outputs, one thread and two, every format (c = 1)")
    func wholeRow() throws {
        for c in [1.0, 0.5, 2, 0x1p-3] {
            var x = Self.row(c: c, count: 16_500, seed: Self.seed + 6)
            x += [8190 * c, 0, -0.0, 1e-200, -1e-200]
            let p = x.indices.map { Double(($0 * 7) % 17) / 16 }
            for format in c == 1 ? Format.allCases : [.f64] {
                var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
                q.target = .probabilities(p)
                q.softcap = c
                let mpfr = try Oracle(doubleWordTier: false).evaluate(q).rounded
                for threads in [1, 2] {
                    #expect(try Oracle(threads: threads).evaluateDoubleWordTier(q) != nil, "the tier declined; c \(c), \(format)")
                    expectBits(try Oracle(threads: threads).evaluate(q).rounded, mpfr, "c \(c), \(format), threads \(threads)")
                }
            }
            var outside = OracleRequest(function: .crossEntropyGrad, format: .f64, logits: [1, 2, 0x1p18 * c])
            outside.target = .probabilities([0.25, 0.5, 0.25])
            outside.softcap = c
            #expect(try Oracle().evaluateDoubleWordTier(outside) == nil, "c \(c)")
        }
    }

    @Test("cancelling outputs (q_j − p_j about 2^-15·q_j; p_j = 0; the chain's underflow near |x/c| = 373): fixedOutput answers the MPFR path's value, every format; 2^-54 of cancellation declines in f64")
    func fixedOutputs() throws {
        for c in [1.0, 0.25, 2] {
            // logits: small ones, the chain factor's underflow threshold (|x/c| about 373),
            // saturated ones; the target 3/4 at j = 0, p_j near q_j at `near`, 0 elsewhere.
            var x: [Double] = [0.5, 0.25, -1.5, 2, 372, 373, 374, -373, 8190, -8190, 30, 30].map { $0 * c }
            x += Self.uniform(300, -5 * c, 5 * c, seed: Self.seed + 4)
            let reference = RefinedSoftcapGradientTests.reference(x, x.indices.map { $0 == 0 ? 0.75 : 0 }, c: c)
            for (near, digits) in [([1, 2, 4, 5, 20], 14), ([3], 53)] {
                // q_j = p_j for every j in `near` when P = 0.75·S/(S − E), E = Σ_near e_j:
                // p_j = 0.75·e_j/(S − E), rounded to `digits` bits.
                var p = [Double](repeating: 0, count: x.count)
                p[0] = 0.75
                let rest = BigFloat(precision: RefinedSoftcapGradientTests.bits), t = BigFloat(precision: RefinedSoftcapGradientTests.bits)
                ExponentRange.widest {
                    rest.set(reference.s, .nearest)
                    for j in near { rest.sub(rest, reference.e[j], .nearest) }
                }
                for j in near {
                    ExponentRange.widest {
                        t.div(reference.e[j], rest, .nearest)
                        t.mul(t, BigFloat(0.75, precision: 53), .nearest)
                    }
                    let tj = t.double()
                    let unit = Double(sign: .plus, exponent: tj.exponent - digits + 1, significand: 1)
                    p[j] = (tj / unit).rounded() * unit
                }
                for format in Format.allCases {
                    var q = OracleRequest(function: .crossEntropyGrad, format: format, logits: x)
                    q.target = .probabilities(p)
                    q.softcap = c
                    let note = "softcap \(c), near \(near), \(format)"
                    try LossTierCoverageTests.expectTier(q, note)
                    let mpfr = try Oracle(doubleWordTier: false).evaluate(q).values
                    try x.withUnsafeBufferPointer { xs in
                        try p.withUnsafeBufferPointer { ps in
                            let refined = RefinedSoftcapGradient(x: xs, p: ps, softcap: c, format: format)
                            if digits == 53 {
                                // f64 would need the enclosure to 2^-148 of q_j (f32 certifies it on these short rows)
                                if format == .f64 { #expect(refined.fixedOutput(3) == nil, "\(note): 2^-54 of cancellation") }
                                return
                            }
                            for j in x.indices {
                                let v = try #require(refined.fixedOutput(j), "\(note), j \(j)")
                                #expect(v.rounded.bitPattern == mpfr[j].rounded.bitPattern, "\(note), j \(j)")
                            }
                        }
                    }
                }
            }
        }
    }
}
