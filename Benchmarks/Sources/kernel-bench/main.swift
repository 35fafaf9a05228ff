// kernel-bench: the `accurate` softmax and log_softmax kernels against SciPy, in one run, on one
// row of K = 4096 and on a batch of 256 × 4096 (row by row, one thread), f64 and f32.
//
//   kernel-bench [--quick] [--rounds N] [--scipy PATH] [--python PYTHON]
//   kernel-bench --profile "softmax f64 1" [--seconds S]     one case alone, for perf/callgrind
//
// Both sides are timed with process CPU time (the machine may be shared): this process with
// CLOCK_PROCESS_CPUTIME_ID, SciPy with time.process_time (Benchmarks/scipy_softmax.py). Each is
// a median over rounds; the SciPy script runs once per round, interleaved with the Swift
// samples, so that a busy phase of the machine hits both alike. Prints the machine (CPU model,
// FMA/AVX2/AVX-512 flags), how FastSoftmax was compiled, and NumPy's SIMD level.
import FastSoftmax
import Foundation

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
let quick = arguments.contains("--quick")
let rounds = option("--rounds").flatMap(Int.init) ?? (quick ? 5 : 11)
let scipyScript = option("--scipy")
let python = option("--python") ?? "python3"

func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// normal(0, 10) logits from a seeded 64-bit LCG (Knuth's MMIX constants; its top 53 bits) and
/// Box–Muller. The values only need to be ordinary: no row leaves the SIMD path.
func normalLogits(_ n: Int, seed: UInt64) -> [Double] {
    var state = seed
    func uniform() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) * 0x1p-53
    }
    return (0..<n).map { _ in 10 * (-2 * log(max(uniform(), 0x1p-60))).squareRoot() * cos(2 * Double.pi * uniform()) }
}

// MARK: - The machine

func cpuInfo() -> (model: String, flags: Set<Substring>) {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return ("unknown", []) }
    var model = "unknown", flags: Set<Substring> = []
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        let key = parts[0].trimmingCharacters(in: .whitespaces)
        if key == "model name", model == "unknown" { model = parts[1].trimmingCharacters(in: .whitespaces) }
        if key == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ")) }
    }
    return (model, flags)
}

// MARK: - SciPy

/// One run of the SciPy script: "function format shape" -> ns per element, plus its header.
func runSciPy(_ script: String, samples: Int) -> (times: [String: Double], info: [String: String]) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python, script, "--batch", "256", "--k", "4096", "--repeats", String(samples)]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return ([:], [:]) }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var times: [String: Double] = [:], info: [String: String] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
        if let fn = obj["function"] as? String, let f = obj["format"] as? String, let rowsIn = obj["rows"] as? Int,
           let v = obj["ns_per_element"] as? Double {
            times["\(fn) \(f) \(rowsIn)"] = v
        } else {
            for (k, v) in obj { info[k] = "\(v)" }
        }
    }
    return (times, info)
}

// MARK: - The kernels

let k = 4096, batchRows = 256
let x64 = normalLogits(batchRows * k, seed: 4096)
let x32 = x64.map { Float($0) }
var o64 = [Double](repeating: 0, count: x64.count)
var o32 = [Float](repeating: 0, count: x32.count)

/// One call over `rows` rows of K = 4096 (row by row, as a batch loop would).
func run<T: KernelScalar>(_ x: [T], _ o: inout [T], log: Bool, rows: Int) {
    x.withUnsafeBufferPointer { xb in
        o.withUnsafeMutableBufferPointer { ob in
            for r in 0..<rows {
                let xr = UnsafeBufferPointer(rebasing: xb[(r * k)..<((r + 1) * k)])
                let or = UnsafeMutableBufferPointer(rebasing: ob[(r * k)..<((r + 1) * k)])
                if log { Kernels<T>.logSoftmax(xr, into: or, variant: .accurate) } else { Kernels<T>.softmax(xr, into: or, variant: .accurate) }
            }
        }
    }
}

struct Case { let function: String, format: String, rows: Int, body: () -> Void }
var cases: [Case] = []
for log in [false, true] {
    for rows in [1, batchRows] {
        let fn = log ? "log_softmax" : "softmax"
        cases.append(Case(function: fn, format: "f64", rows: rows) { run(x64, &o64, log: log, rows: rows) })
        cases.append(Case(function: fn, format: "f32", rows: rows) { run(x32, &o32, log: log, rows: rows) })
    }
}

// --profile "softmax f64 1" runs that case alone for about 3 s (for perf record / callgrind).
if let name = option("--profile") {
    guard let c = cases.first(where: { "\($0.function) \($0.format) \($0.rows)" == name }) else {
        fatalError("kernel-bench: no case \(name) (e.g. \"softmax f64 1\", \"log_softmax f32 256\")")
    }
    let seconds = option("--seconds").flatMap(Double.init) ?? 3
    let t0 = cpuSeconds()
    var calls = 0
    while cpuSeconds() - t0 < seconds {
        c.body()
        calls += 1
    }
    print("\(name): \(calls) calls, \(String(format: "%.2f", (cpuSeconds() - t0) / Double(calls * c.rows * k) * 1e9)) ns/element")
    exit(0)
}

/// Seconds per call: each sample lasts at least 20 ms (calibrated on one call).
func sample(_ body: () -> Void, inner: Int) -> Double {
    let s = cpuSeconds()
    for _ in 0..<inner { body() }
    return (cpuSeconds() - s) / Double(inner)
}
let inners = cases.map { c -> Int in
    c.body()
    let t0 = cpuSeconds()
    c.body()
    return max(1, Int(0.02 / max(cpuSeconds() - t0, 1e-9)))
}

var swiftTimes = Array(repeating: [Double](), count: cases.count)
var scipyTimes: [String: [Double]] = [:]
var scipyInfo: [String: String] = [:]
let start = Date()
for _ in 0..<rounds {
    for (j, c) in cases.enumerated() { swiftTimes[j].append(sample(c.body, inner: inners[j])) }
    if let script = scipyScript {
        let r = runSciPy(script, samples: 3)
        for (key, v) in r.times { scipyTimes[key, default: []].append(v) }
        scipyInfo.merge(r.info) { a, _ in a }
    }
}

// MARK: - Report

let (model, flags) = cpuInfo()
let simd = ["fma", "avx2", "avx512f", "avx512dq", "avx512vl", "avx512bw"].filter { flags.contains(Substring($0)) }
print("Machine: \(model), \(ProcessInfo.processInfo.activeProcessorCount) cores; flags: \(simd.isEmpty ? "none of FMA/AVX2/AVX-512" : simd.joined(separator: " "))")
print("FastSoftmax accurate kernels compiled for: \(AccurateBuild.description)")
if !scipyInfo.isEmpty {
    print("SciPy \(scipyInfo["scipy"] ?? "?"), NumPy \(scipyInfo["numpy"] ?? "?"); NumPy SIMD: baseline \(scipyInfo["simd_baseline"] ?? "?"), dispatched \(scipyInfo["simd_found"] ?? "?")")
}
print("Process CPU time, median of \(rounds) rounds (\(String(format: "%.0f", Date().timeIntervalSince(start))) s); ns per element.")
print("")
print("| function | format | shape | accurate | SciPy | accurate vs SciPy |")
print("|---|---|---|---:|---:|---:|")
for (j, c) in cases.enumerated() {
    let t = median(swiftTimes[j]) / Double(c.rows * k) * 1e9
    let shape = c.rows == 1 ? "1 × 4096" : "\(c.rows) × 4096"
    let s = scipyTimes["\(c.function) \(c.format) \(c.rows)"].map(median)
    let sText = s.map { String(format: "%.2f", $0) } ?? "—"
    let rText = s.map { String(format: "%.2f×", $0 / t) } ?? "—"
    print("| \(c.function) | \(c.format) | \(shape) | \(String(format: "%.2f", t)) | \(sText) | \(rText) |")
}
