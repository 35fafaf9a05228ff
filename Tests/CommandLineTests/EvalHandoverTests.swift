@testable import OracleIO
import SoftmaxOracle
@testable import softmax_oracle
import Testing

/// `eval`'s batch mode hands each request over to the oracle (`EvalBatch.answering`, the closure
/// `run` serves with): a bce_with_logits request in f64 then gets its outputs written over its
/// labels' storage (`Oracle.evaluateRounded(consuming:)`), which a closure that kept a copy of the
/// request would not allow (the labels would be copied first: only time and memory lost, which
/// no output shows). Observed by the address of the storage: the answer's values must sit where
/// the labels were, and for a request whose labels the caller still holds, elsewhere.
@Suite("eval hands its requests over")
struct EvalHandoverTests {
    static let k = 4096

    /// A bce_with_logits request in f64, its labels' storage address, and the expected values
    /// (`evaluateRounded` of an equal request with storage of its own).
    static func bceRequest() throws -> (DecodedRequest, labels: UInt, expected: [Double]) {
        let logits = (0..<k).map { Double($0 % 41) * 0.25 - 5 }
        var labels: [Double]? = (0..<k).map { Double($0 % 5) * 0.25 }
        let address = labels!.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let expected = try Oracle().evaluateRounded(OracleRequest(function: .bceWithLogits, format: .f64, logits: logits,
                                                                  labels: labels!.map { $0 })).rounded
        // (The labels' one reference moves into the request, and the request into the result.)
        return (DecodedRequest(id: .number("1"), request: OracleRequest(function: .bceWithLogits, format: .f64, logits: logits,
                                                                        labels: labels.take()), batch: nil), address, expected)
    }

    @Test("the answer closure writes bce_with_logits' f64 outputs over the labels it was handed")
    func outputsInTheLabels() throws {
        let (decoded, labels, expected) = try Self.bceRequest()
        let answer = EvalBatch.answering(with: Oracle(), tally: EvalBatch.Tally())
        let values = try answer(consume decoded).doubles
        #expect(values == expected)
        let address = values.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(address == labels, "the outputs were not written in the labels' storage: the request was copied")
    }

    @Test("labels the caller still holds are copied first, never written (the address tells the two apart)")
    func heldLabelsAreCopied() throws {
        let (decoded, labels, expected) = try Self.bceRequest()
        let held = decoded
        let answer = EvalBatch.answering(with: Oracle(), tally: EvalBatch.Tally())
        let values = try answer(decoded).doubles
        #expect(values == expected)
        #expect(values.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } != labels)
        #expect(held.request.labels!.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == labels)
        #expect(held.request.labels! == (0..<Self.k).map { Double($0 % 5) * 0.25 }, "the held labels changed")
    }
}
