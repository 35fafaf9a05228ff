// bench-report: every measurement of issue 5 in one process, printed as a markdown table of
// medians and ratios. The ratios compare numbers measured in this run only.
//
//   bench-report [--quick] [--scipy PATH]     the table (PATH: Benchmarks/scipy_softmax.py)
//   bench-report --peak-memory K               certified f64 softmax of K logits; prints peak RSS
//   bench-report --only-oracle-100k [--quick]  section 1 only (certified softmax, K = 100 000, 1 core)
//   bench-report --profile-oracle FORMAT N [FUNCTION]  N certified softmaxes (or FUNCTION) of section 1's row, nothing else (perf)
import AccuracyHarness
import BuiltInImplementations
import BenchSupport
import Dispatch
import FastSoftmax
import Foundation
import SoftmaxOracle

let arguments = CommandLine.arguments
let quick = arguments.contains("--quick")

// MARK: - Child mode: peak memory of one certified softmax

if let i = arguments.firstIndex(of: "--peak-memory") {
    let k = Int(arguments[i + 1]) ?? 1_000_000
    let x = Workloads.normalLogits(count: k)
    let before = Workloads.peakResidentBytes()
    let r = Workloads.certify(Oracle(), Workloads.request(.softmax, .f64, x))
    precondition(r.values.count == k)
    print("\(Workloads.peakResidentBytes()) \(before) \(r.tier.rawValue)")
    exit(0)
}

// MARK: - Profile mode: section 1's oracle softmax alone, for perf record

if let i = arguments.firstIndex(of: "--profile-oracle"), i + 2 < arguments.count,
   let f = Format(rawValue: arguments[i + 1]), let n = Int(arguments[i + 2]) {
    let function = i + 3 < arguments.count ? OracleFunction(rawValue: arguments[i + 3]) ?? .softmax : .softmax
    let q = Workloads.request(function, f, Workloads.normalLogits(count: 100_000))
    let oracle = Oracle(threads: 1)
    for _ in 0..<n { consume(Workloads.certify(oracle, q)) }
    exit(0)
}

// MARK: - Cross-check mode: the double-word tier against the MPFR path on the harness's cases

if let i = arguments.firstIndex(of: "--verify-harness") {
    let perFamily = Int(arguments[i + 1]) ?? 4
    let (_, cases) = Workloads.harnessCases(perFamily: perFamily, seed: UInt64(arguments.count > i + 2 ? arguments[i + 2] : "1") ?? 1)
    let fast = Oracle(threads: 1), slow = Oracle(doubleWordTier: false, threads: 1)
    var answered = 0, mismatches = 0, total = 0
    var byFamily: [String: (Int, Int)] = [:]
    for c in cases {
        for f in [Format.f64, .f32, .f16, .bf16, .e5m2, .e4m3fn] {
            var q = c.request
            q.format = f
            total += 1
            let a = Result { try fast.evaluate(q) }, b = Result { try slow.evaluate(q) }
            switch (a, b) {
            case let (.success(x), .success(y)):
                if x.tier == .doubleWord { answered += 1 }
                let key = "\(c.key.family.rawValue) \(c.key.function.rawValue)"
                byFamily[key, default: (0, 0)].0 += 1
                if x.tier == .doubleWord { byFamily[key, default: (0, 0)].1 += 1 }
                let same = zip(x.rounded, y.rounded).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                if !same || x.rounded.count != y.rounded.count {
                    mismatches += 1
                    print("MISMATCH \(c.key) \(f.rawValue): \(x.rounded) vs \(y.rounded)")
                }
            case (.failure, .failure): break
            default:
                mismatches += 1
                print("MISMATCH (error on one path) \(c.key) \(f.rawValue)")
            }
        }
    }
    for (k, v) in byFamily.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v.1) of \(v.0) on the double-word tier") }
    print("harness cases × 6 formats: \(total) requests, \(answered) answered by the double-word tier, \(mismatches) mismatches")
    exit(mismatches == 0 ? 0 : 1)
}

// MARK: - Timing

/// The clock of single-threaded measurements: process CPU time (see `processCPUSeconds`), or
/// wall time with --wall.
let useWallClock = CommandLine.arguments.contains("--wall")
func singleClock() -> Double { useWallClock ? monotonicSeconds() : processCPUSeconds() }

/// Median seconds per call of `body`: `samples` samples, each of enough calls to last
/// `minimum` seconds (calibrated on one call).
func timeMedian(samples: Int, minimum: Double = 0.02, clock: () -> Double = singleClock, _ body: () -> Void) -> Double {
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
    return median(times)
}

/// Interleaved: each round runs every body once (a sample each), so that a slow phase of the
/// machine hits all of them alike. Returns the median seconds per call of each.
func timeInterleaved(rounds: Int, clock: () -> Double = singleClock, _ bodies: [() -> Void]) -> [Double] {
    for b in bodies { b() }
    var times = Array(repeating: [Double](), count: bodies.count)
    for _ in 0..<rounds {
        for (j, b) in bodies.enumerated() {
            let s = clock()
            b()
            times[j].append(clock() - s)
        }
    }
    return times.map(median)
}

func ns(_ seconds: Double, per k: Int) -> String { format(seconds / Double(k) * 1e9, digits: seconds / Double(k) * 1e9 < 10 ? 2 : 1) }
func format(_ x: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
func ratio(_ x: Double) -> String { x >= 100 ? String(format: "%.0f×", x) : String(format: "%.1f×", x) }

var rows: [(String, String, String, String)] = []  // measurement, median, ratio, target
@MainActor func row(_ what: String, _ value: String, _ r: String = "", _ target: String = "") { rows.append((what, value, r, target)) }

let rounds = quick ? 3 : 7
let mpfrBits = 128
let start = monotonicSeconds()
FileHandle.standardError.write("bench-report: measuring (about \(quick ? "1" : "2") min)...\n".data(using: .utf8)!)

// MARK: - 1. The certified oracle against the MPFR-128 loop, K = 100 000, one core

let big = Workloads.normalLogits(count: 100_000)
var out = [Double](repeating: 0, count: big.count)
let oneCore = Oracle(threads: 1)
let formats: [Format] = [.f64, .f32, .f16, .bf16]
var bodies: [() -> Void] = [{ Workloads.mpfrLoopSoftmax(big, into: &out, precision: mpfrBits) }]
for f in formats {
    let q = Workloads.request(.softmax, f, big)
    precondition(Workloads.certify(oneCore, q).tier == .doubleWord)
    bodies.append { consume(Workloads.certify(oneCore, q)) }
}
let t100k = timeInterleaved(rounds: rounds, bodies)
let mpfr100k = t100k[0]
row("Baseline: MPFR 128-bit softmax loop (C, uncertified), K = 100 000", "\(ns(mpfr100k, per: big.count)) ns/elem")
for (j, f) in formats.enumerated() {
    let t = t100k[j + 1]
    row("Oracle certified softmax → \(f.rawValue), K = 100 000, 1 core", "\(ns(t, per: big.count)) ns/elem",
        ratio(mpfr100k / t) + " vs MPFR-128", f == .f64 ? "≥ 50×" : "≥ 150×")
}
if arguments.contains("--only-oracle-100k") {
    print("| Measurement | Median | Ratio | Target |")
    print("|---|---:|---:|---|")
    for (a, b, c, d) in rows { print("| \(a) | \(b) | \(c) | \(d) |") }
    exit(0)
}

// MARK: - 2. Every certified function at K = 16, 1024, 100 000 (f64, f32)

for k in [16, 1024, 100_000] {
    let x = k == 100_000 ? big : Workloads.normalLogits(count: k, seed: UInt64(k))
    var o = [Double](repeating: 0, count: k)
    let base = k == 100_000 ? mpfr100k : timeMedian(samples: rounds) { Workloads.mpfrLoopSoftmax(x, into: &o, precision: mpfrBits) }
    if k != 100_000 { row("Baseline: MPFR-128 softmax loop, K = \(k)", "\(ns(base, per: k)) ns/elem") }
    for function in [OracleFunction.softmax, .logSoftmax, .crossEntropy] {
        for f in [Format.f64, .f32] where !(k == 100_000 && function == .softmax) {
            let q = Workloads.request(function, f, x)
            let t = timeMedian(samples: rounds) { consume(Workloads.certify(oneCore, q)) }
            let perOutput = function == .crossEntropy ? "\(format(t * 1e6, digits: 1)) µs/row" : "\(ns(t, per: k)) ns/elem"
            row("Oracle \(function.rawValue) → \(f.rawValue), K = \(k), 1 core", perOutput,
                ratio(base / t) + " vs MPFR-128 softmax")
        }
    }
}

// The MPFR interval path (the oracle before the double-word tier), for scale.
do {
    let x = Workloads.normalLogits(count: 1024, seed: 1024)
    let slow = Oracle(doubleWordTier: false, threads: 1)
    for f in [Format.f64, .f32] {
        let q = Workloads.request(.softmax, f, x)
        let (tSlow, tFast) = (timeMedian(samples: quick ? 3 : 5, minimum: 0) { consume(Workloads.certify(slow, q)) },
                              timeMedian(samples: rounds) { consume(Workloads.certify(oneCore, q)) })
        row("MPFR interval path (doubleWordTier: false) softmax → \(f.rawValue), K = 1024", "\(ns(tSlow, per: 1024)) ns/elem",
            ratio(tSlow / tFast) + " slower than the double-word tier")
    }
}

// MARK: - 3. Two cores against one

do {
    // The machine's own parallelism right now (other work shares these cores): a trivial
    // arithmetic loop split in two halves with the same Dispatch call the oracle uses.
    let spinOne = { consume(Workloads.spin(40_000_000)) }
    let spinTwo = { DispatchQueue.concurrentPerform(iterations: 2) { _ in consume(Workloads.spin(20_000_000)) } }
    let batch = Workloads.batchRequest(rows: 256, k: 4096)
    let t = timeInterleaved(rounds: rounds, clock: monotonicSeconds, [
        { consume(Workloads.certify(Oracle(threads: 1), batch)) },
        { consume(Workloads.certify(Oracle(threads: 2), batch)) },
        spinOne, spinTwo,
    ])
    row("Reference: a trivial loop on 2 threads vs 1 (what the shared machine allows now)", "", ratio(t[2] / t[3]) + " vs 1 core")
    row("Certified batch loss (mean), 256 rows × K = 4096, f64: 1 core", "\(format(t[0] * 1e3)) ms")
    row("… the same on 2 cores", "\(format(t[1] * 1e3)) ms", ratio(t[0] / t[1]) + " vs 1 core", "≥ 1.8×")
    let row1M = Workloads.normalLogits(count: 1_000_000, seed: 7)
    let q = Workloads.request(.softmax, .f64, row1M)
    let t2 = timeInterleaved(rounds: quick ? 3 : 5, clock: monotonicSeconds, [
        { consume(Workloads.certify(Oracle(threads: 1), q)) },
        { consume(Workloads.certify(Oracle(threads: 2), q)) },
    ])
    row("Certified softmax → f64, one row of K = 10^6: 1 core", "\(format(t2[0] * 1e3)) ms")
    row("… the same on 2 cores", "\(format(t2[1] * 1e3)) ms", ratio(t2[0] / t2[1]) + " vs 1 core")
}

// MARK: - 4. Peak memory (a child process, so that nothing else is resident)

do {
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

// MARK: - 5. Fast kernels at K = 4096, and SciPy

var scipy: [String: Double] = [:]
if let i = arguments.firstIndex(of: "--scipy") {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", arguments[i + 1], "4096", quick ? "7" : "15"]
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
}
do {
    let k = 4096
    let x64 = Workloads.normalLogits(count: k, seed: 4096)
    let x32 = x64.map { Float($0) }
    var o64 = [Double](repeating: 0, count: k)
    var o32 = [Float](repeating: 0, count: k)
    for log in [false, true] {
        let name = log ? "log_softmax" : "softmax"
        for variant in KernelVariant.allCases where !(log && variant != .accurate && variant != .shifted) {
            // Wall-clock time here, as SciPy's time.perf_counter measures it.
            let t64 = timeMedian(samples: rounds, clock: monotonicSeconds) {
                x64.withUnsafeBufferPointer { xb in o64.withUnsafeMutableBufferPointer { Workloads.kernel(variant, log: log, xb, $0) } }
            }
            let t32 = timeMedian(samples: rounds, clock: monotonicSeconds) {
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

// MARK: - 6. The harness

do {
    let (runner, cases) = Workloads.harnessCases(perFamily: quick ? 2 : 4)
    let t0 = singleClock()
    let result = runner.run(cases: cases, seed: 1)
    let t = singleClock() - t0
    row("Harness: \(result.caseCount) cases (every family, 4 functions, f64+f32, 5 kernels), 1 thread, double-word tier",
        "\(format(Double(result.caseCount) / t)) cases/s")
    let slowRunner = Runner(oracle: Oracle(doubleWordTier: false, threads: 1), implementations: FastSoftmaxImplementation.all)
    let t1 = singleClock()
    let slowResult = slowRunner.run(cases: cases, seed: 1)
    let ts = singleClock() - t1
    row("… the same with the MPFR path only", "\(format(Double(slowResult.caseCount) / ts)) cases/s",
        ratio(ts / t) + " fewer cases/s")
}

// MARK: - The table

print("Oracle and MPFR rows: median \(useWallClock ? "wall-clock" : "process CPU") time; 1-core/2-core, kernel and SciPy rows: median wall-clock time.")
print("")
print("| measurement | median | ratio (same run) | target |")
print("|---|---:|---:|---|")
for r in rows { print("| \(r.0) | \(r.1) | \(r.2) | \(r.3) |") }
print("")
print("Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; MPFR \(Workloads.mpfrVersion); measured in \(format(monotonicSeconds() - start)) s.")
