/// Order-independent summary statistics of ULP errors.
///
/// Every function sorts its input first, so the result does not depend on the order in which
/// cases were scored or accumulators merged (floating-point sums otherwise would).
public enum Statistics {
    /// The largest value, or nil for no values.
    public static func maximum(_ values: [Double]) -> Double? {
        values.max()
    }

    /// The arithmetic mean, summed in ascending order with Neumaier's compensation (error about
    /// one rounding of the result, independent of the input's order). Nil for no values; +inf
    /// when a value is +inf or the sum overflows.
    public static func mean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        if sorted.last! == .infinity { return .infinity }
        var sum = 0.0
        var compensation = 0.0
        for x in sorted {
            let t = sum + x
            if sum.magnitude >= x.magnitude {
                compensation += (sum - t) + x
            } else {
                compensation += (x - t) + sum
            }
            sum = t
        }
        let total = sum + compensation
        return total.isFinite ? total / Double(sorted.count) : .infinity
    }

    /// The `percent`-th percentile by the nearest-rank method: the smallest value such that at
    /// least `percent`% of the values are at most it, i.e. sorted[⌈percent·n/100⌉ − 1] (rank at
    /// least 1). Integer arithmetic for the rank, so p99 of 100 values is the 99th smallest.
    /// Nil for no values. Precondition: 0 ≤ percent ≤ 100.
    public static func percentile(_ values: [Double], _ percent: Int) -> Double? {
        precondition((0...100).contains(percent), "percent in 0...100")
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Swift.max(1, (percent * sorted.count + 99) / 100)
        return sorted[rank - 1]
    }
}
