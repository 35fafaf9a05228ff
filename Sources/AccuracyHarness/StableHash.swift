/// Hashes that are the same in every process and on every machine (Swift's `Hasher` is seeded
/// per process, so it must not be used to derive seeds).
public enum StableHash {
    /// 64-bit FNV-1a over the UTF-8 bytes of `text`.
    public static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        return h
    }

    /// Folds `words` into `seed`, one SplitMix64 mixing round per word: h ← mix(h ⊕ w + γ).
    public static func combine(_ seed: UInt64, _ words: UInt64...) -> UInt64 {
        var h = SplitMix64.mix(seed &+ SplitMix64.increment)
        for w in words {
            h = SplitMix64.mix((h ^ w) &+ SplitMix64.increment)
        }
        return h
    }
}
