import AccuracyHarness
import ArgumentParser
import FastSoftmax
import OracleIO
import SoftmaxOracle

/// A closed set of names the command line accepts (formats, functions, families, kernels,
/// report styles), and the one way they are parsed.
///
/// The `ExpressibleByArgument` conformance parses through ``init(named:)``, so typed options
/// (`@Option var format: Format`) and the commands that read names themselves (`check`,
/// `fixtures`, `regress`, whose usage errors exit with status 2) accept the same names.
protocol CommandLineName: CaseIterable, Equatable, RawRepresentable, ExpressibleByArgument where RawValue == String {
    /// What one value is called in messages: "format", "function", …
    static var kind: String { get }
}

extension CommandLineName {
    /// The value whose name is `text` (exactly; names are case-sensitive).
    ///
    /// - Throws: ``UnknownName``, which lists the names and suggests the closest one.
    init(named text: String) throws(UnknownName) {
        guard let value = Self(rawValue: text) else {
            throw UnknownName(kind: Self.kind, value: text, choices: Self.allCases.map(\.rawValue))
        }
        self = value
    }

    /// ArgumentParser's conversion: the value named `argument`, or nil (ArgumentParser then
    /// lists the choices).
    public init?(argument: String) {
        try? self.init(named: argument)
    }

    /// The values of a repeatable option, in the order given, each once; nil when none is
    /// given. With `allowingAll`, the name "all" stands for every value.
    static func parse(_ texts: [String], allowingAll: Bool = false) throws(UnknownName) -> [Self]? {
        if texts.isEmpty { return nil }
        if allowingAll && texts.contains("all") { return Array(allCases) }
        var out: [Self] = []
        for text in texts {
            let value: Self
            do throws(UnknownName) {
                value = try Self(named: text)
            } catch {
                var error = error
                error.allowsAll = allowingAll
                throw error
            }
            if !out.contains(value) { out.append(value) }
        }
        return out
    }
}

/// A name that is not one of a ``CommandLineName`` type's:
/// `unknown format "f33" (did you mean "f32"? expected one of: f64, f32, …)`.
struct UnknownName: Error, CustomStringConvertible {
    /// What a value is called ("format").
    var kind: String
    /// The name given.
    var value: String
    /// Every accepted name, in declaration order.
    var choices: [String]
    /// "all" is accepted too.
    var allowsAll = false

    /// The accepted name closest to ``value`` (`editDistance` at most 2), if any.
    var suggestion: String? {
        guard let best = choices.min(by: { editDistance($0, value) < editDistance($1, value) }),
              editDistance(best, value) <= 2 else { return nil }
        return best
    }

    var description: String {
        let hint = suggestion.map { "did you mean \"\($0)\"? " } ?? ""
        return "unknown \(kind) \"\(value)\" (\(hint)expected one of: \(choices.joined(separator: ", "))\(allowsAll ? ", or all" : ""))"
    }
}

extension Format: ExpressibleByArgument, CommandLineName {
    static var kind: String { "format" }
}

extension OracleFunction: ExpressibleByArgument, CommandLineName {
    static var kind: String { "function" }
}

extension Family: ExpressibleByArgument, CommandLineName {
    static var kind: String { "family" }
}

extension KernelVariant: ExpressibleByArgument, CommandLineName {
    static var kind: String { "implementation" }
}

extension ReportStyle: ExpressibleByArgument, CommandLineName {
    static var kind: String { "report format" }
}
