import MPFR
@testable import SoftmaxOracle
import Testing

/// `Enclosure.intervalOrIntersection` (Certification.swift): the Certifier takes the first
/// interval where it rounds uniquely and never asks for the second; elsewhere it certifies the
/// intersection. Expected roundings from the binary64 grid by hand: 1 + 2^-53 is the midpoint
/// between 1 and 1 + 2^-52 (a tie, rounded to even: 1), so an enclosure of a value just above
/// it rounds to 1 + 2^-52 once it lies above the midpoint.
@Suite("Certifier: an enclosure with a second one made only when needed")
struct SecondEnclosureTests {
    static func point(_ v: Double) -> BigFloat { BigFloat(v, precision: 53) }

    /// Exact (at 200 bits) 1 + 2^-53 + k·2^-90.
    static func aboveMidpoint(_ k: Double) -> BigFloat {
        let v = BigFloat(1 + 0x1p-52, precision: 200)
        let half = BigFloat(precision: 200), t = BigFloat(precision: 200)
        half.set(1, .nearest)
        half.scale(half, byPowerOfTwo: -53, .nearest)
        v.sub(v, half, .nearest)  // 1 + 2^-53, exact
        t.set(k, .nearest)
        t.scale(t, byPowerOfTwo: -90, .nearest)
        v.add(v, t, .nearest)  // exact at 200 bits
        return v
    }

    /// The MPFR path keeps arrays of enclosures (one per output of a batch loss): the case with a
    /// closure is boxed, so every enclosure stays the size of an interval's two references (an
    /// inline closure made it 32 bytes: a batch of 10^6 rows took 16 MB more).
    @Test("an enclosure is two words: the case with a closure does not widen the others")
    func enclosureSize() {
        #expect(MemoryLayout<Enclosure>.size == MemoryLayout<Interval>.size)
        #expect(MemoryLayout<Enclosure>.size == 16)
    }

    @Test("a first interval that certifies: its rounding and midpoint, the second never made")
    func firstCertifies() throws {
        var seconds = 0
        let certifier = Certifier(format: .f64, guardBits: 0, maxPrecision: 1 << 10)
        let first = Interval(lo: Self.point(2), hi: Self.point(2))  // a point: 2 exactly
        let result = try certifier.run(outputs: 1, streaming: { _, _ in
            { _ in .intervalOrIntersection(first) { seconds += 1; return first } }
        })
        #expect(seconds == 0)
        #expect(result.values[0].rounded == 2 && result.escalations == 0 && result.precision == 64)
    }

    @Test("a first interval holding the midpoint: the intersection with the second certifies, at the first precision")
    func intersectionCertifies() throws {
        var seconds = 0
        let certifier = Certifier(format: .f64, guardBits: 0, maxPrecision: 1 << 10)
        // First: [1 + 2^-53 − 2^-90, 1 + 2^-53 + 2^-80] holds the midpoint (rounds to 1 or to
        // 1 + 2^-52). Second: [1 + 2^-53 + 2^-90, 1 + 2^-53 + 2^-70], all above it. Their
        // intersection [1 + 2^-53 + 2^-90, 1 + 2^-53 + 2^-80] rounds to 1 + 2^-52.
        let first = Interval(lo: Self.aboveMidpoint(-1), hi: Self.aboveMidpoint(0x1p10))
        let second = Interval(lo: Self.aboveMidpoint(1), hi: Self.aboveMidpoint(0x1p20))
        let result = try certifier.run(outputs: 1, streaming: { _, _ in
            { _ in .intervalOrIntersection(first) { seconds += 1; return second } }
        })
        #expect(result.values[0].rounded == 1 + 0x1p-52)
        #expect(result.escalations == 0 && result.precision == 64)
        // The exact value is the intersection's midpoint, 1 + 2^-53 + (2^-90 + 2^-80)/2.
        let want = BigFloat(precision: 300)
        want.add(Self.aboveMidpoint(1), Self.aboveMidpoint(0x1p10), .nearest)
        want.scale(want, byPowerOfTwo: -1, .nearest)
        #expect(result.values[0].exact == ExactValue(want))  // not the first interval's midpoint, 2^-90 below
        #expect(seconds >= 1)  // in each round the first interval does not certify
    }

    @Test("neither certifies: the output escalates, as an interval would, and ends not certified at the cap")
    func neitherCertifies() {
        let certifier = Certifier(format: .f64, guardBits: 0, maxPrecision: 256)
        let tie = Interval(lo: Self.aboveMidpoint(-1), hi: Self.aboveMidpoint(1))
        #expect(throws: OracleError.self) {
            try certifier.run(outputs: 1, streaming: { _, _ in { _ in .intervalOrIntersection(tie) { tie } } })
        }
    }
}
