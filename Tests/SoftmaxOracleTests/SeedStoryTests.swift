import Foundation
import SoftmaxOracle
import Testing

/// The user's story that started the project: logits far apart make a naive softmax
/// return zeros and NaN, and −log(p) gives inf; the true cross-entropy is finite.
@Suite("The seed story: [1000, 0, -1000]")
struct SeedStoryTests {
    static let logits: [Double] = [1000, 0, -1000]

    @Test("naive −log(softmax) in Double gives inf; the oracle gives 1000")
    func naiveOverflowsOracleDoesNot() throws {
        // The textbook formula in binary64, with Foundation's exp and log.
        let e = Self.logits.map { Foundation.exp($0) }  // [inf, 1, 0]
        let s = e.reduce(0, +)  // inf
        let p = e.map { $0 / s }  // [nan, 0, 0]
        let naive = -Foundation.log(p[1])
        #expect(e[0] == .infinity)
        #expect(p[0].isNaN && p[1] == 0)
        #expect(naive == .infinity)

        // The exact loss is 1000 + log1p(e^-1000 + e^-2000), which rounds to 1000.
        let oracle = try rounded(OracleRequest(function: .crossEntropy, logits: Self.logits, target: .index(1)))
        expectBits(oracle, [1000.0])
    }

    @Test("the other targets: 0 (≈ e^-1000 underflows) and 2000")
    func otherTargets() throws {
        expectBits(try rounded(OracleRequest(function: .crossEntropy, logits: Self.logits, target: .index(0))), [0.0])
        // logsumexp − x_2 = 2000 + log1p(e^-1000 + e^-2000) → 2000.
        expectBits(try rounded(OracleRequest(function: .crossEntropy, logits: Self.logits, target: .index(2))), [2000.0])
    }

    @Test("the same story in every format", arguments: Format.allCases)
    func everyFormat(format: Format) throws {
        let got = try rounded(OracleRequest(function: .crossEntropy, format: format, logits: Self.logits, target: .index(1)))
        // 1000 + tiny: f64/f32/f16/bf16 hold 1000 exactly (1111101000₂, 7 significant bits);
        // e5m2 (3 bits) lies between 896 and 1024, 1000 is nearer 1024; e4m3fn overflows to NaN.
        let want: Double = switch format {
        case .f64, .f32, .f16, .bf16: 1000
        case .e5m2: 1024
        case .e4m3fn: .nan
        }
        expectBits(got, [want], "\(format)")
    }
}
