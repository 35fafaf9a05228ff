import AccuracyHarness
import BenchSupport
import Foundation
import SoftmaxOracle

/// The case of `family` for `function` with rows of K logits (single_logit keeps K = 1).
func request(_ o: TierGrid, _ function: OracleFunction, _ family: Family) -> OracleRequest {
    let generator = CaseGenerator(seed: o.seed, options: GeneratorOptions(rowLengths: [o.k]))
    return generator.makeCase(CaseKey(function: function, format: o.format, family: family, index: 0)).request
}

/// The times of `executable arguments...` with stdin `file` and stdout `stdout`; a process that
/// does not exit cleanly is noted in the output (its time still counts).
func timeProcess(_ executable: String, _ arguments: [String], stdin file: URL, stdout: String = "/dev/null") throws -> ChildRun {
    let run = try runChild([executable] + arguments, stdin: file.path, stdout: stdout)
    if run.status != 0 { print("  (\(executable) exited with status \(run.status))") }
    return run
}

/// Wall time of `oracle eval [--transport binary] < file > /dev/null`.
func timeEval(_ oracle: String, _ file: URL, binary: Bool = false) throws -> Double {
    try timeProcess(oracle, ["eval"] + (binary ? ["--transport", "binary"] : []), stdin: file).wall
}

/// The size in bytes of the oracle's answer to the binary frame in `frame` (one run, kept in
/// `dir`), which process-floor writes as many bytes as.
func answerBytes(_ oracle: String, _ frame: URL, in dir: URL) throws -> Int {
    let answer = dir.appendingPathComponent("answer.bin")
    _ = try timeProcess(oracle, ["eval", "--transport", "binary"], stdin: frame, stdout: answer.path)
    guard let size = try FileManager.default.attributesOfItem(atPath: answer.path)[.size] as? Int else {
        throw ChildProcessError(description: "cannot read the size of \(answer.path)")
    }
    return size
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
