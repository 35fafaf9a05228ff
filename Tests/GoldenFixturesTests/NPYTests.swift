import Foundation
@testable import GoldenFixtures
import SoftmaxOracle
import Testing

@Suite("NumPy export")
struct NPYTests {
    @Test("Format 1.0: magic, version, header length, a dict padded to 64 bytes, little-endian data")
    func layout() {
        let bytes = NPY.float64([1, -0.0, .infinity], shape: [3])
        #expect(Array(bytes.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0 && bytes.count == 10 + headerLength + 24)
        let dict = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(dict.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }") && dict.hasSuffix(" \n"))
        #expect(Array(bytes[(10 + headerLength)...].prefix(8)) == [0, 0, 0, 0, 0, 0, 0xF0, 0x3F])  // 1.0
        let matrix = NPY.int64([1, -2, 3, 4, 5, 6], shape: [2, 3])
        #expect(Self.dict(matrix).hasPrefix("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(Array(matrix[(matrix.count - 40)..<(matrix.count - 32)]) == [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let strings = NPY.unicode(["ab", "é"])
        #expect(Self.dict(strings).hasPrefix("{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }"))
        #expect(Array(strings.suffix(16)) == [0x61, 0, 0, 0, 0x62, 0, 0, 0, 0xE9, 0, 0, 0, 0, 0, 0, 0])
    }

    /// Writes the small spec's f32 files and their arrays into `dir`; the arrays' file names.
    static func writeSmallSet(to dir: String) throws -> [String] {
        let generator = FixtureGenerator(spec: smallSpec, threads: 2)
        var names: [String] = []
        for function in smallSpec.functions {
            let file = generator.file(function: function, format: .f32)
            try NPYExport.write(file, to: dir)
            TestPaths.write(file.bytes, dir + "/" + file.fileName)
            names += NPYExport.arrays(file).map(\.name)
        }
        return names
    }

    @Test("Arrays per function: flat values with offsets, no padding, no arrays of defaults")
    func arrayFiles() throws {
        let dir = TestPaths.scratch("npy-names")
        defer { TestPaths.remove(dir) }
        let names = Set(try Self.writeSmallSet(to: dir))
        #expect(names.isSuperset(of: ["softmax.f32.logits.npy", "softmax.f32.row_offsets.npy", "softmax.f32.expected_offsets.npy",
                                      "cross_entropy_loss.f32.batch.npy", "cross_entropy_loss.f32.batch_offsets.npy",
                                      "cross_entropy_loss.f32.rows.npy", "bce_with_logits.f32.labels.npy",
                                      "cross_entropy.f32.target.npy"]))
        // Every case of the small spec has labels of its row's length: they share row_offsets.
        #expect(!names.contains("bce_with_logits.f32.labels_offsets.npy"))
        // No label smoothing, no refused case in the small spec: none of those arrays; softmax has
        // only its ids, outputs and rows.
        #expect(!names.contains { $0.hasSuffix(".label_smoothing.npy") || $0.hasSuffix(".expected_error.npy")
                                  || $0.hasSuffix(".n_expected.npy") || $0.hasSuffix(".k.npy") })
        #expect(names.filter { $0.hasPrefix("softmax.") }.sorted()
                == ["expected", "expected_offsets", "id", "logits", "row_offsets"].map { "softmax.f32.\($0).npy" })
        // The values are stored once each: softmax's logits file is 8 bytes per logit plus its header.
        let file = FixtureGenerator(spec: smallSpec, threads: 2).file(function: .softmax, format: .f32)
        let logits = NPYExport.arrays(file).first { $0.name == "softmax.f32.logits.npy" }!.bytes
        #expect(logits.count == 128 + 8 * file.cases.map(\.request.logits.count).reduce(0, +))
    }

    @Test("Offsets: C + 1 int64 from 0 to the value count; optional arrays get their own when ragged")
    func offsets() {
        var arrays = NPYExport.Arrays(base: "x")
        arrays.ragged("weight", [[1.0, 2], nil, [3]], reference: [2, 5, 1])
        arrays.ragged("labels", [[1.0, 2], [3, 4, 5, 6, 7], [8]], reference: [2, 5, 1])
        arrays.ragged("targets", [[Double]?](repeating: nil, count: 3), reference: [2, 5, 1])
        #expect(arrays.files.map(\.name) == ["x.weight.npy", "x.weight_offsets.npy", "x.labels.npy"])
        #expect(arrays.files[1].bytes == NPY.int64([0, 2, 2, 3], shape: [4]))
        #expect(arrays.files[0].bytes == NPY.float64([1, 2, 3], shape: [3]))
    }

    @Test("NumPy reads every array back exactly",
          .enabled(if: pythonHas(["numpy"]), "python3 with numpy is not importable here (.ci/run installs it)"))
    func numpyRoundTrip() throws {
        let dir = TestPaths.scratch("npy")
        defer { TestPaths.remove(dir) }
        _ = try Self.writeSmallSet(to: dir)
        // Python reads each JSONL file with float.fromhex and checks the .npy arrays against it.
        let script = #"""
        import json, math, sys, glob, os, numpy as np
        d = sys.argv[1]
        def same(a, b): return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b)) and len(a) == len(b)
        def floats(v): return [float.fromhex(x) for x in v]
        for path in sorted(glob.glob(d + "/*.jsonl")):
            base = path[:-6]
            lines = open(path).read().splitlines()
            header, cases = json.loads(lines[0]), [json.loads(l) for l in lines[1:]]
            def load(name):
                return np.load(base + "." + name + ".npy") if os.path.exists(base + "." + name + ".npy") else None
            def part(name, i, ref):
                off = load(name + "_offsets")
                off = ref if off is None else off
                return load(name)[off[i]:off[i + 1]]
            ids, exp, eo = load("id"), load("expected"), load("expected_offsets")
            assert exp.dtype == np.float64 and eo.dtype == np.int64 and len(ids) == len(cases) == len(eo) - 1
            assert load("k") is None and load("n_expected") is None
            for i, c in enumerate(cases):
                assert ids[i] == c["id"]
                assert same(list(exp[eo[i]:eo[i + 1]]), floats(c["expected"]))
                if header["function"] == "cross_entropy_loss":
                    rows, bo = load("rows"), load("batch_offsets")
                    assert rows[i] == len(c["batch"])
                    flat = [x for r in c["batch"] for x in floats(r)]
                    assert same(list(load("batch")[bo[i]:bo[i + 1]]), flat)
                    if isinstance(c["targets"][0], int):
                        ref = np.concatenate([[0], np.cumsum(rows)])
                        assert list(part("target", i, ref)) == c["targets"]
                    red = load("reduction")
                    assert (red[i] if red is not None else "mean") == c.get("reduction", "mean")
                else:
                    ro = load("row_offsets")
                    x = floats(c["logits"])
                    assert same(list(load("logits")[ro[i]:ro[i + 1]]), x)
                    if header["function"] == "cross_entropy" and "target" in c:
                        assert load("target")[i] == c["target"]
                    if header["function"] == "bce_with_logits":
                        assert same(list(part("labels", i, ro)), floats(c["labels"]))
                        pw = part("pos_weight", i, ro) if load("pos_weight") is not None else []
                        assert same(list(pw), floats(c.get("pos_weight", [])))
        print("ok")
        """#
        let (status, output) = runProcess(["python3", "-c", script, dir])
        #expect(status == 0 && output.contains("ok"), "\(output)")
    }

    /// The header dictionary of an .npy file.
    static func dict(_ bytes: [UInt8]) -> String {
        String(decoding: bytes[10..<(10 + (Int(bytes[8]) | Int(bytes[9]) << 8))], as: UTF8.self)
    }
}
