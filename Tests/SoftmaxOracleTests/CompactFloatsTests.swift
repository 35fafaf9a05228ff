import MPFR
import Testing

/// `CompactFloats` keeps a number as its exponent word and its significand's limbs (the sign in
/// the top limb's always-set bit; ±0, ±inf and NaN as a signed kind). Expected values: the numbers
/// copied in, made by MPFR operations independent of the store; a copy out must be the same
/// number: the same precision and the same exact value and sign (MPFR's exact hexadecimal text).
@Suite("MPFR: compact numbers")
struct CompactFloatsTests {
    /// Numbers of `precision` bits: regular ones of both signs, of one limb's and several limbs'
    /// significands, with extreme exponents, and ±0, ±inf, NaN.
    static func numbers(precision p: Int) -> [BigFloat] {
        ExponentRange.widest {
            var r: [BigFloat] = []
            for v in [1.0, -1.0, 0.1, -3.75, 0x1p-1074, -0x1.fffffffffffffp1023, 0.0, -0.0, .infinity, -.infinity, .nan] {
                r.append(BigFloat(v, precision: p, rounding: .down))
            }
            let third = BigFloat(precision: p)
            third.div(BigFloat(1, precision: 53), BigFloat(3, precision: 53), .up)  // every significand bit in use
            r.append(third)
            let e = BigFloat(precision: p)
            e.exp(BigFloat(-2.5, precision: 53), .down)
            r.append(e)
            let minusE = BigFloat(precision: p)
            minusE.neg(e, .nearest)
            r.append(minusE)
            for k in [1 << 40, -(1 << 40), (1 << 61), -(1 << 61)] {  // exponents far beyond binary64's
                let big = BigFloat(precision: p)
                big.scale(third, byPowerOfTwo: k, .nearest)
                r.append(big)
            }
            let top = BigFloat(precision: p)  // the largest significand: every bit set, the sign's bit included
            top.set(1, .nearest)
            top.nextDown()
            r.append(top)
            return r
        }
    }

    @Test("a number copied in comes out the same", arguments: [1, 2, 53, 64, 65, 93, 128, 129, 186, 384, 1000])
    func roundTrip(precision p: Int) {
        let xs = Self.numbers(precision: p)
        let store = CompactFloats(count: xs.count, precision: p)
        for (i, x) in xs.enumerated() { store.set(i, x) }
        for (i, x) in xs.enumerated().reversed() {  // every number still the same after the others were written
            let y = store.value(i)
            #expect(y.precision == p)
            if x.isNaN {
                #expect(y.isNaN, "NaN at \(p) bits")
            } else {
                #expect(y.description == x.description && y.signBit == x.signBit, "\(x) at \(p) bits: \(y)")
            }
        }
    }

    @Test("numbers of another precision are converted exactly")
    func otherPrecision() {
        let store = CompactFloats(count: 2, precision: 93)
        store.set(0, BigFloat(0.1, precision: 53))
        store.set(1, BigFloat(-0.0, precision: 20))
        #expect(store.value(0).description == BigFloat(0.1, precision: 93).description)
        #expect(store.value(1).isZero && store.value(1).signBit)
    }

    @Test("a number takes its exponent word and its limbs")
    func bytesPerNumber() {
        #expect(CompactFloats.bytesPerNumber(precision: 53) == 16)
        #expect(CompactFloats.bytesPerNumber(precision: 93) == 24)
        #expect(CompactFloats.bytesPerNumber(precision: 128) == 24)
        #expect(CompactFloats.bytesPerNumber(precision: 186) == 32)
        #expect(CompactFloats.bytesPerNumber(precision: 384) == 56)
    }
}
