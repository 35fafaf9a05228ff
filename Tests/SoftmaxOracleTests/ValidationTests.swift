@testable import SoftmaxOracle
import Testing

/// Malformed requests: each is refused with `.invalidInput` naming the field (and its value),
/// never answered with a made-up number, never a crash (docs/semantics.md, "Validation errors").
@Suite("Validation of malformed requests")
struct ValidationTests {
    static let x: [Double] = [1, 2, 3]

    @Test("target outside [0, K) names \"target\"", arguments: [OracleFunction.crossEntropy, .crossEntropyGrad])
    func targetOutOfRange(function: OracleFunction) {
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .index(3)), field: "target", mentioning: "3")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .index(-1)), field: "target", mentioning: "-1")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .index(Int.max)), field: "target")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .index(-100)), field: "target")
    }

    @Test("K = 0 for a loss names \"logits\"", arguments: [OracleFunction.crossEntropy, .crossEntropyGrad])
    func emptyRow(function: OracleFunction) {
        expectInvalid(OracleRequest(function: function, logits: [], target: .index(0)), field: "logits")
        expectInvalid(OracleRequest(function: function, logits: [], target: .probabilities([])), field: "logits")
    }

    @Test("a missing target names \"target\"", arguments: [OracleFunction.crossEntropy, .crossEntropyGrad])
    func missingTarget(function: OracleFunction) {
        expectInvalid(OracleRequest(function: function, logits: Self.x), field: "target")
    }

    @Test("a negative NaN in an array is named \"nan\", as the protocol writes every NaN, not \"-nan\"")
    func negativeNaNIsNan() {
        var q = OracleRequest(function: .bceWithLogits, logits: Self.x)
        q.labels = [0, -Double.nan, 1]
        do throws(OracleError) {
            _ = try Oracle().evaluate(q)
            Issue.record("a NaN label was answered")
        } catch {
            guard case let .invalidInput(field, message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(field == "labels[1]")
            #expect(message == "nan is not allowed here (must be finite)")
        }
    }

    @Test("label_smoothing negative, above 1, NaN or inf names \"label_smoothing\"",
          arguments: [OracleFunction.crossEntropy, .crossEntropyGrad])
    func labelSmoothing(function: OracleFunction) {
        for (eps, text) in [(-0.1, "-0.1"), (1.5, "1.5"), (Double.nan, "nan"), (.infinity, "inf"), (-0x1p-1074, nil)] {
            expectInvalid(OracleRequest(function: function, logits: Self.x, target: .index(0), labelSmoothing: eps),
                          field: "label_smoothing", mentioning: text)
        }
        // The ends of [0, 1] are allowed.
        #expect(throws: Never.self) { try Oracle().evaluate(OracleRequest(function: function, logits: Self.x, target: .index(0), labelSmoothing: 1)) }
        #expect(throws: Never.self) { try Oracle().evaluate(OracleRequest(function: function, logits: Self.x, target: .index(0), labelSmoothing: 0)) }
    }

    @Test("class weights: NaN, negative, infinite name \"weight[i]\"; a wrong count names \"weight\"",
          arguments: [OracleFunction.crossEntropy, .crossEntropyGrad])
    func weights(function: OracleFunction) {
        let t = RowTarget.index(0)
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: t, weight: [1, .nan, 1]), field: "weight[1]", mentioning: "nan")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: t, weight: [-1, 1, 1]), field: "weight[0]", mentioning: "-1")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: t, weight: [1, 1, .infinity]), field: "weight[2]")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: t, weight: [1, 1]), field: "weight", mentioning: "2")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: t, weight: [1, 1, 1, 1]), field: "weight")
    }

    @Test("probability targets: NaN, negative, infinite name \"targets[i]\"; a wrong count names \"targets\"",
          arguments: [OracleFunction.crossEntropy, .crossEntropyGrad])
    func probabilityTargets(function: OracleFunction) {
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .probabilities([0.5, .nan, 0.5])), field: "targets[1]", mentioning: "nan")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .probabilities([0.5, 0.5, -0.25])), field: "targets[2]", mentioning: "-0.25")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .probabilities([.infinity, 0, 0])), field: "targets[0]")
        expectInvalid(OracleRequest(function: function, logits: Self.x, target: .probabilities([0.5, 0.5])), field: "targets", mentioning: "2")
        // Long rows (`checkFinite` looks at eight at a time first): the first bad entry is named,
        // in a group of eight or in the tail; −0 passes.
        let x = [Double](repeating: 1, count: 21)
        for (i, bad) in [(13, Double.nan), (8, -0.25), (20, .infinity), (3, -.infinity), (17, .nan)] {
            var p = [Double](repeating: 0.5, count: 21)
            p[i] = bad
            p[i + (i < 20 ? 1 : -1)] = -1  // a second bad entry, after (or, at the end, before) it
            let first = i < 20 ? i : i - 1
            expectInvalid(OracleRequest(function: function, logits: x, target: .probabilities(p)), field: "targets[\(first)]")
        }
        var zeros = [Double](repeating: 0.5, count: 21)
        zeros[9] = -0.0
        #expect(throws: Never.self) { try Oracle().evaluate(OracleRequest(function: function, logits: x, target: .probabilities(zeros))) }
    }

    @Test("bce_with_logits: missing or miscounted labels, NaN label, bad pos_weight and weight")
    func bce() {
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x), field: "labels")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, 0]), field: "labels", mentioning: "2")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, .nan, 0]), field: "labels[1]")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, 0, 1], posWeight: [1, 2]), field: "pos_weight", mentioning: "2")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, 0, 1], posWeight: []), field: "pos_weight")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, 0, 1], posWeight: [.nan]), field: "pos_weight[0]")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, weight: [1, 1], labels: [1, 0, 1]), field: "weight")
        expectInvalid(OracleRequest(function: .bceWithLogits, logits: Self.x, weight: [1, .infinity, 1], labels: [1, 0, 1]), field: "weight[1]")
        // One pos_weight for all, or one per logit, are both fine.
        #expect(throws: Never.self) { try Oracle().evaluate(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, 0, 1], posWeight: [3])) }
        #expect(throws: Never.self) { try Oracle().evaluate(OracleRequest(function: .bceWithLogits, logits: Self.x, labels: [1, 0, 1], posWeight: [3, 2, 1])) }
    }

    @Test("batch: missing, empty, K = 0, ragged rows")
    func batchShape() {
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batchTargets: .indices([])), field: "batch")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: [], batchTargets: .indices([])), field: "batch")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: [[]], batchTargets: .indices([0])), field: "batch[0]")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: [[1, 2], [1, 2, 3]], batchTargets: .indices([0, 0])), field: "batch[1]", mentioning: "3")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: [[1, 2], [1, 2], [1]], batchTargets: .indices([0, 0, 0])), field: "batch[2]")
    }

    @Test("batch targets: missing, miscounted, out of range and not ignore_index, bad probabilities")
    func batchTargets() {
        let rows: [[Double]] = [[1, 2], [3, 4]]
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows), field: "targets")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices([0])), field: "targets", mentioning: "1")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices([0, 1, 1])), field: "targets")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices([0, 2])), field: "targets[1]", mentioning: "2")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices([-1, 0])), field: "targets[0]", mentioning: "-1")
        // -100 (the default ignore_index) is fine; with another ignore_index it is out of range.
        #expect(throws: Never.self) { try Oracle().evaluate(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices([-100, 0]))) }
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .indices([-100, 0]), ignoreIndex: 7), field: "targets[0]", mentioning: "-100")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .probabilities([[1, 0]])), field: "targets")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .probabilities([[1, 0], [1]])), field: "targets[1]")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .probabilities([[1, 0], [.nan, 1]])), field: "targets[1][0]")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: rows, batchTargets: .probabilities([[1, -1], [0, 1]])), field: "targets[0][1]")
    }

    @Test("batch: class weights and label smoothing are checked too")
    func batchWeightsAndSmoothing() {
        let rows: [[Double]] = [[1, 2], [3, 4]]
        expectInvalid(OracleRequest(function: .crossEntropyLoss, weight: [1], batch: rows, batchTargets: .indices([0, 1])), field: "weight")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, weight: [1, -2], batch: rows, batchTargets: .indices([0, 1])), field: "weight[1]")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, labelSmoothing: -1, batch: rows, batchTargets: .indices([0, 1])), field: "label_smoothing")
        expectInvalid(OracleRequest(function: .crossEntropyLoss, labelSmoothing: .nan, batch: rows, batchTargets: .indices([0, 1])), field: "label_smoothing")
    }

    /// `Validation.allAccepted` (whole vectors of eight, then the tail) against its definition
    /// (every value finite, and not below 0 when nonNegative; −0 accepted), with one refused or
    /// edge value at every position of rows of 0 ... 19 values (so in a first vector, a later
    /// one and the tail), and the labels' error naming that value's index.
    @Test("labels, pos_weight and weight: each value is checked, at every position of a vector and of the tail")
    func everyPosition() {
        let values: [Double] = [.nan, -.nan, .infinity, -.infinity, -1, -0x1p-1074, -0.0, 0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        for n in 0..<20 {
            for position in 0..<Swift.max(n, 1) {
                for v in values {
                    var row = (0..<n).map { Double($0) / 3 }
                    if n > 0 { row[position] = v }
                    for nonNegative in [false, true] {
                        let expected = row.allSatisfy { $0.isFinite && !(nonNegative && $0 < 0) }
                        #expect(Validation.allAccepted(row, nonNegative: nonNegative) == expected, "n \(n) at \(position): \(v)")
                    }
                    guard n > 0, !v.isFinite else { continue }
                    expectInvalid(OracleRequest(function: .bceWithLogits, logits: Array(repeating: 0, count: n), labels: row),
                                  field: "labels[\(position)]")
                }
            }
        }
    }

    @Test("more values than maxValues")
    func tooManyValues() {
        let small = Oracle(maxValues: 4)
        expectInvalid(OracleRequest(function: .softmax, logits: [1, 2, 3, 4, 5]), field: "logits", mentioning: "5", oracle: small)
        expectInvalid(OracleRequest(function: .sigmoid, logits: [1, 2, 3, 4, 5]), field: "logits", oracle: small)
        expectInvalid(OracleRequest(function: .crossEntropy, logits: [1, 2, 3, 4, 5], target: .index(0)), field: "logits", oracle: small)
        expectInvalid(OracleRequest(function: .crossEntropyLoss, batch: [[1, 2, 3], [4, 5, 6]], batchTargets: .indices([0, 0])),
                      field: "batch", mentioning: "6", oracle: small)
        #expect(throws: Never.self) { try small.evaluate(OracleRequest(function: .softmax, logits: [1, 2, 3, 4])) }
    }

    @Test("error descriptions name the field")
    func descriptions() {
        let e = OracleError.invalidInput(field: "target", message: "3 is outside [0, 3)")
        #expect(e.description.contains("\"target\"") && e.description.contains("3 is outside"))
    }
}
