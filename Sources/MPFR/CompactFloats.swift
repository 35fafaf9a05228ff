import CMPFR

/// `count` numbers of one precision, each as its exponent word and its significand's limbs, one
/// after another in one block: 8 + 8·⌈precision/64⌉ bytes a number (24 at up to 128 bits), half
/// of a `PackedFloats` number (whose `mpfr_t` also holds the precision, which every number of a
/// store shares, and a pointer to the significand, whose place is known from the index).
///
/// A number is copied in (`set`) and out (`value`) exactly: out comes a `BigFloat` of the store's
/// precision with the same kind, sign, exponent and significand bits as the number copied in
/// (MPFR's custom interface, "Custom Interface" in the MPFR manual: a number is its kind with its
/// sign, its exponent and its significand; the precision is the store's). The encoding:
/// - a regular number: the exponent word is its exponent (MPFR keeps it in [1 − 2^62, 2^62 − 1],
///   so never `Int64.min`); the limbs are its significand's, except that the most significant
///   limb's top bit, which MPFR keeps set in every regular number, holds the sign (1: negative)
///   and is set again on the way out;
/// - ±0, ±inf and NaN: the exponent word is `Int64.min` and the first limb holds the signed kind
///   (`mpfr_custom_get_kind`: MPFR_ZERO_KIND or MPFR_INF_KIND times −1 for a negative number;
///   MPFR_NAN_KIND, whose sign MPFR does not report: a NaN comes out with a positive sign).
///
/// Not `Sendable`, like `BigFloat`: one thread writes and reads a store.
public final class CompactFloats {
    /// The precision of every number, in bits.
    public let precision: Int
    /// The number of numbers.
    public let count: Int
    /// Limbs (64-bit words) of one significand.
    private let limbs: Int
    private let words: UnsafeMutablePointer<UInt64>
    /// One significand's room, for `value`'s temporary number.
    private let scratch: UnsafeMutablePointer<UInt64>
    private static let singular = UInt64(bitPattern: Int64.min)
    private static let top: UInt64 = 1 << 63
    private static let regular = Int32(MPFR_REGULAR_KIND.rawValue)

    /// The bytes one number takes at `precision` bits: the exponent word and the significand.
    public static func bytesPerNumber(precision: Int) -> Int {
        8 + Int(cmpfr_custom_get_size(mpfr_prec_t(Swift.max(precision, 1))))
    }

    /// Room for `count` numbers of `precision` bits (each written by `set` before it is read).
    public init(count: Int, precision: Int) {
        self.precision = Swift.max(precision, 1)
        self.count = count
        limbs = Int(cmpfr_custom_get_size(mpfr_prec_t(self.precision))) / 8
        precondition(limbs * 8 == Int(cmpfr_custom_get_size(mpfr_prec_t(self.precision))), "64-bit limbs")
        words = .allocate(capacity: Swift.max(count * (1 + limbs), 1))
        scratch = .allocate(capacity: limbs)
    }

    deinit {
        words.deallocate()
        scratch.deallocate()
    }

    /// Number i = x, exactly: x must be representable at the store's precision (a number of
    /// another precision is converted first, and must convert exactly).
    public func set(_ i: Int, _ x: BigFloat) {
        precondition(i >= 0 && i < count, "index in range")
        if x.precision != precision {
            let converted = BigFloat(precision: precision)
            precondition(converted.set(x, .nearest) == 0, "a number exact at the store's precision")
            set(i, converted)
            return
        }
        let at = words + i * (1 + limbs)
        let kind = cmpfr_custom_get_kind(x.raw)
        if kind == Self.regular || kind == -Self.regular {
            at[0] = UInt64(bitPattern: Int64(cmpfr_custom_get_exp(x.raw)))
            let significand = cmpfr_custom_get_significand(x.raw)!.assumingMemoryBound(to: UInt64.self)
            (at + 1).update(from: significand, count: limbs)
            at[limbs] = (at[limbs] & ~Self.top) | (kind < 0 ? Self.top : 0)
        } else {
            at[0] = Self.singular
            at[1] = UInt64(bitPattern: Int64(kind))
        }
    }

    /// Number i, as a new `BigFloat` of the store's precision (an exact copy).
    public func value(_ i: Int) -> BigFloat {
        precondition(i >= 0 && i < count, "index in range")
        let at = words + i * (1 + limbs)
        var number = __mpfr_struct()
        if at[0] == Self.singular {
            cmpfr_custom_init_set_kind(&number, Int32(truncatingIfNeeded: Int64(bitPattern: at[1])), 0, mpfr_prec_t(precision), scratch)
        } else {
            scratch.update(from: at + 1, count: limbs)
            let negative = scratch[limbs - 1] & Self.top != 0
            scratch[limbs - 1] |= Self.top
            let kind = negative ? -Self.regular : Self.regular
            cmpfr_custom_init_set_kind(&number, kind, mpfr_exp_t(Int64(bitPattern: at[0])), mpfr_prec_t(precision), scratch)
        }
        let r = BigFloat(precision: precision)
        mpfr_set(r.raw, &number, MPFR_RNDN)  // exact: the same precision
        return r
    }
}
