import CMPFR

/// A directed or nearest rounding mode of MPFR.
///
/// The oracle encloses each exact value between a result rounded `.down` and one rounded `.up`;
/// `.nearest` (ties to even) is used only for the final, single rounding into an output format.
public enum Rounding: Sendable, CaseIterable {
    /// To nearest, ties to even (MPFR_RNDN).
    case nearest
    /// Toward −inf (MPFR_RNDD): the result is <= the exact value.
    case down
    /// Toward +inf (MPFR_RNDU): the result is >= the exact value.
    case up
    /// Toward zero (MPFR_RNDZ): the result's magnitude is <= the exact value's.
    case towardZero

    @usableFromInline var mpfr: mpfr_rnd_t {
        switch self {
        case .nearest: MPFR_RNDN
        case .down: MPFR_RNDD
        case .up: MPFR_RNDU
        case .towardZero: MPFR_RNDZ
        }
    }

    /// The opposite direction (`.down` ⇄ `.up`); used where an operation is antitone in an argument.
    public var opposite: Rounding {
        switch self {
        case .down: .up
        case .up: .down
        default: self
        }
    }
}

/// An arbitrary-precision binary floating-point number: one owned `mpfr_t`.
///
/// Ownership: the `mpfr_t` lives in memory this object allocates in `init` and releases (with
/// `mpfr_clear`) in `deinit`, so a `BigFloat` can never leak or be used after free. It is a
/// reference type so that MPFR's in-place style (`r.add(a, b, .up)`) is cheap; it is not
/// `Sendable`, and the oracle creates its numbers per call, on one thread.
///
/// Every arithmetic method writes its correctly rounded result (in the given direction, at the
/// receiver's precision) into the receiver and returns MPFR's ternary value: 0 when the result is
/// exact, negative when it is below the exact value, positive when above.
public final class BigFloat {
    @usableFromInline let raw: UnsafeMutablePointer<__mpfr_struct>
    /// For a view of a number in a `PackedFloats` (`PackedFloats.view`): the store that owns the
    /// memory, kept alive by the view; nil for a number this object owns.
    private let owner: PackedFloats?

    /// A NaN with `precision` bits (MPFR's fresh value).
    public init(precision: Int) {
        raw = .allocate(capacity: 1)
        mpfr_init2(raw, mpfr_prec_t(Swift.max(precision, 1)))
        owner = nil
    }

    /// A view of a number that `owner` holds (no copy); see `PackedFloats.view`.
    init(viewing raw: UnsafeMutablePointer<__mpfr_struct>, of owner: PackedFloats) {
        self.raw = raw
        self.owner = owner
    }

    /// `value`, rounded to `precision` bits in direction `rounding` (exact when `precision >= 53`).
    public convenience init(_ value: Double, precision: Int, rounding: Rounding = .nearest) {
        self.init(precision: precision)
        mpfr_set_d(raw, value, rounding.mpfr)
    }

    deinit {
        if owner == nil {
            mpfr_clear(raw)
            raw.deallocate()
        }
    }

    // MARK: Inspection

    /// The number of significand bits (>= 1).
    public var precision: Int { Int(cmpfr_get_prec(raw)) }
    /// True for NaN.
    public var isNaN: Bool { cmpfr_nan_p(raw) != 0 }
    /// True for ±inf.
    public var isInfinite: Bool { cmpfr_inf_p(raw) != 0 }
    /// True for ±0.
    public var isZero: Bool { cmpfr_zero_p(raw) != 0 }
    /// True for zeros and regular numbers (neither NaN nor ±inf).
    public var isFinite: Bool { !isNaN && !isInfinite }
    /// True for -0, negative numbers and -inf.
    public var signBit: Bool { cmpfr_signbit(raw) != 0 }
    /// -1, 0 or 1 (0 for ±0; NaN reads as 0).
    public var signum: Int { Int(cmpfr_sgn(raw)) }
    /// MPFR's exponent e of a regular number, with value = 0.1xxx₂ · 2^e (one more than
    /// ⌊log₂|value|⌋). Meaningless for zeros, NaN and infinities.
    public var exponent: Int { Int(cmpfr_get_exp(raw)) }

    /// The value rounded to binary64 in direction `rounding` (exact when it fits).
    public func double(_ rounding: Rounding = .nearest) -> Double { mpfr_get_d(raw, rounding.mpfr) }

    /// Exact comparison: -1, 0, 1 (NaN compares as unordered and returns 0; check `isNaN` first).
    public func compare(_ other: BigFloat) -> Int { Int(mpfr_cmp(raw, other.raw)) }


    // MARK: Assignment

    /// self = x rounded to self's precision in direction r; returns the ternary value (0: exact,
    /// as it always is for precision >= 53).
    @discardableResult public func set(_ x: Double, _ r: Rounding) -> Int { Int(mpfr_set_d(raw, x, r.mpfr)) }
    /// self = x rounded to self's precision in direction r; returns the ternary value.
    @discardableResult public func set(_ x: BigFloat, _ r: Rounding) -> Int { Int(mpfr_set(raw, x.raw, r.mpfr)) }
    /// self = x rounded to self's precision in direction r; returns the ternary value (0: exact,
    /// as it always is for precision >= 64).
    @discardableResult public func set(_ x: Int, _ r: Rounding) -> Int { Int(mpfr_set_si(raw, x, r.mpfr)) }
    /// self = +0, or −0 when `negative`.
    public func setZero(negative: Bool = false) { mpfr_set_zero(raw, negative ? -1 : 1) }

    // MARK: Arithmetic (result into self)
    //
    // Each method computes the exact result of its operation on its arguments, rounds it once to
    // self's precision in direction r (IEEE 754 special values and signed zeros as in MPFR), stores
    // it in self (which may be one of the arguments) and returns the ternary value.

    /// self = a + b.
    @discardableResult public func add(_ a: BigFloat, _ b: BigFloat, _ r: Rounding) -> Int { Int(mpfr_add(raw, a.raw, b.raw, r.mpfr)) }
    /// self = a − b.
    @discardableResult public func sub(_ a: BigFloat, _ b: BigFloat, _ r: Rounding) -> Int { Int(mpfr_sub(raw, a.raw, b.raw, r.mpfr)) }
    /// self = a · b.
    @discardableResult public func mul(_ a: BigFloat, _ b: BigFloat, _ r: Rounding) -> Int { Int(mpfr_mul(raw, a.raw, b.raw, r.mpfr)) }
    /// self = a / b (b = 0: ±inf, or NaN for 0/0).
    @discardableResult public func div(_ a: BigFloat, _ b: BigFloat, _ r: Rounding) -> Int { Int(mpfr_div(raw, a.raw, b.raw, r.mpfr)) }
    /// self = a / n for an integer n.
    @discardableResult public func div(_ a: BigFloat, _ n: Int, _ r: Rounding) -> Int { Int(mpfr_div_si(raw, a.raw, n, r.mpfr)) }
    /// self = a · n for an integer n.
    @discardableResult public func mul(_ a: BigFloat, _ n: Int, _ r: Rounding) -> Int { Int(mpfr_mul_si(raw, a.raw, n, r.mpfr)) }
    /// `self = a · 2^k` (exact unless the exponent range is exceeded).
    @discardableResult public func scale(_ a: BigFloat, byPowerOfTwo k: Int, _ r: Rounding) -> Int { Int(mpfr_mul_2si(raw, a.raw, k, r.mpfr)) }
    /// self = |a| (exact when self's precision is at least a's).
    @discardableResult public func abs(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_abs(raw, a.raw, r.mpfr)) }
    /// self = −a (exact when self's precision is at least a's).
    @discardableResult public func neg(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_neg(raw, a.raw, r.mpfr)) }
    /// self = e^a (exact only for a = 0; +0 or the least number when it underflows the
    /// exponent range, by direction).
    @discardableResult public func exp(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_exp(raw, a.raw, r.mpfr)) }
    /// self = log(a) (a = 0: −inf; a < 0: NaN).
    @discardableResult public func log(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_log(raw, a.raw, r.mpfr)) }
    /// log(1 + a), without forming 1 + a.
    @discardableResult public func log1p(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_log1p(raw, a.raw, r.mpfr)) }
    /// e^a − 1, without forming e^a (exact only for a = 0; −1 at a = −inf).
    @discardableResult public func expm1(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_expm1(raw, a.raw, r.mpfr)) }
    /// tanh(a) (exact only for a = 0; ±1 at ±inf).
    @discardableResult public func tanh(_ a: BigFloat, _ r: Rounding) -> Int { Int(mpfr_tanh(raw, a.raw, r.mpfr)) }
    /// `self = a · b + c` with a single rounding.
    @discardableResult public func fma(_ a: BigFloat, _ b: BigFloat, _ c: BigFloat, _ r: Rounding) -> Int {
        Int(mpfr_fma(raw, a.raw, b.raw, c.raw, r.mpfr))
    }

    /// The correctly rounded sum of all `terms` (MPFR's `mpfr_sum`: one rounding, whatever the
    /// cancellation), into self.
    @discardableResult public func sum(_ terms: [BigFloat], _ r: Rounding) -> Int {
        if terms.isEmpty { setZero(); return 0 }
        var pointers: [UnsafeMutablePointer<__mpfr_struct>?] = terms.map { $0.raw }
        return pointers.withUnsafeMutableBufferPointer { buffer in
            Int(mpfr_sum(raw, buffer.baseAddress, UInt(buffer.count), r.mpfr))
        }
    }

    /// The correctly rounded sum of `terms` (numbers may repeat; `count` of them), into self:
    /// `sum(_:_:)` without an array of `BigFloat`s (8 bytes a term while it runs). The terms must
    /// not be self. Inlinable, so that a caller's lazy sequence of terms is specialized: as an
    /// unspecialized generic, each term cost a metadata lookup (about 1.8 µs a term, 3-4x the CPU
    /// of the MPFR path on a row of 10^5 equal logits).
    @inlinable @discardableResult public func sum<Terms: Sequence<NumberReference>>(_ terms: Terms, count: Int, _ r: Rounding) -> Int {
        if count == 0 { setZero(); return 0 }
        let pointers = UnsafeMutablePointer<UnsafeMutablePointer<__mpfr_struct>?>.allocate(capacity: count)
        defer { pointers.deallocate() }
        var k = 0
        for t in terms {
            precondition(k < count, "no more terms than count")
            pointers[k] = t.raw
            k += 1
        }
        precondition(k == count, "count terms")
        return Int(mpfr_sum(raw, pointers, UInt(count), r.mpfr))
    }

    /// This number, as a term of `sum(count:_:_:)`.
    public var reference: NumberReference { NumberReference(raw: raw) }

    /// Moves self to the next representable number above (toward +inf) at its precision.
    public func nextUp() { mpfr_nextabove(raw) }
    /// Moves self to the next representable number below (toward -inf) at its precision.
    public func nextDown() { mpfr_nextbelow(raw) }

    // MARK: Rounding into a smaller format

    /// Applies the current exponent range to a value just rounded with ternary `ternary`
    /// (`mpfr_check_range`), then emulates gradual underflow (`mpfr_subnormalize`), avoiding double
    /// rounding. Call inside `ExponentRange.with`.
    @discardableResult public func fitExponentRange(ternary: Int, _ r: Rounding) -> Int {
        let t = mpfr_check_range(raw, Int32(ternary), r.mpfr)
        return Int(mpfr_subnormalize(raw, t, r.mpfr))
    }
}

extension BigFloat: CustomStringConvertible {
    /// The value in hexadecimal (`%Ra` in MPFR's printf), exact.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64 + precision / 4)
        let n = buffer.withUnsafeMutableBufferPointer { b in
            cmpfr_hex(b.baseAddress, b.count, raw)
        }
        if n < 0 { return "?" }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
