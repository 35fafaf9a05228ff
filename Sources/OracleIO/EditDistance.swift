/// Levenshtein distance over Unicode scalars: the fewest insertions, deletions and substitutions
/// that turn `a` into `b`. For the short names of "did you mean" hints (O(|a|·|b|) time); shared
/// by the request decoder and the fixture-file reader of ExternalImplementations.
package func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
