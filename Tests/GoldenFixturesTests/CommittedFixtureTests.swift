import AccuracyHarness
import GoldenFixtures
import SoftmaxOracle
import Testing

/// The committed set under Fixtures/golden: it re-certifies, it is what the committed spec
/// regenerates byte for byte, it covers every function × format × family, and it is small.
@Suite("Committed fixtures")
struct CommittedFixtureTests {
    static let spec = FixtureSpec.committed

    @Test("Every expected value of the committed set is the oracle's certified value; inputs regenerate; lines are canonical")
    func committedSetVerifies() throws {
        let report = try FixtureVerifier().verify([TestPaths.golden])
        #expect(report.passed, "\(report.problems.prefix(10).map(\.description).joined(separator: "\n"))")
        #expect(report.files == Self.spec.files.count)
        #expect(report.cases > 2_500 && report.values > 50_000)
    }

    @Test("The committed files are exactly the committed spec's files, and cover every function × format × family")
    func coverage() throws {
        let names = try AtomicFile.list(TestPaths.golden).filter { $0.hasSuffix(".jsonl") }
        let expected = Self.spec.files.map { FixtureSpec.fileName(function: $0.function, format: $0.format, shard: nil) }
        #expect(names.sorted() == expected.sorted())
        #expect(Self.spec.files.count == OracleFunction.fixtureFunctions.count * Format.allCases.count)
        for name in expected {
            let text = try FixtureText(path: TestPaths.golden + "/" + name)
            #expect(text.header.families.map(\.family) == Family.allCases, "\(name)")
            for f in text.header.families {
                #expect(!f.indices.isEmpty, "\(name): no case of \(f.family)")
                #expect(f.indices.count == (f.family == .largeK ? 1 : 3), "\(name): \(f.family)")
            }
            #expect(text.header.seed == FixtureSchema.defaultSeed && text.header.maxK == 64)
            #expect(text.header.oracle.package == FixtureSchema.packageVersion)
        }
    }

    @Test("Regenerating with the committed seed gives byte-identical files")
    func regeneratesByteIdentically() throws {
        let generator = CaseGenerator(seed: Self.spec.seed, options: Self.spec.generatorOptions)
        for (function, format) in Self.spec.files {
            let path = TestPaths.golden + "/" + FixtureSpec.fileName(function: function, format: format, shard: nil)
            let committed = TestPaths.bytes(path)
            let text = try FixtureText(bytes: committed, path: path)
            // The header records the MPFR that produced the file; on a machine with another MPFR
            // only that member differs (the values are certified), so regenerate with the recorded one.
            let header = Self.spec.header(function: function, format: format, shard: nil, oracle: text.header.oracle)
            // Inputs from the generator; expected values as the verification test certifies them.
            let cases = try zip(header.keysInFile, text.lines).map { key, line in
                GoldenCase(key: key, request: generator.makeCase(key).request,
                           expectation: try ParsedGoldenLine(line: line).expectation)
            }
            let regenerated = GoldenFile(header: header, cases: cases).bytes
            #expect(regenerated == committed, "\(path) differs from its regeneration")
        }
    }

    @Test("A full regeneration (oracle included) of some committed files is byte-identical")
    func fullRegeneration() throws {
        let generator = FixtureGenerator(spec: Self.spec)
        for (function, format) in [(OracleFunction.logsumexp, Format.f64), (.crossEntropyLoss, .e4m3fn), (.logSoftmax, .bf16)] {
            let path = TestPaths.golden + "/" + FixtureSpec.fileName(function: function, format: format, shard: nil)
            let committed = TestPaths.bytes(path)
            var g = generator
            g.oracleInfo = try FixtureText(bytes: committed, path: path).header.oracle
            #expect(g.file(function: function, format: format).bytes == committed, "\(path)")
        }
    }

    // 14 functions × 6 formats × 20 families at 3 cases each came to 5.9 MB of fixtures (the
    // backward functions carry grad_output besides the logits), the fused gradients' 18 files
    // 2.8 MB more; 10 MB keeps the clone small.
    @Test("Fixtures/ stays within 10 MB")
    func size() throws {
        var total = 0
        for name in try AtomicFile.list(TestPaths.golden) { total += TestPaths.bytes(TestPaths.golden + "/" + name).count }
        for name in try AtomicFile.list(TestPaths.fixtures) where !AtomicFile.isDirectory(TestPaths.fixtures + "/" + name) {
            total += TestPaths.bytes(TestPaths.fixtures + "/" + name).count
        }
        #expect(total <= 10_000_000, "Fixtures/ holds \(total) bytes")
    }
}
