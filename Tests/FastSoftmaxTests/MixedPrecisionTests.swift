import Testing
import FastSoftmax

@Suite("BFloat16 conversion")
struct BFloat16Tests {
    func bits(_ f: Float) -> UInt16 { BFloat16(f).bitPattern }

    @Test func exactValuesRoundTrip() {
        for f: Float in [0, -0, 1, -1, 0.5, 3, 0x1.fep127, -0x1.fep127, 0x1p-126, 0x1p-133, .infinity, -.infinity] {
            let b = BFloat16(f)
            #expect(b.floatValue == f && b.floatValue.sign == f.sign, "\(f)")
        }
        #expect(bits(-0.0) == 0x8000)
        #expect(BFloat16.greatestFiniteMagnitude.floatValue == 0x1.fep127)
        #expect(BFloat16.leastNonzeroMagnitude.floatValue == 0x1p-133)
    }

    /// Precision 8: between 1 and 2 the spacing is 2^-7.
    @Test func tiesGoToEven() {
        #expect(BFloat16(Float(1 + 0x1p-8)).floatValue == 1)                 // tie, 1 is even
        #expect(BFloat16(Float(1 + 3 * 0x1p-8)).floatValue == 1 + 0x1p-6)    // tie, 1 + 2^-6 is even
        #expect(BFloat16(Float(1 + 0x1p-8 + 0x1p-20)).floatValue == 1 + 0x1p-7)  // above the tie
        #expect(BFloat16(Float(1 + 0x1p-8 - 0x1p-20)).floatValue == 1)       // below the tie
        #expect(BFloat16(Float(-(1 + 3 * 0x1p-8))).floatValue == -(1 + 0x1p-6))
        // 1/3 = 0x1.5555...p-2 rounds up to 0x1.56p-2.
        #expect(BFloat16(Float(1) / 3).floatValue == 0x1.56p-2)
    }

    /// The largest finite value is 0x1.fep127; the midpoint to 2^128 is 0x1.ffp127.
    @Test func overflowToInfinity() {
        #expect(BFloat16(Float(0x1.fefffep127)).floatValue == 0x1.fep127)
        #expect(BFloat16(Float(0x1.ffp127)).isInfinite)       // tie: the even neighbour is 2^128
        #expect(BFloat16(Float.greatestFiniteMagnitude).floatValue == .infinity)
        #expect(BFloat16(-Float.greatestFiniteMagnitude).floatValue == -.infinity)
        #expect(BFloat16(1e300 as Double).floatValue == .infinity)
        #expect(BFloat16(0x1.fefffffffp127 as Double).floatValue == 0x1.fep127)
    }

    @Test func nanStaysNaN() {
        #expect(BFloat16(Float.nan).isNaN)
        #expect(BFloat16(-Float.nan).isNaN && BFloat16(-Float.nan).bitPattern & 0x8000 != 0)
        // A NaN whose payload lives only in the low 16 bits must not become infinity.
        #expect(BFloat16(Float(bitPattern: 0x7F80_0001)).isNaN)
        #expect(BFloat16(Float(bitPattern: 0xFF80_0001)).isNaN)
        #expect(BFloat16(Float(bitPattern: 0x7FFF_FFFF)).isNaN)
        #expect(BFloat16(Double.nan).isNaN)
    }

    /// Subnormals: spacing 2^-133 below 2^-126, rounding to nearest even, no flush to zero.
    @Test func subnormals() {
        #expect(bits(0x1p-133) == 0x0001)
        #expect(bits(0x1p-134) == 0x0000)                 // tie between 0 and 2^-133: 0 is even
        #expect(bits(0x1.8p-133) == 0x0002)               // tie between 2^-133 and 2^-132: even wins
        #expect(bits(0x1.002p-134) == 0x0001)             // just above the tie
        #expect(bits(0x1.fcp-127) == 0x007F)              // the largest subnormal, exact
        #expect(bits(0x1.fep-127) == 0x0080)              // tie up to the least normal 2^-126
        #expect(BFloat16(Float(0x1p-130)).isSubnormal)
        #expect(bits(-0x1p-133) == 0x8001)
        #expect(bits(0x1p-149) == 0x0000)
    }

    /// From Double, one rounding (not Double → Float → BFloat16): 1 + 2^-8 + 2^-40 is above
    /// the tie between 1 and 1 + 2^-7, although Float(1 + 2^-8 + 2^-40) = 1 + 2^-8 is on it.
    @Test func singleRoundingFromDouble() {
        #expect(BFloat16(1 + 0x1p-8 + 0x1p-40 as Double).floatValue == 1 + 0x1p-7)
        #expect(BFloat16(1 + 0x1p-8 as Double).floatValue == 1)
        #expect(BFloat16(1 + 0x1p-8 - 0x1p-40 as Double).floatValue == 1)
        #expect(BFloat16(0x1p-134 + 0x1p-170 as Double).bitPattern == 0x0001)
        #expect(BFloat16(0x1p-134 as Double).bitPattern == 0x0000)
        #expect(BFloat16(1e-300 as Double).bitPattern == 0x0000)
        #expect(BFloat16(-1e-300 as Double).bitPattern == 0x8000)
    }

    /// Every binary32 value in a sample: the result is a neighbour and the nearer one.
    @Test func nearestOnASweep() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard f.isFinite else { continue }
            let b = BFloat16(f).floatValue
            let down = Float(bitPattern: f.bitPattern & 0xFFFF_0000)
            let up = BFloat16(bitPattern: UInt16(f.bitPattern >> 16) &+ 1).floatValue
            if f == down {
                #expect(b == f)
                continue
            }
            // b is down or up (toward larger magnitude), whichever is nearer (ties: even).
            let dDown = Double(f).magnitude - Double(down).magnitude
            let dUp = (up.isInfinite ? 0x1p128 : Double(up).magnitude) - Double(f).magnitude
            let expected = dDown < dUp ? down : (dUp < dDown ? up :
                ((f.bitPattern >> 16) & 1 == 0 ? down : up))
            #expect(b == expected || (b.isInfinite && expected.isInfinite), "\(f)")
        }
    }
}

@Suite("Mixed precision kernels")
struct MixedPrecisionTests {
    @Test func bfloat16Softmax() {
        let x = [BFloat16](repeating: BFloat16(Float(2)), count: 3)
        let y = MixedKernels<BFloat16>.softmax(x)
        #expect(y.allSatisfy { $0.floatValue == 0x1.56p-2 })        // RN_bf16(1/3)
        let four = MixedKernels<BFloat16>.softmax([BFloat16](repeating: BFloat16(Float(-7)), count: 4))
        #expect(four.allSatisfy { $0.floatValue == 0.25 })
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    @Test func float16Softmax() {
        let y = Kernels<Float16>.softmax([1, 1, 1], variant: .mixed)
        #expect(y.allSatisfy { $0 == 0x1.554p-2 })                    // RN_f16(1/3)
        // Float accumulation: 11.0 + log(2) rounds to 11.6875 in Float16 (spacing 2^-7 there).
        #expect(Kernels<Float16>.logsumexp([11, 11], variant: .mixed) == Float16(Float(11) + Float.log(2)))
    }
    #endif

    @Test func evaluatorMixed() throws {
        let bf = try KernelEvaluator.evaluate(function: "softmax", variant: .mixed, format: "bf16", logits: [0, 0, 0])
        #expect(bf == [0x1.56p-2, 0x1.56p-2, 0x1.56p-2])
        let h = try KernelEvaluator.evaluate(function: "cross_entropy", variant: .mixed, format: "f16",
                                             logits: [1000, 0, -1000], target: 1)
        // 1000 and -1000 are Float16 values; the Float computation gives 1000 exactly.
        #expect(h == [1000])
        let lse = try KernelEvaluator.evaluate(function: "logsumexp", variant: .mixed, format: "bf16", logits: [])
        #expect(lse == [-.infinity])
    }
}
