import OracleIO
import SoftmaxOracle
import Testing

/// The loss options (`softcap`, `z_loss`, `temperature`) and `cross_entropy_loss_backward`'s
/// `grad_output` in the JSON layer: decoded, refused where unused, and written back by the encoder.
@Suite("Request decoding: loss options and cross_entropy_loss_backward")
struct LossFieldTests {
    let decoder = RequestDecoder()

    @Test func optionsDecode() throws {
        let r = try decoder.decode(line: #"{"function":"cross_entropy","logits":[1,2],"target":0,"softcap":"0x1.ep+4","z_loss":1e-4,"temperature":0.5}"#).request
        #expect(r.softcap == 30 && r.zLoss == 1e-4 && r.temperature == 0.5)
        let plain = try decoder.decode(line: #"{"function":"cross_entropy_grad","logits":[1,2],"target":0}"#).request
        #expect(plain.softcap == nil && plain.zLoss == 0 && plain.temperature == nil && plain.gradOutput == nil)
    }

    @Test func backwardDecodesScalarOrRows() throws {
        let scalar = try decoder.decode(line: #"{"function":"cross_entropy_loss_backward","batch":[[1,2],[3,4]],"targets":[0,-100],"grad_output":0.5}"#).request
        #expect(scalar.function == .crossEntropyLossBackward && scalar.gradOutput == [0.5])
        #expect(scalar.batchTargets == .indices([0, -100]))
        let rows = try decoder.decode(line: #"{"function":"cross_entropy_loss_backward","batch":[[1,2],[3,4]],"targets":[[0.5,0.5],[1,0]],"grad_output":[1,"-0x1p-1"],"reduction":"none","softcap":2}"#).request
        #expect(rows.gradOutput == [1, -0.5] && rows.reduction == .none && rows.softcap == 2)
        #expect(rows.batchTargets == .probabilities([[0.5, 0.5], [1, 0]]))
    }

    @Test func unusedOrMistypedFieldsAreErrors() {
        #expect(requestMessage(#"{"function":"softmax","logits":[1],"softcap":3}"#).hasPrefix(#"field "softcap": not used by softmax"#))
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[1]],"targets":[0],"grad_output":1}"#)
            .hasPrefix(#"field "grad_output": not used by cross_entropy_loss"#))
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"target":0,"zloss":1}"#).contains(#"did you mean "z_loss"?"#))
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"target":0,"temperature":"hot"}"#)
            .hasPrefix(#"field "temperature": "hot" is not a number"#))
        #expect(requestMessage(#"{"function":"cross_entropy_loss_backward","batch":[[1]]}"#)
            == #"field "targets": required but missing for cross_entropy_loss_backward"#)
    }

    @Test func encoderRoundTrip() throws {
        let q = OracleRequest(function: .crossEntropyLossBackward, format: .f32, batch: [[1, 2], [0.5, -3]],
                              batchTargets: .indices([1, -100]), reduction: .none,
                              softcap: 30, zLoss: 0x1p-10, temperature: 0.75, gradOutput: [2, -1])
        let line = RequestEncoder.encode(q, id: .number("3"))
        #expect(line.contains(#""grad_output":["0x1p+1","-0x1p+0"]"#) && line.contains(#""softcap":"0x1.ep+4""#))
        #expect(try decoder.decode(line: line).request == q)
    }
}
