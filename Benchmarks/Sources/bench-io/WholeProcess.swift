import BenchSupport
import Foundation
import OracleIO
import SoftmaxOracle

/// Sections 2 and 3: whole processes (`eval` of `oracle` and of `base`, the C loop reading text),
/// interleaved over `rounds`, their requests written in `scratch`.
struct WholeProcess {
    var oracle: String
    var base: String?
    var textLoop: String
    var rounds: Int
    var scratch: URL

    /// Runs `argv` with standard input from `input` and output to /dev/null: wall seconds, CPU
    /// seconds (user + system) of the child.
    ///
    /// - Throws: ``ChildProcessError`` when it cannot be started or exits with a non-zero status.
    func run(_ argv: [String], input: String? = nil) throws -> (wall: Double, cpu: Double) {
        let r = try runChild(argv, stdin: input)
        guard r.status == 0 else { throw ChildProcessError(description: "\(argv.joined(separator: " ")) ended with \(r.ending)") }
        return (r.wall, r.cpu)
    }

    /// Writes `text` to the scratch file `name`; its path.
    func write(_ text: String, _ name: String) throws -> String {
        let url = scratch.appendingPathComponent(name)
        try text.write(to: url, atomically: false, encoding: .utf8)
        return url.path
    }

    /// Section 2: `eval` with JSON Lines and binary frames, certified softmax → f64 of K = 100 000
    /// and of one logit (the start-up), against the C loop reading the same logits as text.
    func evalRows() throws -> [Row] {
        let x = Workloads.normalLogits(count: 100_000)
        let texts = x.map(\.description)
        let request = try write(#"{"id":1,"function":"softmax","format":"f64","logits":["# + texts.joined(separator: ",") + "]}\n", "k100k.jsonl")
        let text = try write(texts.joined(separator: "\n") + "\n", "k100k.txt")
        let tiny = try write(#"{"id":1,"function":"softmax","format":"f64","logits":["1"]}"# + "\n", "k1.jsonl")
        var bodies: [() throws -> (wall: Double, cpu: Double)] = [
            { try run([oracle, "eval"], input: request) },
            { try run([textLoop, text]) },
            { try run([textLoop, text, "--quiet"]) },
            { try run([oracle, "eval"], input: tiny) },
        ]
        if let base { bodies += [{ try run([base, "eval"], input: request) }, { try run([base, "eval"], input: tiny) }] }
        // The same requests as binary frames (what the Python package sends).
        let frame = scratch.appendingPathComponent("k100k.bin"), tinyFrame = scratch.appendingPathComponent("k1.bin")
        try Data(BinaryRequestEncoder.frame(Workloads.request(.softmax, .f64, x), id: .number(1))).write(to: frame)
        try Data(BinaryRequestEncoder.frame(Workloads.request(.softmax, .f64, [1]), id: .number(1))).write(to: tinyFrame)
        let binaryAt = bodies.count
        bodies += [
            { try run([oracle, "eval", "--transport", "binary"], input: frame.path) },
            { try run([oracle, "eval", "--transport", "binary"], input: tinyFrame.path) },
        ]
        var wall = Array(repeating: [Double](), count: bodies.count), cpu = wall
        for _ in 0..<rounds {
            for (j, body) in bodies.enumerated() {
                let r = try body()
                wall[j].append(r.wall)
                cpu[j].append(r.cpu)
            }
        }
        let w = wall.map(median), c = cpu.map(median)
        var rows: [Row] = []
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
        return rows
    }

    /// Section 3: `eval` of one JSON request of 10^6 decimal logits (logsumexp, softmax): wall time
    /// and peak RSS, of `oracle` and of `base`.
    func millionRows() throws -> [Row] {
        var rows: [Row] = []
        let x = Workloads.normalLogits(count: 1_000_000, seed: 7)
        let logits = x.map(\.description).joined(separator: ",")
        for function in ["logsumexp", "softmax"] {
            let request = try write(#"{"id":1,"function":"\#(function)","logits":[\#(logits)]}\#n"#, "\(function)-1m.jsonl")
            let size = Double((try? FileManager.default.attributesOfItem(atPath: request)[.size] as? Int) ?? 0) / 1e6
            for (label, binary) in [("this build", oracle)] + (base.map { [("base", $0)] } ?? []) {
                // Through /usr/bin/time -f %M: a child spawned by this (large) process would report
                // this process's peak as its own (Linux keeps the larger of the two across exec).
                let rssFile = scratch.appendingPathComponent("rss").path
                let samples = try (0..<max(3, rounds / 3)).map { _ in
                    let r = try run(["/usr/bin/time", "-f", "%M", "-o", rssFile, binary, "eval"], input: request)
                    let kb = Double((try? String(contentsOfFile: rssFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? .nan
                    return (wall: r.wall, rssKB: kb)
                }
                rows.append(("`eval` of one \(function) request of 10^6 decimal logits (\(fmt(size)) MB), \(label)",
                             "\(fmt(median(samples.map(\.wall)), 2)) s wall, \(fmt(median(samples.map(\.rssKB)) / 1024)) MB peak RSS",
                             "< 100 MB"))
            }
        }
        return rows
    }
}
