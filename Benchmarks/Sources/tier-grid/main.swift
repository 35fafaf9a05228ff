// tier-grid: the certified oracle on rows of K logits from every harness family, for every
// function, through `softmax-oracle eval` (wall time of the whole process: start-up, reading,
// the oracle, writing) on JSON Lines and on binary frames (`eval --transport binary`, what the
// Python package speaks), and in-process (`Oracle.evaluate` alone), against the plain 128-bit
// MPFR softmax C loop on the same row (in-process, no start-up). One run, medians.
//
//   bash scripts/tier-grid.sh                      # K = 100 000, every function and family
//   tier-grid --oracle PATH [--k N] [--repeats R] [--format f64] [--functions a,b] [--families a,b]
//   tier-grid --memory [--k N]                     # cross_entropy_grad's peak memory, in-process
//   tier-grid --threads [--k N]                    # one row's softmax on 1 and on 2 threads
//   --dump DIR                                     # also keep each request as DIR/function.family.jsonl
//                                                  # and DIR/function.family.bin (one frame)
//   --declined                                     # also count the outputs the double-word tier
//                                                  # leaves to the MPFR path (elementwise functions)
//   --floor PATH                                   # also time process-floor (scripts/tier-grid.sh
//                                                  # builds it) on each binary frame
//
// Times are wall times, spawn to exit, the target's measure; the binary eval's CPU time (user +
// system, from wait4) is shown beside it: on a shared machine a process may wait to be scheduled,
// or for an idle virtual CPU to wake, which its wall time counts and its CPU time does not.
//
// The target (issue 13): eval at least 10x faster than the C loop's softmax on the same K.
//
// The fused linear_cross_entropy* functions run only when --functions names them: their cases
// are N <= 3 rows of V <= 64 classes (K does not apply outside large_k), and their baseline is
// the C loop's softmax on the N·V logits z = H·Wᵀ + bias (plain binary64 products).
//
// A cell whose C loop takes less than 10x the time of `eval` on a one-logit request (the process
// start-up, measured first, on each transport) cannot reach 10x through eval whatever the oracle
// does: the summary counts those cells apart ("start-up bound").
//
// With --floor, each binary frame is also given to process-floor (Benchmarks/process-floor), a
// process that only reads the request and writes as many bytes as the oracle's answer has, in the
// cheapest way a process can (the file mapped, the answer from one small buffer), linked as the
// CLI is: the fastest any `eval` could be on that request. A cell whose C loop takes less than 10x
// that is counted apart too ("floor bound": no process that reads this request and writes its
// answer reaches 10x there), and the floor ratio column says how far an ideal process would get.
import AccuracyHarness
import BenchSupport
import Foundation
import OracleIO
import SoftmaxOracle

struct Options {
    var oracle = ""
    var k = 100_000
    var repeats = 3
    var format = Format.f64
    var functions = OracleFunction.allCases.filter { !$0.isLinearCrossEntropy }
    var families = Family.allCases
    var seed: UInt64 = 13
    var memory = false
    var threads = false
    var dump: String?
    var declined = false
    var floor: String?
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()[...]
    func value(_ name: String) -> String {
        guard let v = args.popFirst() else { fatalError("tier-grid: \(name) needs a value") }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--oracle": o.oracle = value(a)
        case "--memory": o.memory = true
        case "--threads": o.threads = true
        case "--dump": o.dump = value(a)
        case "--declined": o.declined = true
        case "--floor": o.floor = value(a)
        case "--k": o.k = Int(value(a))!
        case "--repeats": o.repeats = Int(value(a))!
        case "--seed": o.seed = UInt64(value(a))!
        case "--format": o.format = Format(rawValue: value(a))!
        case "--functions": o.functions = value(a).split(separator: ",").map { OracleFunction(rawValue: String($0))! }
        case "--families": o.families = value(a).split(separator: ",").map { Family(rawValue: String($0))! }
        default: fatalError("tier-grid: unknown option \(a)")
        }
    }
    return o
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Wall time of `oracle eval [--transport binary] < file > /dev/null` (posix_spawn and waitpid:
/// Foundation's `Process.waitUntilExit` polls, which rounded every time up to about 0.1 s).
func timeEval(_ oracle: String, _ file: URL, binary: Bool = false) throws -> Double {
    timeProcess(oracle, ["eval"] + (binary ? ["--transport", "binary"] : []), stdin: file).wall
}

/// A process's wall time from its spawn to its exit, and its CPU time (user + system, from
/// `wait4`: the process's own work, without the time it waited to be scheduled).
struct ProcessTime {
    var wall: Double
    var cpu: Double
}

/// The times of `executable arguments...` with stdin `file` and stdout `stdout`.
func timeProcess(_ executable: String, _ arguments: [String], stdin file: URL, stdout: String = "/dev/null") -> ProcessTime {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, file.path, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let t0 = now()
    guard posix_spawn(&pid, executable, &actions, nil, &argv, environ) == 0 else { fatalError("tier-grid: cannot run \(executable)") }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    let t = now() - t0
    if status != 0 { print("  (\(executable) exited with status \(status))") }
    let cpu = [usage.ru_utime, usage.ru_stime].reduce(0.0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) * 1e-6 }
    return ProcessTime(wall: t, cpu: cpu)
}

/// The size in bytes of the oracle's answer to the binary frame in `frame` (one run, kept in
/// `dir`), which process-floor writes as many bytes as.
func answerBytes(_ oracle: String, _ frame: URL, in dir: URL) -> Int {
    let answer = dir.appendingPathComponent("answer.bin")
    _ = timeProcess(oracle, ["eval", "--transport", "binary"], stdin: frame, stdout: answer.path)
    let size = (try? FileManager.default.attributesOfItem(atPath: answer.path)[.size] as? Int) ?? nil
    guard let size else { fatalError("tier-grid: cannot read the size of \(answer.path)") }
    return size
}

/// The case of `family` for `function` with rows of K logits (single_logit keeps K = 1).
func request(_ o: Options, _ function: OracleFunction, _ family: Family) -> OracleRequest {
    let generator = CaseGenerator(seed: o.seed, options: GeneratorOptions(rowLengths: [o.k]))
    return generator.makeCase(CaseKey(function: function, format: o.format, family: family, index: 0)).request
}

/// One row of K normal(0, 10) logits, certified softmax into f64 in-process on 1 and on 2
/// threads (medians): the speed-up two cores give (issue 13's target: 1.8x at K = 10^6).
func threads(_ o: Options) {
    let q = Workloads.request(.softmax, .f64, Workloads.normalLogits(count: o.k))
    var one: [Double] = [], two: [Double] = []
    for _ in 0..<Swift.max(o.repeats, 5) {
        var t0 = now()
        _ = Workloads.certify(Oracle(threads: 1), q)
        one.append(now() - t0)
        t0 = now()
        _ = Workloads.certify(Oracle(threads: 2), q)
        two.append(now() - t0)
    }
    let a = median(one), b = median(two)
    print("softmax f64 K=\(o.k): 1 thread \(String(format: "%.4f", a)) s, 2 threads \(String(format: "%.4f", b)) s: \(String(format: "%.2f", a / b))x")
}

func memory(_ o: Options) {
    var q = request(o, .crossEntropyGrad, .normalSmall)
    q.target = .index(o.k / 3)
    let before = Workloads.peakResidentBytes()
    let r = Workloads.certify(Oracle(), q)
    let after = Workloads.peakResidentBytes()
    let perLogit = Double(after - before) / Double(o.k)
    print("cross_entropy_grad K=\(o.k) (\(r.tier.rawValue)): peak \(after >> 20) MB, \(String(format: "%.0f", perLogit)) bytes per logit above the input (\(before >> 20) MB)")
}

/// The logits the C loop's softmax runs on for `q`: its row (the first row of a batch), or for
/// the fused functions the N·V logits z = H·Wᵀ + bias, in plain binary64.
func baselineRow(_ q: OracleRequest) -> [Double] {
    guard let m = q.linear else { return q.batch?.first ?? q.logits }
    var z: [Double] = []
    z.reserveCapacity(m.rows * m.classes)
    for i in 0..<m.rows {
        for j in 0..<m.classes {
            var acc = m.bias?[j] ?? 0
            for k in 0..<m.dimension { acc += m.hidden[i * m.dimension + k] * m.weight[j * m.dimension + k] }
            z.append(acc)
        }
    }
    return z
}

/// How many outputs of an elementwise request the double-word tier leaves to the MPFR path
/// (each output asked alone: `evaluateDoubleWordTier` on a one-logit request), with the first
/// few such inputs; nil for the other functions.
func declinedOutputs(_ q: OracleRequest) -> (count: Int, examples: [String])? {
    guard [.sigmoid, .logSigmoid, .softplus, .bceWithLogits].contains(q.function) else { return nil }
    let oracle = Oracle(threads: 1)
    var count = 0
    var examples: [String] = []
    for i in q.logits.indices {
        var one = OracleRequest(function: q.function, format: q.format, logits: [q.logits[i]])
        one.labels = q.labels.map { [$0[i]] }
        one.posWeight = q.posWeight.map { [$0.count == 1 ? $0[0] : $0[i]] }
        one.weight = q.weight.map { [$0[i]] }
        if (try? oracle.evaluateDoubleWordTier(one)) ?? nil == nil {
            count += 1
            if examples.count < 4 {
                var e = "x=\(q.logits[i].hexString)"
                if let l = one.labels { e += " label=\(l[0].hexString)" }
                if let p = one.posWeight { e += " pos_weight=\(p[0].hexString)" }
                if let w = one.weight { e += " weight=\(w[0].hexString)" }
                examples.append(e)
            }
        }
    }
    return (count, examples)
}

extension Double {
    /// The hex float ("%a").
    var hexString: String { String(format: "%a", self) }
}

let o = parse()
if o.memory {
    memory(o)
    exit(0)
}
if o.threads {
    threads(o)
    exit(0)
}
guard !o.oracle.isEmpty else { fatalError("tier-grid: --oracle PATH (the softmax-oracle binary) is required") }
let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tier-grid-\(getpid())")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }

// The process start-up: eval on a one-logit request (median of at least 5 runs), per transport.
let startupFile = dir.appendingPathComponent("startup.jsonl"), startupFrame = dir.appendingPathComponent("startup.bin")
let one = Workloads.request(.softmax, o.format, [0])
try (RequestEncoder.encode(one, id: .number(1)) + "\n").write(to: startupFile, atomically: false, encoding: .utf8)
try Data(BinaryRequestEncoder.frame(one, id: .number(1))).write(to: startupFrame)
let startup = median(try (0..<Swift.max(o.repeats, 5)).map { _ in try timeEval(o.oracle, startupFile) })
let startupBinary = median(try (0..<Swift.max(o.repeats, 5)).map { _ in try timeEval(o.oracle, startupFrame, binary: true) })

func seconds(_ t: Double) -> String { String(format: "%.4f", t) }
func times(_ r: Double) -> String { String(format: "%.1f", r) + "x" }

print("tier-grid: K = \(o.k), format \(o.format.rawValue), \(o.repeats) repeats, medians; ratio = C loop / oracle")
print("eval of a one-logit request (start-up): JSON Lines \(seconds(startup)) s, binary \(seconds(startupBinary)) s; cells whose C loop takes under 10x that are start-up bound")
if let floor = o.floor {
    print("floor: \(floor) on each binary frame (reads it, writes the answer's size, nothing else); cells whose C loop takes under 10x that are floor bound")
}
print("")
print("| function | family | K | eval s | binary s | C loop s | eval ratio | binary ratio | binary CPU s | CPU ratio | in-process s | in-process ratio | tier | start-up bound |\(o.floor != nil ? " floor s | floor ratio |" : "")\(o.declined ? " declined |" : "")")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\(o.floor != nil ? "---:|---:|" : "")\(o.declined ? "---:|" : "")")
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
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            for (from, ext) in [(file, "jsonl"), (frame, "bin")] {
                let to = URL(fileURLWithPath: d).appendingPathComponent("\(function.rawValue).\(family.rawValue).\(ext)")
                try? FileManager.default.removeItem(at: to)
                try FileManager.default.copyItem(at: from, to: to)
            }
        }
        var out = [Double](repeating: 0, count: row.count)
        var evalTimes: [Double] = [], binaryTimes: [Double] = [], loopTimes: [Double] = [], oracleTimes: [Double] = []
        var floorTimes: [Double] = [], binaryCPU: [Double] = []
        let floorArguments = o.floor.map { _ in [String(answerBytes(o.oracle, frame, in: dir))] }
        var tier = "-"
        for _ in 0..<o.repeats {
            evalTimes.append(try timeEval(o.oracle, file))
            let binaryTime = timeProcess(o.oracle, ["eval", "--transport", "binary"], stdin: frame)
            binaryTimes.append(binaryTime.wall)
            binaryCPU.append(binaryTime.cpu)
            if let floor = o.floor, let floorArguments {
                floorTimes.append(timeProcess(floor, floorArguments, stdin: frame).wall)
            }
            var t0 = now()
            Workloads.mpfrLoopSoftmax(row, into: &out)
            loopTimes.append(now() - t0)
            t0 = now()
            do {
                tier = try Oracle().evaluate(q).tier.rawValue
            } catch {
                tier = "error"
                if errors.count < 50 { errors.append("\(function.rawValue)/\(family.rawValue): \(error)") }
            }
            oracleTimes.append(now() - t0)
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
