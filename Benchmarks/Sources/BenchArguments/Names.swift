import AccuracyHarness
import ArgumentParser
import SoftmaxOracle

// The closed sets of names the benchmarks' options take, by their raw values (the names of the
// CLI and of the JSON protocol): ArgumentParser lists them in `--help` and in the error for a
// name it does not know.
extension Format: @retroactive ExpressibleByArgument {}
extension OracleFunction: @retroactive ExpressibleByArgument {}
extension Family: @retroactive ExpressibleByArgument {}

/// The names of a comma-separated list ("softmax,log_softmax"), in the order given: the
/// transform of a list option, `@Option(transform: commaSeparated) var functions: [OracleFunction]`.
///
/// - Throws: ``NameListError`` for an empty list or item, or an item that is not a name of
///   `Name`; ArgumentParser reports it after the option and the whole value.
public func commaSeparated<Name: ExpressibleByArgument & CaseIterable & RawRepresentable>(_ text: String) throws -> [Name]
where Name.RawValue == String {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard !text.isEmpty else { throw NameListError(item: nil, choices: Name.allCases.map(\.rawValue)) }
    return try items.map { item in
        guard let name = Name(rawValue: item) else { throw NameListError(item: item, choices: Name.allCases.map(\.rawValue)) }
        return name
    }
}

/// A list option's value that is empty or holds an item that is not a name.
public struct NameListError: Error, CustomStringConvertible {
    /// The item that is not a name (nil: the list is empty).
    public var item: String?
    /// Every accepted name.
    public var choices: [String]

    public var description: String {
        let what = item.map { $0.isEmpty ? "an empty item" : "\"\($0)\" is not a name" } ?? "no name given"
        return "\(what) (a comma-separated list of: \(choices.joined(separator: ", ")))"
    }
}
