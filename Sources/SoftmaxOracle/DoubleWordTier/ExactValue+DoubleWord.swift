import DoubleWordArithmetic
// The exact value the double-word tier reports with each certified output: its double-double
// (h + l)·2^k as an `ExactValue` (⌊log₂|v|⌋ exact, head + tail to about 106 bits).

extension ExactValue {
    /// ±(head + tail)·2^exponent, for head ∈ [1, 2) and |tail| <= 2^-50 (the exponent of head's
    /// binade): when head = 1 and tail < 0 the value lies below 2^exponent, so ⌊log₂|v|⌋ is one
    /// less, and the same value is stored as (2 + 2·tail)·2^(exponent − 1) (exact).
    @inline(__always) init(negative: Bool, head: Double, tail: Double, binade exponent: Int) {
        if head == 1 && tail < 0 {
            self.init(kind: .finite, isNegative: negative, exponent: exponent - 1, head: 2, tail: tail * 2)
        } else {
            self.init(kind: .finite, isNegative: negative, exponent: exponent, head: head, tail: tail)
        }
    }

    /// The exact value (h + l)·2^k, for h ≠ 0 finite (to the ~106 bits of the double-double).
    init(scaledHi h: Double, lo l: Double, scale k: Int) {
        let n = ScaledDoubleWord(hi: h.magnitude, lo: h < 0 ? -l : l, exponent: k).normalized()
        self.init(negative: h < 0, head: n.hi, tail: n.lo, binade: n.exponent)
    }

    /// The exact value h + l for a normal h (|h| < 2^1000) and |l| <= 2^-50|h|.
    @inline(__always) init(normalHi h: Double, lo l: Double) {
        let bits = h.bitPattern
        let e = Int(truncatingIfNeeded: (bits >> 52) & 0x7FF) &- 1023
        let head = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
        self.init(negative: h < 0, head: head, tail: (h < 0 ? -l : l) * powerOfTwo(-e), binade: e)
    }
}
