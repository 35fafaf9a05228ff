import AccuracyHarness
import BuiltInImplementations
import CMPFRLoop
import FastSoftmax
import SoftmaxOracle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inputs and workloads of the benchmarks: every measurement of the suite and of
/// `bench-report` goes through these, so both measure the same thing.
public enum Workloads {
    /// K logits drawn from normal(0, σ) with a fixed seed (SplitMix64 and Box–Muller): the
    /// issue's benchmark input, "normal(0, 10) logits, fixed seed".
    public static func normalLogits(count k: Int, sigma: Double = 10, seed: UInt64 = 0x5EED) -> [Double] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
        return (0..<k).map { _ in
            let u1 = unit() + 0x1p-60, u2 = unit()
            return sigma * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        }
    }

    /// The baseline: softmax with MPFR at `precision` bits (the C loop of CMPFRLoop).
    public static func mpfrLoopSoftmax(_ x: [Double], into out: inout [Double], precision: Int = 128) {
        precondition(out.count == x.count)
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                mpfr_loop_softmax(xb.baseAddress, ob.baseAddress, xb.count, precision)
            }
        }
    }

    /// A dependent chain of n multiply-adds: pure arithmetic, no memory, for measuring how much
    /// parallelism the machine gives right now.
    @inline(never)
    public static func spin(_ n: Int) -> Double {
        var x = 1.0
        for i in 0..<n { x = x * 1.000_000_1 + Double(i & 1) }
        return x
    }

    /// The MPFR library the baseline (and the oracle) link.
    public static var mpfrVersion: String { String(cString: mpfr_loop_version()) }

    /// A certified oracle request on one row.
    public static func request(_ function: OracleFunction, _ format: Format, _ x: [Double]) -> OracleRequest {
        var q = OracleRequest(function: function, format: format, logits: x)
        if function == .crossEntropy { q.target = .index(x.count / 2) }
        return q
    }

    /// A batch loss request: `rows` rows of `k` normal(0, 10) logits, hard targets, mean.
    public static func batchRequest(rows: Int, k: Int, format: Format = .f64, reduction: Reduction = .mean) -> OracleRequest {
        let all = normalLogits(count: rows * k, seed: 0xBA7C)
        let batch = (0..<rows).map { Array(all[($0 * k)..<(($0 + 1) * k)]) }
        return OracleRequest(function: .crossEntropyLoss, format: format, batch: batch,
                             batchTargets: .indices((0..<rows).map { ($0 * 7919) % k }), reduction: reduction)
    }

    /// Runs a certified request; traps if it fails (benchmarks use valid requests).
    @inline(never)
    public static func certify(_ oracle: Oracle, _ q: OracleRequest) -> OracleResult {
        do { return try oracle.evaluate(q) } catch { fatalError("oracle failed: \(error)") }
    }

    /// One fast kernel softmax (or log_softmax) over a buffer, in Double or Float.
    @inline(never)
    public static func kernel<T: KernelScalar>(_ variant: KernelVariant, log: Bool,
                                               _ x: UnsafeBufferPointer<T>, _ out: UnsafeMutableBufferPointer<T>) {
        if log {
            Kernels<T>.logSoftmax(x, into: out, variant: variant)
        } else {
            Kernels<T>.softmax(x, into: out, variant: variant)
        }
    }

    /// The harness's cases: a seeded grid of every family, logsumexp/softmax/log_softmax/
    /// cross_entropy, f64 and f32, `perFamily` cases each (family caps applied).
    public static func harnessCases(perFamily: Int = 4, seed: UInt64 = 1) -> (Runner, [HarnessCase]) {
        let configuration = RunConfiguration(seed: seed, casesPerFamily: perFamily)
        let runner = Runner(oracle: Oracle(threads: 1), implementations: FastSoftmaxImplementation.all)
        return (runner, configuration.cases())
    }

    /// Peak resident memory of this process so far, in bytes: VmHWM of /proc/self/status on
    /// Linux (getrusage's ru_maxrss is not reset by exec there, so a child started by a large
    /// parent would report the parent's peak), else getrusage.
    public static func peakResidentBytes() -> Int {
        #if os(Linux)
        if let f = fopen("/proc/self/status", "r") {
            defer { fclose(f) }
            var line = [CChar](repeating: 0, count: 256)
            while fgets(&line, Int32(line.count), f) != nil {
                let s = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if s.hasPrefix("VmHWM:") {
                    let kb = s.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
                    return kb * 1024
                }
            }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        var usage = rusage()
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }
}

/// Monotonic time in seconds.
public func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// CPU time of this process (all its threads), in seconds: on a machine shared with other
/// work, the time the process actually ran, which a busy neighbour does not inflate the way it
/// inflates wall-clock time. Single-threaded measurements use it; thread scaling uses wall time.
public func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// The median of non-empty samples.
public func median(_ samples: [Double]) -> Double {
    let s = samples.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Keeps a value alive and opaque to the optimizer.
@inline(never) public func consume<T>(_ x: T) { withExtendedLifetime(x) {} }
