import CMPFR

/// MPFR's exponent range, which is thread-local state.
///
/// The oracle's interval arithmetic runs in MPFR's default range, exponents in [1 − 2^30, 2^30 − 1]:
/// an exponential below 2^(−2^30) (an argument under −2^30·ln 2 ≈ −7.44·10^8) is enclosed as
/// [0, least], which stays an enclosure. Its exact operations (`ExactArithmetic`, exact sums, an
/// enclosure's width and midpoint) widen the range to the largest MPFR supports, so that they
/// stay exact, and the final rounding narrows it to the output format's range.
/// Both are done with `with(emin:emax:_:)`, which restores the previous range on return. The body
/// is synchronous on purpose: with no `await` inside, the task cannot move to another thread
/// while the range is changed.
public enum ExponentRange {
    /// The smallest and largest exponents MPFR accepts on this platform.
    public static var widest: (emin: Int, emax: Int) { (Int(mpfr_get_emin_min()), Int(mpfr_get_emax_max())) }

    /// The current thread's range.
    public static var current: (emin: Int, emax: Int) { (Int(mpfr_get_emin()), Int(mpfr_get_emax())) }

    /// Runs `body` with MPFR's exponent range set to [emin, emax] (the exponent of the 0.1xxx₂
    /// form), then restores the previous range, also when `body` throws. Returns `body`'s result
    /// (often an MPFR ternary value, which callers may ignore).
    @discardableResult
    public static func with<R, E: Error>(emin: Int, emax: Int, _ body: () throws(E) -> R) throws(E) -> R {
        let saved = current
        mpfr_set_emin(mpfr_exp_t(emin))
        mpfr_set_emax(mpfr_exp_t(emax))
        defer {
            mpfr_set_emin(mpfr_exp_t(saved.emin))
            mpfr_set_emax(mpfr_exp_t(saved.emax))
        }
        return try body()
    }

    /// Runs `body` with the widest exponent range; returns `body`'s result.
    @discardableResult
    public static func widest<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let w = widest
        return try with(emin: w.emin, emax: w.emax, body)
    }
}

/// The MPFR library linked in, e.g. "4.2.0".
public var mpfrVersion: String { String(cString: mpfr_get_version()) }

/// True when the linked MPFR keeps its state (exponent range, flags, constant caches) per thread
/// (`mpfr_buildopt_tls_p`); only then may the oracle run on several threads at once.
public var mpfrIsThreadSafe: Bool { mpfr_buildopt_tls_p() != 0 }
