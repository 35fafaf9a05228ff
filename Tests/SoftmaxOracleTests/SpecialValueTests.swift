import SoftmaxOracle
import Testing

/// docs/semantics.md (special values), for every function and every format. The expected values are the
/// limits the design states; an infinity becomes NaN in e4m3fn, which has none (`designSpecial`).
@Suite("Special values")
struct SpecialValueTests {
    static let nan = Double.nan
    static let inf = Double.infinity

    // MARK: NaN anywhere: every output of the row is NaN

    static let rowsWithNaN: [[Double]] = [
        [.nan], [1, .nan, 2], [.nan, .infinity], [-.infinity, .nan], [.infinity, -.infinity, .nan, 0],
    ]

    @Test("a NaN logit makes every output of a row function NaN", arguments: Format.allCases)
    func nanPoisonsRow(format: Format) throws {
        for x in Self.rowsWithNaN {
            let k = x.count
            let all = Array(repeating: Self.nan, count: k)
            expectBits(try rounded(OracleRequest(function: .logsumexp, format: format, logits: x)), [Self.nan], "logsumexp \(hex(x))")
            expectBits(try rounded(OracleRequest(function: .softmax, format: format, logits: x)), all, "softmax \(hex(x))")
            expectBits(try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x)), all, "log_softmax \(hex(x))")
            expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(0))), [Self.nan], "CE \(hex(x))")
            expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x,
                                                 target: .probabilities(Array(repeating: 1, count: k)))), [Self.nan], "CE p \(hex(x))")
            expectBits(try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(k - 1))), all, "grad \(hex(x))")
        }
    }

    // MARK: -inf logits contribute exactly 0

    @Test("a −inf logit: softmax 0, log_softmax −inf, the rest as if it were absent", arguments: Format.allCases)
    func negativeInfinityContributesZero(format: Format) throws {
        let x: [Double] = [0, -.infinity, 0]
        expectBits(try rounded(OracleRequest(function: .softmax, format: format, logits: x)), [0.5, 0, 0.5])
        // log_softmax: −log 2 (rounded into the format) at the finite entries, −inf at the other.
        let ls = try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x))
        #expect(hex(ls[1]) == hex(designSpecial(-Self.inf, format)))
        #expect(ls[0] == ls[2] && ls[0] < 0)

        expectBits(try rounded(OracleRequest(function: .softmax, format: format, logits: [-.infinity, 3])), [0, 1])
        // logsumexp([−inf, 3]) = 3 exactly; log_softmax at the only finite logit is 3 − 3 = +0.
        expectBits(try rounded(OracleRequest(function: .logsumexp, format: format, logits: [-.infinity, 3])), [3])
        expectBits(try rounded(OracleRequest(function: .logSoftmax, format: format, logits: [-.infinity, 3])),
                   [designSpecial(-Self.inf, format), 0])
        // The cross-entropy and its gradient: target on the finite logit gives exactly 0.
        expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: [0, -.infinity], target: .index(0))), [0])
        expectBits(try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: [0, -.infinity], target: .index(0))), [0, 0])
        // Target on the −inf logit: −log 0 = +inf.
        expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: [0, -.infinity], target: .index(1))),
                   [designSpecial(Self.inf, format)])
        // Probability mass on the −inf logit: +inf; zero mass there: 0 · (−inf) counts as 0.
        expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: [0, -.infinity],
                                             target: .probabilities([0.5, 0.5]))), [designSpecial(Self.inf, format)])
        expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: [0, -.infinity],
                                             target: .probabilities([1, 0]))), [0])
        // The gradient with the target on the −inf logit: softmax − onehot = [1, −1], finite.
        expectBits(try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: [0, -.infinity], target: .index(1))), [1, -1])
    }

    @Test("all −inf: logsumexp −inf, the others NaN (0/0)", arguments: Format.allCases)
    func allNegativeInfinity(format: Format) throws {
        for x: [Double] in [[-.infinity], [-.infinity, -.infinity, -.infinity]] {
            let k = x.count
            let all = Array(repeating: Self.nan, count: k)
            expectBits(try rounded(OracleRequest(function: .logsumexp, format: format, logits: x)), [designSpecial(-Self.inf, format)])
            expectBits(try rounded(OracleRequest(function: .softmax, format: format, logits: x)), all)
            expectBits(try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x)), all)
            expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(0))), [Self.nan])
            expectBits(try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(0))), all)
        }
    }

    @Test("a +inf logit: logsumexp +inf, the others NaN (inf/inf)", arguments: Format.allCases)
    func positiveInfinity(format: Format) throws {
        for x: [Double] in [[.infinity], [1, .infinity], [.infinity, -.infinity], [.infinity, .infinity, 0]] {
            let k = x.count
            let all = Array(repeating: Self.nan, count: k)
            expectBits(try rounded(OracleRequest(function: .logsumexp, format: format, logits: x)), [designSpecial(Self.inf, format)])
            expectBits(try rounded(OracleRequest(function: .softmax, format: format, logits: x)), all)
            expectBits(try rounded(OracleRequest(function: .logSoftmax, format: format, logits: x)), all)
            for t in 0..<k {
                expectBits(try rounded(OracleRequest(function: .crossEntropy, format: format, logits: x, target: .index(t))), [Self.nan], "\(hex(x)) t=\(t)")
                expectBits(try rounded(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(t))), all)
            }
        }
    }

    @Test("K = 0: logsumexp is −inf (the empty sum is 0); softmax and log_softmax are empty")
    func emptyRow() throws {
        for format in Format.allCases {
            expectBits(try rounded(OracleRequest(function: .logsumexp, format: format, logits: [])), [designSpecial(-Self.inf, format)])
            #expect(try rounded(OracleRequest(function: .softmax, format: format, logits: [])).isEmpty)
            #expect(try rounded(OracleRequest(function: .logSoftmax, format: format, logits: [])).isEmpty)
            #expect(try rounded(OracleRequest(function: .sigmoid, format: format, logits: [])).isEmpty)
        }
    }

    // MARK: Elementwise functions: a NaN affects only its own element

    @Test("sigmoid, log_sigmoid, softplus at NaN, ±inf and 0", arguments: Format.allCases)
    func elementwiseSpecials(format: Format) throws {
        let x: [Double] = [.nan, 0, .infinity, -.infinity]
        // sigmoid(0) = 1/2 exactly; sigmoid(±inf) = 1 / 0.
        expectBits(try rounded(OracleRequest(function: .sigmoid, format: format, logits: x)), [Self.nan, 0.5, 1, 0])
        // softplus(+inf) = inf, softplus(−inf) = log(1 + 0) = 0.
        let sp = try rounded(OracleRequest(function: .softplus, format: format, logits: x))
        #expect(hex(sp[0]) == "nan" && hex(sp[2]) == hex(designSpecial(Self.inf, format)) && hex(sp[3]) == hex(0))
        #expect(sp[1] >= 0.5 && sp[1] <= 0.75, "softplus(0) = log 2 ≈ 0.693")
        // log_sigmoid = −softplus(−x): −0 at +inf, −inf at −inf.
        let ls = try rounded(OracleRequest(function: .logSigmoid, format: format, logits: x))
        #expect(hex(ls[0]) == "nan" && hex(ls[2]) == hex(-0.0) && hex(ls[3]) == hex(designSpecial(-Self.inf, format)))
        #expect(ls[1] == -sp[1])
    }

    @Test("an elementwise NaN leaves the other elements alone")
    func elementwiseNaNIsLocal() throws {
        let x: [Double] = [0, .nan, 0]
        expectBits(try rounded(OracleRequest(function: .sigmoid, logits: x)), [0.5, .nan, 0.5])
        let sp = try rounded(OracleRequest(function: .softplus, logits: x))
        #expect(sp[0].isFinite && sp[1].isNaN && sp[2] == sp[0])
        let ls = try rounded(OracleRequest(function: .logSigmoid, logits: x))
        #expect(ls[0].isFinite && ls[1].isNaN && ls[2] == ls[0])
        let bce = try rounded(OracleRequest(function: .bceWithLogits, logits: x, labels: [1, 1, 0]))
        #expect(bce[0].isFinite && bce[1].isNaN && bce[2] == bce[0], "bce(0) = log 2 for labels 0 and 1")
    }

    @Test("bce_with_logits at ±inf: the limit, 0 where the growing term has coefficient 0", arguments: Format.allCases)
    func bceInfinities(format: Format) throws {
        let x: [Double] = [.infinity, .infinity, -.infinity, -.infinity]
        // x → +inf: loss ≈ (1 − z)·x; x → −inf: loss ≈ w·z·|x|.
        let got = try rounded(OracleRequest(function: .bceWithLogits, format: format, logits: x, labels: [1, 0, 1, 0]))
        let inf = designSpecial(Self.inf, format)
        expectBits(got, [0, inf, inf, 0])
        // pos_weight 0 removes the positive term: x = −inf with label 1 then gives 0.
        expectBits(try rounded(OracleRequest(function: .bceWithLogits, format: format, logits: [-.infinity], labels: [1], posWeight: [0])), [0])
    }
}
