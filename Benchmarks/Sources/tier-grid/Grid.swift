import AccuracyHarness
import BenchArguments
import BenchSupport
import Foundation
import OracleIO
import SoftmaxOracle

/// The grid on the softmax-oracle binary `oracle`: the start-up of `eval` on each transport,
/// then every function x family cell (eval on JSON Lines and on a binary frame, process-floor
/// with --floor, the C loop and `Oracle.evaluate` in-process, `repeats` times each, interleaved),
/// a markdown table row per cell, and the summary of the cells under 10x.
func runGrid(_ o: TierGrid, oracle: String) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tier-grid-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    // The process start-up: eval on a one-logit request (median of at least 5 runs), per transport.
    let startupFile = dir.appendingPathComponent("startup.jsonl"), startupFrame = dir.appendingPathComponent("startup.bin")
    let one = Workloads.request(.softmax, o.format, [0])
    try (RequestEncoder.encode(one, id: .number(1)) + "\n").write(to: startupFile, atomically: false, encoding: .utf8)
    try Data(BinaryRequestEncoder.frame(one, id: .number(1))).write(to: startupFrame)
    let startup = median(try (0..<Swift.max(o.repeats, 5)).map { _ in try timeEval(oracle, startupFile) })
    let startupBinary = median(try (0..<Swift.max(o.repeats, 5)).map { _ in try timeEval(oracle, startupFrame, binary: true) })

    print("tier-grid: K = \(o.k), format \(o.format.rawValue), \(o.repeats) repeats, medians; ratio = C loop / oracle")
    print("eval of a one-logit request (start-up): JSON Lines \(seconds(startup)) s, binary \(seconds(startupBinary)) s; cells whose C loop takes under 10x that are start-up bound")
    if let floor = o.floor {
        print("floor: \(floor) on each binary frame (reads it, writes the answer's size, nothing else); cells whose C loop takes under 10x that are floor bound")
    }
    print("")
    print("| function | family | K | eval s | binary s | C loop s | eval ratio | binary ratio | binary CPU s | CPU ratio | in-process s | in-process ratio | tier | start-up bound |\(o.floor != nil ? " floor s | floor ratio |" : "")\(o.declined ? " declined |" : "")")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\(o.floor != nil ? "---:|---:|" : "")\(o.declined ? "---:|" : "")")
    var text = Tally(), binary = Tally()
    var errors: [String] = [], declines: [String] = []
    for function in o.functions {
        for family in o.families {
            let q = request(o, function, family)
            let row = baselineRow(q)
            let file = dir.appendingPathComponent("q.jsonl"), frame = dir.appendingPathComponent("q.bin")
            try (RequestEncoder.encode(q, id: .number(1)) + "\n").write(to: file, atomically: false, encoding: .utf8)
            try Data(BinaryRequestEncoder.frame(q, id: .number(1))).write(to: frame)
            if let d = o.dump {  // keep the request, named function.family.jsonl and .bin (the folder made if missing)
                try fileOperation("--dump \(d): cannot make the folder") {
                    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                }
                for (from, ext) in [(file, "jsonl"), (frame, "bin")] {
                    let to = URL(fileURLWithPath: d).appendingPathComponent("\(function.rawValue).\(family.rawValue).\(ext)")
                    try? FileManager.default.removeItem(at: to)
                    try fileOperation("--dump \(d): cannot write \(to.lastPathComponent)") { try FileManager.default.copyItem(at: from, to: to) }
                }
            }
            var out = [Double](repeating: 0, count: row.count)
            var evalTimes: [Double] = [], binaryTimes: [Double] = [], loopTimes: [Double] = [], oracleTimes: [Double] = []
            var floorTimes: [Double] = [], binaryCPU: [Double] = []
            let floorArguments = try o.floor.map { _ in [String(try answerBytes(oracle, frame, in: dir))] }
            var tier = "-"
            for _ in 0..<o.repeats {
                evalTimes.append(try timeEval(oracle, file))
                let binaryTime = try timeProcess(oracle, ["eval", "--transport", "binary"], stdin: frame)
                binaryTimes.append(binaryTime.wall)
                binaryCPU.append(binaryTime.cpu)
                if let floor = o.floor, let floorArguments {
                    floorTimes.append(try timeProcess(floor, floorArguments, stdin: frame).wall)
                }
                var t0 = monotonicSeconds()
                Workloads.mpfrLoopSoftmax(row, into: &out)
                loopTimes.append(monotonicSeconds() - t0)
                t0 = monotonicSeconds()
                do {
                    tier = try Oracle().evaluate(q).tier.rawValue
                } catch {
                    tier = "error"
                    if errors.count < 50 { errors.append("\(function.rawValue)/\(family.rawValue): \(error)") }
                }
                oracleTimes.append(monotonicSeconds() - t0)
            }
            let e = median(evalTimes), b = median(binaryTimes), l = median(loopTimes), p = median(oracleTimes)
            let f = floorTimes.isEmpty ? nil : median(floorTimes), bc = median(binaryCPU)
            let cell = "\(function.rawValue)/\(family.rawValue)"
            text.add("\(cell) \(times(l / e)) (in-process \(times(l / p)))", ratio: l / e, loop: l, startup: startup)
            binary.add("\(cell) \(times(l / b)) (in-process \(times(l / p))\(f.map { ", floor \(times(l / $0))" } ?? ""))",
                       ratio: l / b, loop: l, startup: startupBinary, floor: f)
            var declinedColumn = ""
            if o.declined {
                if let (n, examples) = declinedOutputs(q) {
                    declinedColumn = " \(n) |"
                    if n > 0 { declines.append("\(cell): \(n) of \(q.logits.count), e.g. \(examples.joined(separator: "; "))") }
                } else {
                    let answered = (try? Oracle().evaluateDoubleWordTier(q)) ?? nil
                    declinedColumn = answered == nil ? " all |" : " 0 |"
                }
            }
            let bound = [l < 10 * startup ? "jsonl" : nil, l < 10 * startupBinary ? "binary" : nil].compactMap { $0 }.joined(separator: ", ")
            let floorColumns = f.map { " \(seconds($0)) | \(times(l / $0)) |" } ?? ""
            print("| \(function.rawValue) | \(family.rawValue) | \(row.count) | \(seconds(e)) | \(seconds(b)) | \(seconds(l)) | \(times(l / e)) | \(times(l / b)) | \(seconds(bc)) | \(times(l / bc)) | \(seconds(p)) | \(times(l / p)) | \(tier) | \(bound) |\(floorColumns)\(declinedColumn)")
        }
    }
    let cells = o.functions.count * o.families.count
    print("")
    for (name, t) in [("JSON Lines", text), ("binary frames", binary)] {
        let floorPart = o.floor != nil && name == "binary frames"
            ? "\(t.floorBound.count) under 10x and floor bound (the C loop under 10x process-floor on the same frame: no process reading it and writing the answer reaches 10x); " : ""
        print("\(name): \(cells) cells: \(t.passed) at 10x or more through eval; \(t.bound.count) under 10x and start-up bound (the C loop under 10x the one-logit eval: unreachable through eval); \(floorPart)\(t.short.count) under 10x otherwise; \(errors.count) errors")
    }
    for (name, t) in [("JSON Lines", text), ("binary frames", binary)] {
        print("")
        let floorMeasured = o.floor != nil && name == "binary frames"  // the floor is timed on binary frames only
        print("\(name), under 10x, \(floorMeasured ? "neither start-up nor floor bound" : "not start-up bound"): \(t.short.count)")
        for s in t.short { print("  \(s)") }
        if !t.floorBound.isEmpty {
            print("\(name), under 10x, floor bound: \(t.floorBound.count)")
            for s in t.floorBound { print("  \(s)") }
        }
        print("\(name), under 10x, start-up bound: \(t.bound.count)")
        for s in t.bound { print("  \(s)") }
    }
    if !errors.isEmpty {
        print("errors (Oracle.evaluate in-process): \(errors.count)")
        for s in errors { print("  \(s)") }
    }
    if !declines.isEmpty {
        print("outputs the double-word tier leaves to the MPFR path:")
        for s in declines { print("  \(s)") }
    }
}

/// Cells at 10x or more, start-up bound, floor bound (not start-up bound) and under 10x
/// otherwise, through one transport.
struct Tally {
    var passed = 0
    var short: [String] = [], bound: [String] = [], floorBound: [String] = []

    mutating func add(_ name: String, ratio: Double, loop: Double, startup: Double, floor: Double? = nil) {
        if ratio >= 10 {
            passed += 1
        } else if loop < 10 * startup {
            bound.append(name)
        } else if let floor, loop < 10 * floor {
            floorBound.append(name)
        } else {
            short.append(name)
        }
    }
}

/// Seconds as the table prints them.
func seconds(_ t: Double) -> String { String(format: "%.4f", t) }
/// A ratio as the table prints it ("12.3x").
func times(_ r: Double) -> String { String(format: "%.1f", r) + "x" }
