/// A JSON value (RFC 8259) that keeps what an exact reader needs: the literal text of every
/// number, and the order of every object's members.
///
/// - Numbers are kept as their literal text (`"1e-310"`, `"0.1"`, `"12345678901234567890"`), so a
///   reader can convert them exactly (nearest binary64, or an exact integer) and an `id` can be
///   echoed back byte for byte.
/// - Objects are an ordered list of members. Duplicate names are kept as they came; RFC 8259 only
///   says names SHOULD be unique, and deciding what a duplicate means is the reader's job
///   (the request decoder rejects them).
///
/// Parse with ``parse(_:maxDepth:)``; write with ``serialized``.
///
/// Equality is structural: numbers compare by literal text (`1.0` and `1` differ), objects by
/// their members in order.
public enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// The number's literal text as it appeared (or as constructed: the serializer writes it
    /// verbatim, so it must be a valid RFC 8259 number for the output to be valid JSON).
    case number(String)
    /// A string, escapes decoded.
    case string(String)
    /// Elements in order.
    case array([JSONValue])
    /// Members in their order of appearance.
    case object([(String, JSONValue)])
}

extension JSONValue {
    /// The JSON name of this value's type, for messages: "null", "a boolean", "a number",
    /// "a string", "an array", "an object".
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value of the first member named `key`, if this is an object that has one.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members in order, if this is an object.
    public var objectMembers: [(String, JSONValue)]? {
        if case .object(let m) = self { return m }
        return nil
    }

    /// A JSON number holding `x` exactly: its shortest round-trip decimal text (`0.1`, `5e-324`).
    ///
    /// Edge cases: JSON has no number for ±inf or NaN, so those give `nil`; use a string
    /// (``HexFloat/format(_:)``) for exact, total output.
    public static func number(exactly x: Double) -> JSONValue? {
        guard x.isFinite else { return nil }
        return .number(x.description)
    }

    /// `x` as the reports write a statistic that may be infinite: a JSON number holding it
    /// exactly (``number(exactly:)``) when finite, else the string `"inf"`, `"-inf"` or `"nan"`.
    public static func numberOrSpecial(_ x: Double) -> JSONValue {
        if x.isNaN { return .string("nan") }
        if x.isInfinite { return .string(x < 0 ? "-inf" : "inf") }
        return .number(x.description)
    }

    /// A JSON number holding the integer `n`.
    public static func number(_ n: Int) -> JSONValue { .number(String(n)) }
}

extension JSONValue: Equatable {
    /// Structural equality; numbers compare by their text (`1.0` and `1` differ), objects
    /// member by member in order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

extension JSONValue: Hashable {
    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(1); hasher.combine(b)
        case .number(let s): hasher.combine(2); hasher.combine(s)
        case .string(let s): hasher.combine(3); hasher.combine(s)
        case .array(let a): hasher.combine(4); hasher.combine(a)
        case .object(let m):
            hasher.combine(5)
            hasher.combine(m.count)
            for (k, v) in m { hasher.combine(k); hasher.combine(v) }
        }
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact serialization (``serialized``).
    public var description: String { serialized }
}
