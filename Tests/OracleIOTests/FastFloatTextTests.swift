import Foundation
import OracleIO
import SoftmaxOracle
import Testing

/// The logits `RequestServer` reads from `{"function":"logsumexp","logits":[<texts>]}` (the
/// fast numeric-array path), as bit patterns; nil when the line is an error.
private func fastLogits(_ texts: [String]) -> [UInt64]? {
    let line = #"{"function":"logsumexp","logits":["# + texts.joined(separator: ",") + "]}"
    var seen: [Double]?
    _ = RequestServer().respond(to: line) { decoded in
        seen = decoded.request.logits
        return []
    }
    return seen?.map(\.bitPattern)
}

/// `text` as a JSON string literal.
private func jsonString(_ text: String) -> String { "\"" + text + "\"" }

/// The answer line of the fast path and of the generic one (the line parsed as a `JSONValue`,
/// then decoded), for the same request line; the answer echoes the decoded request.
private func bothPaths(_ line: String) -> (fast: String, generic: String) {
    func echo(_ d: DecodedRequest) -> [Double] {
        let r = d.request
        var values = r.logits + (r.batch ?? []).flatMap { $0 } + (r.weight ?? []) + (r.labels ?? []) + (r.posWeight ?? [])
            + [r.labelSmoothing, Double(r.ignoreIndex)]
        if case .probabilities(let p)? = r.target { values += p }
        if case .index(let k)? = r.target { values.append(Double(k)) }
        if case .probabilities(let rows)? = r.batchTargets { values += rows.flatMap { $0 } }
        if case .indices(let k)? = r.batchTargets { values += k.map(Double.init) }
        return values
    }
    let fast = RequestServer().respond(to: line, echo).line
    let generic: String
    do {
        let decoded = try RequestDecoder().decode(line: line)
        generic = ResultEncoder.encode(id: decoded.id, values: echo(decoded))
    } catch {
        generic = ResultEncoder.encode(error)
    }
    return (fast, generic)
}

@Suite("Fast float text: decimal and hex reading, hex writing")
struct FastFloatTextTests {
    /// Python's float() (committed vectors, scripts/gen-float-vectors.py): as JSON numbers and
    /// as strings, every text reads to the same bits.
    @Test func decimalsMatchPython() {
        for (text, bits) in pythonDecimalVectors {
            #expect(HexFloat.parse(text)?.bitPattern == bits, "\(text)")
        }
        let texts = pythonDecimalVectors.map(\.0)
        let expected = pythonDecimalVectors.map(\.1)
        #expect(fastLogits(texts) == expected)
        #expect(fastLogits(texts.map(jsonString)) == expected)
    }

    /// Python's float.fromhex() (committed vectors): strings, one by one and in an array.
    @Test func hexMatchesPython() {
        for (text, bits) in pythonHexVectors {
            #expect(HexFloat.parse(text)?.bitPattern == bits, "\(text)")
        }
        #expect(fastLogits(pythonHexVectors.map { jsonString($0.0) }) == pythonHexVectors.map(\.1))
    }

    /// Random bit patterns: the hex writer's text and the shortest decimal read back to the
    /// same bits, in strings and (decimals) as JSON numbers; and random digit strings read as
    /// glibc's strtod (`Double(_:)`, the exact reader) reads them.
    @Test func randomRoundTrips() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        var finite: [Double] = []
        while finite.count < 20_000 {
            let x = Double(bitPattern: rng.next())
            if x.isFinite { finite.append(x) }
        }
        var failures = 0
        for x in finite where failures < 5 {
            let hex = HexFloat.format(x), decimal = x.description
            if HexFloat.parse(hex)?.bitPattern != x.bitPattern || HexFloat.parse(decimal)?.bitPattern != x.bitPattern {
                failures += 1
                Issue.record("seed \(seed): \(x.bitPattern): \(hex) \(decimal)")
            }
        }
        #expect(fastLogits(finite.map(\.description)) == finite.map(\.bitPattern), "seed \(seed)")
        #expect(fastLogits(finite.map { jsonString(HexFloat.format($0)) }) == finite.map(\.bitPattern), "seed \(seed)")
        // Random digit strings: 1–30 digits, a point somewhere, exponents across the range.
        var texts: [String] = []
        for _ in 0..<20_000 {
            var digits = String(rng.int(1...9))
            for _ in 0..<rng.int(0...29) { digits.append(String(rng.int(0...9))) }
            let point = rng.int(1...digits.count)
            var text = String(digits.prefix(point))
            if point < digits.count { text += "." + digits.dropFirst(point) }
            text += "e" + String(rng.int(-345...310))
            texts.append(rng.oneIn(2) ? "-" + text : text)
        }
        for t in texts where failures < 10 {
            if HexFloat.parse(t)?.bitPattern != Double(t)?.bitPattern {
                failures += 1
                Issue.record("seed \(seed): \(t) reads \(String(describing: HexFloat.parse(t))), strtod \(String(describing: Double(t)))")
            }
        }
        #expect(fastLogits(texts) == texts.map { Double($0)!.bitPattern }, "seed \(seed)")
    }

    /// Through Python itself when it is there: random bit patterns' shortest decimal, decimals of
    /// 1–25 digits and the hex writer's text, read by python3's float() and float.fromhex(),
    /// against the fast reader (strings, and JSON numbers for the decimals).
    @Test(.enabled(if: pythonHas([]), "needs python3")) func randomDecimalsAgainstPython() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        var texts: [String] = []
        for _ in 0..<5_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            texts.append(x.description)
            texts.append(String(format: "%.\(rng.int(1...25))e", x))
            texts.append(HexFloat.format(x))  // the writer's text, through float.fromhex
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fast-float-\(seed).txt")
        try texts.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let script = """
            import struct, sys
            for t in open(sys.argv[1]).read().split():
                x = float.fromhex(t) if 'x' in t else float(t)
                print(struct.unpack('<Q', struct.pack('<d', x))[0])
            """
        let (status, output) = runProcess(["python3", "-c", script, url.path])
        try #require(status == 0, "\(output)")
        let python = output.split(separator: "\n").map { UInt64($0)! }
        #expect(texts.map { HexFloat.parse($0)?.bitPattern } == python, "seed \(seed)")
        let decimals = texts.indices.filter { !texts[$0].contains("x") }
        #expect(fastLogits(decimals.map { texts[$0] }) == decimals.map { python[$0] }, "seed \(seed)")
    }

    /// The writer is byte-identical to C's `%a` for normal numbers and keeps its documented form
    /// elsewhere.
    @Test func writerMatchesPrintf() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        for _ in 0..<20_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isNormal else { continue }
            let c = String(format: "%a", x)
            #expect(HexFloat.format(x) == c, "seed \(seed): \(x.bitPattern)")
        }
        #expect(HexFloat.format(0x1p-1074) == "0x1p-1074")
        #expect(HexFloat.format(-0x1.8p-1070) == "-0x1.8p-1070")
        #expect(HexFloat.format(-0.0) == "-0x0p+0")
        #expect(HexFloat.format(-.infinity) == "-inf")
        #expect(HexFloat.format(-.nan) == "nan")
        #expect(HexFloat.format(0x1p-1000) == "0x1p-1000")
        #expect(HexFloat.format(0x1p+999) == "0x1p+999")
        #expect(HexFloat.format(0x1.fp+9) == "0x1.fp+9")
    }

    /// Lines the fast path reads only in part, or not at all, answer exactly as the generic
    /// path does: values, and errors with their fields and byte offsets.
    @Test func fastAndGenericPathsAgree() {
        let lines = [
            #"{"function":"logsumexp","logits":[1, -2.5e3 ,"0x1.8p+1","inf","-Infinity","nan","+.5","5.","1e400"]}"#,
            #"{"function":"logsumexp","logits":[1,"0x1.g",3]}"#,
            #"{"function":"logsumexp","logits":[1,null]}"#,
            #"{"function":"logsumexp","logits":[1,[2]]}"#,
            #"{"function":"logsumexp","logits":[[1,2],[3]]}"#,
            #"{"function":"logsumexp","logits":[1,"\u0031"]}"#,
            #"{"function":"logsumexp","logits":[1,2,]}"#,
            #"{"function":"logsumexp","logits":[1,02]}"#,
            #"{"function":"logsumexp","logits":[1,2.]}"#,
            #"{"function":"logsumexp","logits":[1,-]}"#,
            #"{"function":"logsumexp","logits":[1 2]}"#,
            #"{"function":"logsumexp","logits":[1,2"#,
            #"{"function":"logsumexp","logits":[]}"#,
            #"{"function":"logsumexp","logits":[1e-400, -0, 0.0, 2.4703282292062328e-324]}"#,
            #"{"id":1.50,"function":"logsumexp","logits":[1,2],"logits":[3]}"#,
            #"{"function":"cross_entropy","batch":[[1,2],[3,4]],"targets":[0,1]}"#,
            #"{"function":"cross_entropy","batch":[[1,2],[3,4]],"targets":[[0.5,0.5],[1,0]]}"#,
            #"{"function":"cross_entropy","batch":[[1,2],[3,"x"]],"targets":[0,1]}"#,
            #"{"function":"cross_entropy","batch":[[1,2],3],"targets":[0,1]}"#,
            #"{"function":"cross_entropy","batch":[[1,2],[3,4]],"targets":[0,1.5]}"#,
            #"{"function":"cross_entropy","logits":[1,2,3],"targets":[0.25,0.75,0]}"#,
            #"{"function":"cross_entropy","logits":[1,2,3],"target":1,"weight":[1,2,"0x1p-2"]}"#,
            #"{"function":"bce_with_logits","logits":[1,2],"labels":[0,1],"pos_weight":[2,3]}"#,
            #"{"function":"bce_with_logits","logits":[1,2],"labels":[0,1],"pos_weight":2}"#,
            #"{"function":"softmax","logits":[1,2],"weight":[1,2]}"#,
            "{\"function\":\"logsumexp\",\"logits\":[1,\"\u{e9}\"]}",
        ]
        for line in lines {
            let (fast, generic) = bothPaths(line)
            #expect(fast == generic, "\(line)")
        }
        // The id is echoed as written, also next to fast arrays.
        #expect(RequestServer().respond(to: #"{"id":"\u00e9","function":"logsumexp","logits":[1,2]}"#) { $0.request.logits }.line
            == #"{"id":"\u00e9","values":["0x1p+0","0x1p+1"]}"#)
        let bad: [UInt8] = Array(#"{"function":"logsumexp","logits":[1,""#.utf8) + [0xFF, 0x22, 0x5D, 0x7D]
        #expect(RequestServer().respond(to: bad) { _ in [] }.line.contains("byte 37"))
    }

    /// The size limit counts the fast arrays exactly as the generic path counts the JSON.
    @Test func sizeLimitCountsFastArrays() {
        var server = RequestServer()
        server.decoder.maxValues = 3
        let line = #"{"function":"logsumexp","logits":[1,2,3,4,5]}"#
        var decoder = RequestDecoder()
        decoder.maxValues = 3
        let generic = (try? decoder.decode(line: line)).map { _ in "decoded" } ?? requestMessage(line, decoder)
        #expect(server.respond(to: line) { _ in [] }.line == ResultEncoder.encode(id: .null, error: generic))
        let rows = #"{"function":"cross_entropy","batch":[[1,2],[3,4]],"targets":[0,1]}"#
        #expect(server.respond(to: rows) { _ in [] }.line.contains("4 values exceed the limit of 3"))
    }
}
