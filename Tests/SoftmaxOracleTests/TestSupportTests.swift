import SoftmaxOracle
import Testing

/// Self-checks of the test target's own tools (the generator, the hex printer, the integer
/// rounding), so that a wrong helper cannot make a wrong oracle look right.
@Suite("Test support self-checks")
struct TestSupportTests {
    @Test("SplitMix64 matches Vigna's reference sequence for seed 0")
    func splitMix() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        var a = SplitMix64(seed: 12345), b = SplitMix64(seed: 12345)
        #expect((0..<10).map { _ in a.unit() } == (0..<10).map { _ in b.unit() })
    }

    @Test("hex prints exact binary64 values")
    func hexText() {
        #expect(hex(3) == "0x1.8p+1")
        #expect(hex(1) == "0x1p+0")
        #expect(hex(-0.0) == "-0x0p+0")
        #expect(hex(0x1p-1074) == "0x1p-1074")
        #expect(hex(0x1.fffffffffffffp+1023) == "0x1.fffffffffffffp+1023")
        #expect(hex(0.1) == "0x1.999999999999ap-4")
        #expect(hex(0x1.0000000000001p+0) == "0x1.0000000000001p+0")
        #expect(hex(Double.nan) == "nan" && hex(-Double.infinity) == "-inf")
    }

    @Test("referenceRound and isMidpoint on hand-checked values")
    func integerRounding() {
        #expect(referenceRound(1 + 0x1p-11, .f16) == 1)
        #expect(referenceRound(1 + 3 * 0x1p-11, .f16) == 1 + 0x1p-9)
        #expect(referenceRound(0x1p-25, .f16) == 0)
        #expect(referenceRound(0x1.8p-24, .f16) == 0x1p-23)
        #expect(referenceRound(464, .e4m3fn) == 448)
        #expect(referenceRound(465, .e4m3fn).isNaN)
        #expect(referenceRound(61440, .e5m2) == .infinity)
        #expect(hex(referenceRound(-0x1p-200, .bf16)) == "-0x0p+0")
        #expect(isMidpoint(1 + 0x1p-11, .f16) && !isMidpoint(1 + 0x1p-10, .f16) && isMidpoint(0x1p-10, .e4m3fn))
        #expect(!isMidpoint(1.0 / 3, .bf16))
    }
}
