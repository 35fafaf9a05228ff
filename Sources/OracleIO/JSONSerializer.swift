extension JSONValue {
    /// The compact JSON text of this value: no whitespace, object members in stored order,
    /// numbers as their literal text, strings escaped. Deterministic: equal values give equal
    /// bytes.
    ///
    /// String escaping: `"` → `\"`, `\` → `\\`, U+0008/0009/000A/000C/000D → `\b \t \n \f \r`,
    /// other U+0000–U+001F → `\u00XX` (lowercase hex); everything else, `/` and non-ASCII
    /// included, is written as UTF-8 unchanged.
    ///
    /// Edge cases: a `.number` built by hand with text that is not a JSON number is written
    /// verbatim, which makes the output invalid JSON; values from ``parse(_:maxDepth:)`` are
    /// always valid.
    public var serialized: String {
        var bytes: [UInt8] = []
        write(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the compact serialization (``serialized``) as UTF-8 to `bytes`.
    public func write(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let text): bytes.append(contentsOf: text.utf8)
        case .string(let s): JSONValue.writeString(s, to: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (k, element) in elements.enumerated() {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                element.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (k, (name, value)) in members.enumerated() {
                if k > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONValue.writeString(name, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a JSON string literal (quotes included) to `bytes`.
    public static func writeString(_ s: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// The indented JSON text of this value, as the reports write it: an object one member per
    /// line (`"name": value`), an array of scalars on one line (`[1, "x", null]`), any other
    /// array one element per line; two spaces per level, no trailing newline. Scalars, strings
    /// and names are written as in ``serialized``. Deterministic: equal values give equal bytes.
    ///
    /// Edge cases: an empty object is `{}` and an empty array `[]`, each on the line of its name.
    public var prettyPrinted: String {
        var out = ""
        writePretty(indent: 0, to: &out)
        return out
    }

    private func writePretty(indent: Int, to out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        let inner = String(repeating: "  ", count: indent + 1)
        switch self {
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (name, value)) in members.enumerated() {
                out += inner + JSONValue.string(name).serialized + ": "
                value.writePretty(indent: indent + 1, to: &out)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += pad + "}"
        case .array(let elements):
            if elements.allSatisfy(\.isScalar) {
                out += "[" + elements.map(\.serialized).joined(separator: ", ") + "]"
                return
            }
            out += "[\n"
            for (i, e) in elements.enumerated() {
                out += inner
                e.writePretty(indent: indent + 1, to: &out)
                out += i + 1 < elements.count ? ",\n" : "\n"
            }
            out += pad + "]"
        default:
            out += serialized
        }
    }

    /// True for null, booleans, numbers and strings.
    private var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }
}
