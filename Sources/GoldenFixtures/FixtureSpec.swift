import AccuracyHarness
import SoftmaxOracle

/// One part of a sharded run: the cases at positions `index`, `index + count`, `index + 2·count`…
/// of every file (0-based positions among a file's case lines).
///
/// With this split, shard `i` of `n` holds every n-th line starting at line i, so `fixtures merge`
/// restores the single run's order by taking lines from the shards in turn, and a shard's work
/// is spread over every family (the costly large-K cases fall to all shards alike).
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 0-based, below `count`.
    public let index: Int
    /// At least 1.
    public let count: Int

    /// Precondition: 0 <= index < count.
    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "shard index in 0..<count")
        self.index = index
        self.count = count
    }

    /// Reads `I/N` (0 <= I < N), as `--shard` takes it, e.g. `0/4` … `3/4` for four machines.
    ///
    /// - Throws: ``FixtureError`` naming the text and what is wrong ("3/2": the index must be
    ///   below the count).
    public init(parsing text: String) throws(FixtureError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let usage = "expected I/N with 0 <= I < N, e.g. 0/4 for the first of four shards"
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw FixtureError("--shard \"\(text)\": not of the form I/N (\(usage))")
        }
        guard n >= 1 else { throw FixtureError("--shard \"\(text)\": the shard count \(n) must be at least 1 (\(usage))") }
        guard i >= 0 && i < n else {
            throw FixtureError("--shard \"\(text)\": the shard index \(i) must be in 0...\(n - 1) (shards are numbered from 0; \(usage))")
        }
        self.init(index: i, count: n)
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// Positions 0..<total that belong to this shard, in order.
    public func positions(total: Int) -> StrideTo<Int> { stride(from: index, to: total, by: count) }

    /// How many of `total` positions belong to this shard.
    public func size(total: Int) -> Int { total > index ? (total - index + count - 1) / count : 0 }

    /// `.shard-I-of-N`, the file-name infix of this shard (N > 1).
    var fileInfix: String { ".shard-\(index)-of-\(count)" }
}

/// What `fixtures generate` writes: one file per (function, format), holding the cases of the
/// chosen families (in `Family` order), indices 0..<n each.
public struct FixtureSpec: Sendable, Hashable {
    /// The run seed (``CaseGenerator``).
    public var seed: UInt64
    /// Functions, one file each per format.
    public var functions: [OracleFunction]
    /// Formats.
    public var formats: [Format]
    /// Families in every file, in `Family` order.
    public var families: [Family]
    /// Cases per family, unless ``familyCases`` says otherwise; capped at
    /// `Family.recommendedMaximumCount` (3 for large_k) like the harness's runs.
    public var casesPerFamily: Int
    /// Per-family case counts that replace ``casesPerFamily`` and its cap (e.g. large_k: 1).
    public var familyCases: [Family: Int]
    /// Options of the case generator (recorded in each header).
    public var generatorOptions: GeneratorOptions
    /// When set, a case whose rows are longer than this is skipped and the family's next index
    /// taken instead (up to ``maxIndexScan`` indices), to keep files small. Every family obeys
    /// it, large_k too (its rows are 1000 long and more, so it then has no case), except a
    /// large_k whose count ``familyCases`` sets by name: that asks for its long rows on purpose,
    /// and gets cases 0..<n (the committed set's K = 1000 row). The header records the value and
    /// the indices chosen.
    public var maxK: Int?

    /// How far ``maxK`` looks for short enough cases: indices 0..<maxIndexScan.
    public static let maxIndexScan = 1000

    /// A spec; by default every function, format and family, 4 cases each (as `fixtures generate`).
    public init(seed: UInt64 = FixtureSchema.defaultSeed,
                functions: [OracleFunction] = OracleFunction.fixtureFunctions,
                formats: [Format] = Format.allCases,
                families: [Family] = Family.allCases,
                casesPerFamily: Int = 4,
                familyCases: [Family: Int] = [:],
                maxK: Int? = nil,
                generatorOptions: GeneratorOptions = .default) {
        self.seed = seed
        self.functions = functions
        self.formats = formats
        self.families = families
        self.casesPerFamily = casesPerFamily
        self.familyCases = familyCases
        self.generatorOptions = generatorOptions
        self.maxK = maxK
    }

    /// The committed set under `Fixtures/golden/`: every function × format × family at the
    /// default seed, 3 cases each with rows of at most 64 logits, and large_k's K = 1000 case.
    public static let committed = FixtureSpec(casesPerFamily: 3, familyCases: [.largeK: 1], maxK: 64)

    /// Cases of `family` in each file.
    public func caseCount(for family: Family) -> Int {
        if let n = familyCases[family] { return Swift.max(0, n) }
        let n = Swift.max(0, casesPerFamily)
        if let cap = family.recommendedMaximumCount { return Swift.min(n, cap) }
        return n
    }

    /// The families in file order (`Family` order, each once) with the indices of their cases in
    /// files of `format`: 0..<n, or with ``maxK`` the first n whose rows are short enough (the
    /// row length does not depend on the function, so every file of a format has the same rows).
    public func familyIndices(format: Format) -> [FixtureHeader.FamilyCases] {
        let generator = CaseGenerator(seed: seed, options: generatorOptions)
        return Family.allCases.filter { families.contains($0) }.map { family in
            let n = caseCount(for: family)
            guard let maxK, !keepsLongRows(family) else { return .init(family: family, indices: Array(0..<n)) }
            var indices: [Int] = []
            var i = 0
            // large_k's row lengths repeat with period 3 (1 000, 10 000, 100 000): 3n indices show
            // all that can fit, and scanning 1000 of its rows would generate ~37 M logits per file.
            let scan = family == .largeK ? Swift.min(Self.maxIndexScan, 3 * n) : Self.maxIndexScan
            while indices.count < n && i < scan {
                let c = generator.makeCase(CaseKey(function: .logsumexp, format: format, family: family, index: i))
                if c.k <= maxK { indices.append(i) }
                i += 1
            }
            return .init(family: family, indices: indices)
        }
    }

    /// Whether `family` is exempt from ``maxK``: only large_k, and only when ``familyCases``
    /// names it (`--family-cases large_k=N`).
    public func keepsLongRows(_ family: Family) -> Bool {
        family == .largeK && familyCases[.largeK] != nil
    }

    /// The (function, format) pairs, one file each, in declaration order.
    public var files: [(function: OracleFunction, format: Format)] {
        OracleFunction.allCases.filter { functions.contains($0) }.flatMap { f in
            Format.allCases.filter { formats.contains($0) }.map { (function: f, format: $0) }
        }
    }

    /// The header of the file for (function, format), `shard` nil for a whole file.
    public func header(function: OracleFunction, format: Format, shard: Shard?,
                       oracle: OracleInfo = .current) -> FixtureHeader {
        FixtureHeader(function: function, format: format, seed: seed,
                      families: familyIndices(format: format), maxK: maxK,
                      generator: FixtureSchema.generatorName, generatorOptions: generatorOptions,
                      oracle: oracle, shard: shard)
    }

    /// `<function>.<format>.jsonl`, or `<function>.<format>.shard-I-of-N.jsonl` for a shard of
    /// more than one.
    public static func fileName(function: OracleFunction, format: Format, shard: Shard?) -> String {
        baseName(function: function, format: format) + (shard.map { $0.count > 1 ? $0.fileInfix : "" } ?? "") + ".jsonl"
    }

    /// `<function>.<format>`.
    public static func baseName(function: OracleFunction, format: Format) -> String {
        "\(function.rawValue).\(format.rawValue)"
    }
}
