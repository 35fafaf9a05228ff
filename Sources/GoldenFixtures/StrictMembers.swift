import OracleIO

/// The strict reading of the JSON objects of fixture headers and accuracy baselines: every member
/// required (null where the format allows it), none unknown, none twice. A missing member would
/// otherwise switch a check off silently (a baseline entry without `max_ulp` gated nothing).
enum StrictMembers {
    /// Checks that `value` is an object with exactly the members `expected` (any order).
    ///
    /// - Parameters:
    ///   - what: names the object in messages: `header member "generator"`, `entries[3] (line 14)`.
    /// - Throws: ``FixtureError`` `<what>: unknown member "x" (…)`, `… member "x" appears twice`,
    ///   or `… member "x" is missing`.
    static func check(_ value: JSONValue, expected: [String], what: String) throws(FixtureError) {
        guard let members = value.objectMembers else {
            throw FixtureError("\(what): not an object (found \(value.kindDescription))")
        }
        var seen = Set<String>()
        for (name, _) in members {
            guard expected.contains(name) else {
                throw FixtureError("\(what): unknown member \(JSONValue.string(name).excerpt()) (the members are \(expected.joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else {
                throw FixtureError("\(what): member \"\(name)\" appears twice")
            }
        }
        if let missing = expected.first(where: { !seen.contains($0) }) {
            throw FixtureError("\(what): member \"\(missing)\" is missing (every member is required; null where allowed)")
        }
    }
}
