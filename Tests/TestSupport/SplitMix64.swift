/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference `splitmix64.c`): the one seeded
/// generator of the test suites. Every random test input is a function of a seed the test
/// prints on failure, so a failure can be replayed exactly; the system generator is never used.
///
/// (`AccuracyHarness` has its own SplitMix64 for seeding its case generators: that one is part
/// of the product's reproducible streams, this one of the tests'. Keeping the tests' generator
/// here means a test of `OracleIO` does not depend on the harness.)
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state: the seed plus the number of draws times the golden gamma.
    public private(set) var state: UInt64

    /// A generator whose first draw is SplitMix64's first output for `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// An integer in `range` (the modulo bias is below 2^-50 for the small ranges tests use).
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// An index in 0..<n: the same draw as `int(0...(n - 1))`.
    public mutating func index(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// True with probability 1/n.
    public mutating func oneIn(_ n: Int) -> Bool { next() % UInt64(n) == 0 }

    /// One of `choices`, uniformly.
    public mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }
}
