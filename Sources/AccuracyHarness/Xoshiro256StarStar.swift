/// Blackman and Vigna's xoshiro256** (2018): the harness's workhorse generator.
///
/// 256 bits of state, period 2^256 − 1, passes BigCrush; every step is integer arithmetic
/// (xor, shift, rotate, wrapping multiply), so the stream is the same on every machine.
///
/// Postconditions: from the state (1, 2, 3, 4) the first outputs are 11520 and 0 (the
/// reference implementation's; tested).
public struct Xoshiro256StarStar: DeterministicRandomSource, Hashable {
    /// State word 0 of 4 (the generator's whole state is s0…s3).
    public private(set) var s0: UInt64
    /// State word 1.
    public private(set) var s1: UInt64
    /// State word 2.
    public private(set) var s2: UInt64
    /// State word 3.
    public private(set) var s3: UInt64

    /// Seeds the state with four outputs of ``SplitMix64`` started at `seed`, as the authors
    /// recommend (so that nearby seeds give unrelated streams).
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        self.init(state: (sm.next(), sm.next(), sm.next(), sm.next()))
    }

    /// A generator with exactly this state. An all-zero state (the one fixed point) is replaced
    /// by the state that `init(seed: 0)` gives.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        if state == (0, 0, 0, 0) {
            var sm = SplitMix64(seed: 0)
            (s0, s1, s2, s3) = (sm.next(), sm.next(), sm.next(), sm.next())
        } else {
            (s0, s1, s2, s3) = state
        }
    }

    /// The next 64-bit word.
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
