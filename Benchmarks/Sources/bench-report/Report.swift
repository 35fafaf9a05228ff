import AccuracyHarness
import BenchSupport
import BuiltInImplementations
import Dispatch
import FastSoftmax
import Foundation
import SoftmaxOracle

/// The table: its sections in order, each adding rows (measurement, median, ratio, target).
/// Section 1's row and times serve as the baseline of the later ones.
struct Report {
    var quick: Bool
    var timing: Timing
    var rows: [(String, String, String, String)] = []  // measurement, median, ratio, target
    let rounds: Int
    let mpfrBits = 128
    let start = monotonicSeconds()
    let big = Workloads.normalLogits(count: 100_000)
    let oneCore = Oracle(threads: 1)
    /// The MPFR-128 loop's time on `big` (section 1).
    var mpfr100k = 0.0

    init(quick: Bool, timing: Timing) {
        self.quick = quick
        self.timing = timing
        rounds = quick ? 3 : 7
        FileHandle.standardError.write("bench-report: measuring (about \(quick ? "1" : "2") min)...\n".data(using: .utf8)!)
    }

    mutating func row(_ what: String, _ value: String, _ r: String = "", _ target: String = "") { rows.append((what, value, r, target)) }

    /// 1. The certified oracle against the MPFR-128 loop, K = 100 000, one core.
    mutating func oracle100k() {
        let (big, oneCore, mpfrBits) = (big, oneCore, mpfrBits)
        var out = [Double](repeating: 0, count: big.count)
        let formats: [Format] = [.f64, .f32, .f16, .bf16]
        var bodies: [() -> Void] = [{ Workloads.mpfrLoopSoftmax(big, into: &out, precision: mpfrBits) }]
        for f in formats {
            let q = Workloads.request(.softmax, f, big)
            precondition(Workloads.certify(oneCore, q).tier == .doubleWord)
            bodies.append { consume(Workloads.certify(oneCore, q)) }
        }
        let t100k = timing.interleaved(rounds: rounds, bodies)
        mpfr100k = t100k[0]
        row("Baseline: MPFR 128-bit softmax loop (C, uncertified), K = 100 000", "\(ns(mpfr100k, per: big.count)) ns/elem")
        for (j, f) in formats.enumerated() {
            let t = t100k[j + 1]
            row("Oracle certified softmax → \(f.rawValue), K = 100 000, 1 core", "\(ns(t, per: big.count)) ns/elem",
                ratio(mpfr100k / t) + " vs MPFR-128", f == .f64 ? "≥ 50×" : "≥ 150×")
        }
    }

    /// The rows so far, as --only-oracle-100k prints them.
    func printRows() {
        print("| Measurement | Median | Ratio | Target |")
        print("|---|---:|---:|---|")
        for (a, b, c, d) in rows { print("| \(a) | \(b) | \(c) | \(d) |") }
    }

    /// 2. Every certified function at K = 16, 1024, 100 000 (f64, f32).
    mutating func everyFunction() {
        let (oneCore, mpfrBits) = (oneCore, mpfrBits)
        for k in [16, 1024, 100_000] {
            let x = k == 100_000 ? big : Workloads.normalLogits(count: k, seed: UInt64(k))
            var o = [Double](repeating: 0, count: k)
            let base = k == 100_000 ? mpfr100k : timing.median(samples: rounds) { Workloads.mpfrLoopSoftmax(x, into: &o, precision: mpfrBits) }
            if k != 100_000 { row("Baseline: MPFR-128 softmax loop, K = \(k)", "\(ns(base, per: k)) ns/elem") }
            for function in [OracleFunction.softmax, .logSoftmax, .crossEntropy] {
                for f in [Format.f64, .f32] where !(k == 100_000 && function == .softmax) {
                    let q = Workloads.request(function, f, x)
                    let t = timing.median(samples: rounds) { consume(Workloads.certify(oneCore, q)) }
                    let perOutput = function == .crossEntropy ? "\(format(t * 1e6, digits: 1)) µs/row" : "\(ns(t, per: k)) ns/elem"
                    row("Oracle \(function.rawValue) → \(f.rawValue), K = \(k), 1 core", perOutput,
                        ratio(base / t) + " vs MPFR-128 softmax")
                }
            }
        }
    }

    /// The MPFR interval path (the oracle before the double-word tier), for scale.
    mutating func mpfrPath() {
        let oneCore = oneCore
        let x = Workloads.normalLogits(count: 1024, seed: 1024)
        let slow = Oracle(doubleWordTier: false, threads: 1)
        for f in [Format.f64, .f32] {
            let q = Workloads.request(.softmax, f, x)
            let (tSlow, tFast) = (timing.median(samples: quick ? 3 : 5, minimum: 0) { consume(Workloads.certify(slow, q)) },
                                  timing.median(samples: rounds) { consume(Workloads.certify(oneCore, q)) })
            row("MPFR interval path (doubleWordTier: false) softmax → \(f.rawValue), K = 1024", "\(ns(tSlow, per: 1024)) ns/elem",
                ratio(tSlow / tFast) + " slower than the double-word tier")
        }
    }

    /// 3. Two cores against one.
    mutating func cores() {
        // The machine's own parallelism right now (other work shares these cores): a trivial
        // arithmetic loop split in two halves with the same Dispatch call the oracle uses.
        let spinOne = { consume(Workloads.spin(40_000_000)) }
        let spinTwo = { DispatchQueue.concurrentPerform(iterations: 2) { _ in consume(Workloads.spin(20_000_000)) } }
        let batch = Workloads.batchRequest(rows: 256, k: 4096)
        let t = timing.interleaved(rounds: rounds, clock: monotonicSeconds, [
            { consume(Workloads.certify(Oracle(threads: 1), batch)) },
            { consume(Workloads.certify(Oracle(threads: 2), batch)) },
            spinOne, spinTwo,
        ])
        row("Reference: a trivial loop on 2 threads vs 1 (what the shared machine allows now)", "", ratio(t[2] / t[3]) + " vs 1 core")
        row("Certified batch loss (mean), 256 rows × K = 4096, f64: 1 core", "\(format(t[0] * 1e3)) ms")
        row("… the same on 2 cores", "\(format(t[1] * 1e3)) ms", ratio(t[0] / t[1]) + " vs 1 core", "≥ 1.8×")
        let row1M = Workloads.normalLogits(count: 1_000_000, seed: 7)
        let q = Workloads.request(.softmax, .f64, row1M)
        let t2 = timing.interleaved(rounds: quick ? 3 : 5, clock: monotonicSeconds, [
            { consume(Workloads.certify(Oracle(threads: 1), q)) },
            { consume(Workloads.certify(Oracle(threads: 2), q)) },
        ])
        row("Certified softmax → f64, one row of K = 10^6: 1 core", "\(format(t2[0] * 1e3)) ms")
        row("… the same on 2 cores", "\(format(t2[1] * 1e3)) ms", ratio(t2[0] / t2[1]) + " vs 1 core")
    }

    /// 4. Peak memory (a child process, this executable with --peak-memory, so that nothing else
    /// is resident).
    mutating func peakMemory() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--peak-memory", "1000000"]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        child.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let parts = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if parts.count == 2 {
            let mb = Double(parts[0]) / 1_048_576, before = Double(parts[1]) / 1_048_576
            row("Peak RSS, certified softmax → f64 of K = 10^6 (whole process; \(format(before)) MB before the call)",
                "\(format(mb)) MB", "", "< 256 MB")
        }
    }

    /// The SciPy script's ns per element at K = 4096, by "function format" (empty when python3
    /// cannot run it).
    func runSciPy(_ script: String) -> [String: Double] {
        var scipy: [String: Double] = [:]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, "4096", quick ? "7" : "15"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        if (try? p.run()) != nil {
            p.waitUntilExit()
            for line in String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n") {
                if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   let fn = obj["function"] as? String, let f = obj["format"] as? String, let v = obj["ns_per_element"] as? Double {
                    scipy["\(fn) \(f)"] = v
                }
            }
        }
        return scipy
    }

    /// 5. Fast kernels at K = 4096, and SciPy's times `scipy` (``runSciPy(_:)``).
    mutating func kernels(scipy: [String: Double]) {
        let k = 4096
        let x64 = Workloads.normalLogits(count: k, seed: 4096)
        let x32 = x64.map { Float($0) }
        var o64 = [Double](repeating: 0, count: k)
        var o32 = [Float](repeating: 0, count: k)
        for log in [false, true] {
            let name = log ? "log_softmax" : "softmax"
            for variant in KernelVariant.allCases where !(log && variant != .accurate && variant != .shifted) {
                // Wall-clock time here, as SciPy's time.perf_counter measures it.
                let t64 = timing.median(samples: rounds, clock: monotonicSeconds) {
                    x64.withUnsafeBufferPointer { xb in o64.withUnsafeMutableBufferPointer { Workloads.kernel(variant, log: log, xb, $0) } }
                }
                let t32 = timing.median(samples: rounds, clock: monotonicSeconds) {
                    x32.withUnsafeBufferPointer { xb in o32.withUnsafeMutableBufferPointer { Workloads.kernel(variant, log: log, xb, $0) } }
                }
                for (f, t) in [("f64", t64), ("f32", t32)] {
                    let perElement = t / Double(k) * 1e9
                    let vs = scipy["\(name) \(f)"].map { ratio($0 / perElement) + " SciPy's throughput" } ?? ""
                    row("Kernel \(variant.rawValue) \(name) (\(f)), K = 4096, 1 thread", "\(ns(t, per: k)) ns/elem", vs,
                        variant == .accurate ? "≥ 1× SciPy" : "")
                }
            }
        }
        for key in ["softmax f64", "softmax f32", "log_softmax f64", "log_softmax f32"] {
            if let v = scipy[key] {
                let parts = key.split(separator: " ")
                row("Baseline: SciPy \(parts[0]) (\(parts[1])), K = 4096 (python3, scipy.special)", "\(format(v, digits: 2)) ns/elem")
            }
        }
    }

    /// 6. The harness: cases per second on the double-word tier and on the MPFR path alone.
    mutating func harness() {
        let (runner, cases) = Workloads.harnessCases(perFamily: quick ? 2 : 4)
        let t0 = timing.single()
        let result = runner.run(cases: cases, seed: 1)
        let t = timing.single() - t0
        row("Harness: \(result.caseCount) cases (every family, 4 functions, f64+f32, 5 kernels), 1 thread, double-word tier",
            "\(format(Double(result.caseCount) / t)) cases/s")
        let slowRunner = Runner(oracle: Oracle(doubleWordTier: false, threads: 1), implementations: FastSoftmaxImplementation.all)
        let t1 = timing.single()
        let slowResult = slowRunner.run(cases: cases, seed: 1)
        let ts = timing.single() - t1
        row("… the same with the MPFR path only", "\(format(Double(slowResult.caseCount) / ts)) cases/s",
            ratio(ts / t) + " fewer cases/s")
    }

    /// The table.
    func printTable() {
        print("Oracle and MPFR rows: median \(timing.useWallClock ? "wall-clock" : "process CPU") time; 1-core/2-core, kernel and SciPy rows: median wall-clock time.")
        print("")
        print("| measurement | median | ratio (same run) | target |")
        print("|---|---:|---:|---|")
        for r in rows { print("| \(r.0) | \(r.1) | \(r.2) | \(r.3) |") }
        print("")
        print("Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; MPFR \(Workloads.mpfrVersion); measured in \(format(monotonicSeconds() - start)) s.")
    }
}
