import AccuracyHarness
import OracleIO
import SoftmaxOracle

/// The first line of a fixture file: what the file holds and where it comes from.
///
/// Written compact with members in this order (see `Fixtures/README.md`):
/// ```
/// {"schema":"softmax-oracle.fixtures/1","function":"softmax","format":"f32","seed":20261129,
///  "cases":49,"families":[{"family":"uniform_wide","indices":[0,1,3]},…],"max_k":64,
///  "generator":{"name":"softmax-oracle.case-generator/1","probability_targets":true,
///               "label_smoothing":false,"pos_weight":true,"max_batch_rows":3},
///  "oracle":{"package":"softmax-oracle 0.1.0","mpfr":"4.2.0"},"shard":null}
/// ```
/// `cases` counts the cases of the whole file; a shard's file says which part it holds in
/// `"shard":{"index":I,"count":N,"cases":M}` (M of the `cases` lines, those at positions
/// I, I+N, I+2N…). Case lines follow, families in the listed order, each family's cases in the
/// order of its `indices`.
public struct FixtureHeader: Sendable, Hashable {
    /// A family and the indices of its cases in the file (in order).
    public struct FamilyCases: Sendable, Hashable {
        /// The family.
        public var family: Family
        /// Case indices (``CaseKey/index``), increasing: 0..<n, or with `max_k` the first n
        /// indices whose rows are short enough.
        public var indices: [Int]

        /// The cases of `family` at `indices`.
        public init(family: Family, indices: [Int]) {
            self.family = family
            self.indices = indices
        }
    }

    /// The function of every case in the file.
    public var function: OracleFunction
    /// The output format of every case in the file.
    public var format: Format
    /// The run seed the inputs are generated from.
    public var seed: UInt64
    /// The families in file order, each with its case indices.
    public var families: [FamilyCases]
    /// Rows longer than this were skipped when choosing indices (a large_k named in --family-cases exempt); nil: none skipped.
    public var maxK: Int?
    /// The generator's name (``FixtureSchema/generatorName`` when written by this package).
    public var generator: String
    /// The generator's options (recorded so that inputs regenerate exactly).
    public var generatorOptions: GeneratorOptions
    /// The package and MPFR versions that wrote the file (provenance only).
    public var oracle: OracleInfo
    /// nil for a whole file (a shard of count 1 is a whole file).
    public var shard: Shard?

    /// A header from its parts (normally made by ``FixtureSpec``).
    public init(function: OracleFunction, format: Format, seed: UInt64, families: [FamilyCases], maxK: Int?,
                generator: String, generatorOptions: GeneratorOptions, oracle: OracleInfo, shard: Shard?) {
        self.function = function
        self.format = format
        self.seed = seed
        self.families = families
        self.maxK = maxK
        self.generator = generator
        self.generatorOptions = generatorOptions
        self.oracle = oracle
        self.shard = (shard?.count ?? 1) > 1 ? shard : nil
    }

    /// Cases in the whole file.
    public var totalCases: Int { families.reduce(0) { $0 + $1.indices.count } }

    /// Case lines in this file: all of them, or this shard's part.
    public var linesInFile: Int { shard.map { $0.size(total: totalCases) } ?? totalCases }

    /// The keys of the whole file's cases, in line order.
    public var allKeys: [CaseKey] {
        families.flatMap { fc in
            fc.indices.map { CaseKey(function: function, format: format, family: fc.family, index: $0) }
        }
    }

    /// The keys of this file's case lines, in order (a shard's part of ``allKeys``).
    public var keysInFile: [CaseKey] {
        let all = allKeys
        guard let shard else { return all }
        return shard.positions(total: all.count).map { all[$0] }
    }

    /// The same header for the whole file (shard removed).
    public var wholeFile: FixtureHeader {
        var h = self
        h.shard = nil
        return h
    }

    /// The header as an ordered JSON object.
    public var json: JSONValue {
        let o = generatorOptions
        let shardValue: JSONValue = shard.map {
            .object([("index", .number($0.index)), ("count", .number($0.count)),
                     ("cases", .number($0.size(total: totalCases)))])
        } ?? .null
        return .object([
            ("schema", .string(FixtureSchema.name)),
            ("function", .string(function.rawValue)),
            ("format", .string(format.rawValue)),
            ("seed", .number(String(seed))),
            ("cases", .number(totalCases)),
            ("families", .array(families.map {
                .object([("family", .string($0.family.rawValue)), ("indices", .array($0.indices.map { .number($0) }))])
            })),
            ("max_k", maxK.map { .number($0) } ?? .null),
            ("generator", .object([
                ("name", .string(generator)),
                ("probability_targets", .bool(o.probabilityTargets)),
                ("label_smoothing", .bool(o.labelSmoothing)),
                ("pos_weight", .bool(o.posWeight)),
                ("max_batch_rows", .number(o.maxBatchRows)),
            ])),
            ("oracle", .object([("package", .string(oracle.package)), ("mpfr", .string(oracle.mpfr))])),
            ("shard", shardValue),
        ])
    }

    /// The header line (compact JSON, no newline).
    public var line: String { json.serialized }

    /// The header's members, in the order written.
    static let members = ["schema", "function", "format", "seed", "cases", "families", "max_k", "generator",
                          "oracle", "shard"]

    /// Reads a header line, strictly: every member of ``members`` (and of the nested objects)
    /// is required — `max_k` and `shard` may be null — and unknown or repeated members are refused.
    ///
    /// - Throws: ``FixtureError`` naming the member and what is wrong (a schema other than
    ///   ``FixtureSchema/name``, a missing or unknown member, an unknown function, a shard whose
    ///   line count does not match).
    public init(line: String) throws(FixtureError) {
        let value = try FixtureError.parseObject(line, notJSON: "the header is not JSON") {
            "the header must be a JSON object, found \($0.kindDescription)"
        }
        guard let schema = value["schema"]?.stringValue else {
            throw FixtureError("the header has no \"schema\" (is this a fixture file? the first line must be the header)")
        }
        guard schema == FixtureSchema.name else {
            throw FixtureError("schema \"\(schema)\" is not \"\(FixtureSchema.name)\", the one this version reads")
        }
        try StrictMembers.check(value, expected: Self.members, what: "the header")
        func string(_ v: JSONValue?, _ name: @autoclosure () -> String) throws(FixtureError) -> String {
            guard let s = v?.stringValue else { throw FixtureError("header member \"\(name())\": missing or not a string") }
            return s
        }
        func integer(_ v: JSONValue?, _ name: @autoclosure () -> String) throws(FixtureError) -> Int {
            guard let n = v?.integerValue, n >= 0 else {
                throw FixtureError("header member \"\(name())\": missing or not a non-negative integer")
            }
            return n
        }
        func bool(_ v: JSONValue?, _ name: @autoclosure () -> String) throws(FixtureError) -> Bool {
            guard case .bool(let b)? = v else { throw FixtureError("header member \"\(name())\": missing or not true/false") }
            return b
        }
        let functionName = try string(value["function"], "function")
        guard let function = OracleFunction(rawValue: functionName) else {
            throw FixtureError("header member \"function\": unknown function \"\(functionName)\"")
        }
        let formatName = try string(value["format"], "format")
        guard let format = Format(rawValue: formatName) else {
            throw FixtureError("header member \"format\": unknown format \"\(formatName)\"")
        }
        guard case .number(let seedText)? = value["seed"], let seed = UInt64(seedText) else {
            throw FixtureError("header member \"seed\": missing or not an unsigned 64-bit integer")
        }
        guard let familyValues = value["families"]?.arrayValue else {
            throw FixtureError("header member \"families\": missing or not an array")
        }
        var families: [FamilyCases] = []
        for (k, f) in familyValues.enumerated() {
            try StrictMembers.check(f, expected: ["family", "indices"], what: "header member \"families[\(k)]\"")
            let name = try string(f["family"], "families[\(k)].family")
            guard let family = Family(rawValue: name) else {
                throw FixtureError("header member \"families[\(k)].family\": unknown family \"\(name)\"")
            }
            guard let list = f["indices"]?.arrayValue else {
                throw FixtureError("header member \"families[\(k)].indices\": missing or not an array of case indices")
            }
            var indices: [Int] = []
            for (j, v) in list.enumerated() {
                let i = try integer(v, "families[\(k)].indices[\(j)]")
                if let last = indices.last, i <= last {
                    throw FixtureError("header member \"families[\(k)].indices\": not increasing at \(i)")
                }
                indices.append(i)
            }
            families.append(FamilyCases(family: family, indices: indices))
        }
        var maxK: Int?
        if let m = value["max_k"], m != .null { maxK = try integer(m, "max_k") }
        guard let g = value["generator"], g.objectMembers != nil else {
            throw FixtureError("header member \"generator\": missing or not an object")
        }
        try StrictMembers.check(g, expected: ["name", "probability_targets", "label_smoothing", "pos_weight", "max_batch_rows"],
                                what: "header member \"generator\"")
        try StrictMembers.check(value["oracle"] ?? .null, expected: ["package", "mpfr"], what: "header member \"oracle\"")
        let options = GeneratorOptions(
            probabilityTargets: try bool(g["probability_targets"], "generator.probability_targets"),
            labelSmoothing: try bool(g["label_smoothing"], "generator.label_smoothing"),
            posWeight: try bool(g["pos_weight"], "generator.pos_weight"),
            maxBatchRows: try integer(g["max_batch_rows"], "generator.max_batch_rows"))
        let oracle = OracleInfo(package: try string(value["oracle"]?["package"], "oracle.package"),
                                mpfr: try string(value["oracle"]?["mpfr"], "oracle.mpfr"))
        var shard: Shard?
        if let s = value["shard"], s != .null {
            try StrictMembers.check(s, expected: ["index", "count", "cases"], what: "header member \"shard\"")
            let index = try integer(s["index"], "shard.index")
            let count = try integer(s["count"], "shard.count")
            guard count >= 1 && index < count else {
                throw FixtureError("header member \"shard\": index \(index) of \(count) is not a shard (0 <= index < count)")
            }
            shard = Shard(index: index, count: count)
        }
        self.init(function: function, format: format, seed: seed, families: families, maxK: maxK,
                  generator: try string(g["name"], "generator.name"), generatorOptions: options,
                  oracle: oracle, shard: shard)
        let total = try integer(value["cases"], "cases")
        if total != totalCases {
            throw FixtureError("header member \"cases\": \(total), but the families add up to \(totalCases)")
        }
        if let shard, let s = value["shard"] {
            let n = try integer(s["cases"], "shard.cases")
            if n != shard.size(total: total) {
                throw FixtureError("header member \"shard.cases\": \(n), but shard \(shard) of \(total) cases holds \(shard.size(total: total))")
            }
        }
    }
}
