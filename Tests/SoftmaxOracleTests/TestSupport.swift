import MPFR
import SoftmaxOracle
import Testing

// Shared helpers of the oracle's tests. Nothing here calls the oracle to produce an expected value:
// expected values come from docs/reference-values.md, from exact math, or from `BruteForce`.

// MARK: - A seeded generator (never the system RNG)

/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's `splitmix64.c`). Every random test input is a
/// function of a printed seed, so a failure can be replayed exactly.
struct SplitMix64 {
    private(set) var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// An integer in `range` (the modulo bias is below 2^-50 for the small ranges used here).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// True with probability 1/n.
    mutating func oneIn(_ n: Int) -> Bool { next() % UInt64(n) == 0 }

    mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }
}

// MARK: - Exact text of doubles

/// The exact hexadecimal text of `x` ("0x1.8p+1", "-0x0p+0", "inf", "nan"), independent of
/// Foundation and of the project's own codecs. All NaNs print as "nan", so comparing `hex`
/// strings compares bit patterns, with every NaN equal to every other.
func hex(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    let sign = x.sign == .minus ? "-" : ""
    if x == 0 { return sign + "0x0p+0" }
    let e = Int(x.exponent)
    let m = Double(sign: .plus, exponent: -e, significand: x.magnitude)  // in [1, 2), normal
    var bits = m.significandBitPattern
    var digits = 13
    while digits > 0 && bits & 0xF == 0 {
        bits >>= 4
        digits -= 1
    }
    var fraction = ""
    if digits > 0 {
        let h = String(bits, radix: 16)
        fraction = "." + String(repeating: "0", count: digits - h.count) + h
    }
    return "\(sign)0x1\(fraction)p\(e < 0 ? "" : "+")\(e)"
}

func hex(_ xs: [Double]) -> String { "[" + xs.map { hex($0) }.joined(separator: ", ") + "]" }

/// Records an issue unless `got` and `want` have the same bits (any NaN matches any NaN).
func expectBits(
    _ got: [Double], _ want: [Double], _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(got.map { hex($0) } == want.map { hex($0) }, comment, sourceLocation: sourceLocation)
}

/// 2^e, built from its parts.
func pow2(_ e: Int) -> Double { Double(sign: .plus, exponent: e, significand: 1) }

// MARK: - Calling the oracle

/// The rounded outputs of `request` (the oracle under test).
func rounded(_ request: OracleRequest, oracle: Oracle = Oracle()) throws -> [Double] {
    try oracle.evaluate(request).rounded
}

/// Records an issue unless evaluating `request` throws `.invalidInput` naming `field`, with a
/// message that mentions `value` (when given).
func expectInvalid(
    _ request: OracleRequest, field: String, mentioning value: String? = nil, oracle: Oracle = Oracle(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do throws(OracleError) {
        let r = try oracle.evaluate(request)
        Issue.record("expected an invalidInput error naming \"\(field)\", got \(hex(r.rounded))", sourceLocation: sourceLocation)
    } catch {
        guard case let .invalidInput(f, message) = error else {
            Issue.record("expected invalidInput naming \"\(field)\", got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(f == field, "message: \(message)", sourceLocation: sourceLocation)
        #expect(!message.isEmpty, sourceLocation: sourceLocation)
        if let value {
            #expect(message.contains(value), "the message should mention \(value): \(message)", sourceLocation: sourceLocation)
        }
    }
}

// MARK: - The formats' tables, restated from docs/formats.md

/// The largest finite value of each format, written down from the table of docs/formats.md (not taken from
/// `Format.maxFinite`).
func designMaxFinite(_ f: Format) -> Double {
    switch f {
    case .f64: 0x1.fffffffffffffp+1023
    case .f32: 0x1.fffffep+127
    case .f16: 65504
    case .bf16: 0x1.fep+127
    case .e5m2: 57344
    case .e4m3fn: 448
    }
}

/// An infinite value as the format holds it: itself, or NaN in e4m3fn (no infinities there).
func designSpecial(_ v: Double, _ f: Format) -> Double {
    (v.isInfinite && f == .e4m3fn) ? .nan : v
}

/// The quantum exponent q (grid spacing 2^q) of the format at the binade of `x`.
private func quantum(_ x: Double, _ f: Format) -> Int {
    max(Int(x.exponent), f.minNormalExponent) - f.precision + 1
}

/// x = ±M · 2^E with M an integer below 2^53.
private func integerParts(_ x: Double) -> (m: UInt64, e: Int) {
    if x.isSubnormal { return (x.significandBitPattern, -1074) }
    return ((1 << 52) | x.significandBitPattern, Int(x.exponent) - 52)
}

/// `x` rounded to nearest-even into `f`, by integer arithmetic on its significand: a third
/// rounding, written apart from both of the oracle's (`Format.round(Double)` scales and calls
/// `rounded(.toNearestOrEven)`, `Format.round(BigFloat)` goes through MPFR).
func referenceRound(_ x: Double, _ f: Format) -> Double {
    if x.isNaN { return .nan }
    if x.isInfinite { return designSpecial(x, f) }
    if x == 0 { return x }
    let (m, e) = integerParts(x)
    let q = quantum(x, f)
    var n: UInt64
    if q <= e {
        n = m << UInt64(e - q)  // already on the grid (fits: fewer than p bits above 2^q)
    } else {
        let shift = q - e
        if shift > 54 {
            n = 0  // |x| < 2^(q-1): below half the quantum
        } else {
            n = m >> UInt64(shift)
            let rest = m & ((1 << UInt64(shift)) - 1)
            let half: UInt64 = 1 << UInt64(shift - 1)
            if rest > half || (rest == half && n & 1 == 1) { n += 1 }
        }
    }
    let r = Double(sign: x.sign, exponent: q, significand: Double(n))
    if r.magnitude > designMaxFinite(f) { return f == .e4m3fn ? .nan : (x < 0 ? -.infinity : .infinity) }
    return r
}

/// True when `x` lies exactly halfway between two neighbours of `f`'s grid (including the
/// midpoint above the largest finite value and the one between 0 and the least subnormal).
func isMidpoint(_ x: Double, _ f: Format) -> Bool {
    guard x.isFinite && x != 0 else { return false }
    let (m, e) = integerParts(x)
    return e + m.trailingZeroBitCount == quantum(x, f) - 1
}

// MARK: - Building exact BigFloats

/// The exact value of a double.
func big(_ x: Double) -> BigFloat { BigFloat(x, precision: 53) }

/// x + |x| · 2^-k when `upward`, x − |x| · 2^-k otherwise, exactly (enough bits for both parts).
func perturbed(_ x: BigFloat, by k: Int, upward: Bool) -> BigFloat {
    let d = BigFloat(precision: x.precision)
    d.scale(x, byPowerOfTwo: -k, .nearest)  // exact: only the exponent changes
    let r = BigFloat(precision: x.precision + k + 8)
    if upward == !x.signBit {
        r.add(x, d, .nearest)
    } else {
        r.sub(x, d, .nearest)
    }
    return r
}

func perturbed(_ x: Double, by k: Int, upward: Bool) -> BigFloat { perturbed(big(x), by: k, upward: upward) }

/// The exact value 2^e (any exponent MPFR holds).
func bigPow2(_ e: Int) -> BigFloat {
    let r = BigFloat(precision: 53)
    r.scale(big(1), byPowerOfTwo: e, .nearest)
    return r
}
