import DoubleWordArithmetic

/// A double word v with an absolute error bound: the exact real lies in [v − err, v + err].
///
/// Each operation bounds the propagated error (first-order terms and their product) and adds
/// the double-word operation's own rounding error (DoubleWord.swift: `anySignSum` 3.1u² of
/// |a| + |b|, `product` 8.1u², `product` by a double 3.02u², `quotient` 14u², relative to the
/// result), each with room (|x| <= |x.hi|(1 + 2u) for a normalized x; `roundedUp` on the sums of
/// bound terms), plus 2^-1060 for the roundings of low parts that may underflow (every caller's
/// outputs lie far above it, or do not certify). Non-finite values or bounds make the caller's
/// certification fail, never pass.
struct BoundedValue {
    var v: DoubleWord
    var err: Double

    init(_ v: DoubleWord, err: Double = 0) {
        self.v = v
        self.err = err
    }

    init(_ x: Double) { self.init(DoubleWord(x, 0)) }

    static let slack = 0x1p-1060
    static let zero = BoundedValue(0)

    /// An upper bound on |v|.
    var magnitude: Double { v.hi.magnitude * (1 + 0x1p-51) }

    static func + (a: BoundedValue, b: BoundedValue) -> BoundedValue {
        let s = DoubleWord.anySignSum(a.v, b.v)
        return BoundedValue(s, err: roundedUp(a.err + b.err + 3.2 * unitRoundoffSquared * (a.magnitude + b.magnitude) + slack))
    }

    static prefix func - (a: BoundedValue) -> BoundedValue { BoundedValue(-a.v, err: a.err) }

    static func - (a: BoundedValue, b: BoundedValue) -> BoundedValue { a + (-b) }

    static func * (a: BoundedValue, b: BoundedValue) -> BoundedValue {
        let p = DoubleWord.product(a.v, b.v)
        let ma = a.magnitude, mb = b.magnitude
        return BoundedValue(p, err: roundedUp(ma * b.err + mb * a.err + a.err * b.err + 8.2 * unitRoundoffSquared * ma * mb + slack))
    }

    static func * (a: BoundedValue, x: Double) -> BoundedValue {
        let p = DoubleWord.product(a.v, x)
        return BoundedValue(p, err: roundedUp(x.magnitude * a.err + 3.1 * unitRoundoffSquared * a.magnitude * x.magnitude + slack))
    }

    /// a/b, when |b| > b.err (else an infinite bound): |a*/b* − a/b| <= (a.err + |a/b|·b.err)/(|b| − b.err).
    static func / (a: BoundedValue, b: BoundedValue) -> BoundedValue {
        let q = DoubleWord.quotient(a.v, b.v)
        let floor = b.v.hi.magnitude * (1 - 0x1p-51) - b.err
        guard floor > 0 else { return BoundedValue(q, err: .infinity) }
        let mq = q.hi.magnitude * (1 + 0x1p-50)
        return BoundedValue(q, err: roundedUp((a.err + mq * b.err) / floor * (1 + 0x1p-50) + 14.1 * unitRoundoffSquared * mq + slack))
    }

    /// Widens the bound by e (e >= 0).
    func widened(by e: Double) -> BoundedValue { BoundedValue(v, err: roundedUp(err + e)) }

    /// The certified output, or nil (zero, non-finite, ambiguous or not narrow).
    func certified(_ c: DoubleWordCertifier) -> OracleValue? {
        guard err.isFinite, v.hi.isFinite else { return nil }
        return c.certify(v, absoluteError: err)
    }
}
