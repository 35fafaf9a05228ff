/// A seeded source of 64-bit words whose derived values (doubles, integers, normals) are the
/// same on every machine.
///
/// ## Reproducibility claim
/// For a given seed, every method here returns bit-identical results on any platform that has
/// IEEE 754 binary64 arithmetic with round-to-nearest-even (every platform Swift supports):
/// - words come from integer arithmetic only;
/// - ``nextUnitDouble()`` and friends build doubles from 53 random bits, exactly;
/// - integer ranges use Lemire's multiply-and-reject method on integers, unbiased;
/// - ``nextNormal()`` is Box–Muller, but with a logarithm, sine and cosine of this package's
///   own (``DeterministicMath``), made only of +, −, ×, ÷ and square root, which IEEE 754 defines
///   exactly. The C library's `log`/`cos` are never called, because they differ in the last bit
///   between libm versions. Swift does not contract a·b + c into a fused multiply-add unless
///   asked, so the operation sequence is fixed by the source.
///
/// The claim does not extend to Swift's own `Int.random(in:using:)` and similar standard-library
/// methods (available because this refines `RandomNumberGenerator`): their algorithms may change
/// between Swift releases. The harness never uses them.
public protocol DeterministicRandomSource: RandomNumberGenerator, Sendable {}

extension DeterministicRandomSource {
    /// A uniform double in [0, 1): a multiple of 2^-53, each with probability 2^-53.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform double in (0, 1]: a multiple of 2^-53, each with probability 2^-53.
    public mutating func nextOpenUnitDouble() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }

    /// A uniform double in [lower, upper], computed as lower·(1 − u) + upper·u with u uniform
    /// in [0, 1), then clamped into the interval (so wide ranges such as ±greatestFiniteMagnitude
    /// do not overflow).
    ///
    /// Precondition: `lower <= upper`, both finite.
    public mutating func nextDouble(in range: ClosedRange<Double>) -> Double {
        precondition(range.lowerBound.isFinite && range.upperBound.isFinite, "finite bounds")
        let u = nextUnitDouble()
        let x = range.lowerBound * (1 - u) + range.upperBound * u
        return Swift.min(Swift.max(x, range.lowerBound), range.upperBound)
    }

    /// A uniform integer in [0, bound), unbiased (Lemire 2019: multiply, reject the short band).
    ///
    /// Precondition: `bound > 0`.
    public mutating func nextUInt64(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold {
                m = next().multipliedFullWidth(by: bound)
            }
        }
        return m.high
    }

    /// A uniform integer in `range`, unbiased.
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound))
        if width == UInt64.max { return Int(Int64(bitPattern: next())) }
        return range.lowerBound &+ Int(Int64(bitPattern: nextUInt64(below: width + 1)))
    }

    /// A uniform integer in `range`, unbiased. Precondition: the range is not empty.
    public mutating func nextInt(in range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "empty range")
        return nextInt(in: range.lowerBound...(range.upperBound - 1))
    }

    /// True with probability `numerator / denominator`, exactly.
    public mutating func nextChance(_ numerator: Int, in denominator: Int) -> Bool {
        precondition(denominator > 0 && numerator >= 0)
        return nextUInt64(below: UInt64(denominator)) < UInt64(numerator)
    }

    /// A fair coin.
    public mutating func nextBool() -> Bool {
        next() >> 63 == 1
    }

    /// A uniformly chosen element. Precondition: not empty.
    public mutating func nextElement<T>(of elements: [T]) -> T {
        elements[nextInt(in: 0..<elements.count)]
    }

    /// A standard normal deviate by Box–Muller: √(−2 ln u₁) · cos(2π u₂), u₁ ∈ (0, 1],
    /// u₂ ∈ [0, 1), with ``DeterministicMath`` for ln and cos (relative error a few ulps: the
    /// distribution is normal to far better than any test needs, and the stream is reproducible
    /// bit for bit). Uses two words per deviate; the sine half is discarded so that the generator
    /// state stays a plain word sequence.
    public mutating func nextNormal() -> Double {
        let u1 = nextOpenUnitDouble()
        let u2 = nextUnitDouble()
        let r = (-2 * DeterministicMath.log(u1)).squareRoot()
        return r * DeterministicMath.cosSin(turns: u2).cos
    }

    /// mean + standardDeviation · ``nextNormal()``.
    public mutating func nextNormal(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * nextNormal()
    }

    /// Shuffles `array` in place (Fisher–Yates, from the back).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(in: 0...i)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// `k` distinct indices of 0..<n, in random order (a partial Fisher–Yates shuffle).
    public mutating func sample(_ k: Int, from n: Int) -> [Int] {
        precondition(k >= 0 && k <= n)
        var pool = Array(0..<n)
        for i in 0..<k {
            let j = nextInt(in: i..<n)
            pool.swapAt(i, j)
        }
        return Array(pool[0..<k])
    }
}
