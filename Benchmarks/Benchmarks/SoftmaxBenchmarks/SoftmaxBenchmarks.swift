// The ordo-one/benchmark suite of softmax-oracle (issue 5):
//
//   swift package --package-path Benchmarks benchmark                       # everything
//   swift package --package-path Benchmarks benchmark --filter "Oracle.*"   # one group
//
// Groups: the certified oracle (softmax, log_softmax, cross_entropy into f64 and f32 at
// K = 16, 1024, 100 000, normal(0, 10) logits, fixed seed); the baseline, a plain 128-bit MPFR
// softmax loop in C at the same K; the fast kernels (every variant, K = 4096, f64 and f32);
// the harness (cases per second); two cores against one on a large batch; the peak memory of a
// certified f64 softmax of K = 10^6. SciPy's baseline runs in python3 (Benchmarks/
// scipy_softmax.py), and `scripts/bench.sh` puts everything in one table of ratios.
import Benchmark
import BenchSupport
import FastSoftmax
import SoftmaxOracle

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 1,
        maxDuration: .seconds(1),
        maxIterations: 10_000
    )
    let sizes = [16, 1024, 100_000]
    let inputs = Dictionary(uniqueKeysWithValues: sizes.map { ($0, Workloads.normalLogits(count: $0, seed: UInt64($0))) })

    // MARK: The certified oracle and the MPFR-128 baseline

    for k in sizes {
        let x = inputs[k]!
        Benchmark("MPFR-128 softmax loop (baseline), K = \(k)") { benchmark in
            var out = [Double](repeating: 0, count: k)
            for _ in benchmark.scaledIterations {
                Workloads.mpfrLoopSoftmax(x, into: &out)
                blackHole(out)
            }
        }
        for function in [OracleFunction.softmax, .logSoftmax, .crossEntropy] {
            for format in [Format.f64, .f32] {
                let q = Workloads.request(function, format, x)
                let oracle = Oracle(threads: 1)
                Benchmark("Oracle certified \(function.rawValue) → \(format.rawValue), K = \(k), 1 core") { benchmark in
                    for _ in benchmark.scaledIterations {
                        blackHole(Workloads.certify(oracle, q))
                    }
                }
            }
        }
    }
    for format in [Format.f16, .bf16] {
        let q = Workloads.request(.softmax, format, inputs[100_000]!)
        let oracle = Oracle(threads: 1)
        Benchmark("Oracle certified softmax → \(format.rawValue), K = 100000, 1 core") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(Workloads.certify(oracle, q)) }
        }
    }
    let slow = Oracle(doubleWordTier: false, threads: 1)
    let q1024 = Workloads.request(.softmax, .f64, inputs[1024]!)
    Benchmark("Oracle MPFR interval path (doubleWordTier: false) softmax → f64, K = 1024",
              configuration: .init(maxDuration: .seconds(2), maxIterations: 20)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Workloads.certify(slow, q1024)) }
    }

    // MARK: Two cores against one, and memory

    let batch = Workloads.batchRequest(rows: 256, k: 4096)
    for threads in [1, 2] {
        let oracle = Oracle(threads: threads)
        Benchmark("Oracle certified batch loss 256 × 4096 → f64, \(threads) core(s)",
                  configuration: .init(maxDuration: .seconds(3), maxIterations: 30)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(Workloads.certify(oracle, batch)) }
        }
    }
    let million = Workloads.request(.softmax, .f64, Workloads.normalLogits(count: 1_000_000, seed: 7))
    for threads in [1, 2] {
        let oracle = Oracle(threads: threads)
        Benchmark("Oracle certified softmax → f64, K = 10^6, \(threads) core(s)",
                  configuration: .init(metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal],
                                       maxDuration: .seconds(3), maxIterations: 20)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(Workloads.certify(oracle, million)) }
        }
    }

    // MARK: Fast kernels, K = 4096

    let k4096 = Workloads.normalLogits(count: 4096, seed: 4096)
    let k4096f = k4096.map { Float($0) }
    for variant in KernelVariant.allCases {
        for log in [false, true] where !log || variant == .accurate || variant == .shifted {
            let name = log ? "log_softmax" : "softmax"
            Benchmark("Kernel \(variant.rawValue) \(name) f64, K = 4096") { benchmark in
                var out = [Double](repeating: 0, count: 4096)
                for _ in benchmark.scaledIterations {
                    k4096.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { Workloads.kernel(variant, log: log, xb, $0) } }
                    blackHole(out)
                }
            }
            Benchmark("Kernel \(variant.rawValue) \(name) f32, K = 4096") { benchmark in
                var out = [Float](repeating: 0, count: 4096)
                for _ in benchmark.scaledIterations {
                    k4096f.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { Workloads.kernel(variant, log: log, xb, $0) } }
                    blackHole(out)
                }
            }
        }
    }

    // MARK: The harness

    let (runner, cases) = Workloads.harnessCases(perFamily: 2)
    Benchmark("Harness: \(cases.count) cases, 5 kernels, 1 thread (throughput × \(cases.count) = cases/s)",
              configuration: .init(maxDuration: .seconds(3), maxIterations: 10)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(runner.run(cases: cases, seed: 1)) }
    }
}
