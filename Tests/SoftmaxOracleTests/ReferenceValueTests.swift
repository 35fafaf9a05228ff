import SoftmaxOracle
import Testing

/// Every value of docs/reference-values.md, one row per row of its table: the "certified" column
/// (Arb ball arithmetic, independent of this project) bit for bit, and SciPy's published
/// expectations, where the table has one, within the relative tolerance SciPy itself uses (1e-13).
/// Decimal literals here are the shortest round-trip strings of the certified doubles, so Swift's
/// (correctly rounded) literal parsing recovers them exactly.
@Suite("Reference values (docs/reference-values.md)")
struct ReferenceValueTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let request: OracleRequest
        let certified: [Double]
        /// SciPy's expected values for the request, for the rows where its test suite has them.
        var scipy: [Double]? = nil
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "logsumexp [0, -40]",
            request: OracleRequest(function: .logsumexp, logits: [0, -40]),
            certified: [4.248354255291589e-18],
            scipy: [4.248354255291589e-18]),
        Row(name: "logsumexp [1000, 1000]",
            request: OracleRequest(function: .logsumexp, logits: [1000, 1000]),
            certified: [1000.6931471805599],
            scipy: [1000 + 0.6931471805599453]),  // 1000 + log 2
        Row(name: "logsumexp 1000 × 10000",
            request: OracleRequest(function: .logsumexp, logits: Array(repeating: 10000, count: 1000)),
            certified: [10006.907755278982],
            scipy: [10000 + 6.907755278982137]),  // 10000 + log 1000
        Row(name: "softmax [0, 1, 2, 3]",
            request: OracleRequest(function: .softmax, logits: [0, 1, 2, 3]),
            certified: [0.03205860328008499, 0.08714431874203257, 0.23688281808991013, 0.6439142598879724],
            scipy: [0.03205860328008499, 0.08714431874203256, 0.23688281808991013, 0.6439142598879722]),
        Row(name: "softmax [-25, 0, 25, 50]",
            request: OracleRequest(function: .softmax, logits: [-25, 0, 25, 50]),
            certified: [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771146e-11, 0.9999999999861121],
            scipy: [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771144e-11, 0.999999999986112]),
        Row(name: "softmax [1, 325, 749, 750]",
            request: OracleRequest(function: .softmax, logits: [1, 325, 749, 750]),
            certified: [0.0, 1.9444526359919375e-185, 0.2689414213699951, 0.7310585786300049],
            scipy: [0.0, 1.9444526359919372e-185, 0.2689414213699951, 0.7310585786300048]),
        Row(name: "softmax [1000, 0, 0, 0]",
            request: OracleRequest(function: .softmax, logits: [1000, 0, 0, 0]),
            certified: [1.0, 0.0, 0.0, 0.0],
            scipy: [1, 0, 0, 0]),
        Row(name: "log_softmax [1000, 1]",
            request: OracleRequest(function: .logSoftmax, logits: [1000, 1]),
            certified: [-0.0, -999.0],
            scipy: [0, -999]),
        Row(name: "log_softmax [0, 1, 2, 3]",
            request: OracleRequest(function: .logSoftmax, logits: [0, 1, 2, 3]),
            certified: [-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533],
            scipy: [-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533]),
        Row(name: "cross_entropy [1.2, -0.8, -0.5] t=0",
            request: OracleRequest(function: .crossEntropy, logits: [1.2, -0.8, -0.5], target: .index(0)),
            certified: [0.27612970554553756]),
        Row(name: "cross_entropy [0.9, -1.2, 1.1] t=1",
            request: OracleRequest(function: .crossEntropy, logits: [0.9, -1.2, 1.1], target: .index(1)),
            certified: [2.951798795854425]),
        Row(name: "cross_entropy [1000, 0, -1000] t=1",
            request: OracleRequest(function: .crossEntropy, logits: [1000, 0, -1000], target: .index(1)),
            certified: [1000.0]),
        Row(name: "cross_entropy [1000, 0, -1000] t=0",
            request: OracleRequest(function: .crossEntropy, logits: [1000, 0, -1000], target: .index(0)),
            certified: [0.0]),
        Row(name: "cross_entropy [30, 0] t=0",
            request: OracleRequest(function: .crossEntropy, logits: [30, 0], target: .index(0)),
            certified: [9.357622968839737e-14]),
        Row(name: "log_softmax [0, -700, -745.5, -800]",
            request: OracleRequest(function: .logSoftmax, logits: [0, -700, -745.5, -800]),
            certified: [-9.85967654375977e-305, -700.0, -745.5, -800.0]),
        Row(name: "cross_entropy_grad [30, 0] t=0",
            request: OracleRequest(function: .crossEntropyGrad, logits: [30, 0], target: .index(0)),
            certified: [-9.357622968839299e-14, 9.357622968839299e-14]),
        Row(name: "cross_entropy [1, 2, 3] p=[0.25, 0.25, 0.5]",
            request: OracleRequest(function: .crossEntropy, logits: [1, 2, 3], target: .probabilities([0.25, 0.25, 0.5])),
            certified: [1.1576059644443804]),
        Row(name: "bce_with_logits [2, -3] z=[1, 0.3] w=2",
            request: OracleRequest(function: .bceWithLogits, logits: [2, -3], labels: [1, 0.3], posWeight: [2]),
            certified: [0.253856022085945, 1.8631635570458647]),
        // The FP8 rows.
        Row(name: "softmax e4m3fn, 1024 equal logits",
            request: OracleRequest(function: .softmax, format: .e4m3fn, logits: Array(repeating: 0, count: 1024)),
            certified: Array(repeating: 0.0, count: 1024)),
        Row(name: "softmax e4m3fn, 1023 equal logits",
            request: OracleRequest(function: .softmax, format: .e4m3fn, logits: Array(repeating: 0, count: 1023)),
            certified: Array(repeating: 0x1p-9, count: 1023)),
        Row(name: "logsumexp e4m3fn [460, -1]",
            request: OracleRequest(function: .logsumexp, format: .e4m3fn, logits: [460, -1]),
            certified: [448]),
        Row(name: "logsumexp e4m3fn [500]",
            request: OracleRequest(function: .logsumexp, format: .e4m3fn, logits: [500]),
            certified: [.nan]),
        Row(name: "logsumexp e5m2 [61439, 0]",
            request: OracleRequest(function: .logsumexp, format: .e5m2, logits: [61439, 0]),
            certified: [57344]),
        Row(name: "logsumexp e5m2 [61440]",
            request: OracleRequest(function: .logsumexp, format: .e5m2, logits: [61440]),
            certified: [.infinity]),
    ]

    @Test("certified value, bit for bit", arguments: rows)
    func certified(row: Row) throws {
        expectBits(try rounded(row.request), row.certified, "\(row.name)")
    }

    /// The certified column and the brute-force reference of this test target agree (a check of
    /// the reference itself, on the rows whose logits are moderate).
    @Test("the brute-force reference reproduces the certified softmax rows")
    func bruteForceAgreesWithCertified() {
        let rows: [([Double], [Double])] = [
            ([0, 1, 2, 3], [0.03205860328008499, 0.08714431874203257, 0.23688281808991013, 0.6439142598879724]),
            ([-25, 0, 25, 50], [2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771146e-11, 0.9999999999861121]),
        ]
        for (x, want) in rows {
            expectBits(BruteForce.softmax(x).map { Format.f64.round($0) }, want, "softmax \(hex(x))")
        }
        let ce = BruteForce.crossEntropy([1, 2, 3], weights: [0.25, 0.25, 0.5].map { BruteForce.exact($0) })
        expectBits([Format.f64.round(ce)], [1.1576059644443804])
    }

    /// |got − want| <= 1e-13 · |want| (a zero expectation must be met exactly).
    @Test("SciPy's published value, within 1e-13 relative", arguments: rows.filter { $0.scipy != nil })
    func published(row: Row) throws {
        let scipy = try #require(row.scipy)
        let got = try rounded(row.request)
        try #require(got.count == scipy.count)
        for (g, w) in zip(got, scipy) {
            #expect((g - w).magnitude <= 1e-13 * w.magnitude, "\(row.name): got \(hex(g)), SciPy \(hex(w))")
        }
    }

    /// optax's documentation rounds to 4 decimals: 0.2761 and 2.9518.
    @Test("optax's documented cross-entropies, to their 4 decimals")
    func optax() throws {
        let a = try rounded(OracleRequest(function: .crossEntropy, logits: [1.2, -0.8, -0.5], target: .index(0)))[0]
        let b = try rounded(OracleRequest(function: .crossEntropy, logits: [0.9, -1.2, 1.1], target: .index(1)))[0]
        #expect((a - 0.2761).magnitude < 0.5e-4)
        #expect((b - 2.9518).magnitude < 0.5e-4)
    }
}
