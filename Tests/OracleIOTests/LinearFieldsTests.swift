import OracleIO
import SoftmaxOracle
import Testing

/// The fused linear cross-entropy's JSON fields: decoded into `OracleRequest.linear`, written back
/// by `RequestEncoder`, and errors naming the field.
@Suite("Request decoding: linear_cross_entropy fields")
struct LinearFieldsTests {
    let decoder = RequestDecoder()

    @Test func decodesAndRoundTrips() throws {
        let line = #"{"function":"linear_cross_entropy_grad_weight","format":"bf16","hidden":[[1,2],[3,"0x1p-3"]],"#
            + #""weight":[[1,0],[0,1],[1,1]],"bias":[0,1,2],"targets":[2,-100],"ce_weight":[1,2,3],"grad_output":0.5,"#
            + #""reduction":"sum","z_loss":"0x1p-10"}"#
        let r = try decoder.decode(line: line).request
        let m = try #require(r.linear)
        #expect((m.rows, m.dimension, m.classes) == (2, 2, 3))
        #expect(m.hidden == [1, 2, 3, 0.125] && m.weight == [1, 0, 0, 1, 1, 1])
        #expect(m.bias == [0, 1, 2] && m.targets == [2, -100] && m.classWeight == [1, 2, 3] && r.gradOutput == [0.5])
        #expect(r.weight == nil && r.reduction == .sum && r.zLoss == 0x1p-10)
        let again = try decoder.decode(line: RequestEncoder.encode(r)).request
        #expect(again == r)
    }

    @Test func errorsNameTheField() {
        #expect(requestMessage(#"{"function":"linear_cross_entropy","weight":[[1]],"targets":[0]}"#).hasPrefix(#"field "hidden""#))
        #expect(requestMessage(#"{"function":"linear_cross_entropy","hidden":[[1,2],[3]],"weight":[[1,2]],"targets":[0,0]}"#)
            .hasPrefix(#"field "hidden[1]""#))
        #expect(requestMessage(#"{"function":"linear_cross_entropy","hidden":[[1,2]],"weight":[[1,2],[1]],"targets":[0]}"#)
            .hasPrefix(#"field "weight[1]""#))
        #expect(requestMessage(#"{"function":"linear_cross_entropy","hidden":[[1]],"weight":[[1]],"targets":[0],"grad_output":1}"#)
            .hasPrefix(#"field "grad_output""#))
        #expect(requestMessage(#"{"function":"linear_cross_entropy","hidden":[[1]],"weight":[[1]],"targets":[0.5]}"#)
            .hasPrefix(#"field "targets[0]""#))
    }
}
