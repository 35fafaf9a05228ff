extension JSONValue {
    /// The binary64 value this JSON value stands for, as every reader of the project takes it:
    /// a JSON number (its literal text, rounded to nearest binary64, ties to even; `1e400` is
    /// inf), or a string accepted by ``HexFloat/parse(_:)`` (hex float, decimal, `"inf"`,
    /// `"-inf"`, `"nan"`, …). Anything else (null, booleans, arrays, objects, other strings)
    /// gives `nil`.
    public var floatValue: Double? {
        switch self {
        case .number(let literal): Double(literal)  // RFC 8259 numbers are a subset of its syntax
        case .string(let text): HexFloat.parse(text)
        default: nil
        }
    }

    /// The integer this JSON value stands for: a JSON number written without fraction or exponent
    /// (`3`, `-100`) whose value fits `Int`. `3.0`, `3e0`, `"3"` and out-of-range numbers give
    /// `nil`: an index must be written as an integer.
    public var integerValue: Int? {
        guard case .number(let literal) = self, isIntegerLiteral(literal) else { return nil }
        return Int(literal)
    }

    /// The compact serialization, cut to at most `maxLength` characters with "…" at the end when
    /// longer: for quoting an offending value in a message without copying a huge array.
    public func excerpt(maxLength: Int = 60) -> String {
        let text = serialized
        guard text.count > maxLength else { return text }
        return String(text.prefix(max(maxLength - 1, 0))) + "…"
    }
}

/// True for a number literal without fraction or exponent (`-12`, not `1.0` or `1e2`).
func isIntegerLiteral(_ literal: String) -> Bool {
    literal.utf8.allSatisfy { $0 != UInt8(ascii: ".") && $0 | 0x20 != UInt8(ascii: "e") }
}

/// A problem with one field of a line, before the line's `id` is attached; internal to the
/// decoders.
struct FieldProblem: Error {
    var field: String
    var reason: String
}

/// The message tail for a value that should have been a float.
let expectedFloatText = #"expected a hex-float or decimal string, "inf", "-inf", "nan", or a JSON number"#

/// Reading floats and integers out of JSON values, with messages that name the field path.
enum FieldRead {
    /// `x` as a float, or a problem `"<v>" is not a number (expected …)` at `path()`.
    static func float(_ v: JSONValue, _ path: @autoclosure () -> String) throws(FieldProblem) -> Double {
        if let x = v.floatValue { return x }
        throw FieldProblem(field: path(), reason: "\(v.excerpt()) is not a number (\(expectedFloatText))")
    }

    /// An array of floats; elements are named `field[k]` in messages.
    static func floats(_ v: JSONValue, field: String) throws(FieldProblem) -> [Double] {
        guard case .array(let elements) = v else {
            throw FieldProblem(field: field, reason: "\(v.excerpt()) is not an array of numbers")
        }
        var out: [Double] = []
        out.reserveCapacity(elements.count)
        for (k, e) in elements.enumerated() {
            out.append(try float(e, "\(field)[\(k)]"))
        }
        return out
    }

    /// An array of arrays of floats; elements are named `field[r][k]`.
    static func floatRows(_ v: JSONValue, field: String) throws(FieldProblem) -> [[Double]] {
        guard case .array(let rows) = v else {
            throw FieldProblem(field: field, reason: "\(v.excerpt()) is not an array of arrays of numbers")
        }
        var out: [[Double]] = []
        out.reserveCapacity(rows.count)
        for (r, row) in rows.enumerated() {
            out.append(try floats(row, field: "\(field)[\(r)]"))
        }
        return out
    }

    /// An integer (see ``JSONValue/integerValue``), or a problem `1.5 is not an integer`.
    static func integer(_ v: JSONValue, _ path: @autoclosure () -> String) throws(FieldProblem) -> Int {
        if case .number(let literal) = v, isIntegerLiteral(literal) {
            if let n = Int(literal) { return n }
            throw FieldProblem(field: path(), reason: "\(literal) is out of the range of a 64-bit integer")
        }
        throw FieldProblem(field: path(), reason: "\(v.excerpt()) is not an integer")
    }

    /// A string, or a problem naming what was found (`field` and `expected` are made only for it).
    static func string(_ v: JSONValue, field: @autoclosure () -> String, expected: @autoclosure () -> String) throws(FieldProblem) -> String {
        guard case .string(let s) = v else {
            throw FieldProblem(field: field(), reason: "\(v.excerpt()) is not a string (expected \(expected()))")
        }
        return s
    }

    /// How many floats `v` holds if it is an array (of arrays, when `nested`); non-arrays
    /// count 0 and are reported later by the typed readers.
    static func count(_ v: JSONValue, nested: Bool) -> Int {
        guard case .array(let elements) = v else { return 0 }
        guard nested else { return elements.count }
        var total = 0
        for e in elements {
            total += (e.arrayValue?.count ?? 1)
        }
        return total
    }
}

/// Names joined for messages: `a, b, c`.
func listing<S: Sequence>(_ names: S) -> String where S.Element == String {
    names.joined(separator: ", ")
}

/// `s` as a JSON string literal, for quoting names and strings in messages.
func quoted(_ s: String) -> String {
    var bytes: [UInt8] = []
    JSONValue.writeString(s, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}
