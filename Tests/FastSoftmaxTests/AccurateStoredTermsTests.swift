import Testing
@testable import FastSoftmax

/// The `accurate` softmax keeps its terms between the sum pass and the output pass for short
/// rows (AccurateVectorStored.swift, AccurateVectorFloat.swift) and evaluates them again for long
/// ones. Both must give the same bits (the same terms, the same sum, the same last product), so
/// that the bounds AccurateVectorTests checks hold for both, whatever the row length.
@Suite("Accurate kernels: softmax with stored terms gives the recomputing path's bits")
struct AccurateStoredTermsTests {
    /// Runs both ways on every row of AccurateVectorTests (spreads, -inf, ties, subnormal
    /// outputs, the 708/746 cutoffs, long rows) and compares bit patterns.
    static func compare<T: BinaryFloatingPoint>(
        _: T.Type, _ run: (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>, Bool) -> Bool
    ) -> (rows: Int, mismatches: [String]) {
        var taken = 0
        var mismatches: [String] = []
        for (r, row) in AccurateVectorTests.rows(seed: AccurateVectorTests.seed).enumerated() {
            let x = row.map { T($0) }
            var stored = [T](repeating: 0, count: x.count), recomputed = stored
            let a = x.withUnsafeBufferPointer { xb in stored.withUnsafeMutableBufferPointer { run(xb, $0, true) } }
            let b = x.withUnsafeBufferPointer { xb in recomputed.withUnsafeMutableBufferPointer { run(xb, $0, false) } }
            if a != b { mismatches.append("row \(r): taken \(a) vs \(b)") }
            guard a && b else { continue }
            taken += 1
            for i in x.indices where stored[i] != recomputed[i] || stored[i].sign != recomputed[i].sign {
                mismatches.append("row \(r) (K = \(x.count)) element \(i): \(stored[i]) vs \(recomputed[i])")
                break
            }
        }
        return (taken, mismatches)
    }

    @Test("binary64: stored and recomputed terms, the same outputs")
    func binary64() {
        let (taken, mismatches) = Self.compare(Double.self) { AccurateVector.softmax($0, into: $1, storingTerms: $2) }
        #expect(taken >= 300, "seed 0x\(String(AccurateVectorTests.seed, radix: 16)): only \(taken) rows took the vector path")
        #expect(mismatches.count == 0, "seed 0x\(String(AccurateVectorTests.seed, radix: 16)): \(mismatches.prefix(5))")
    }

    @Test("binary32: stored and recomputed terms, the same outputs")
    func binary32() {
        let (taken, mismatches) = Self.compare(Float.self) { AccurateVector.softmax($0, into: $1, storingTerms: $2) }
        #expect(taken >= 300, "seed 0x\(String(AccurateVectorTests.seed, radix: 16)): only \(taken) rows took the vector path")
        #expect(mismatches.count == 0, "seed 0x\(String(AccurateVectorTests.seed, radix: 16)): \(mismatches.prefix(5))")
    }

    /// Rows where pass 2 drops nothing (every x_j - m >= -708) yet some outputs are subnormal:
    /// many ties at the max make I small, so e^(x_j - m)·I < 2^-1022. The stored path then scales
    /// by 2^k in one product (AccurateVectorStored.swift) and must still give the recomputing
    /// path's bits, which round subnormal results once.
    @Test("binary64: no term dropped, subnormal outputs, the same bits both ways")
    func subnormalOutputsWithoutDroppedTerms() {
        var subnormals = 0
        for k in [9, 64, 1000, 4095, 4096] {
            for far in [-707.9, -707.25, -706.5, -703.1, -699.75] {
                // Ties at 0 except every seventh element, spread between far and far + 1.
                let x = (0..<k).map { j in j % 7 == 3 ? far + Double(j % 11) / 11 : 0 }
                var stored = [Double](repeating: 0, count: k), recomputed = stored
                let a = x.withUnsafeBufferPointer { xb in stored.withUnsafeMutableBufferPointer { AccurateVector.softmax(xb, into: $0, storingTerms: true) } }
                let b = x.withUnsafeBufferPointer { xb in recomputed.withUnsafeMutableBufferPointer { AccurateVector.softmax(xb, into: $0, storingTerms: false) } }
                #expect(a && b, "K = \(k), far = \(far): the vector path must take the row")
                for i in x.indices where stored[i].bitPattern != recomputed[i].bitPattern {
                    Issue.record("K = \(k), far = \(far), element \(i): \(stored[i]) vs \(recomputed[i])")
                    break
                }
                subnormals += stored.filter { $0 > 0 && $0 < 0x1p-1022 }.count
            }
        }
        #expect(subnormals > 0, "no row gave a subnormal output")
    }
}
