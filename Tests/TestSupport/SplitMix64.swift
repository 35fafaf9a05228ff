@_exported import struct AccuracyHarness.SplitMix64
import AccuracyHarness

// The test suites' seeded generator is the package's one SplitMix64 (AccuracyHarness, Steele, Lea,
// Flood 2014; Vigna's `splitmix64.c`), with the shorthands tests use. Every random test input is a
// function of a seed the test prints on failure, so a failure can be replayed exactly; the system
// generator is never used. The shorthands below define the tests' streams (modulo draws, cheap and
// fixed); the harness's own `nextInt(in:)` and friends are unbiased and define the product's.

extension SplitMix64 {
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
