import OracleIO
import SoftmaxOracle
import Testing

private let floatHint = #"(expected a hex-float or decimal string, "inf", "-inf", "nan", or a JSON number)"#
private let functionList = OracleFunction.allCases.map(\.rawValue).joined(separator: ", ")

@Suite("Request decoding: happy paths")
struct RequestDecoderHappyTests {
    let decoder = RequestDecoder()

    @Test func softmaxWithEveryFloatSpelling() throws {
        let line = #"{"id":7,"function":"softmax","logits":["0x1.8p+1",-2.5,"inf","-inf","1e400",0,"-0x0p+0",-0,"2.5E-1",1E2,"nan","NaN"]}"#
        let decoded = try decoder.decode(line: line)
        #expect(decoded.id == .number("7"))
        let r = decoded.request
        #expect(r.function == .softmax)
        #expect(r.format == .f64)
        let x = r.logits
        #expect(x.count == 12)
        #expect(Array(x[0..<10]) == [3, -2.5, .infinity, -.infinity, .infinity, 0, 0, 0, 0.25, 100])
        #expect(x[6].sign == .minus && x[7].sign == .minus && x[5].sign == .plus)
        #expect(x[10].isNaN && x[11].isNaN)
        // Defaults of the fields softmax does not use.
        #expect(r.target == nil && r.labelSmoothing == 0 && r.weight == nil && r.labels == nil)
        #expect(r.posWeight == nil && r.batch == nil && r.batchTargets == nil)
        #expect(r.ignoreIndex == -100 && r.reduction == .mean)
    }

    @Test func jsonNumbersRoundToNearest() throws {
        // 2^53 + 1 ties to 2^53 (even), 1e-400 underflows to 0, 2^-1074 from its decimal.
        let line = #"{"function":"logsumexp","logits":[9007199254740993,1e-400,4.9406564584124654e-324,-1e400]}"#
        let x = try decoder.decode(line: line).request.logits
        #expect(x == [pow2(53), 0, pow2(-1074), -.infinity])
    }

    @Test func formatFromLineOrDefault() throws {
        #expect(try decoder.decode(line: #"{"function":"softmax","logits":[]}"#).request.format == .f64)
        let bf16 = RequestDecoder(defaultFormat: .bf16)
        #expect(try bf16.decode(line: #"{"function":"softmax","logits":[1]}"#).request.format == .bf16)
        for format in Format.allCases {
            let line = #"{"function":"softmax","format":"\#(format.rawValue)","logits":[1]}"#
            #expect(try bf16.decode(line: line).request.format == format)
        }
    }

    @Test func everyFunctionNameDecodes() throws {
        for function in OracleFunction.allCases {
            let fields: String
            switch function {
            case .crossEntropy, .crossEntropyGrad: fields = #""logits":[0,1],"target":0"#
            case .bceWithLogits: fields = #""logits":[0],"labels":[1]"#
            case .crossEntropyLoss, .crossEntropyLossBackward: fields = #""batch":[[0,1]],"targets":[1]"#
            case .softmaxBackward, .logSoftmaxBackward: fields = #""logits":[0],"grad_output":[1]"#
            case _ where function.isLinearCrossEntropy: fields = #""hidden":[[1]],"weight":[[1],[2]],"targets":[1]"#
            default: fields = #""logits":[0]"#
            }
            let line = #"{"function":"\#(function.rawValue)",\#(fields)}"#
            #expect(try decoder.decode(line: line).request.function == function)
        }
    }

    @Test func emptyRowIsAllowed() throws {
        // logsumexp of no logits is -inf: the oracle decides; the decoder passes K = 0 on.
        #expect(try decoder.decode(line: #"{"function":"logsumexp","logits":[]}"#).request.logits == [])
    }

    @Test func crossEntropyHardTarget() throws {
        let line = #"{"function":"cross_entropy","logits":[1000,0,-1000],"target":1,"label_smoothing":"0x1p-4","weight":[1,"0.5","0x1p+1"]}"#
        let r = try decoder.decode(line: line).request
        #expect(r.function == .crossEntropy)
        #expect(r.logits == [1000, 0, -1000])
        #expect(r.target == .index(1))
        #expect(r.labelSmoothing == 0.0625)  // 2^-4
        #expect(r.weight == [1, 0.5, 2])
        // Negative and -0 indices are integers; range is the oracle's to check.
        #expect(try decoder.decode(line: #"{"function":"cross_entropy","logits":[0],"target":-1}"#).request.target == .index(-1))
        #expect(try decoder.decode(line: #"{"function":"cross_entropy","logits":[0],"target":-0}"#).request.target == .index(0))
    }

    @Test func crossEntropyProbabilityTargets() throws {
        let line = #"{"function":"cross_entropy_grad","logits":[0,0],"targets":["0x1p-1",0.5]}"#
        let r = try decoder.decode(line: line).request
        #expect(r.function == .crossEntropyGrad)
        #expect(r.target == .probabilities([0.5, 0.5]))
        #expect(try decoder.decode(line: #"{"function":"cross_entropy","logits":[],"targets":[]}"#).request.target == .probabilities([]))
    }

    @Test func bceWithLogits() throws {
        let scalar = try decoder.decode(line: #"{"function":"bce_with_logits","logits":[1,2],"labels":[0,"1"],"pos_weight":"3"}"#).request
        #expect(scalar.labels == [0, 1])
        #expect(scalar.posWeight == [3])
        let number = try decoder.decode(line: #"{"function":"bce_with_logits","logits":[1],"labels":[1],"pos_weight":0.5}"#).request
        #expect(number.posWeight == [0.5])
        let array = try decoder.decode(line: #"{"function":"bce_with_logits","logits":[1,2],"labels":[1,1],"pos_weight":[2,"0x1.8p+1"]}"#).request
        #expect(array.posWeight == [2, 3])
    }

    @Test func batchLossWithIndices() throws {
        let line = #"{"function":"cross_entropy_loss","batch":[[1,2],["0x1p+0","-inf"]],"targets":[1,-100],"weight":[1,2],"ignore_index":-100,"reduction":"sum","label_smoothing":0.25}"#
        let r = try decoder.decode(line: line).request
        #expect(r.function == .crossEntropyLoss)
        #expect(r.batch == [[1, 2], [1, -.infinity]])
        #expect(r.batchTargets == .indices([1, -100]))
        #expect(r.weight == [1, 2])
        #expect(r.ignoreIndex == -100)
        #expect(r.reduction == .sum)
        #expect(r.labelSmoothing == 0.25)
        #expect(r.logits == [])
        for reduction in Reduction.allCases {
            let line = #"{"function":"cross_entropy_loss","batch":[],"targets":[],"reduction":"\#(reduction.rawValue)","ignore_index":3}"#
            let r = try decoder.decode(line: line).request
            #expect(r.reduction == reduction)
            #expect(r.ignoreIndex == 3)
            #expect(r.batchTargets == .indices([]))
        }
    }

    @Test func batchLossWithProbabilities() throws {
        let line = #"{"function":"cross_entropy_loss","batch":[[0,0],[1,2]],"targets":[[0.5,"0x1p-1"],[1,0]]}"#
        let r = try decoder.decode(line: line).request
        #expect(r.batchTargets == .probabilities([[0.5, 0.5], [1, 0]]))
        #expect(r.reduction == .mean)
    }

    @Test func crossEntropyWithBatchIsTheBatchLoss() throws {
        let line = #"{"function":"cross_entropy","batch":[[0,1]],"targets":[0],"reduction":"none"}"#
        let r = try decoder.decode(line: line).request
        #expect(r.function == .crossEntropyLoss)
        #expect(r.batch == [[0, 1]])
        #expect(r.batchTargets == .indices([0]))
        #expect(r.reduction == .none)
    }

    @Test func idIsKeptVerbatim() throws {
        let ids = [#"{"b":[1,2.50],"a":"x\"y"}"#, "1.50", "-0", "1E+2", #""row-17""#, "null", "[]", "true"]
        for id in ids {
            let decoded = try decoder.decode(line: #"{"function":"softmax","id":\#(id),"logits":[1]}"#)
            #expect(decoded.id.serialized == id)
        }
        #expect(try decoder.decode(line: #"{"function":"softmax","logits":[1]}"#).id == .null)
    }

    @Test func whitespaceAndCarriageReturnAreFine() throws {
        let line = "  {\"function\" : \"softmax\" ,\n \"logits\" : [ 1 , 2 ] }\r"
        #expect(try decoder.decode(line: line).request.logits == [1, 2])
    }

    @Test func decodeFromParsedValue() throws {
        let value = JSONValue.object([("function", .string("sigmoid")), ("logits", .array([.string("0x1p+0")]))])
        let decoded = try decoder.decode(value)
        #expect(decoded.request == OracleRequest(function: .sigmoid, logits: [1]))
    }

    @Test func longRowsDecode() throws {
        // 100 000 logits: k · 2^-10 for k = 0..<100 000, all exact, written as hex floats.
        let count = 100_000
        let values = (0..<count).map { Double($0) * pow2(-10) }
        let line = #"{"function":"softmax","logits":["# + values.map { "\"\(HexFloat.format($0))\"" }.joined(separator: ",") + "]}"
        #expect(try decoder.decode(line: line).request.logits == values)
    }
}

@Suite("Request decoding: malformed input")
struct RequestDecoderErrorTests {
    let decoder = RequestDecoder()

    @Test func invalidJSONHasNullIdAndOffset() {
        let line = #"{"id":1,"function":"softmax","logits":[1,2,]}"#
        let error = requestError(line)
        #expect(error?.id == .null)
        #expect(error?.field == nil)
        #expect(error?.jsonError?.offset == 43)  // the ']' after the trailing comma
        #expect(error?.description == "invalid JSON at byte 43: expected a JSON value after ',' (trailing commas are not allowed), found ']'")
        // Cut short, bad literal, bad string, empty line.
        #expect(requestError(#"{"id":1,"function":"#)?.jsonError?.offset == 19)
        #expect(requestError(#"{"id":1,"function":"softmax","logits":[nan]}"#)?.jsonError?.offset == 40)  // "na" is not "nu"
        #expect(requestError(#"{"id":1,"function":"soft"#)?.jsonError?.expected == "'\"' to close the string")
        #expect(requestError("")?.jsonError?.offset == 0)
        #expect(requestError(#"{"id":1}{"id":2}"#)?.jsonError?.offset == 8)
    }

    @Test func notAnObject() {
        #expect(requestMessage("[1]") == "a request must be a JSON object, found an array")
        #expect(requestMessage(#""softmax""#) == "a request must be a JSON object, found a string")
        #expect(requestMessage("null") == "a request must be a JSON object, found null")
        #expect(requestError("42")?.id == .null)
    }

    @Test func badFloatsNameTheElement() {
        #expect(requestMessage(#"{"function":"softmax","logits":[0,1,2,"0x1.g"]}"#)
            == #"field "logits[3]": "0x1.g" is not a number \#(floatHint)"#)
        for (bad, shown) in [("true", "true"), ("null", "null"), ("[1]", "[1]"), (#"{"a":1}"#, #"{"a":1}"#),
                             (#""""#, #""""#), (#"" 1""#, #"" 1""#), (#""nan(1)""#, #""nan(1)""#),
                             (#""1e""#, #""1e""#), (#""0x""#, #""0x""#), (#""infinity junk""#, #""infinity junk""#)] {
            #expect(requestMessage(#"{"function":"softmax","logits":[1,\#(bad)]}"#)
                == #"field "logits[1]": \#(shown) is not a number \#(floatHint)"#)
        }
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"target":0,"label_smoothing":"x"}"#)
            == #"field "label_smoothing": "x" is not a number \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"target":0,"weight":[1,false]}"#)
            == #"field "weight[1]": false is not a number \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"targets":["0x1p"]}"#)
            == #"field "targets[0]": "0x1p" is not a number \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"bce_with_logits","logits":[1],"labels":[{}]}"#)
            == #"field "labels[0]": {} is not a number \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"bce_with_logits","logits":[1],"labels":[1],"pos_weight":[1,"q"]}"#)
            == #"field "pos_weight[1]": "q" is not a number \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"bce_with_logits","logits":[1],"labels":[1],"pos_weight":true}"#)
            == #"field "pos_weight": true is not a number or an array of numbers \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[1],[2,"x"]],"targets":[0,0]}"#)
            == #"field "batch[1][1]": "x" is not a number \#(floatHint)"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[0]],"targets":[[0.5],["y"]]}"#)
            == #"field "targets[1][0]": "y" is not a number \#(floatHint)"#)
    }

    @Test func longOffendingValuesAreCut() {
        let long = String(repeating: "z", count: 200)
        let message = requestMessage(#"{"function":"softmax","logits":["\#(long)"]}"#)
        #expect(message.hasPrefix(#"field "logits[0]": "zzz"#))
        #expect(message.contains("…"))
        #expect(message.count < 200)
    }

    @Test func wrongContainerTypes() {
        #expect(requestMessage(#"{"function":"softmax","logits":"1"}"#) == #"field "logits": "1" is not an array of numbers"#)
        #expect(requestMessage(#"{"function":"softmax","logits":{"0":1}}"#) == #"field "logits": {"0":1} is not an array of numbers"#)
        #expect(requestMessage(#"{"function":"softmax","logits":null}"#) == #"field "logits": null is not an array of numbers"#)
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"target":0,"weight":3}"#)
            == #"field "weight": 3 is not an array of numbers"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[1,2],"targets":[0]}"#)
            == #"field "batch[0]": 1 is not an array of numbers"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":{},"targets":[0]}"#)
            == #"field "batch": {} is not an array of arrays of numbers"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[0]],"targets":"0"}"#)
            == #"field "targets": "0" is not an array of class indices or of probability rows"#)
    }

    @Test func unknownFunction() {
        #expect(requestMessage(#"{"function":"softmaxx","logits":[1]}"#)
            == #"field "function": unknown function "softmaxx" (expected one of: \#(functionList))"#)
        #expect(functionList.hasPrefix("logsumexp, softmax, log_softmax, cross_entropy"))
        #expect(requestMessage(#"{"function":"Softmax","logits":[1]}"#).contains(#"unknown function "Softmax""#))
        #expect(requestMessage(#"{"function":3,"logits":[1]}"#)
            == #"field "function": 3 is not a string (expected one of: \#(functionList))"#)
        #expect(requestMessage(#"{"logits":[1]}"#)
            == #"field "function": required but missing (expected one of: \#(functionList))"#)
    }

    @Test func unknownFormat() {
        #expect(requestMessage(#"{"function":"softmax","format":"fp8","logits":[1]}"#)
            == #"field "format": unknown format "fp8" (expected one of: f64, f32, f16, bf16, e5m2, e4m3fn)"#)
        #expect(requestMessage(#"{"function":"softmax","format":"F64","logits":[1]}"#)
            == #"field "format": unknown format "F64" (expected one of: f64, f32, f16, bf16, e5m2, e4m3fn)"#)
        #expect(requestMessage(#"{"function":"softmax","format":null,"logits":[1]}"#)
            == #"field "format": null is not a string (expected one of: f64, f32, f16, bf16, e5m2, e4m3fn)"#)
    }

    @Test func unknownReduction() {
        let base = #"{"function":"cross_entropy_loss","batch":[[0]],"targets":[0],"reduction":"#
        #expect(requestMessage(base + #""avg"}"#) == #"field "reduction": unknown reduction "avg" (expected one of: none, sum, mean)"#)
        #expect(requestMessage(base + #"1}"#) == #"field "reduction": 1 is not a string (expected one of: none, sum, mean)"#)
    }

    @Test func nonIntegers() {
        let ce = #"{"function":"cross_entropy","logits":[1,2],"target":"#
        #expect(requestMessage(ce + "1.5}") == #"field "target": 1.5 is not an integer"#)
        #expect(requestMessage(ce + "1.0}") == #"field "target": 1.0 is not an integer"#)
        #expect(requestMessage(ce + "1e0}") == #"field "target": 1e0 is not an integer"#)
        #expect(requestMessage(ce + #""1"}"#) == #"field "target": "1" is not an integer"#)
        #expect(requestMessage(ce + "[1]}") == #"field "target": [1] is not an integer"#)
        #expect(requestMessage(ce + "null}") == #"field "target": null is not an integer"#)
        // 2^63 = 9223372036854775808 is one past Int.max.
        #expect(requestMessage(ce + "9223372036854775808}")
            == #"field "target": 9223372036854775808 is out of the range of a 64-bit integer"#)
        #expect(requestMessage(ce + "9223372036854775807}") == "decoded")
        let loss = #"{"function":"cross_entropy_loss","batch":[[0],[0]],"#
        #expect(requestMessage(loss + #""targets":[0,1.5]}"#) == #"field "targets[1]": 1.5 is not an integer"#)
        #expect(requestMessage(loss + #""targets":[0,[0.5]]}"#)
            == #"field "targets[1]": [0.5] is an array, but targets[0] is a class index (give all indices or all probability rows)"#)
        #expect(requestMessage(loss + #""targets":[[0.5],1]}"#) == #"field "targets[1]": 1 is not an array of numbers"#)
        #expect(requestMessage(loss + #""targets":[0,0],"ignore_index":-1.5}"#) == #"field "ignore_index": -1.5 is not an integer"#)
        #expect(requestMessage(loss + #""targets":[0,0],"ignore_index":"-100"}"#) == #"field "ignore_index": "-100" is not an integer"#)
    }

    @Test func unknownAndDuplicateFields() {
        let fieldList = RequestField.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(requestMessage(#"{"function":"softmax","logit":[1]}"#)
            == #"field "logit": unknown field (did you mean "logits"?); the fields are: \#(fieldList)"#)
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[1],"target":0,"labelSmoothing":0.1}"#)
            .hasPrefix(#"field "labelSmoothing": unknown field (did you mean "label_smoothing"?)"#))
        #expect(requestMessage(#"{"function":"softmax","logits":[1],"heat":2}"#)
            == #"field "heat": unknown field; the fields are: \#(fieldList)"#)
        #expect(requestMessage(#"{"function":"softmax","logits":[1],"Logits":[2]}"#).hasPrefix(#"field "Logits": unknown field (did you mean "logits"?)"#))
        #expect(requestMessage(#"{"function":"softmax","logits":[1],"logits":[2]}"#) == #"field "logits": appears more than once"#)
        #expect(requestMessage(#"{"id":1,"id":2,"function":"softmax","logits":[1]}"#) == #"field "id": appears more than once"#)
    }

    @Test func fieldsTheFunctionDoesNotUse() {
        #expect(requestMessage(#"{"function":"softmax","logits":[1],"target":0}"#)
            == #"field "target": not used by softmax, which takes: logits"#)
        #expect(requestMessage(#"{"function":"sigmoid","logits":[1],"labels":[0]}"#)
            == #"field "labels": not used by sigmoid, which takes: logits"#)
        #expect(requestMessage(#"{"function":"bce_with_logits","logits":[1],"labels":[0],"target":0}"#)
            == #"field "target": not used by bce_with_logits, which takes: logits, labels, pos_weight, weight"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[0]],"target":0}"#)
            == #"field "target": not used by cross_entropy_loss, which takes: batch, targets, weight, ignore_index, reduction, label_smoothing, softcap, z_loss, temperature (give "targets": one class index per row)"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","logits":[0],"targets":[0]}"#)
            .hasSuffix(#"(the rows go in "batch")"#))
        #expect(requestMessage(#"{"function":"cross_entropy","batch":[[0]],"targets":[0],"target":0}"#)
            .hasPrefix(#"field "target": not used by cross_entropy with "batch" (the batch loss, cross_entropy_loss)"#))
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[0],"batch":[[0]],"target":0}"#)
            == #"field "batch": give either "logits" (one row) or "batch" (the batch loss), not both"#)
        #expect(requestMessage(#"{"function":"softmax","batch":[[0]]}"#)
            == #"field "batch": not used by softmax, which takes: logits"#)
        #expect(requestMessage(#"{"function":"cross_entropy_grad","logits":[0],"target":0,"ignore_index":1}"#)
            == #"field "ignore_index": not used by cross_entropy_grad, which takes: logits, target, targets, label_smoothing, weight, softcap, z_loss, temperature"#)
    }

    @Test func missingRequiredFields() {
        #expect(requestMessage(#"{"function":"softmax"}"#) == #"field "logits": required but missing for softmax"#)
        #expect(requestMessage(#"{"function":"cross_entropy","target":0}"#) == #"field "logits": required but missing for cross_entropy"#)
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[0]}"#)
            == #"field "target": required but missing for cross_entropy (give "target": a class index, or "targets": one probability per class)"#)
        #expect(requestMessage(#"{"function":"cross_entropy_grad","logits":[0],"target":0,"targets":[1]}"#)
            == #"field "targets": give either "target" (a class index) or "targets" (probabilities), not both"#)
        #expect(requestMessage(#"{"function":"bce_with_logits","logits":[0]}"#) == #"field "labels": required but missing for bce_with_logits"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","targets":[0]}"#) == #"field "batch": required but missing for cross_entropy_loss"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[0]]}"#) == #"field "targets": required but missing for cross_entropy_loss"#)
        #expect(requestMessage(#"{"function":"cross_entropy","batch":[[0]]}"#)
            == #"field "targets": required but missing for cross_entropy with "batch" (the batch loss, cross_entropy_loss)"#)
    }

    @Test func valueLimits() {
        #expect(RequestDecoder.defaultMaxValues == 10_000_000)
        #expect(RequestDecoder().maxValues == 10_000_000)
        let small = RequestDecoder(maxValues: 10)
        let twelve = Array(repeating: "1", count: 12).joined(separator: ",")
        let six = Array(repeating: "1", count: 6).joined(separator: ",")
        #expect(requestMessage(#"{"function":"softmax","logits":[\#(twelve)]}"#, small)
            == #"field "logits": 12 values exceed the limit of 10"#)
        // The limit is checked before any value is converted: a bad element does not matter yet.
        #expect(requestMessage(#"{"function":"softmax","logits":[\#(twelve),"bad"]}"#, small)
            == #"field "logits": 13 values exceed the limit of 10"#)
        #expect(requestMessage(#"{"function":"cross_entropy","logits":[\#(six)],"weight":[\#(six)],"target":0}"#, small)
            == #"field "weight": 6 values bring the request to 12 values, over the limit of 10"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[1,2,3,4],[1,2,3,4],[1,2,3,4]],"targets":[0,0,0]}"#, small)
            == #"field "batch": 12 values exceed the limit of 10"#)
        #expect(requestMessage(#"{"function":"cross_entropy_loss","batch":[[1,2,3],[1,2,3]],"targets":[[1,0,0],[1,0,0]]}"#, small)
            == #"field "targets": 6 values bring the request to 12 values, over the limit of 10"#)
        // Exactly at the limit is fine.
        let ten = Array(repeating: "1", count: 10).joined(separator: ",")
        #expect(requestMessage(#"{"function":"softmax","logits":[\#(ten)]}"#, small) == "decoded")
        // And the line length.
        let shortLines = RequestDecoder(maxLineBytes: 20)
        let line = #"{"function":"softmax","logits":[1]}"#
        #expect(requestMessage(line, shortLines) == "the line has \(line.utf8.count) bytes, over the limit of 20")
    }

    @Test func idIsRecoveredFromBadRequests() {
        let cases = [
            #"{"id":"abc","function":"softmaxx","logits":[1]}"#,
            #"{"function":"softmax","logits":[1,"x"],"id":"abc"}"#,
            #"{"logit":[1],"id":"abc"}"#,
            #"{"id":"abc"}"#,
            #"{"id":"abc","function":"cross_entropy","logits":[1],"target":1.5}"#,
        ]
        for line in cases {
            #expect(requestError(line)?.id == .string("abc"), "\(line)")
        }
        let nested = #"{"id":{"run":3,"rows":[1.50,"x"]},"function":"softmax"}"#
        #expect(requestError(nested)?.id.serialized == #"{"run":3,"rows":[1.50,"x"]}"#)
        // The error line echoes it, id first.
        let error = requestError(#"{"id":"abc","function":"softmaxx","logits":[1]}"#)!
        #expect(ResultEncoder.encode(error)
            == #"{"id":"abc","error":"field \"function\": unknown function \"softmaxx\" (expected one of: \#(functionList))"}"#)
        #expect(ResultEncoder.encode(requestError("{")!)
            == #"{"id":null,"error":"invalid JSON at byte 1: expected a member name string, found end of input"}"#)
    }
}

@Suite("Request encoding")
struct RequestEncoderTests {
    @Test func knownLine() {
        let r = OracleRequest(function: .softmax, format: .f16, logits: [3, -.infinity, -0.0])
        #expect(RequestEncoder.encode(r, id: .number(1))
            == #"{"id":1,"function":"softmax","format":"f16","logits":["0x1.8p+1","-inf","-0x0p+0"]}"#)
        let loss = OracleRequest(function: .crossEntropyLoss, batch: [[1]], batchTargets: .indices([0]), ignoreIndex: 2, reduction: .sum)
        #expect(RequestEncoder.encode(loss)
            == #"{"id":null,"function":"cross_entropy_loss","format":"f64","batch":[["0x1p+0"]],"targets":[0],"ignore_index":2,"reduction":"sum"}"#)
    }

    @Test func roundTripsThroughTheDecoder() throws {
        let requests: [OracleRequest] = [
            OracleRequest(function: .logsumexp, logits: []),
            OracleRequest(function: .logSoftmax, format: .e4m3fn, logits: [pow2(-1074), -pow2(1023), 0.1]),
            OracleRequest(function: .crossEntropy, format: .bf16, logits: [1000, 0, -1000], target: .index(1),
                          labelSmoothing: 0.125, weight: [1, 2, 3]),
            OracleRequest(function: .crossEntropyGrad, logits: [0, 1], target: .probabilities([0.25, 0.75])),
            OracleRequest(function: .bceWithLogits, format: .e5m2, logits: [-1, 1], labels: [0, 1], posWeight: [3]),
            OracleRequest(function: .softplus, logits: [.infinity, -.infinity]),
            OracleRequest(function: .crossEntropyLoss, format: .f32, labelSmoothing: 0.5, weight: [1, 1],
                          batch: [[0, 1], [2, 3]], batchTargets: .probabilities([[0.5, 0.5], [1, 0]]),
                          ignoreIndex: -7, reduction: .none),
        ]
        let decoder = RequestDecoder(defaultFormat: .f16)  // every line carries its format
        for (k, r) in requests.enumerated() {
            let id = JSONValue.object([("k", .number(k))])
            let decoded = try decoder.decode(line: RequestEncoder.encode(r, id: id))
            #expect(decoded.id == id)
            #expect(decoded.request == r)
        }
    }
}

@Suite("Request decoding: grad_output")
struct GradOutputDecodingTests {
    let decoder = RequestDecoder()

    @Test("grad_output decodes, encodes back, and is refused where it is not used")
    func roundTrip() throws {
        let line = #"{"function":"softmax_backward","logits":[0,"0x1p-1074"],"grad_output":["-0x1.8p+1",2]}"#
        let r = try decoder.decode(line: line).request
        #expect(r.function == .softmaxBackward && r.gradOutput == [-3, 2])
        #expect(try decoder.decode(line: RequestEncoder.encode(r)).request == r)
        let wrong = #"{"function":"softmax","logits":[0],"grad_output":[1]}"#
        #expect(throws: RequestError.self) { try decoder.decode(line: wrong) }
        let bad = #"{"function":"log_softmax_backward","logits":[0],"grad_output":["x"]}"#
        #expect(throws: RequestError.self) { try decoder.decode(line: bad) }
    }
}
