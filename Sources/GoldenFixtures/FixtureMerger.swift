import SoftmaxOracle

/// Joins the shards of a sharded `fixtures generate` run into the files a single run writes.
///
/// Shard I of N holds the case lines at positions I, I+N, I+2N… of each file (``Shard``), so
/// the whole file's line j is line ⌊j/N⌋ of shard j mod N. The merged file is the shards'
/// common header with `"shard": null`, then those lines copied verbatim: byte for byte what
/// one unsharded run writes. Nothing is recomputed (run `fixtures verify` for that).
public enum FixtureMerger {
    /// One merged file.
    public struct Merged: Sendable, Hashable {
        /// The merged file's header (that of an unsharded run).
        public var header: FixtureHeader
        /// The case lines of the whole file, in order.
        public var lines: [String]
        /// The shard files it came from, by shard index.
        public var sources: [String]

        /// The file's name (`<function>.<format>.jsonl`).
        public var fileName: String { FixtureSpec.fileName(function: header.function, format: header.format, shard: nil) }

        /// The merged file's bytes.
        public var bytes: [UInt8] {
            var out = Array(header.line.utf8)
            out.append(0x0A)
            for l in lines {
                out.append(contentsOf: l.utf8)
                out.append(0x0A)
            }
            return out
        }
    }

    /// Reads the shard files under `inputs` (directories expand to their `*.jsonl` files) and
    /// merges each (function, format).
    ///
    /// Checks: every file is a fixture file; the shards of a (function, format) agree on their
    /// header except `shard` (seed, families, generator, oracle version…) and on the shard
    /// count N; each index 0..<N appears exactly once; each line's `id` is the case expected at
    /// its position. A whole (unsharded) file counts as the only shard of its set.
    ///
    /// - Throws: ``FixtureError`` naming the files and what is missing or inconsistent.
    public static func merge(_ inputs: [String]) throws(FixtureError) -> [Merged] {
        let paths = try FixtureText.expand(inputs)
        if paths.isEmpty { throw FixtureError("merge: no shard files given") }
        var groups: [String: [FixtureText]] = [:]
        var order: [String] = []
        for path in paths {
            let text = try FixtureText(path: path)
            let base = FixtureSpec.baseName(function: text.header.function, format: text.header.format)
            if groups[base] == nil { order.append(base) }
            groups[base, default: []].append(text)
        }
        var merged: [Merged] = []
        for base in order.sorted() {
            merged.append(try mergeGroup(base, groups[base]!))
        }
        return merged
    }

    private static func mergeGroup(_ base: String, _ parts: [FixtureText]) throws(FixtureError) -> Merged {
        let first = parts[0]
        let n = first.header.shard?.count ?? 1
        var byIndex = [FixtureText?](repeating: nil, count: n)
        for p in parts {
            let count = p.header.shard?.count ?? 1
            let index = p.header.shard?.index ?? 0
            if count != n {
                throw FixtureError("\(base): \(first.path) is shard \(first.header.shard?.description ?? "0/1") but \(p.path) is shard \(index)/\(count): the shard counts differ")
            }
            if let other = byIndex[index] {
                throw FixtureError("\(base): shard \(index)/\(n) is given twice: \(other.path) and \(p.path)")
            }
            if let difference = firstDifference(first.header.wholeFile, p.header.wholeFile) {
                throw FixtureError("\(base): \(p.path) does not belong with \(first.path): header member \(difference)")
            }
            byIndex[index] = p
        }
        let missing = (0..<n).filter { byIndex[$0] == nil }
        if !missing.isEmpty {
            let found = (0..<n).filter { byIndex[$0] != nil }.map(String.init).joined(separator: ", ")
            throw FixtureError("\(base): shard\(missing.count > 1 ? "s" : "") \(missing.map(String.init).joined(separator: ", ")) of \(n) missing (found \(found))")
        }
        let shards = byIndex.map { $0! }
        let header = first.header.wholeFile
        let keys = header.allKeys
        var lines: [String] = []
        lines.reserveCapacity(keys.count)
        for j in 0..<keys.count {
            let shard = shards[j % n]
            let line = shard.lines[j / n]
            let expectedID = keys[j].description
            if !line.hasPrefix("{\"id\":\"\(expectedID)\",") {
                throw FixtureError("\(shard.path):\(j / n + 2): expected case \(expectedID) at this position (the file is not a shard as `fixtures generate` writes it)")
            }
            do throws(FixtureError) {
                try checkCaseLine(line, header: header)
            } catch {
                throw FixtureError("\(shard.path):\(j / n + 2): case \(expectedID): \(error.message)")
            }
            lines.append(line)
        }
        return Merged(header: header, lines: lines, sources: shards.map(\.path))
    }

    /// Checks that `line` is a case line of a file of `header`: it reads as one
    /// (``ParsedGoldenLine``: a request `eval` reads, `expected` values or `expected_error`), of
    /// the header's function and format, with as many expected values as the function outputs,
    /// and rows no longer than `max_k` (large_k apart). The values themselves are `verify`'s job.
    static func checkCaseLine(_ line: String, header: FixtureHeader) throws(FixtureError) {
        let parsed = try ParsedGoldenLine(line: line)
        let r = parsed.request
        guard r.function == header.function, r.format == header.format else {
            throw FixtureError("members \"function\", \"format\": \(r.function.rawValue), \(r.format.rawValue) in a file of \(header.function.rawValue), \(header.format.rawValue)")
        }
        if let maxK = header.maxK, parsed.key?.family != .largeK, r.rowLength > maxK {
            throw FixtureError("member \"logits\": a row of \(r.rowLength), longer than the header's max_k \(maxK)")
        }
        if case .values(let values) = parsed.expectation, values.count != expectedOutputs(r) {
            throw FixtureError("member \"expected\": \(values.count) values, but \(r.function.rawValue) of this request has \(expectedOutputs(r)) outputs")
        }
    }

    /// The number of outputs of `request`.
    static func expectedOutputs(_ r: OracleRequest) -> Int {
        switch r.function {
        case .logsumexp, .crossEntropy: 1
        case .crossEntropyLoss: r.reduction == .none ? (r.batch?.count ?? 0) : 1
        case .crossEntropyLossBackward: (r.batch?.count ?? 0) * (r.batch?.first?.count ?? 0)
        case _ where r.function.isLinearCrossEntropy: r.linear?.outputCount(r.function, reduction: r.reduction) ?? 0
        default: r.logits.count
        }
    }

    /// The first member in which two headers differ, as `"seed": 1 vs 2`; nil when equal.
    static func firstDifference(_ a: FixtureHeader, _ b: FixtureHeader) -> String? {
        guard let ma = a.json.objectMembers, let mb = b.json.objectMembers else { return nil }
        for ((name, va), (_, vb)) in zip(ma, mb) where va != vb {
            return "\"\(name)\": \(va.excerpt(maxLength: 120)) vs \(vb.excerpt(maxLength: 120))"
        }
        return nil
    }

    /// Merges `inputs` and writes each merged file into `directory` (created if missing),
    /// through a temporary name and a rename; with `npyDirectory`, also its NumPy arrays.
    ///
    /// - Throws: ``FixtureError`` from ``merge(_:)`` (before anything is written) or from writing.
    @discardableResult
    public static func write(_ inputs: [String], to directory: String, npyDirectory: String? = nil,
                             progress: (WrittenFile) -> Void = { _ in }) throws(FixtureError) -> [WrittenFile] {
        let merged = try merge(inputs)
        try AtomicFile.makeDirectory(directory)
        if let npyDirectory { try AtomicFile.makeDirectory(npyDirectory) }
        for d in [directory] + (npyDirectory.map { [$0] } ?? []) { AtomicFile.removeStaleTemporaries(in: d) }
        var written: [WrittenFile] = []
        for m in merged {
            let bytes = m.bytes
            let path = AtomicFile.join(directory, m.fileName)
            try AtomicFile.write(bytes, to: path)
            if let npyDirectory {
                var cases: [GoldenCase] = []
                for (k, line) in m.lines.enumerated() {
                    do throws(FixtureError) {
                        let parsed = try ParsedGoldenLine(line: line)
                        cases.append(GoldenCase(key: m.header.allKeys[k], request: parsed.request, expectation: parsed.expectation))
                    } catch {
                        throw FixtureError("\(path):\(k + 2): \(error.message)")
                    }
                }
                try NPYExport.write(GoldenFile(header: m.header, cases: cases), to: npyDirectory)
            }
            let w = WrittenFile(path: path, cases: m.lines.count, bytes: bytes.count)
            written.append(w)
            progress(w)
        }
        return written
    }
}
