import MPFR
import ParallelExecution

/// The one place where work that calls the oracle is spread over threads, and where MPFR's
/// thread-safety rule is applied: `report`, `check`, `regress`, `fixtures generate` and
/// `fixtures verify` all go through ``map(_:threads:_:)`` (via ``Runner``, `ExternalRunner`,
/// `FixtureGenerator` and `FixtureVerifier`).
///
/// The rule: the oracle changes MPFR's exponent range while it computes, and MPFR keeps that
/// range (and its flags and constant caches) per thread only in a thread-safe build
/// (`mpfrIsThreadSafe`, i.e. `mpfr_buildopt_tls_p`). With any other build, concurrent oracle
/// calls would change one another's range, so everything runs on one thread.
public enum OracleParallelism {
    /// The threads oracle work may use when `requested` are asked for: `max(1, requested)` with
    /// a thread-safe MPFR, else 1.
    public static func threads(_ requested: Int) -> Int {
        mpfrIsThreadSafe ? Swift.max(1, requested) : 1
    }

    /// `items.map(body)` on up to ``threads(_:)`` threads, items handed out one at a time
    /// (`Parallel.map`).
    ///
    /// - Postcondition: the result is in `items`' order and does not depend on `threads`.
    public static func map<T: Sendable, R: Sendable>(_ items: [T], threads: Int, _ body: @Sendable (T) -> R) -> [R] {
        Parallel.map(items, threads: self.threads(threads), body)
    }
}
