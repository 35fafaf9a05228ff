// tier-grid: the certified oracle on rows of K logits from every harness family, for every
// function, through `softmax-oracle eval` (wall time of the whole process: start-up, parsing,
// the oracle, printing) and in-process (`Oracle.evaluate` alone), against the plain 128-bit
// MPFR softmax C loop on the same row (in-process, no start-up). One run, medians.
//
//   bash scripts/tier-grid.sh                      # K = 100 000, every function and family
//   tier-grid --oracle PATH [--k N] [--repeats R] [--format f64] [--functions a,b] [--families a,b]
//   tier-grid --memory [--k N]                     # cross_entropy_grad's peak memory, in-process
//   tier-grid --threads [--k N]                    # one row's softmax on 1 and on 2 threads
//   --dump DIR                                     # also keep each request as DIR/function.family.jsonl
//
// The target (issue 13): eval at least 10x faster than the C loop's softmax on the same K.
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
    var functions = OracleFunction.allCases
    var families = Family.allCases
    var seed: UInt64 = 13
    var memory = false
    var threads = false
    var dump: String?
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

/// Wall time of `oracle eval < file > /dev/null` (posix_spawn and waitpid: Foundation's
/// `Process.waitUntilExit` polls, which rounded every time up to about 0.1 s).
func timeEval(_ oracle: String, _ file: URL) throws -> Double {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, file.path, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = [strdup(oracle), strdup("eval"), nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let t0 = now()
    guard posix_spawn(&pid, oracle, &actions, nil, &argv, environ) == 0 else { fatalError("tier-grid: cannot run \(oracle)") }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let t = now() - t0
    if status != 0 { print("  (eval exited with status \(status))") }
    return t
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

print("tier-grid: K = \(o.k), format \(o.format.rawValue), \(o.repeats) repeats, medians; ratio = C loop / oracle")
print("")
print("| function | family | K | eval s | C loop s | eval ratio | in-process s | in-process ratio | tier |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
var short: [String] = []
for function in o.functions {
    for family in o.families {
        let q = request(o, function, family)
        let row = q.batch?.first ?? q.logits
        let file = dir.appendingPathComponent("q.jsonl")
        try (RequestEncoder.encode(q, id: .number(1)) + "\n").write(to: file, atomically: false, encoding: .utf8)
        if let d = o.dump {  // keep the request, named function.family.jsonl
            try? FileManager.default.copyItem(at: file, to: URL(fileURLWithPath: d).appendingPathComponent("\(function.rawValue).\(family.rawValue).jsonl"))
        }
        var out = [Double](repeating: 0, count: row.count)
        var evalTimes: [Double] = [], loopTimes: [Double] = [], oracleTimes: [Double] = []
        var tier = "-"
        for _ in 0..<o.repeats {
            evalTimes.append(try timeEval(o.oracle, file))
            var t0 = now()
            Workloads.mpfrLoopSoftmax(row, into: &out)
            loopTimes.append(now() - t0)
            t0 = now()
            let r = try? Oracle().evaluate(q)
            oracleTimes.append(now() - t0)
            tier = r.map { $0.tier.rawValue } ?? "error"
        }
        let e = median(evalTimes), l = median(loopTimes), p = median(oracleTimes)
        let ratio = l / e
        print("| \(function.rawValue) | \(family.rawValue) | \(row.count) | \(String(format: "%.4f", e)) | \(String(format: "%.4f", l)) | \(String(format: "%.1f", ratio))x | \(String(format: "%.4f", p)) | \(String(format: "%.1f", l / p))x | \(tier) |")
        if ratio < 10 { short.append("\(function.rawValue)/\(family.rawValue) \(String(format: "%.1f", ratio))x") }
    }
}
print("")
print("cells under 10x through eval: \(short.count)")
for s in short { print("  \(s)") }
