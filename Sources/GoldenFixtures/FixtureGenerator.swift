import AccuracyHarness
import ParallelExecution
import SoftmaxOracle

/// A fixture file in memory: its header and case lines.
public struct GoldenFile: Sendable, Hashable {
    /// The header line's contents.
    public var header: FixtureHeader
    /// The case lines, in key order.
    public var cases: [GoldenCase]

    /// A file of `header` and `cases`.
    public init(header: FixtureHeader, cases: [GoldenCase]) {
        self.header = header
        self.cases = cases
    }

    /// The file's name in a fixture directory (``FixtureSpec/fileName(function:format:shard:)``).
    public var fileName: String {
        FixtureSpec.fileName(function: header.function, format: header.format, shard: header.shard)
    }

    /// The file's bytes: the header line, then one line per case, each ending in "\n".
    public var bytes: [UInt8] {
        var out = Array(header.line.utf8)
        out.append(0x0A)
        for c in cases {
            out.append(contentsOf: c.line.utf8)
            out.append(0x0A)
        }
        return out
    }
}

/// What ``FixtureGenerator/write(to:shard:npyDirectory:progress:)`` wrote.
public struct WrittenFile: Sendable, Hashable {
    /// The path written.
    public var path: String
    /// Case lines written.
    public var cases: Int
    /// Bytes written.
    public var bytes: Int
}

/// Generates fixture files: the cases of a ``FixtureSpec`` (from `AccuracyHarness.CaseGenerator`)
/// and the oracle's certified answers.
///
/// Deterministic: the bytes depend only on the spec, the shard and ``oracleInfo`` — not on the
/// machine, the thread count, the time, or the order of work. Each case is generated from its
/// key alone, lines are in key order, JSON members in a fixed order, floats in exact hex.
public struct FixtureGenerator: Sendable {
    /// What to generate.
    public var spec: FixtureSpec
    /// The oracle that certifies the expected values.
    public var oracle: Oracle
    /// Recorded in each header (the running package and MPFR by default).
    public var oracleInfo: OracleInfo
    /// Threads for the oracle's work.
    public var threads: Int

    /// A generator of `spec`'s files; the oracle runs on up to `threads` threads (see
    /// `OracleParallelism`).
    public init(spec: FixtureSpec, oracle: Oracle = Oracle(), oracleInfo: OracleInfo = .current,
                threads: Int = ProcessorCount.online) {
        self.spec = spec
        self.oracle = oracle
        self.oracleInfo = oracleInfo
        self.threads = threads
    }

    /// The file for (function, format): the whole file, or `shard`'s part of it.
    public func file(function: OracleFunction, format: Format, shard: Shard? = nil) -> GoldenFile {
        let header = spec.header(function: function, format: format, shard: shard, oracle: oracleInfo)
        let generator = CaseGenerator(seed: spec.seed, options: spec.generatorOptions)
        let oracle = self.oracle
        let cases = OracleParallelism.map(header.keysInFile, threads: threads) { key in
            let request = generator.makeCase(key).request
            return GoldenCase(key: key, request: request, expectation: .certify(request, with: oracle))
        }
        return GoldenFile(header: header, cases: cases)
    }

    /// Writes every file of the spec (or of `shard`'s part) into `directory`, created if
    /// missing; each file through a temporary name and a rename (stale temporaries of an
    /// interrupted run are removed first). With `npyDirectory`, also the
    /// NumPy arrays of each file (``NPYExport``). `progress` is called after each file.
    ///
    /// - Throws: ``FixtureError`` when a directory or file cannot be written.
    @discardableResult
    public func write(to directory: String, shard: Shard? = nil, npyDirectory: String? = nil,
                      progress: (WrittenFile) -> Void = { _ in }) throws(FixtureError) -> [WrittenFile] {
        try AtomicFile.makeDirectory(directory)
        if let npyDirectory { try AtomicFile.makeDirectory(npyDirectory) }
        for d in [directory] + (npyDirectory.map { [$0] } ?? []) { AtomicFile.removeStaleTemporaries(in: d) }
        var written: [WrittenFile] = []
        for (function, format) in spec.files {
            let f = file(function: function, format: format, shard: shard)
            let bytes = f.bytes
            let path = AtomicFile.join(directory, f.fileName)
            try AtomicFile.write(bytes, to: path)
            if let npyDirectory { try NPYExport.write(f, to: npyDirectory) }
            let w = WrittenFile(path: path, cases: f.cases.count, bytes: bytes.count)
            written.append(w)
            progress(w)
        }
        return written
    }
}
