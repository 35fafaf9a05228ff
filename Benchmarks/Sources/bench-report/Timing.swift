import BenchSupport
import Foundation

/// How the table times: the clock of single-threaded measurements, process CPU time (see
/// `processCPUSeconds`) or, with --wall, wall time; medians of samples.
struct Timing {
    var useWallClock: Bool

    /// The clock of single-threaded measurements.
    func single() -> Double { useWallClock ? monotonicSeconds() : processCPUSeconds() }

    /// Median seconds per call of `body`: `samples` samples, each of enough calls to last
    /// `minimum` seconds (calibrated on one call); on `clock`, by default ``single()``.
    func median(samples: Int, minimum: Double = 0.02, clock: (() -> Double)? = nil, _ body: () -> Void) -> Double {
        let clock = clock ?? single
        body()  // warm up (tables, caches)
        let t0 = clock()
        body()
        let once = max(clock() - t0, 1e-9)
        let inner = max(1, Int(minimum / once))
        var times: [Double] = []
        for _ in 0..<samples {
            let s = clock()
            for _ in 0..<inner { body() }
            times.append((clock() - s) / Double(inner))
        }
        return BenchSupport.median(times)
    }

    /// Interleaved: each round runs every body once (a sample each), so that a slow phase of the
    /// machine hits all of them alike. Returns the median seconds per call of each.
    func interleaved(rounds: Int, clock: (() -> Double)? = nil, _ bodies: [() -> Void]) -> [Double] {
        let clock = clock ?? single
        for b in bodies { b() }
        var times = Array(repeating: [Double](), count: bodies.count)
        for _ in 0..<rounds {
            for (j, b) in bodies.enumerated() {
                let s = clock()
                b()
                times[j].append(clock() - s)
            }
        }
        return times.map(BenchSupport.median)
    }
}

/// Nanoseconds per element of `seconds` over `k` elements.
func ns(_ seconds: Double, per k: Int) -> String { format(seconds / Double(k) * 1e9, digits: seconds / Double(k) * 1e9 < 10 ? 2 : 1) }
/// `x` with `digits` decimals.
func format(_ x: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
/// A ratio: "123×", "12.3×".
func ratio(_ x: Double) -> String { x >= 100 ? String(format: "%.0f×", x) : String(format: "%.1f×", x) }
