import MPFR
import OracleIO
import SoftmaxOracle

/// Names and versions written into fixture files and accuracy baselines.
///
/// A reader checks ``name`` before anything else: a file of another schema is refused with a
/// message that names both. Bump the version (`/2`) on any change a reader could notice.
public enum FixtureSchema {
    /// The schema of fixture files (`Fixtures/README.md` documents it).
    public static let name = "softmax-oracle.fixtures/1"
    /// The case generator whose algorithm made the inputs: `AccuracyHarness.CaseGenerator` as of
    /// this package version. Bump it when `CaseGenerator` or a `Family` changes what a (seed,
    /// key) gives; `fixtures verify` regenerates inputs only when the file names this generator.
    public static let generatorName = "softmax-oracle.case-generator/1"
    /// The package's version string, written as the oracle version with the MPFR version.
    public static let packageVersion = "softmax-oracle 0.1.0"
    /// The seed used when none is given (the same as `report`'s).
    public static let defaultSeed: UInt64 = 20_261_129
}

/// Which oracle certified a file's expected values: the package version and the MPFR library's.
///
/// The values do not depend on it (each is a proven correct rounding), but a file records it so
/// that a discrepancy can be traced. Regenerating with another MPFR changes this member only.
public struct OracleInfo: Sendable, Hashable {
    /// ``FixtureSchema/packageVersion`` of the writer.
    public var package: String
    /// `mpfr_get_version()` of the writer.
    public var mpfr: String

    /// This build's package version and the MPFR it runs on.
    public static var current: OracleInfo {
        OracleInfo(package: FixtureSchema.packageVersion, mpfr: mpfrVersion)
    }
}

/// Why a fixture or baseline operation failed: a message that names the file, line or option.
public struct FixtureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message: names the file, line or option.
    public var message: String

    /// An error of `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }

    /// `text` parsed as JSON that must be an object (a header, a case line, a baseline).
    ///
    /// - Throws: `<notJSON>: <the parse error>`, or `<notObject(value)> at byte N` for another
    ///   JSON value, N the offset of its first byte (after leading white space): the reader's
    ///   caller may not add a line, so the message itself says where.
    static func parseObject(_ text: String, notJSON: String = "not JSON",
                            notObject: (JSONValue) -> String) throws(FixtureError) -> JSONValue {
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONValue.parse(text)
        } catch {
            throw FixtureError("\(notJSON): \(error)")
        }
        guard value.objectMembers != nil else {
            let start = text.utf8.prefix { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }.count
            throw FixtureError("\(notObject(value)) at byte \(start)")
        }
        return value
    }
}
