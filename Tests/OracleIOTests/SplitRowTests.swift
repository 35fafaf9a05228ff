@testable import OracleIO
import SoftmaxOracle
import Testing

/// The answer lines of `line` from a server that cuts every float row and every result array
/// it can (FloatRowSplit.swift, ResultEncoder.appendSplit) and from one that never does; the
/// answer echoes the decoded logits (a batch's rows one after another).
private func cutAndWhole(_ line: String) -> (cut: String, whole: String) {
    let echo = { (d: DecodedRequest) -> [Double] in
        guard let batch = d.batch else { return d.request.logits }
        return ((try? batch.requests()) ?? []).flatMap(\.logits)
    }
    var cut = RequestServer()
    cut.splitRowBytes = 1
    cut.splitValues = 1
    var whole = RequestServer()
    whole.splitRowBytes = .max
    whole.splitValues = .max
    return (cut.respond(to: line, echo).line, whole.respond(to: line, echo).line)
}

/// `{"id":1,"function":"softmax","logits":<array>}`.
private func request(_ array: String) -> String { #"{"id":1,"function":"softmax","logits":"# + array + "}" }

/// `["<hex>",…]` of `values`, from ``HexFloat/format(_:)`` (one string per value, not the
/// buffer writer).
private func hexArray(_ values: [Double]) -> String {
    "[" + values.map { "\"" + HexFloat.format($0) + "\"" }.joined(separator: ",") + "]"
}

/// An element spelled one of the ways requests spell floats, with whitespace around it.
private func spelling(_ rng: inout SplitMix64) -> (text: String, value: Double) {
    let x = Double(sign: Bool.random(using: &rng) ? .minus : .plus,
                   exponent: Int.random(in: -30...30, using: &rng),
                   significand: Double.random(in: 1..<2, using: &rng))
    let spaces = ["", " ", "\t", "  "]
    let text: String
    var value = x
    switch Int.random(in: 0..<6, using: &rng) {
    case 0: text = x.description
    case 1: text = "\"" + HexFloat.format(x) + "\""
    case 2: text = "\"" + x.description + "\""
    case 3:
        let k = Int.random(in: -999...999, using: &rng)
        text = String(k)
        value = Double(k)
    case 4:
        let special = ["inf", "-inf", "nan"].randomElement(using: &rng)!
        text = "\"" + special + "\""
        value = special == "nan" ? .nan : special == "inf" ? .infinity : -.infinity
    default:
        text = "\(Int64(x * 1e6))e-6"
        value = Double(text)!
    }
    return (spaces.randomElement(using: &rng)! + text + spaces.randomElement(using: &rng)!, value)
}

@Suite("Float rows and result arrays on two threads")
struct SplitRowTests {
    @Test("a row cut at any comma reads the values one thread reads, for every length from 0 to 40")
    func everyLength() {
        for n in 0...40 {
            let values = (0..<n).map { Double($0) * 1.25 - 7 }
            for array in ["[" + values.map(\.description).joined(separator: ",") + "]",
                          "[ " + values.map(\.description).joined(separator: " ,\t") + " ]",
                          hexArray(values)] {
                let (cut, whole) = cutAndWhole(request(array))
                #expect(cut == whole, "n = \(n): \(array)")
                if n > 0 { #expect(cut == #"{"id":1,"values":"# + hexArray(values) + "}", "n = \(n)") }
            }
        }
    }

    @Test("a bad element in either half, at every index, gets the one-thread error")
    func errorsAtEveryIndex() {
        let bad = [#""x""#, #""a,b""#, #""0x1p+0,""#, "1.", "01", "true", "[1]", "{}", #""]""#, "-", "", "1 2",
                   #""\u0030""#, "null", #""1,]""#]
        for n in [1, 2, 3, 8, 9] {
            for k in 0..<n {
                for b in bad {
                    var texts = (0..<n).map { String($0 + 1) }
                    texts[k] = b
                    let line = request("[" + texts.joined(separator: ",") + "]")
                    let (cut, whole) = cutAndWhole(line)
                    #expect(cut == whole, "\(line)")
                }
            }
        }
        // The index named is the element's own, in either half.
        #expect(cutAndWhole(request(#"[1,2,3,4,5,6,"x",8]"#)).cut
            == #"{"id":1,"error":"field \"logits[6]\": \"x\" is not a number (expected a hex-float or decimal string, \"inf\", \"-inf\", \"nan\", or a JSON number)"}"#)
    }

    @Test("broken syntax around the cut: trailing and doubled commas, an unclosed row, a cut inside a string")
    func brokenSyntax() {
        for array in ["[1,2,3,]", "[1,,2,3]", "[1,2,,3]", "[1,2,3", "[1,2,3,4", "[1,2 3,4]", #"[1,"2,3",4]"#,
                      #"[1,"0x1p+0",,"nan"]"#, "[1,2,3]]", "[[1,2],[3,4],]", "[[1,2],[3,4]", "[[1,2,],[3,4]]",
                      "[[1,2],[3,4,]]", #"[[1,2],["x",4]]"#, "[[1,2],3]"] {
            let (cut, whole) = cutAndWhole(request(array))
            #expect(cut == whole, "\(array)")
            #expect(cut.contains("\"error\""), "\(array): \(cut)")
        }
    }

    @Test("batch rows are each cut, and the answer's rows are each formatted on two threads")
    func nestedRows() {
        let rows = (0..<5).map { r in (0..<7).map { Double(r * 10 + $0) / 8 } }
        for array in ["[" + rows.map { "[" + $0.map(\.description).joined(separator: ",") + "]" }.joined(separator: ",") + "]",
                      "[" + rows.map(hexArray).joined(separator: " , ") + "]"] {
            let (cut, whole) = cutAndWhole(request(array))
            #expect(cut == whole)
            #expect(cut == #"{"id":1,"values":["# + rows.map(hexArray).joined(separator: ",") + "]}")
        }
    }

    @Test("the float limit counts the elements of both halves")
    func limitAcrossHalves() {
        let text = "[" + (1...12).map(String.init).joined(separator: ",") + "]"
        for limit in 0...13 {
            let parse = { (split: Int) -> FastFloatArray? in
                var bytes = Array(request(text).utf8)
                return bytes.withUnsafeMutableBufferPointer { b in
                    try? ParsedLine.parse(UnsafeBufferPointer(b), floatMembers: ["logits"], floatLimit: limit, splitRowBytes: split)
                        .fastArrays.values.first
                }
            }
            let cut = parse(1), whole = parse(.max)
            guard case .flat(let a)? = cut?.values, case .flat(let b)? = whole?.values else {
                Issue.record("limit \(limit): not read as a flat array")
                continue
            }
            #expect(a == b && a == (1...12).prefix(limit).map(Double.init), "limit \(limit)")
            #expect(cut?.count == 12 && cut?.complete == (limit >= 12) && cut?.range == whole?.range, "limit \(limit)")
        }
    }

    @Test("property: random rows, random spellings and whitespace, sometimes one element broken (seed printed)")
    func randomRows() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for round in 0..<300 {
            let n = Int.random(in: 1...60, using: &rng)
            var elements = (0..<n).map { _ in spelling(&rng) }
            let broken = Int.random(in: 0..<4, using: &rng) == 0
            if broken {
                let k = Int.random(in: 0..<n, using: &rng)
                elements[k].text = [#""y""#, "1e", "--1", #""1,2""#, "[", "]", ",", "nul"].randomElement(using: &rng)!
            }
            let line = request("[" + elements.map(\.text).joined(separator: ",") + "]")
            let (cut, whole) = cutAndWhole(line)
            #expect(cut == whole, "seed \(seed), round \(round): \(line)")
            if !broken {
                #expect(cut == #"{"id":1,"values":"# + hexArray(elements.map(\.value)) + "}", "seed \(seed), round \(round): \(line)")
            }
        }
    }

    @Test("property: result arrays formatted on two threads are the one-string-per-value text (seed printed)")
    func randomResults() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for round in 0..<200 {
            let n = Int.random(in: 0...300, using: &rng)
            let values = (0..<n).map { _ -> Double in
                switch Int.random(in: 0..<8, using: &rng) {
                case 0: return [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude].randomElement(using: &rng)!
                default: return Double(bitPattern: rng.next())
                }
            }
            for split in [1, 2, 7, Int.max] {
                let out = ByteBuffer()
                ResultEncoder.append(idText: "1", values: AnswerValues(values), to: out, splitValues: split)
                let text = String(decoding: out.bytes(0..<out.count), as: UTF8.self)
                #expect(text == #"{"id":1,"values":"# + hexArray(values) + "}", "seed \(seed), round \(round), split \(split)")
            }
        }
    }
}
