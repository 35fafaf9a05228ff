/// Elementary functions made only of IEEE 754 basic operations (+, −, ×, ÷, √, exact scaling),
/// so that their results are the same bits on every machine — unlike the C library's, which may
/// differ in the last place between libm versions.
///
/// They are accurate to a few ulps, not correctly rounded: good enough to draw normal deviates
/// and to place logits near thresholds such as ln(greatestFiniteMagnitude), and to lay out plots.
/// Nothing here is used to compute a reference value.
public enum DeterministicMath {
    /// ln 2 split so that `k · ln2Hi` is exact for |k| < 2^11: ln2Hi has 32 significant bits.
    static let ln2Hi: Double = 0x1.62e42fefa0000p-1
    static let ln2Lo: Double = 0x1.cf79abc9e3b3ap-40
    static let ln10: Double = 0x1.26bb1bbb55516p+1
    static let halfPi: Double = 0x1.921fb54442d18p+0
    static let sqrtHalf: Double = 0x1.6a09e667f3bcdp-1

    /// ln x for positive finite x (subnormals included).
    ///
    /// Method: x = m · 2^e exactly, m ∈ [√½, √2); ln m = 2·atanh(s) with s = (m − 1)/(m + 1),
    /// |s| ≤ 0.1716, summed as the odd series through s^29 (truncation below 0.03^15 < 2^-75);
    /// then e·ln2 in two parts. Error: a few ulps (rounding of s and of the sum).
    ///
    /// Edge cases: 0 gives −inf, +inf gives +inf, negative or NaN gives NaN.
    public static func log(_ x: Double) -> Double {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x.isInfinite { return .infinity }
        var e = Int(x.exponent)
        var m = x.significand  // [1, 2), exact (also for subnormals)
        if m > 2 * sqrtHalf {  // m > √2: use m/2 ∈ (√½, 1], exact
            m *= 0.5
            e += 1
        }
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var series = 1.0 / 29.0
        var k = 27.0
        while k >= 3 {
            series = series * s2 + 1.0 / k
            k -= 2
        }
        let lnM = 2 * s * (1 + s2 * series)
        let de = Double(e)
        return de * ln2Hi + (lnM + de * ln2Lo)
    }

    /// log₁₀ x = ln x / ln 10, for plot axes.
    public static func log10(_ x: Double) -> Double {
        log(x) / ln10
    }

    /// cos(2πt) and sin(2πt) for t ∈ [0, 1) (other t are reduced by subtracting ⌊t⌋ first).
    ///
    /// Method: 4t = q + f exactly (q the quadrant, f ∈ [0, 1)); with f > ½ the complementary
    /// angle (1 − f)·π/2 is used (1 − f exact by Sterbenz), so the Taylor series only see
    /// |θ| ≤ π/4, summed through θ^17 and θ^18 (truncation below 2^-60 relative).
    public static func cosSin(turns t: Double) -> (cos: Double, sin: Double) {
        var t = t
        if !(t >= 0 && t < 1) {
            guard t.isFinite else { return (.nan, .nan) }
            t -= t.rounded(.down)
        }
        let u = t * 4  // exact
        let qf = u.rounded(.down)
        let q = Int(qf) & 3
        let f = u - qf  // exact
        let swapped = f > 0.5
        let theta = (swapped ? 1 - f : f) * halfPi
        let t2 = theta * theta
        // sin θ = θ(1 − θ²/3! + θ⁴/5! − …), cos θ = 1 − θ²/2! + θ⁴/4! − …
        var sinSeries = 1.0
        var cosSeries = 1.0
        var n = 18.0
        while n >= 2 {
            cosSeries = 1 - cosSeries * t2 / (n * (n - 1))
            sinSeries = 1 - sinSeries * t2 / ((n + 1) * n)
            n -= 2
        }
        var c = cosSeries
        var s = theta * sinSeries
        if swapped { swap(&c, &s) }
        switch q {
        case 0: return (c, s)
        case 1: return (-s, c)
        case 2: return (-c, -s)
        default: return (s, -c)
        }
    }
}
