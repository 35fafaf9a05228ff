import struct AccuracyHarness.SplitMix64
import DoubleWordArithmetic
import Foundation
import MPFR

// Helpers of the double-word tests: random double words from a seeded generator, exact MPFR
// values of double words, errors at 320 bits.

/// The shorthands these tests use, on AccuracyHarness's `SplitMix64` (the project's one
/// seeded generator).
extension SplitMix64 {
    /// Uniform in [0, 1), 53 random bits.
    mutating func unit() -> Double { nextUnitDouble() }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * nextUnitDouble() }

    /// An integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { nextInt(in: range) }

    /// True with probability 1/n.
    mutating func oneIn(_ n: Int) -> Bool { nextChance(1, in: n) }

    /// A random normalized double word with hi in ±[1, 2)·2^e (lo of either sign, any size up to
    /// half an ulp of hi, sometimes exactly zero or exactly half an ulp).
    mutating func doubleWord(exponent e: Int) -> DoubleWord {
        let hi = (1 + unit()) * Double(sign: .plus, exponent: e, significand: 1) * (oneIn(2) ? -1 : 1)
        var lo: Double
        switch int(0...5) {
        case 0: lo = 0
        case 1: lo = hi.ulp / 2 * (oneIn(2) ? -1 : 1)
        default: lo = (unit() - 0.5) * hi.ulp * Double(sign: .plus, exponent: -int(0...30), significand: 1)
        }
        let n = fastTwoSum(hi, lo)
        return n
    }
}

/// Hexadecimal text of a double ("%a"), for failure messages.
func hex(_ x: Double) -> String { String(format: "%a", x) }

/// The exact binary64 value x as a BigFloat.
func big(_ x: Double) -> BigFloat { BigFloat(x, precision: 53) }

/// Exact values and errors at 320 bits (enough for every bound checked here, near 2^-110).
enum Exact {
    static let bits = 320

    /// (hi + lo)·2^k exactly.
    static func value(_ v: DoubleWord, scale k: Int = 0) -> BigFloat {
        let r = BigFloat(precision: 2300)
        ExponentRange.widest {
            r.add(big(v.hi), big(v.lo), .nearest)  // exact at 2300 bits
            r.scale(r, byPowerOfTwo: k, .nearest)
        }
        return r
    }

    /// (hi + lo)·2^exponent exactly.
    static func value(_ v: ScaledDoubleWord) -> BigFloat { value(DoubleWord(v.hi, v.lo), scale: v.exponent) }

    /// |approx − exact| / |exact|, rounded up.
    static func relativeError(_ approx: BigFloat, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: bits)
            d.sub(approx, exact, .nearest)
            d.div(d, exact, .nearest)
            return abs(d.double(.up))
        }
    }

    /// |approx − exact|, rounded up.
    static func absoluteError(_ approx: BigFloat, _ exact: BigFloat) -> Double {
        ExponentRange.widest {
            let d = BigFloat(precision: bits)
            d.sub(approx, exact, .nearest)
            return abs(d.double(.up))
        }
    }

    static func apply(_ body: (BigFloat) -> Void) -> BigFloat {
        let r = BigFloat(precision: bits)
        ExponentRange.widest { body(r) }
        return r
    }

    static func exp(_ x: BigFloat) -> BigFloat { apply { $0.exp(x, .nearest) } }
    static func log1p(_ x: BigFloat) -> BigFloat { apply { $0.log1p(x, .nearest) } }
    static func expm1(_ x: BigFloat) -> BigFloat { apply { $0.exp(x, .nearest); $0.sub($0, big(1), .nearest) } }
}

extension DoubleWord {
    /// |hi + lo| for a normalized double word (both parts negated when hi < 0).
    var magnitude: DoubleWord { hi < 0 ? -self : self }
}
