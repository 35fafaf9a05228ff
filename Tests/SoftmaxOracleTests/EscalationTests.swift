import MPFR
import SoftmaxOracle
import Testing

/// Precision escalation: an enclosure that straddles a rounding boundary at the first precision
/// is recomputed at higher precision until it does not; past `maxPrecision` the oracle throws
/// `.notCertified` rather than guess.
@Suite("Escalation and the precision cap")
struct EscalationTests {
    /// 0x1.62e42fefa39efp-1 is log 2 rounded to binary64 (slightly below it).
    static let c = -0x1.62e42fefa39efp-1
    static var request: OracleRequest { OracleRequest(function: .logsumexp, logits: [c, c]) }

    @Test("logsumexp([−ln2, −ln2]) ≈ 2.3e-17 from cancellation: escalates, and matches two references")
    func cancellationEscalates() throws {
        let r = try Oracle().evaluate(Self.request)
        #expect(r.escalations > 0)
        #expect(r.precision > 64)
        // Brute force: log(e^c + e^c) at 4000 bits.
        let brute = Format.f64.round(BruteForce.logsumexp([Self.c, Self.c]))
        // Another formulation: log 2 + c at 300 bits (exactly the same real).
        let log2 = BigFloat(precision: 300)
        log2.log(big(2), .nearest)
        let direct = BigFloat(precision: 300)
        direct.add(log2, big(Self.c), .nearest)
        expectBits(r.rounded, [brute])
        expectBits(r.rounded, [Format.f64.round(direct)])
        #expect(brute > 0 && brute < 1e-16)
    }

    @Test("with maxPrecision 64 the same request throws .notCertified, never a guess")
    func capThrows() {
        do throws(OracleError) {
            let r = try Oracle(maxPrecision: 64).evaluate(Self.request)
            Issue.record("expected notCertified, got \(hex(r.rounded))")
        } catch {
            guard case let .notCertified(output, precision, _) = error else {
                Issue.record("expected notCertified, got \(error)")
                return
            }
            #expect(output == 0)
            #expect(precision == 64)
            #expect(error.description.contains("not certified"))
        }
    }

    /// An exact tie plus e^-1000: the exact value lies 2^-1440 or so beyond the midpoint. The
    /// enclosure's lower end is the tie itself, but the exact value lies strictly inside the
    /// enclosure (it is not a point), so the open lower end rounds up: certified at the first
    /// precision, no escalation to ~1450 bits needed.
    @Test("a near-tie: f16 logsumexp([1 + 2^-11, −1000]) → 1 + 2^-10 at the first precision")
    func nearTie() throws {
        let r = try Oracle().evaluate(OracleRequest(function: .logsumexp, format: .f16, logits: [1 + 0x1p-11, -1000]))
        expectBits(r.rounded, [1 + 0x1p-10])  // just above the midpoint: up
        #expect(r.escalations == 0)
        // On the negative side the tiny term pulls toward zero: −(1 + 2^-11) + tiny → −1.
        expectBits(try rounded(OracleRequest(function: .logsumexp, format: .f16, logits: [-(1 + 0x1p-11), -1000])), [-1])
        // e4m3fn: 464 + tiny lies above the tie 464 between 448 and (the continued grid's) 480 → NaN.
        expectBits(try rounded(OracleRequest(function: .logsumexp, format: .e4m3fn, logits: [464, -1000])), [.nan])
        expectBits(try rounded(OracleRequest(function: .logsumexp, format: .e4m3fn, logits: [-464, -1000])), [-448])
        // e5m2: 61440 + tiny → inf; 61440 is the overflow tie.
        expectBits(try rounded(OracleRequest(function: .logsumexp, format: .e5m2, logits: [61440, -1000])), [.infinity])
    }

    @Test("the near-tie certifies even with a cap of 64 bits (open enclosure ends)")
    func nearTieCapped() throws {
        let q = OracleRequest(function: .logsumexp, format: .f16, logits: [1 + 0x1p-11, -1000])
        expectBits(try Oracle(maxPrecision: 64).evaluate(q).rounded, [1 + 0x1p-10])
    }

    /// A tie minus e^-(2^62 + 2^9): the exponential lies below MPFR's least number at every
    /// precision, so its enclosure is (0, least number) forever; only the open ends decide it.
    @Test("a tie minus an exponential below MPFR's range: log_softmax([2^62, −512]) in f64")
    func tieMinusUnderflow() throws {
        // d = −(2^62 + 2^9) needs 54 bits: an f64 tie between −2^62 and −(2^62 + 2^10);
        // log_softmax = d − log1p(e^d) lies just below the tie → −(2^62 + 2^10) (away from zero).
        expectBits(try rounded(OracleRequest(function: .logSoftmax, logits: [0x1p62, -512])), [-0.0, -(0x1p62 + 0x1p10)])
        // bce, label 1, pos_weight 3: loss = 3·softplus(−x) = 3·|x| + 3·log1p(e^−|x|). With
        // |x| = 2^62 + 2^11 + 2^10, 3·|x| = 2^63·(1.5 + 4.5·2^-52): a tie between the even
        // 1.5 + 4·2^-52 and the odd 1.5 + 5·2^-52; the positive infinitesimal term rounds it up (odd).
        let x = -(0x1p62 + 0x1p11 + 0x1p10)
        expectBits(try rounded(OracleRequest(function: .bceWithLogits, logits: [x], labels: [1], posWeight: [3])),
                   [0x1.8000000000005p+63])
    }

    /// x = [1024, 0] and p = [0, (1 + 2^-11)·2^-10]: CE = p_1·(1024 + log1p(e^-1024)) =
    /// 1 + 2^-11 + (tiny), a near-tie of f16 reached through the cross-entropy's own formulation.
    static let nearTieRow: [Double] = [1024, 0]
    static let nearTieTargets: [Double] = [0, (1 + 0x1p-11) * 0x1p-10]

    @Test("a near-tie through cross_entropy with probability targets rounds up")
    func nearTieCrossEntropy() throws {
        let r = try Oracle().evaluate(OracleRequest(
            function: .crossEntropy, format: .f16, logits: Self.nearTieRow, target: .probabilities(Self.nearTieTargets)))
        expectBits(r.rounded, [1 + 0x1p-10])
    }

    @Test("a batch with a near-tie row and an ordinary row: every row is correct")
    func mixedOutputs() throws {
        let q = OracleRequest(
            function: .crossEntropyLoss, format: .f16,
            batch: [[1, 0], Self.nearTieRow], batchTargets: .probabilities([[0, 1], Self.nearTieTargets]), reduction: .none)
        let r = try Oracle().evaluate(q)
        // Row 0: −log_softmax_1 = log(1 + e) (brute force, a moderate input); row 1: the near-tie.
        let row0 = Format.f16.round(BruteForce.softplus(1))
        expectBits(r.rounded, [row0, 1 + 0x1p-10])
    }
}
