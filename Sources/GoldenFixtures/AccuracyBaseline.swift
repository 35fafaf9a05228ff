import AccuracyHarness
import OracleIO
import SoftmaxOracle

/// The recorded accuracy of a set of implementations: what `softmax-oracle regress` compares a
/// new run against.
///
/// A run is fixed by the seed, the cases per (function, format, family) and the grid; the entries
/// record, per cell (implementation, function, format, family), how many cases were scored, the
/// largest ULP error over them (special-value mismatches apart), and how many had a special-value
/// mismatch.
///
/// JSON layout (schema `softmax-oracle.accuracy-baseline/1`), deterministic, one entry per line:
/// ```
/// {
///   "schema": "softmax-oracle.accuracy-baseline/1",
///   "seed": 20261129,
///   "cases": 3,
///   "family_cases": {"large_k": 1},
///   "functions": null, "formats": null, "families": null,
///   "implementations": ["naive", "shifted", "online", "accurate", "mixed"],
///   "entries": [
///     {"implementation":"naive","function":"logsumexp","format":"f64","family":"uniform_wide","cases":3,"scored":3,"unsupported":0,"errors":0,"oracle_failures":0,"max_ulp":0.5012,"special_mismatch_cases":0},
///     …
///   ]
/// }
/// ```
/// `functions`, `formats`, `families`: null for all (those any implementation supports; cells
/// added later appear as new ones), or the list the baseline was limited to.
/// `max_ulp` is the shortest decimal that reads back to the exact binary64 value, or null when no
/// case without a special-value mismatch was scored.
public struct AccuracyBaseline: Sendable, Hashable {
    /// The schema name written first.
    public static let schema = "softmax-oracle.accuracy-baseline/1"

    /// One cell's record.
    public struct Entry: Sendable, Hashable {
        /// The implementation's name.
        public var implementation: String
        /// The function.
        public var function: OracleFunction
        /// The output format.
        public var format: Format
        /// The generator family.
        public var family: Family
        /// Cases attempted.
        public var cases: Int
        /// Cases whose outputs were scored (the coverage the gate keeps).
        public var scored: Int
        /// Cases the implementation declined.
        public var unsupported: Int
        /// Cases where the implementation failed.
        public var errors: Int
        /// Cases the oracle could not certify.
        public var oracleFailures: Int
        /// Largest ULP error over the scored cases without a special-value mismatch.
        public var maxULP: Double?
        /// Scored cases with a NaN/inf where the exact value is finite, or the reverse.
        public var specialMismatchCases: Int

        /// An entry from its parts (normally made by ``AccuracyBaseline/recording(_:)``).
        public init(implementation: String, function: OracleFunction, format: Format, family: Family,
                    cases: Int, scored: Int, unsupported: Int, errors: Int, oracleFailures: Int,
                    maxULP: Double?, specialMismatchCases: Int) {
            self.implementation = implementation
            self.function = function
            self.format = format
            self.family = family
            self.cases = cases
            self.scored = scored
            self.unsupported = unsupported
            self.errors = errors
            self.oracleFailures = oracleFailures
            self.maxULP = maxULP
            self.specialMismatchCases = specialMismatchCases
        }

        /// The cell, `implementation function format family`.
        public var cell: Cell { Cell(implementation: implementation, function: function, format: format, family: family) }
    }

    /// A cell's identity.
    public struct Cell: Sendable, Hashable, Comparable, CustomStringConvertible {
        /// The implementation's name.
        public var implementation: String
        /// The function.
        public var function: OracleFunction
        /// The output format.
        public var format: Format
        /// The generator family.
        public var family: Family

        /// By implementation name, then function, format, family in declaration order.
        public static func < (a: Cell, b: Cell) -> Bool {
            if a.implementation != b.implementation { return a.implementation < b.implementation }
            return CaseKey(function: a.function, format: a.format, family: a.family, index: 0)
                < CaseKey(function: b.function, format: b.format, family: b.family, index: 0)
        }

        /// `<implementation> <function> <format> <family>`.
        public var description: String {
            "\(implementation) \(function.rawValue) \(format.rawValue) \(family.rawValue)"
        }
    }

    /// The run seed.
    public var seed: UInt64
    /// Cases per (function, format, family), unless ``familyCases`` says otherwise.
    public var casesPerFamily: Int
    /// Per-family counts that replace ``casesPerFamily``.
    public var familyCases: [Family: Int]
    /// nil: every function some implementation supports.
    public var functions: [OracleFunction]?
    /// nil: every format some implementation supports.
    public var formats: [Format]?
    /// nil: every family.
    public var families: [Family]?
    /// The implementations run, in run order.
    public var implementations: [String]
    /// One per cell, in run order (implementation order, then function, format, family).
    public var entries: [Entry]

    /// A baseline of the given run settings; nil lists mean every function, format or family.
    public init(seed: UInt64, casesPerFamily: Int, familyCases: [Family: Int] = [:],
                functions: [OracleFunction]? = nil, formats: [Format]? = nil, families: [Family]? = nil,
                implementations: [String] = [], entries: [Entry] = []) {
        self.seed = seed
        self.casesPerFamily = casesPerFamily
        self.familyCases = familyCases
        self.functions = functions
        self.formats = formats
        self.families = families
        self.implementations = implementations
        self.entries = entries
    }

    /// The default run of the gate: 8 cases per cell, 1 of large_k (its K = 1000 case; larger K
    /// take seconds each in a debug build), at the default seed. 8, not fewer: at this seed the
    /// first single_logit case whose logsumexp is an f32 subnormal is case 5, so 6 is the least
    /// count that catches a kernel flushing subnormal results to zero (3 missed it); 8 leaves a
    /// margin (GoldenFixturesTests' RegressVerdictTests checks it).
    public static func defaultRun() -> AccuracyBaseline {
        AccuracyBaseline(seed: FixtureSchema.defaultSeed, casesPerFamily: 8, familyCases: [.largeK: 1])
    }

    /// Cases of `family` per (function, format).
    public func caseCount(for family: Family) -> Int {
        Swift.max(0, familyCases[family] ?? casesPerFamily)
    }

    /// The baseline's run settings with `entries` and `implementations` from `result`.
    public func recording(_ result: HarnessResult) -> AccuracyBaseline {
        var b = self
        b.implementations = result.implementations
        b.entries = result.cells.map { c in
            let s = c.statistics
            return Entry(implementation: c.implementation, function: c.function, format: c.format, family: c.family,
                         cases: s.cases, scored: s.scored, unsupported: s.unsupported, errors: s.errors,
                         oracleFailures: s.oracleFailures, maxULP: s.maxULP, specialMismatchCases: s.specialMismatchCases)
        }
        return b
    }

    // MARK: - JSON

    /// The baseline's JSON text (layout above), with a trailing newline.
    public var json: String {
        func list<T>(_ xs: [T]?, _ name: (T) -> String) -> String {
            guard let xs else { return "null" }
            return "[" + xs.map { JSONValue.string(name($0)).serialized }.joined(separator: ", ") + "]"
        }
        let familyCaseText = Family.allCases.compactMap { f in
            familyCases[f].map { "\(JSONValue.string(f.rawValue).serialized): \($0)" }
        }.joined(separator: ", ")
        var out = "{\n"
        out += "  \"schema\": \(JSONValue.string(Self.schema).serialized),\n"
        out += "  \"seed\": \(seed),\n"
        out += "  \"cases\": \(casesPerFamily),\n"
        out += "  \"family_cases\": {\(familyCaseText)},\n"
        out += "  \"functions\": \(list(functions, \.rawValue)),\n"
        out += "  \"formats\": \(list(formats, \.rawValue)),\n"
        out += "  \"families\": \(list(families, \.rawValue)),\n"
        out += "  \"implementations\": \(list(implementations, { $0 })),\n"
        out += "  \"entries\": ["
        for (k, e) in entries.enumerated() {
            let maxULP: JSONValue = e.maxULP.map { x in
                x.isFinite ? .number(x.description) : .string(HexFloat.shortestDecimal(x))
            } ?? .null
            let object = JSONValue.object([
                ("implementation", .string(e.implementation)),
                ("function", .string(e.function.rawValue)),
                ("format", .string(e.format.rawValue)),
                ("family", .string(e.family.rawValue)),
                ("cases", .number(e.cases)),
                ("scored", .number(e.scored)),
                ("unsupported", .number(e.unsupported)),
                ("errors", .number(e.errors)),
                ("oracle_failures", .number(e.oracleFailures)),
                ("max_ulp", maxULP),
                ("special_mismatch_cases", .number(e.specialMismatchCases)),
            ])
            out += (k == 0 ? "\n" : ",\n") + "    " + object.serialized
        }
        out += entries.isEmpty ? "]\n" : "\n  ]\n"
        out += "}\n"
        return out
    }

    /// Reads a baseline's JSON text.
    ///
    /// - Throws: ``FixtureError`` naming the member (or entry) that is missing or wrong.
    /// Strict: every member (top-level and per entry) is required — null only where the layout
    /// allows it (`functions`, `formats`, `families`, `max_ulp`) — unknown members are refused,
    /// and so is an empty `implementations` list or an entry of an implementation not in it.
    /// Entry errors name the entry and, when the text has one entry per line (as written), its line.
    public init(json text: String) throws(FixtureError) {
        let value = try FixtureError.parseObject(text) { "a baseline must be a JSON object, found \($0.kindDescription)" }
        guard let schema = value["schema"]?.stringValue else { throw FixtureError("no \"schema\" member (is this an accuracy baseline?)") }
        guard schema == Self.schema else {
            throw FixtureError("schema \"\(schema)\" is not \"\(Self.schema)\", the one this version reads")
        }
        try StrictMembers.check(value, expected: Self.members, what: "the baseline")
        func integer(_ v: JSONValue?, _ name: @autoclosure () -> String) throws(FixtureError) -> Int {
            guard let n = v?.integerValue, n >= 0 else { throw FixtureError("member \"\(name())\": missing or not a non-negative integer") }
            return n
        }
        func string(_ v: JSONValue?, _ name: @autoclosure () -> String) throws(FixtureError) -> String {
            guard let s = v?.stringValue else { throw FixtureError("member \"\(name())\": missing or not a string") }
            return s
        }
        func names<T: RawRepresentable>(_ name: String, _ type: T.Type) throws(FixtureError) -> [T]? where T.RawValue == String {
            guard let v = value[name], v != .null else { return nil }
            guard let elements = v.arrayValue else { throw FixtureError("member \"\(name)\": not null or an array of names") }
            var out: [T] = []
            for (k, e) in elements.enumerated() {
                let s = try string(e, "\(name)[\(k)]")
                guard let t = T(rawValue: s) else { throw FixtureError("member \"\(name)[\(k)]\": unknown name \"\(s)\"") }
                out.append(t)
            }
            return out
        }
        guard case .number(let seedText)? = value["seed"], let seed = UInt64(seedText) else {
            throw FixtureError("member \"seed\": missing or not an unsigned 64-bit integer")
        }
        var familyCases: [Family: Int] = [:]
        guard let familyMembers = value["family_cases"]?.objectMembers else {
            throw FixtureError("member \"family_cases\": not an object of family counts ({} for none)")
        }
        for (name, n) in familyMembers {
            guard let f = Family(rawValue: name) else { throw FixtureError("member \"family_cases\": unknown family \"\(name)\"") }
            guard familyCases[f] == nil else { throw FixtureError("member \"family_cases\": \"\(name)\" appears twice") }
            familyCases[f] = try integer(n, "family_cases.\(name)")
        }
        guard let list = value["implementations"]?.arrayValue else { throw FixtureError("member \"implementations\": not an array of names") }
        var implementations: [String] = []
        for (k, e) in list.enumerated() {
            let name = try string(e, "implementations[\(k)]")
            if implementations.contains(name) { throw FixtureError("member \"implementations[\(k)]\": \"\(name)\" is listed twice") }
            implementations.append(name)
        }
        if implementations.isEmpty { throw FixtureError("member \"implementations\": empty (a baseline records at least one implementation)") }
        guard let entryValues = value["entries"]?.arrayValue else { throw FixtureError("member \"entries\": missing or not an array") }
        var entries: [Entry] = []
        var seen = Set<Cell>()
        let firstEntryLine = Self.firstEntryLine(text, entries: entryValues.count)
        for (k, e) in entryValues.enumerated() {
            do throws(FixtureError) {
                let at = "entries[\(k)]"
                try StrictMembers.check(e, expected: Self.entryMembers, what: "member \"\(at)\"")
                let fn = try string(e["function"], "\(at).function")
                let fm = try string(e["format"], "\(at).format")
                let fa = try string(e["family"], "\(at).family")
                guard let function = OracleFunction(rawValue: fn) else { throw FixtureError("member \"\(at).function\": unknown function \"\(fn)\"") }
                guard let format = Format(rawValue: fm) else { throw FixtureError("member \"\(at).format\": unknown format \"\(fm)\"") }
                guard let family = Family(rawValue: fa) else { throw FixtureError("member \"\(at).family\": unknown family \"\(fa)\"") }
                var maxULP: Double?
                if let m = e["max_ulp"], m != .null {
                    // Finite: 1e999 reads as inf, which would switch the cell's gate off.
                    guard let x = m.floatValue, x.isFinite, x >= 0 else { throw FixtureError("member \"\(at).max_ulp\": not null or a finite non-negative number") }
                    maxULP = x
                }
                let entry = Entry(
                    implementation: try string(e["implementation"], "\(at).implementation"),
                    function: function, format: format, family: family,
                    cases: try integer(e["cases"], "\(at).cases"), scored: try integer(e["scored"], "\(at).scored"),
                    unsupported: try integer(e["unsupported"], "\(at).unsupported"),
                    errors: try integer(e["errors"], "\(at).errors"),
                    oracleFailures: try integer(e["oracle_failures"], "\(at).oracle_failures"),
                    maxULP: maxULP,
                    specialMismatchCases: try integer(e["special_mismatch_cases"], "\(at).special_mismatch_cases"))
                for (name, count) in [("scored", entry.scored), ("unsupported", entry.unsupported), ("errors", entry.errors),
                                      ("oracle_failures", entry.oracleFailures), ("special_mismatch_cases", entry.specialMismatchCases)]
                where count < 0 || count > entry.cases {
                    throw FixtureError("member \"\(at).\(name)\": \(count) is not between 0 and the cell's \(entry.cases) cases")
                }
                guard implementations.contains(entry.implementation) else {
                    throw FixtureError("member \"\(at).implementation\": \"\(entry.implementation)\" is not in \"implementations\"")
                }
                guard seen.insert(entry.cell).inserted else { throw FixtureError("\(at): the cell \(entry.cell) appears twice") }
                entries.append(entry)
            } catch {
                guard let first = firstEntryLine else { throw error }
                throw FixtureError("line \(first + k): \(error.message)")
            }
        }
        self.init(seed: seed, casesPerFamily: try integer(value["cases"], "cases"), familyCases: familyCases,
                  functions: try names("functions", OracleFunction.self), formats: try names("formats", Format.self),
                  families: try names("families", Family.self), implementations: implementations, entries: entries)
    }

    /// The top-level members, in the order written.
    static let members = ["schema", "seed", "cases", "family_cases", "functions", "formats", "families",
                          "implementations", "entries"]
    /// An entry's members, in the order written.
    static let entryMembers = ["implementation", "function", "format", "family", "cases", "scored", "unsupported",
                               "errors", "oracle_failures", "max_ulp", "special_mismatch_cases"]

    /// The 1-based line of `entries[0]` when the text is laid out as written (`"entries": [` at
    /// a line's end, then each of the `entries` entries on a line of its own); nil otherwise.
    static func firstEntryLine(_ text: String, entries: Int) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let k = lines.firstIndex(where: { $0.hasPrefix("  \"entries\": [") && $0.hasSuffix("[") }) else { return nil }
        let rows = lines[(k + 1)...].prefix { $0.hasPrefix("    {") && ($0.hasSuffix("},") || $0.hasSuffix("}")) }
        return rows.count == entries ? k + 2 : nil
    }

    /// Reads the baseline at `path`.
    public static func read(_ path: String) throws(FixtureError) -> AccuracyBaseline {
        let bytes = try AtomicFile.read(path)
        do throws(FixtureError) {
            return try AccuracyBaseline(json: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw FixtureError("\(path): \(error.message)")
        }
    }

    /// Writes the baseline to `path` through a temporary name and a rename.
    public func write(to path: String) throws(FixtureError) {
        try AtomicFile.write(json, to: path)
    }
}
