import MPFR

/// An exact real result, kept to about 106 bits and with an unbounded exponent, so that the harness
/// can measure an output's distance from it in ULPs (`ULP.score`).
///
/// A finite nonzero value is ±(head + tail) · 2^exponent, where `exponent` = ⌊log₂|v|⌋ exactly and
/// head + tail approximates |v|/2^exponent ∈ [1, 2) with a relative error below 2^-104 (head may
/// round up to 2.0; `exponent` stays exact). Values the oracle has only enclosed in an interval
/// far below every format's least subnormal (e.g. e^(-10^300)) carry the interval's midpoint, whose
/// distance from the truth is negligible next to any ULP.
public struct ExactValue: Sendable, Hashable, CustomStringConvertible {
    /// What kind of real (or special value) the exact result is.
    public enum Kind: Sendable, Hashable {
        /// Not a number (an undefined result, e.g. a NaN input or a mean over no rows).
        case nan
        /// ±inf (`isNegative` gives the sign).
        case infinity
        /// An exact zero (`isNegative` gives the sign of a signed zero).
        case zero
        /// A finite nonzero real, ±(head + tail)·2^exponent.
        case finite
    }

    /// ⌊log₂|v|⌋ for a finite nonzero value; 0 otherwise.
    public let exponent: Int
    /// The head with the value's sign: NaN (positive), ±inf, ±0, or ±head for a finite value.
    /// Kind, sign and head are all read from it, so that an `ExactValue` takes 24 bytes and an
    /// ``OracleValue`` 32 (a row of 10^6 outputs is then below the 32 MiB above which glibc
    /// serves every allocation with fresh, zeroed pages).
    @usableFromInline let signedHead: Double
    /// For a finite value, the rest: head + tail approximates |v|/2^exponent with a relative
    /// error below 2^-104; 0 for the other kinds.
    public let tail: Double

    /// NaN, ±inf, ±0 or a finite nonzero value.
    @inlinable public var kind: Kind {
        if signedHead.isNaN { return .nan }
        if signedHead.isInfinite { return .infinity }
        return signedHead == 0 ? .zero : .finite
    }
    /// The sign: true for negative values, −inf and −0 (false for NaN).
    @inlinable public var isNegative: Bool { signedHead.sign == .minus && !signedHead.isNaN }
    /// For a finite value, |v|/2^exponent to about 53 bits, in [1, 2] (2 only when the value lies
    /// just below a power of two and rounds up); NaN, +inf or +0 for the other kinds.
    @inlinable public var head: Double { signedHead.isNaN ? .nan : signedHead.magnitude }

    /// The exact value NaN.
    public static let nan = ExactValue(kind: .nan, isNegative: false, exponent: 0, head: .nan, tail: 0)
    /// The exact value +inf, or −inf when `negative`.
    public static func infinity(negative: Bool) -> ExactValue {
        ExactValue(kind: .infinity, isNegative: negative, exponent: 0, head: .infinity, tail: 0)
    }
    /// The exact value +0, or −0 when `negative`.
    public static func zero(negative: Bool = false) -> ExactValue {
        ExactValue(kind: .zero, isNegative: negative, exponent: 0, head: 0, tail: 0)
    }

    /// A value of `kind`: `head` must be NaN, +inf, +0, or in [1, 2] (`.finite`), as `kind` says.
    init(kind: Kind, isNegative: Bool, exponent: Int, head: Double, tail: Double) {
        assert(kind == (head.isNaN ? .nan : head.isInfinite ? .infinity : head == 0 ? .zero : .finite),
               "ExactValue: head \(head) does not match kind \(kind)")
        self.exponent = exponent
        self.signedHead = kind == .nan ? .nan : (isNegative ? -head.magnitude : head.magnitude)
        self.tail = tail
    }

    /// Equal when kind, sign, exponent, head and tail are (`==` on the doubles: a NaN value is
    /// unequal to every value, itself included, and +0 and −0 differ by their sign).
    public static func == (a: ExactValue, b: ExactValue) -> Bool {
        a.kind == b.kind && a.isNegative == b.isNegative && a.exponent == b.exponent && a.head == b.head && a.tail == b.tail
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(isNegative)
        hasher.combine(exponent)
        hasher.combine(head)
        hasher.combine(tail)
    }

    /// The exact value of a binary64 number.
    public init(_ x: Double) {
        if x.isNaN { self = .nan; return }
        if x.isInfinite { self = .infinity(negative: x < 0); return }
        if x == 0 { self = .zero(negative: x.sign == .minus); return }
        let e = Int(x.exponent)
        self.init(kind: .finite, isNegative: x < 0, exponent: e,
                  head: Double(sign: .plus, exponent: -e, significand: x.magnitude), tail: 0)
    }

    /// The value of `x` (to 106 bits).
    public init(_ x: BigFloat) {
        if x.isNaN { self = .nan; return }
        if x.isInfinite { self = .infinity(negative: x.signBit); return }
        if x.isZero { self = .zero(negative: x.signBit); return }
        let e = x.exponent - 1  // MPFR's exponent is for 0.1xxx₂
        self = ExponentRange.widest {
            let m = BigFloat(precision: x.precision)
            m.abs(x, .nearest)
            m.scale(m, byPowerOfTwo: -e, .nearest)  // exact: only the exponent changes
            let head = m.double(.nearest)
            let rest = BigFloat(precision: x.precision)
            rest.sub(m, BigFloat(head, precision: 64), .nearest)
            return ExactValue(kind: .finite, isNegative: x.signBit, exponent: e, head: head, tail: rest.double(.nearest))
        }
    }

    /// The nearest binary64 value (±inf beyond binary64's range, ±0 below it).
    public var approximateDouble: Double {
        switch kind {
        case .nan: return .nan
        case .infinity: return isNegative ? -.infinity : .infinity
        case .zero: return isNegative ? -0.0 : 0.0
        case .finite:
            let clamped = Swift.max(Swift.min(exponent, 2000), -2000)
            let m = Double(sign: .plus, exponent: clamped, significand: head + tail)
            return isNegative ? -m : m
        }
    }

    /// "nan", "inf", "-inf", "0", "-0", or "(head + tail)·2^exponent" with a sign.
    public var description: String {
        switch kind {
        case .nan: "nan"
        case .infinity: isNegative ? "-inf" : "inf"
        case .zero: isNegative ? "-0" : "0"
        case .finite: "\(isNegative ? "-" : "")(\(head) + \(tail))·2^\(exponent)"
        }
    }
}
