import DoubleWordArithmetic
import MPFR
@_exported import TestSupport

// Helpers of the double-word tests: random double words from a seeded generator, exact MPFR
// values of double words, errors at 320 bits.

/// Random double words, from the tests' `SplitMix64` (TestSupport).
extension SplitMix64 {
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

extension DoubleWord {
    /// |hi + lo| for a normalized double word (both parts negated when hi < 0).
    var magnitude: DoubleWord { hi < 0 ? -self : self }
}
