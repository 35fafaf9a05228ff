import AccuracyHarness
import GoldenFixtures
import OracleIO
import SoftmaxOracle
import Testing

/// A small spec that still has every kind of request (row, loss, elementwise with labels, batch).
let smallSpec = FixtureSpec(
    seed: 7, functions: [.softmax, .crossEntropy, .bceWithLogits, .crossEntropyLoss], formats: [.f32, .e4m3fn],
    families: [.normalSmall, .nan, .dominantTarget, .singleLogit], casesPerFamily: 3, maxK: 32)

@Suite("Generate, shard, merge")
struct GenerateMergeTests {
    @Test("Files: header first, one line per case, the request as eval reads it plus expected")
    func fileLayout() throws {
        let file = FixtureGenerator(spec: smallSpec, threads: 2).file(function: .crossEntropy, format: .f32)
        let text = try FixtureText(bytes: file.bytes, path: "x")
        #expect(text.header.function == .crossEntropy && text.header.format == .f32 && text.header.seed == 7)
        #expect(text.header.totalCases == 12 && text.lines.count == 12 && text.header.shard == nil)
        #expect(text.headerLine.hasPrefix(#"{"schema":"softmax-oracle.fixtures/1","function":"cross_entropy","format":"f32","seed":7,"cases":12,"families":[{"family":"normal_small","indices":["#))
        #expect(text.headerLine.contains(#""oracle":{"package":"softmax-oracle 0.1.0","mpfr":""#))
        for (k, line) in text.lines.enumerated() {
            let value = try JSONValue.parse(line)
            let names = value.objectMembers!.map(\.0)
            #expect(Array(names.prefix(3)) == ["id", "function", "format"] && names.last == "expected")
            // Without "expected", the line is a request eval answers with exactly those values.
            let request = JSONValue.object(value.objectMembers!.filter { $0.0 != "expected" })
            let decoded = try RequestDecoder().decode(request)
            let values = try Oracle().evaluate(decoded.request).rounded
            #expect(ResultEncoder.encode(id: decoded.id, values: values)
                    == #"{"id":"# + value["id"]!.serialized + #","values":"# + value["expected"]!.serialized + "}")
            #expect(value["id"]!.stringValue == text.header.keysInFile[k].description)
        }
    }

    @Test("The same spec gives the same bytes whatever the thread count")
    func deterministic() {
        let a = FixtureGenerator(spec: smallSpec, threads: 1).file(function: .crossEntropyLoss, format: .e4m3fn).bytes
        let b = FixtureGenerator(spec: smallSpec, threads: 4).file(function: .crossEntropyLoss, format: .e4m3fn).bytes
        #expect(a == b && !a.isEmpty)
    }

    @Test("max_k: every family skips long rows, large_k too unless --family-cases names it")
    func maxKEveryFamily() {
        var spec = smallSpec
        spec.families = [.uniformWide, .largeK]
        let header = spec.header(function: .softmax, format: .f32, shard: nil)
        #expect(header.families.map(\.indices) == [header.families[0].indices, []])
        #expect(header.families[0].indices.count == 3)
        spec.maxK = 10_000
        #expect(spec.header(function: .softmax, format: .f32, shard: nil).families[1].indices == [0, 1, 3])
    }

    @Test("max_k: long rows are skipped for the next indices (recorded); a large_k named in familyCases keeps them")
    func maxK() {
        var spec = smallSpec
        spec.families = [.uniformWide, .largeK]
        spec.familyCases = [.largeK: 1]
        let header = spec.header(function: .softmax, format: .f32, shard: nil)
        let generator = CaseGenerator(seed: spec.seed)
        for key in header.allKeys {
            let k = generator.makeCase(key).k
            #expect(key.family == .largeK ? k == 1000 : k <= 32)
        }
        #expect(header.families.map(\.indices.count) == [3, 1])
        #expect(header.json["max_k"] == .number("32"))
    }

    @Test("Shards I/N merge into exactly the bytes of one run (any N, shards empty or not)")
    func shardsMerge() throws {
        let whole = TestPaths.scratch("whole")
        let shards = TestPaths.scratch("shards")
        let merged = TestPaths.scratch("merged")
        defer { [whole, shards, merged].forEach(TestPaths.remove) }
        var spec = smallSpec
        spec.functions = [.softmax, .crossEntropyLoss]
        let written = try FixtureGenerator(spec: spec, threads: 2).write(to: whole)
        #expect(written.count == 4)
        for n in [1, 3, 13] {  // 13 > the 12 cases: one shard holds no case
            let dir = shards + "/\(n)"
            for i in 0..<n {
                try FixtureGenerator(spec: spec, threads: 2).write(to: dir, shard: Shard(index: i, count: n))
            }
            if n == 3 {
                let names = try AtomicFile.list(dir)
                #expect(names.contains("softmax.f32.shard-0-of-3.jsonl") && names.count == 12)
                let part = try FixtureText(path: dir + "/softmax.f32.shard-1-of-3.jsonl")
                #expect(part.header.shard == Shard(index: 1, count: 3) && part.lines.count == 4)
                #expect(part.headerLine.hasSuffix(#""shard":{"index":1,"count":3,"cases":4}}"#))
            }
            let out = merged + "/\(n)"
            try FixtureMerger.write([dir], to: out)
            for w in written {
                let name = String(w.path.split(separator: "/").last!)
                #expect(TestPaths.bytes(out + "/" + name) == TestPaths.bytes(w.path), "\(n) shards: \(name)")
            }
        }
    }

    @Test("Merge refuses missing, duplicate and foreign shards, naming them")
    func mergeErrors() throws {
        let dir = TestPaths.scratch("bad-shards")
        let other = TestPaths.scratch("other-seed")
        defer { TestPaths.remove(dir); TestPaths.remove(other) }
        var spec = smallSpec
        spec.functions = [.softmax]
        spec.formats = [.f32]
        for i in [0, 2] { try FixtureGenerator(spec: spec).write(to: dir, shard: Shard(index: i, count: 3)) }
        #expect(throws: FixtureError("softmax.f32: shard 1 of 3 missing (found 0, 2)")) {
            try FixtureMerger.merge([dir])
        }
        var reseeded = spec
        reseeded.seed = 8
        try FixtureGenerator(spec: reseeded).write(to: other, shard: Shard(index: 1, count: 3))
        let error = #expect(throws: FixtureError.self) { try FixtureMerger.merge([dir, other]) }
        #expect(error?.message.contains(#"header member "seed": 7 vs 8"#) == true || error?.message.contains(#""seed": 8 vs 7"#) == true,
                "\(error?.message ?? "")")
        let duplicate = #expect(throws: FixtureError.self) { try FixtureMerger.merge([dir, dir + "/softmax.f32.shard-0-of-3.jsonl"]) }
        #expect(duplicate?.message.contains("shard 0/3 is given twice") == true)
    }

    @Test("--shard parsing: I/N with 0 <= I < N, clear messages otherwise")
    func shardParsing() throws {
        #expect(try Shard(parsing: "0/4") == Shard(index: 0, count: 4))
        #expect(try Shard(parsing: "3/4") == Shard(index: 3, count: 4))
        for bad in ["3/2", "2/2", "-1/2", "1/0", "a/b", "1", "1/2/3", ""] {
            let error = #expect(throws: FixtureError.self) { try Shard(parsing: bad) }
            #expect(error?.message.hasPrefix("--shard \"\(bad)\"") == true)
        }
        #expect(Shard(index: 2, count: 5).size(total: 12) == 2 && Shard(index: 1, count: 5).size(total: 12) == 3)
        #expect(Shard(index: 12, count: 13).size(total: 12) == 0)
    }

    @Test("Writing: temporary name then rename, no stray files; an unwritable directory is a clear error")
    func atomicWrites() throws {
        let dir = TestPaths.scratch("atomic")
        defer { TestPaths.remove(dir) }
        try AtomicFile.write("hello\n", to: dir + "/a.txt")
        try AtomicFile.write("again\n", to: dir + "/a.txt")
        #expect(try AtomicFile.list(dir) == ["a.txt"])
        #expect(TestPaths.bytes(dir + "/a.txt") == Array("again\n".utf8))
        TestPaths.write([1], dir + "/file")
        let error = #expect(throws: FixtureError.self) {
            try FixtureGenerator(spec: smallSpec).write(to: dir + "/file/sub")
        }
        #expect(error?.message.hasPrefix("cannot create directory \(dir)/file") == true, "\(error?.message ?? "")")
        if getuid() != 0 {  // root writes anywhere
            let error2 = #expect(throws: FixtureError.self) { try AtomicFile.write("x", to: "/proc/golden-test/x") }
            #expect(error2?.message.hasPrefix("cannot write /proc/golden-test/x") == true)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
