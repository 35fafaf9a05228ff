import DoubleWordArithmetic
import ParallelExecution

// The row scan: one pass over the logits for the maximum m (its first index), the second
// largest finite logit (which fixes the sums' scale σ) and the specials (NaN, +inf) that send a
// request to the MPFR path. Chunks of a long row are scanned on different threads and merged in
// order, so the result is the single pass's.

extension DoubleWordTier {
    /// The largest logit (first index), the largest other finite logit, and whether a NaN or
    /// +inf was seen.
    struct RowScan: Sendable {
        var max = -Double.infinity
        var maxIndex = -1
        var second = -Double.infinity
        var special = false

        /// The scan of the whole row, in `chunks` consecutive ranges (on up to `chunks` threads),
        /// merged in order: the same result as one pass.
        static func of(_ x: UnsafeBufferPointer<Double>, split: StageSplit) -> RowScan {
            let scans = split.run(count: x.count) { of(x, $0) }
            return scans.dropFirst().reduce(scans[0]) { $0.merged(with: $1) }
        }

        /// The scan of x[range].
        static func of(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> RowScan {
            var r = RowScan()
            @inline(__always) func step(_ j: Int) {
                let v = x[j]
                if v.isNaN || v == .infinity {
                    r.special = true
                } else if v > r.max {
                    if r.maxIndex >= 0 { r.second = r.max }
                    r.max = v
                    r.maxIndex = j
                } else if v > r.second {
                    r.second = v
                }
            }
            // Four logits none of which exceeds the second largest so far (a NaN fails the
            // comparison) change nothing: skipped by one comparison; other groups step one by one.
            @inline(__always) func group(_ j: Int) {
                let v = UnsafeRawPointer(x.baseAddress! + j).loadUnaligned(as: SIMD4<Double>.self)
                if !all(v .<= r.second) {
                    for i in j..<(j + 4) { step(i) }
                }
            }
            // Sixteen such logits at once (one branch for four groups); otherwise their four groups.
            var j = range.lowerBound
            while j + 16 <= range.upperBound {
                let p = UnsafeRawPointer(x.baseAddress! + j), s = SIMD8<Double>(repeating: r.second)
                let a = p.loadUnaligned(as: SIMD8<Double>.self), b = p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Double>.self)
                if !all((a .<= s) .& (b .<= s)) {
                    for g in 0..<4 { group(j + 4 * g) }
                }
                j += 16
            }
            while j + 4 <= range.upperBound {
                group(j)
                j += 4
            }
            while j < range.upperBound {
                step(j)
                j += 1
            }
            return r
        }

        /// Combines the scan of a range with that of the range after it.
        func merged(with b: RowScan) -> RowScan {
            var r = self
            r.special = special || b.special
            if b.maxIndex < 0 {
                r.second = Swift.max(second, b.second)
            } else if maxIndex < 0 {
                r = b
                r.special = special || b.special
                r.second = Swift.max(second, b.second)
            } else if b.max > max {
                r.max = b.max
                r.maxIndex = b.maxIndex
                r.second = Swift.max(b.second, max)
            } else {
                r.second = Swift.max(second, b.max)
            }
            return r
        }
    }
}
