import Foundation
import GoldenFixtures
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

    @Test("Arrays per function: padded rows with length vectors, one file per array")
    func arrayFiles() throws {
        let dir = TestPaths.scratch("npy-names")
        defer { TestPaths.remove(dir) }
        let names = try Self.writeSmallSet(to: dir)
        #expect(names.contains("softmax.f32.logits.npy") && names.contains("cross_entropy_loss.f32.batch.npy")
                && names.contains("bce_with_logits.f32.pos_weight.npy") && names.contains("cross_entropy.f32.target.npy"))
    }

    @Test("NumPy reads every array back exactly",
          .enabled(if: pythonHas(["numpy"]), "python3 with numpy is not importable here (.ci/run installs it)"))
    func numpyRoundTrip() throws {
        let dir = TestPaths.scratch("npy")
        defer { TestPaths.remove(dir) }
        _ = try Self.writeSmallSet(to: dir)
        // Python reads each JSONL file with float.fromhex and checks the .npy arrays against it.
        let script = #"""
        import json, math, sys, glob, numpy as np
        d = sys.argv[1]
        def same(a, b): return a == b or (math.isnan(a) and math.isnan(b))
        for path in sorted(glob.glob(d + "/*.jsonl")):
            base = path[:-6]
            lines = open(path).read().splitlines()
            header, cases = json.loads(lines[0]), [json.loads(l) for l in lines[1:]]
            load = lambda name: np.load(base + "." + name + ".npy")
            ids, k, exp, n = load("id"), load("k"), load("expected"), load("n_expected")
            assert exp.dtype == np.float64 and k.dtype == np.int64 and len(ids) == len(cases)
            for i, c in enumerate(cases):
                assert ids[i] == c["id"]
                e = [float.fromhex(v) for v in c["expected"]]
                assert n[i] == len(e) and all(same(a, b) for a, b in zip(exp[i, :n[i]], e))
                if header["function"] == "cross_entropy_loss":
                    rows, batch = load("rows"), load("batch")
                    assert rows[i] == len(c["batch"])
                    for r, row in enumerate(c["batch"]):
                        assert all(same(a, float.fromhex(b)) for a, b in zip(batch[i, r, :k[i]], row))
                    assert load("reduction")[i] == c.get("reduction", "mean")
                else:
                    x = [float.fromhex(v) for v in c["logits"]]
                    assert k[i] == len(x) and all(same(a, b) for a, b in zip(load("logits")[i, :k[i]], x))
                    if header["function"] == "cross_entropy":
                        t = load("target")[i]
                        assert t == c.get("target", -1)
                    if header["function"] == "bce_with_logits":
                        z = [float.fromhex(v) for v in c["labels"]]
                        assert all(same(a, b) for a, b in zip(load("labels")[i, :k[i]], z))
                        pw = [float.fromhex(v) for v in c.get("pos_weight", ["0x1p+0"])]
                        pw = pw * len(x) if len(pw) == 1 else pw
                        assert all(same(a, b) for a, b in zip(load("pos_weight")[i, :k[i]], pw))
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
