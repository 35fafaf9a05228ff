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
}
