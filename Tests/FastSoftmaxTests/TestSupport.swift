import FastSoftmax

/// ULP error as docs/formats.md defines it: |y - v| / ulp(v), ulp(v) = 2^(max(floor(log2|v|), emin) - p + 1),
/// with v = 0 using the subnormal ulp. `v` is a reference value (exact or correctly rounded).
func ulpError(_ y: Double, _ v: Double, precision p: Int = 53, minNormalExponent emin: Int = -1022) -> Double {
    if y == v { return 0 }
    if y.isNaN || v.isNaN || y.isInfinite || v.isInfinite { return .infinity }
    let e = v == 0 ? emin : max(Int(v.exponent), emin)
    let ulp = Double(sign: .plus, exponent: e - p + 1, significand: 1)
    return (y - v).magnitude / ulp
}

func ulpError(_ y: Float, _ v: Float) -> Double {
    ulpError(Double(y), Double(v), precision: 24, minNormalExponent: -126)
}

#if arch(x86_64) && !os(Windows)
/// ULP error of a binary64 result against a Float80 reference (64-bit significand).
func ulpError(_ y: Double, _ v: Float80) -> Double {
    if Float80(y) == v { return 0 }
    if y.isNaN || v.isNaN || y.isInfinite || v.isInfinite { return .infinity }
    let e = v == 0 ? -1022 : max(Int(v.exponent), -1022)
    let ulp = Float80(sign: .plus, exponent: e - 52, significand: 1)
    return Double((Float80(y) - v).magnitude / ulp)
}
#endif

/// The accurate variant's stated bounds are at most 0.5 + 2^-4.3 ulp from the exact value
/// (docs/kernels.md). A correctly rounded reference is within 1/2 ulp of the exact value, so a
/// result meeting the bound is within 1 + 2^-4.3 ulp of the reference; both lie on the format's
/// grid, so they differ by at most 1 ulp. (AccuracyHarnessTests' AccurateBoundTests checks
/// each kernel at its stated bound against the oracle's exact value.)
let boundAgainstRounded = 1.0

/// Deterministic generator for the tests (SplitMix64).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a + (b - a) * Double(next() >> 11) * 0x1p-53
    }
    mutating func index(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
