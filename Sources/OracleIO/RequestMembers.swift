/// The members of a request object as the decoder reads them: the parsed JSON, and the arrays
/// the parser already read into binary64 (``FastFloatArray``), which are used as they are when
/// the field wants floats and read again as JSON when it wants anything else (indices, a shape
/// the fast reader does not give, an error message quoting the value).
///
/// Every accessor gives what the generic path (``FieldRead`` on the ``JSONValue``) gives, values
/// and errors alike: the fast arrays hold exactly ``JSONValue/floatValue`` of each element.
struct RequestMembers {
    /// The members in order (a fast array's member holds `[]`).
    let members: [(String, JSONValue)]
    /// Fast arrays by member index.
    var fast: [Int: FastFloatArray] = [:]
    /// The line the fast arrays were read from.
    var source: UnsafeBufferPointer<UInt8>?

    /// Member `k`'s value as JSON (a fast array is parsed again from the line).
    func json(_ k: Int) -> JSONValue {
        guard let f = fast[k], let source else { return members[k].1 }
        // The range held a valid JSON array when it was scanned, so this cannot fail.
        return (try? JSONValue.parse(utf8: UnsafeBufferPointer(rebasing: source[f.range]))) ?? members[k].1
    }

    /// Whether member `k` is an array.
    func isArray(_ k: Int) -> Bool {
        fast[k] != nil || members[k].1.arrayValue != nil
    }

    /// Member `k` as floats (``FieldRead/floats(_:field:)``).
    func floats(_ k: Int, field: String) throws(FieldProblem) -> [Double] {
        if let f = fast[k], f.complete, case .flat(let values) = f.values { return values }
        return try FieldRead.floats(json(k), field: field)
    }

    /// Member `k` as rows of floats (``FieldRead/floatRows(_:field:)``).
    func floatRows(_ k: Int, field: String) throws(FieldProblem) -> [[Double]] {
        if let f = fast[k], f.complete, case .rows(let rows) = f.values { return rows }
        return try FieldRead.floatRows(json(k), field: field)
    }

    /// How many floats member `k` holds (``FieldRead/count(_:nested:)``).
    func count(_ k: Int, nested: Bool) -> Int {
        guard let f = fast[k] else { return FieldRead.count(members[k].1, nested: nested) }
        return nested ? f.count : f.elementCount
    }
}
