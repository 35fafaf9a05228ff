/// Sebastiano Vigna's SplitMix64: a 64-bit counter passed through a fixed bijective mixer.
///
/// Used to expand one seed into well-spread generator states (``Xoshiro256StarStar/init(seed:)``)
/// and to derive per-case seeds (``StableHash``). Its stream is defined by integer arithmetic
/// alone (wrapping add, xor, shift, wrapping multiply), so the same seed gives the same words on
/// every machine and compiler.
///
/// Postconditions: for seed 0 the first outputs are `0xe220a8397b1dcdaf`, `0x6e789e6aa1b965f4`,
/// `0x06c45d188009454f` (the published reference values; tested).
public struct SplitMix64: DeterministicRandomSource, Hashable {
    /// The counter; advanced by the golden-ratio increment before each output.
    public private(set) var state: UInt64

    /// The golden-ratio increment 2^64/φ, odd.
    public static let increment: UInt64 = 0x9e37_79b9_7f4a_7c15

    /// A generator whose first output is `SplitMix64.mix(seed &+ increment)`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64-bit word.
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// SplitMix64's output function (Stafford's "Mix13" variant): a bijection on 64-bit words
    /// with good avalanche, used alone as a hash finalizer.
    @inlinable
    public static func mix(_ word: UInt64) -> UInt64 {
        var z = word
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
