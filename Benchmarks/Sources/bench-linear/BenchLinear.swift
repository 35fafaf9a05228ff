// Times the certified fused linear cross-entropy: the forward loss and its three gradients,
// N × d hidden states and a V × d weight, into the given formats; medians of wall-clock times
// (both cores). Optionally writes the inputs as raw little-endian float64 (H, then W, then the
// targets as float64) for the NumPy baseline (Benchmarks/numpy_linear_ce.py).
//
//   bench-linear [--n 8] [--d 1024] [--v 32768] [--repeats 3] [--formats f32,bf16] [--dump FILE]
//                [--functions linear_cross_entropy,linear_cross_entropy_grad_hidden,...]
import ArgumentParser
import BenchArguments
import Foundation
import SoftmaxOracle

/// The `bench-linear` command.
@main
struct BenchLinear: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-linear",
        abstract: "Times the certified fused linear cross-entropy (the forward loss and its three gradients) on N x d hidden states and a V x d weight.",
        discussion: "`bash scripts/bench-linear.sh` runs it with --dump and NumPy float64 on the same inputs (Benchmarks/numpy_linear_ce.py)."
    )

    @Option(parsing: .unconditional, help: "Rows of hidden states (N).")
    var n = 8

    @Option(parsing: .unconditional, help: "The hidden dimension (d).")
    var d = 1024

    @Option(parsing: .unconditional, help: "Classes (V).")
    var v = 32768

    @Option(parsing: .unconditional, help: "Timed runs per format (medians).")
    var repeats = 3

    @Option(help: ArgumentHelp("Formats, comma-separated (default: f32,bf16).", valueName: "a,b"), transform: commaSeparated)
    var formats: [Format] = [.f32, .bf16]

    @Option(help: ArgumentHelp("Also write the inputs as raw little-endian float64 (H, W, then the targets) to this file.", valueName: "file"))
    var dump: String?

    @Option(help: ArgumentHelp(
        "The fused functions, comma-separated (default: linear_cross_entropy and its three gradients).", valueName: "a,b"),
        transform: commaSeparated)
    var functions: [OracleFunction] = [.linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias]

    func validate() throws {
        try checkAtLeast(n, 1, option: "n")
        try checkAtLeast(d, 1, option: "d")
        try checkAtLeast(v, 1, option: "v")
        try checkAtLeast(repeats, 1, option: "repeats")
        if let other = functions.first(where: { !$0.isLinearCrossEntropy }) {
            throw ValidationError("--functions: \(other.rawValue) is not a fused linear_cross_entropy* function")
        }
    }

    func run() throws {
        // Inputs: a seeded generator (SplitMix64), hidden ~ U(-1, 1), weight ~ U(-1, 1)/√d: logits
        // of order 1, as in a trained model's last layer.
        var rng = SplitMix()
        let hidden = (0..<(n * d)).map { _ in rng.next() }
        let scale = 1 / Double(d).squareRoot()
        let weight = (0..<(v * d)).map { _ in rng.next() * scale }
        let targets = (0..<n).map { i in (i * 7919) % v }
        if let dump {
            var data = Data()
            for x in hidden + weight + targets.map(Double.init) { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            try fileOperation("--dump \(dump): cannot write it") { try data.write(to: URL(fileURLWithPath: dump)) }
        }

        let model = LinearCrossEntropyInputs(rows: n, dimension: d, classes: v, hidden: hidden, weight: weight, targets: targets)
        let oracle = Oracle(maxValues: Int.max / 4)
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
        print("N=\(n) d=\(d) V=\(v)")
        for format in formats {
            var totals: [Double] = []
            var detail: [String: [Double]] = [:]
            var tiers: Set<String> = []
            for _ in 0..<repeats {
                var total = 0.0
                for f in functions {
                    var q = OracleRequest(function: f, format: format)
                    q.linear = model
                    let t0 = now()
                    let r = try oracle.evaluate(q)
                    let t = now() - t0
                    tiers.insert("\(f.rawValue):\(r.tier.rawValue)")
                    detail[f.rawValue, default: []].append(t)
                    total += t
                }
                totals.append(total)
            }
            func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
            print("format \(format.rawValue) total_median_s \(median(totals))")
            for f in functions { print("  \(f.rawValue) median_s \(median(detail[f.rawValue, default: []]))") }
            print("  tiers \(tiers.sorted().joined(separator: " "))")
        }
    }
}

/// SplitMix64: uniform doubles in [-1, 1).
struct SplitMix {
    var state: UInt64 = 0x5EED_11CE
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53 * 2 - 1
    }
}
