// bench-io: the JSON Lines text layer (issue 11, "a fast text path too"), in one run:
//   1. ns per value of reading decimal JSON numbers, reading hex-float strings (a request line of
//      10^6 normal(0, 10) logits through RequestServer, the path of `eval`) and writing hex-float
//      strings (a result line of 10^6 values);
//   2. `eval` with JSON Lines, certified softmax into f64 of K = 100 000, whole process, against
//      the plain 128-bit MPFR loop in C reading the same logits from a text file (mpfr-text-loop),
//      interleaved, medians and ratios; `eval` of a request of one logit (the start-up); and the
//      same two requests as binary frames (`eval --transport binary`, what the Python package
//      sends: no number as text);
//   3. `eval` of one JSON request of 10^6 logits (logsumexp, softmax): wall time and peak RSS,
//      for this build and, with --base, an older binary.
//
//   bench-io --oracle PATH [--base PATH] [--rounds N]     (scripts/bench-io.sh builds and runs it)
import BenchSupport
import Foundation
import OracleIO
import SoftmaxOracle

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
guard let oracle = option("--oracle") else {
    FileHandle.standardError.write("usage: bench-io --oracle PATH [--base PATH] [--rounds N]\n".data(using: .utf8)!)
    exit(2)
}
let base = option("--base")
let rounds = Int(option("--rounds") ?? "") ?? 9
let micro = arguments.contains("--micro")  // only the ns/value rows
let textLoop = URL(fileURLWithPath: arguments[0]).deletingLastPathComponent().appendingPathComponent("mpfr-text-loop").path
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bench-io-\(getpid())")
try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: scratch) }

func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
var rows: [(String, String, String)] = []

// MARK: - 1. ns per value

do {
    let n = 1_000_000
    let x = Workloads.normalLogits(count: n, seed: 11)
    func line(_ texts: [String]) -> [UInt8] {
        Array((#"{"id":1,"function":"logsumexp","logits":["# + texts.joined(separator: ",") + "]}").utf8)
    }
    let decimal = line(x.map(\.description)), hex = line(x.map { "\"" + HexFloat.format($0) + "\"" })
    let server = RequestServer()
    func read(_ bytes: [UInt8], check: Bool = false) {
        _ = server.respond(to: bytes) { decoded in
            if check { precondition(decoded.request.logits.elementsEqual(x, by: { $0.bitPattern == $1.bitPattern }), "misread") }
            return []
        }
    }
    read(decimal, check: true)
    read(hex, check: true)
    let bodies: [() -> Void] = [{ read(decimal) }, { read(hex) }, { consume(ResultEncoder.encode(id: .number(1), values: x)) }]
    var times: [[Double]] = [[], [], []]
    for _ in 0..<rounds {
        for (j, body) in bodies.enumerated() {
            let t0 = processCPUSeconds()
            body()
            times[j].append(processCPUSeconds() - t0)
        }
    }
    let perValue = times.map { median($0) / Double(n) * 1e9 }
    rows.append(("Read decimal JSON numbers (shortest repr of normal(0, 10), \(decimal.count / n) bytes each), 10^6 in one request", "\(fmt(perValue[0])) ns/value", "≤ 50 ns"))
    rows.append(("Read hex-float strings, 10^6 in one request", "\(fmt(perValue[1])) ns/value", "≤ 50 ns"))
    rows.append(("Write hex-float strings, one result line of 10^6", "\(fmt(perValue[2])) ns/value", "≤ 50 ns"))
}

if micro {
    for r in rows { print("| \(r.0) | \(r.1) | \(r.2) |") }
    exit(0)
}

// MARK: - Child processes

/// Runs `argv` with standard input from `input` and output to /dev/null: wall seconds, CPU
/// seconds (user + system) of the child.
func run(_ argv: [String], input: String? = nil) -> (wall: Double, cpu: Double) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let input { posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    let cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid: pid_t = 0
    let t0 = monotonicSeconds()
    guard posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ) == 0 else { fatalError("cannot run \(argv[0])") }
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let wall = monotonicSeconds() - t0
    precondition(status == 0, "\(argv) failed with status \(status)")
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
    return (wall, seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

func write(_ text: String, _ name: String) -> String {
    let url = scratch.appendingPathComponent(name)
    try! text.write(to: url, atomically: false, encoding: .utf8)
    return url.path
}

// MARK: - 2. eval against the C loop, K = 100 000

do {
    let x = Workloads.normalLogits(count: 100_000)
    let texts = x.map(\.description)
    let request = write(#"{"id":1,"function":"softmax","format":"f64","logits":["# + texts.joined(separator: ",") + "]}\n", "k100k.jsonl")
    let text = write(texts.joined(separator: "\n") + "\n", "k100k.txt")
    let tiny = write(#"{"id":1,"function":"softmax","format":"f64","logits":["1"]}"# + "\n", "k1.jsonl")
    var bodies: [() -> (wall: Double, cpu: Double)] = [
        { run([oracle, "eval"], input: request) },
        { run([textLoop, text]) },
        { run([textLoop, text, "--quiet"]) },
        { run([oracle, "eval"], input: tiny) },
    ]
    if let base { bodies += [{ run([base, "eval"], input: request) }, { run([base, "eval"], input: tiny) }] }
    // The same requests as binary frames (what the Python package sends).
    let frame = scratch.appendingPathComponent("k100k.bin").path, tinyFrame = scratch.appendingPathComponent("k1.bin").path
    FileManager.default.createFile(atPath: frame, contents: Data(BinaryRequestEncoder.frame(Workloads.request(.softmax, .f64, x), id: .number(1))))
    FileManager.default.createFile(atPath: tinyFrame, contents: Data(BinaryRequestEncoder.frame(Workloads.request(.softmax, .f64, [1]), id: .number(1))))
    let binaryAt = bodies.count
    bodies += [{ run([oracle, "eval", "--transport", "binary"], input: frame) }, { run([oracle, "eval", "--transport", "binary"], input: tinyFrame) }]
    var wall = Array(repeating: [Double](), count: bodies.count), cpu = wall
    for _ in 0..<rounds {
        for (j, body) in bodies.enumerated() {
            let r = body()
            wall[j].append(r.wall)
            cpu[j].append(r.cpu)
        }
    }
    let w = wall.map(median), c = cpu.map(median)
    rows.append(("C loop (strtod + MPFR-128 softmax + printf %a), K = 100 000, whole process", "\(fmt(w[1] * 1e3)) ms wall, \(fmt(c[1] * 1e3)) ms CPU", ""))
    rows.append(("C loop without printing, K = 100 000, whole process", "\(fmt(w[2] * 1e3)) ms wall, \(fmt(c[2] * 1e3)) ms CPU", ""))
    rows.append(("`eval` JSON Lines, certified softmax → f64, K = 100 000, whole process", "\(fmt(w[0] * 1e3)) ms wall, \(fmt(c[0] * 1e3)) ms CPU", ""))
    rows.append(("… ratio C loop (printing) / eval", "\(fmt(w[1] / w[0]))× wall, \(fmt(c[1] / c[0]))× CPU", "≥ 10×"))
    rows.append(("… ratio C loop (not printing) / eval", "\(fmt(w[2] / w[0]))× wall, \(fmt(c[2] / c[0]))× CPU", ""))
    rows.append(("`eval` of a request of one logit, whole process (start-up)", "\(fmt(w[3] * 1e3)) ms wall, \(fmt(c[3] * 1e3)) ms CPU", ""))
    let (b, b1) = (binaryAt, binaryAt + 1)
    rows.append(("`eval --transport binary`, the same request as one frame, whole process", "\(fmt(w[b] * 1e3)) ms wall, \(fmt(c[b] * 1e3)) ms CPU", ""))
    rows.append(("… ratio C loop (printing) / binary eval", "\(fmt(w[1] / w[b]))× wall, \(fmt(c[1] / c[b]))× CPU", ""))
    rows.append(("… ratio C loop (not printing) / binary eval", "\(fmt(w[2] / w[b]))× wall, \(fmt(c[2] / c[b]))× CPU", ""))
    rows.append(("`eval --transport binary` of a frame of one logit (start-up)", "\(fmt(w[b1] * 1e3)) ms wall, \(fmt(c[b1] * 1e3)) ms CPU", ""))
    if base != nil {
        rows.append(("`eval` of the base binary, the same request", "\(fmt(w[4] * 1e3)) ms wall, \(fmt(c[4] * 1e3)) ms CPU", ""))
        rows.append(("… ratio C loop (printing) / base eval", "\(fmt(w[1] / w[4]))× wall, \(fmt(c[1] / c[4]))× CPU", ""))
        rows.append(("`eval` of the base binary, one logit (start-up)", "\(fmt(w[5] * 1e3)) ms wall, \(fmt(c[5] * 1e3)) ms CPU", ""))
    }
}

// MARK: - 3. One request of 10^6 logits: time and peak memory

do {
    let x = Workloads.normalLogits(count: 1_000_000, seed: 7)
    let logits = x.map(\.description).joined(separator: ",")
    for function in ["logsumexp", "softmax"] {
        let request = write(#"{"id":1,"function":"\#(function)","logits":[\#(logits)]}\#n"#, "\(function)-1m.jsonl")
        let size = Double((try? FileManager.default.attributesOfItem(atPath: request)[.size] as? Int) ?? 0) / 1e6
        for (label, binary) in [("this build", oracle)] + (base.map { [("base", $0)] } ?? []) {
            // Through /usr/bin/time -f %M: a child spawned by this (large) process would report
            // this process's peak as its own (Linux keeps the larger of the two across exec).
            let rssFile = scratch.appendingPathComponent("rss").path
            let samples = (0..<max(3, rounds / 3)).map { _ in
                let r = run(["/usr/bin/time", "-f", "%M", "-o", rssFile, binary, "eval"], input: request)
                let kb = Double((try? String(contentsOfFile: rssFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? .nan
                return (wall: r.wall, rssKB: kb)
            }
            rows.append(("`eval` of one \(function) request of 10^6 decimal logits (\(fmt(size)) MB), \(label)",
                         "\(fmt(median(samples.map(\.wall)), 2)) s wall, \(fmt(median(samples.map(\.rssKB)) / 1024)) MB peak RSS",
                         "< 100 MB"))
        }
    }
}

print("Medians of \(rounds) rounds (ns/value: process CPU time; processes: wall and CPU time of the child from wait4, peak RSS from /usr/bin/time -f %M).")
print("")
print("| measurement | median | target |")
print("|---|---:|---|")
for r in rows { print("| \(r.0) | \(r.1) | \(r.2) |") }
