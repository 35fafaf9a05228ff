import CMPFR

/// A number's `mpfr_t`, borrowed for `BigFloat.sum(count:_:_:)`: valid while the `BigFloat` or
/// `PackedFloats` it comes from is alive (the caller keeps it so).
public struct NumberReference {
    @usableFromInline let raw: UnsafeMutablePointer<__mpfr_struct>
}

/// `count` numbers of one precision in two contiguous blocks: their `mpfr_t` structures, and
/// their significands, one after another (MPFR's custom interface, `mpfr_custom_init_set`).
///
/// Memory: `bytesPerNumber(precision:)` a number, 48 bytes at up to 128 bits, against about 110
/// for a `BigFloat` (an object, a separately allocated `mpfr_t` and a separately allocated
/// significand, each with the allocator's overhead). The values are MPFR numbers like any other:
/// an operation into a number here gives the bits it gives into a `BigFloat` of the same
/// precision (MPFR's results depend on the operands, the precision and the rounding only).
///
/// Not `Sendable`, like `BigFloat`: one thread makes and reads a store. The numbers are written
/// by `exp`, `set`, `nextUp` and `nextDown`; `view` lends one as a `BigFloat` without a copy,
/// which the caller must not write, and which keeps the store alive.
public final class PackedFloats {
    /// The precision of every number, in bits.
    public let precision: Int
    /// The number of numbers.
    public let count: Int
    private let numbers: UnsafeMutablePointer<__mpfr_struct>
    private let significands: UnsafeMutableRawPointer

    /// The bytes of one significand at `precision` bits: `mpfr_custom_get_size`, which the MPFR
    /// manual gives as the size of ⌈precision / GMP_NUMB_BITS⌉ limbs (8 bytes each here).
    public static func significandBytes(precision: Int) -> Int {
        Int(cmpfr_custom_get_size(mpfr_prec_t(Swift.max(precision, 1))))
    }

    /// The bytes one number takes: its `mpfr_t` (32 bytes: precision, sign, exponent and a
    /// pointer) and its significand.
    public static func bytesPerNumber(precision: Int) -> Int {
        MemoryLayout<__mpfr_struct>.stride + significandBytes(precision: precision)
    }

    /// Room for `count` numbers of `precision` bits; each is made by its first `exp`, `set` or
    /// `mul` (reading one before is an error).
    public init(count: Int, precision: Int) {
        self.precision = Swift.max(precision, 1)
        self.count = count
        let size = Self.significandBytes(precision: self.precision)
        numbers = .allocate(capacity: Swift.max(count, 1))
        significands = .allocate(byteCount: Swift.max(count * size, 1), alignment: 8)
        significandSize = size
    }

    private let significandSize: Int

    /// Makes number i a NaN of the store's precision on its own significand, before its first
    /// write (so that a store of which only some numbers are used touches only their memory).
    @inline(__always) private func initialize(_ i: Int) {
        precondition(i >= 0 && i < count, "index in range")
        cmpfr_custom_init_set(numbers + i, mpfr_prec_t(precision), significands + i * significandSize)
    }

    deinit {
        numbers.deallocate()
        significands.deallocate()
    }

    /// Number i, lent as a `BigFloat` that shares its memory (not to be written).
    public func view(_ i: Int) -> BigFloat {
        precondition(i >= 0 && i < count, "index in range")
        return BigFloat(viewing: numbers + i, of: self)
    }

    /// Number i, as a term of `BigFloat.sum(count:_:_:)`.
    public func reference(_ i: Int) -> NumberReference { NumberReference(raw: numbers + i) }

    /// Number i = e^a rounded in direction r; returns the ternary value (as `BigFloat.exp`).
    @discardableResult public func exp(_ i: Int, _ a: BigFloat, _ r: Rounding) -> Int {
        initialize(i)
        return Int(mpfr_exp(numbers + i, a.raw, r.mpfr))
    }

    /// Number i = x rounded in direction r; returns the ternary value.
    @discardableResult public func set(_ i: Int, _ x: BigFloat, _ r: Rounding) -> Int {
        initialize(i)
        return Int(mpfr_set(numbers + i, x.raw, r.mpfr))
    }

    /// Number i = a · b rounded in direction r; returns the ternary value (as `BigFloat.mul`).
    @discardableResult public func mul(_ i: Int, _ a: BigFloat, _ b: BigFloat, _ r: Rounding) -> Int {
        initialize(i)
        return Int(mpfr_mul(numbers + i, a.raw, b.raw, r.mpfr))
    }

    /// True when number i is ±0.
    public func isZero(_ i: Int) -> Bool {
        precondition(i >= 0 && i < count, "index in range")
        return cmpfr_zero_p(numbers + i) != 0
    }

    /// Number i's MPFR exponent (as `BigFloat.exponent`; meaningless for zeros).
    public func exponent(_ i: Int) -> Int {
        precondition(i >= 0 && i < count, "index in range")
        return Int(cmpfr_get_exp(numbers + i))
    }

    /// Moves number i to the next representable number above, at its precision.
    public func nextUp(_ i: Int) {
        precondition(i >= 0 && i < count, "index in range")
        mpfr_nextabove(numbers + i)
    }

    /// Moves number i to the next representable number below, at its precision.
    public func nextDown(_ i: Int) {
        precondition(i >= 0 && i < count, "index in range")
        mpfr_nextbelow(numbers + i)
    }
}
