import struct AccuracyHarness.SplitMix64
@testable import SoftmaxOracle
import Testing

/// `Oracle.evaluateRounded(consuming:)`: bce_with_logits' rounded values in f64 written over the
/// request's labels (`DoubleWordTier.bceRoundedInPlace`), against the MPFR path's rounded values
/// (an independent computation), bit for bit: on rows that mix labels the label lanes take
/// (k/16), labels they leave to the scalar loop and the gathering (0.3, k/16 ± an ulp, −0),
/// and labels outside [0, 1], whose outputs the tier leaves to the MPFR path (pending outputs
/// among the in-place ones, which need their original labels); with every regime of logits.
/// A request the caller keeps is not written (its labels are copied first) and evaluates again
/// to the same values.
@Suite("Double-word tier: bce_with_logits written over its labels")
struct BceInPlaceTests {
    /// A bce row of n logits (every regime of `BceRoundedTests.logit`) and labels as the notes
    /// say, one in eight outside [0, 1]; pos_weight and weight by `variant`.
    static func request(_ n: Int, variant: Int, seed: UInt64) -> OracleRequest {
        var rng = SplitMix64(seed: seed)
        let x = (0..<n).map { _ in BceRoundedTests.logit(&rng) }
        let labels = (0..<n).map { _ -> Double in
            if rng.oneIn(8) { return [1.5, -0.25, 2, -0x1p-1074][rng.int(0...3)] }  // pending: the MPFR path
            if rng.oneIn(4) { return [-0.0, 0.3, (1.0 / 16).nextUp, (15.0 / 16).nextDown, 0x1p-1074, 0.7][rng.int(0...5)] }
            return Double(rng.int(0...16)) / 16
        }
        var q = OracleRequest(function: .bceWithLogits, format: .f64, logits: x)
        q.labels = labels
        switch variant % 4 {
        case 1: q.posWeight = [0x1.c1a768d17298ap+1]
        case 2: q.posWeight = (0..<n).map { _ in [1, 0.5, 3, 0][rng.int(0...3)] }
        case 3: q.weight = (0..<n).map { _ in [1, 0.25, 7][rng.int(0...2)] }
        default: break
        }
        return q
    }

    /// The MPFR path's rounded values' bit patterns.
    static func mpfr(_ q: OracleRequest) throws -> [UInt64] {
        try Oracle(doubleWordTier: false).evaluate(q).rounded.map(\.bitPattern)
    }

    /// The address of an array's storage (nil when empty).
    static func address(_ a: [Double]) -> UnsafeRawPointer? {
        a.withUnsafeBufferPointer { $0.baseAddress.map(UnsafeRawPointer.init) }
    }

    @Test("a request given up: the values are written over its labels and are the MPFR path's, pending outputs included")
    func writtenOverLabels() throws {
        // 300: one chunk, label lanes; 4500 on two threads: two chunks and more, in place each.
        for (k, (n, threads)) in [(300, 1), (4500, 2), (257, 1), (5, 1)].enumerated() {
            for variant in 0..<4 {
                let seed = 0xBCE4_0000 + UInt64(8 * k + variant)
                let want = try Self.mpfr(Self.request(n, variant: variant, seed: seed))
                var q = Self.request(n, variant: variant, seed: seed)
                let labels = Self.address(q.labels!)
                let got = try Oracle(threads: threads).evaluateRounded(consuming: consume q)
                #expect(got.rounded.map(\.bitPattern) == want, "n \(n), variant \(variant)")
                #expect(Self.address(got.rounded) == labels, "n \(n), variant \(variant): not written in place")
                // Some outputs were left to the MPFR path (labels outside [0, 1]).
                #expect(got.tier == .mpfr || n < 100, "n \(n), variant \(variant): \(got.tier)")
            }
        }
    }

    @Test("a request the caller keeps: its labels are not written, and it evaluates again to the same values")
    func keptRequestUnchanged() throws {
        for variant in 0..<4 {
            let q = Self.request(4500, variant: variant, seed: 0xBCE4_1000 + UInt64(variant))
            let labels = q.labels!.map(\.bitPattern)  // a copy of the bits, not of the array
            let want = try Self.mpfr(q)
            let oracle = Oracle(threads: 2)
            let first = try oracle.evaluateRounded(consuming: q)
            #expect(q.labels!.map(\.bitPattern) == labels, "variant \(variant)")
            #expect(Self.address(first.rounded) != Self.address(q.labels!))
            #expect(first.rounded.map(\.bitPattern) == want, "variant \(variant)")
            #expect(try oracle.evaluateRounded(consuming: q).rounded.map(\.bitPattern) == want, "variant \(variant), again")
            #expect(try oracle.evaluateRounded(q).rounded.map(\.bitPattern) == want, "variant \(variant), borrowed")
            #expect(q.labels!.map(\.bitPattern) == labels, "variant \(variant)")
            // The labels alone kept (the request given up): the same.
            var given = q
            let kept = given.labels!
            let third = try oracle.evaluateRounded(consuming: consume given)
            #expect(third.rounded.map(\.bitPattern) == want && kept.map(\.bitPattern) == labels, "variant \(variant), labels kept")
        }
    }

    @Test("other formats, other functions and the MPFR path alone take evaluateRounded(_:)")
    func otherRequests() throws {
        var bce32 = Self.request(300, variant: 0, seed: 0xBCE4_2000)
        bce32.format = .f32
        let sigmoid = OracleRequest(function: .sigmoid, format: .f64, logits: bce32.logits)
        for q in [bce32, sigmoid] {
            let want = try Self.mpfr(q)
            #expect(try Oracle().evaluateRounded(consuming: q).rounded.map(\.bitPattern) == want, "\(q.function) \(q.format)")
        }
        let f64 = Self.request(300, variant: 1, seed: 0xBCE4_2001)
        let mpfrOnly = try Oracle(doubleWordTier: false).evaluateRounded(consuming: f64)
        #expect(mpfrOnly.rounded.map(\.bitPattern) == (try Self.mpfr(f64)) && mpfrOnly.tier == .mpfr)
    }
}
