extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// The case whose raw value is `name`, or nil: the same answer as `init(rawValue:)`.
    ///
    /// A scan of `allCases` (a few dozen comparisons of short strings at most) instead of the
    /// synthesized `init(rawValue:)`, which builds a hash table of every case's name on its first
    /// call in a process: the names of a request's fields, function and format are looked up
    /// once each in a one-request `eval`, where building the tables cost about 5% of its CPU
    /// time (`perf` of the static CLI on a one-logit request).
    static func named(_ name: String) -> Self? {
        for c in allCases where c.rawValue == name { return c }
        return nil
    }
}
