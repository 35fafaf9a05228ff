// Times the certified fused linear cross-entropy: the forward loss and its three gradients,
// N × d hidden states and a V × d weight, into the given formats; medians of wall-clock times
// (both cores). Optionally writes the inputs as raw little-endian float64 (H, then W, then the
// targets as float64) for the NumPy baseline (Benchmarks/numpy_linear_ce.py).
//
//   bench-linear [--n 8] [--d 1024] [--v 32768] [--repeats 3] [--formats f32,bf16] [--dump FILE]
//                [--functions linear_cross_entropy,linear_cross_entropy_grad_hidden,...]
import Foundation
import SoftmaxOracle

var n = 8, d = 1024, v = 32768, repeats = 3
var formats: [Format] = [.f32, .bf16]
var dump: String?
var functions: [OracleFunction] = [.linearCrossEntropy, .linearCrossEntropyGradHidden, .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias]
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    guard let value = args.first else { fatalError("bench-linear: \(a) needs a value") }
    args.removeFirst()
    switch a {
    case "--n": n = Int(value)!
    case "--d": d = Int(value)!
    case "--v": v = Int(value)!
    case "--repeats": repeats = Int(value)!
    case "--formats": formats = value.split(separator: ",").map { Format(rawValue: String($0))! }
    case "--dump": dump = value
    case "--functions": functions = value.split(separator: ",").map { OracleFunction(rawValue: String($0))! }
    default: fatalError("bench-linear: unknown option \(a)")
    }
}

// Inputs: a seeded generator (SplitMix64), hidden ~ U(-1, 1), weight ~ U(-1, 1)/√d: logits of
// order 1, as in a trained model's last layer.
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
var rng = SplitMix()
let hidden = (0..<(n * d)).map { _ in rng.next() }
let scale = 1 / Double(d).squareRoot()
let weight = (0..<(v * d)).map { _ in rng.next() * scale }
let targets = (0..<n).map { i in (i * 7919) % v }
if let dump {
    var data = Data()
    for x in hidden + weight + targets.map(Double.init) { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    try! data.write(to: URL(fileURLWithPath: dump))
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
            let r = try! oracle.evaluate(q)
            let t = now() - t0
            tiers.insert("\(f.rawValue):\(r.tier.rawValue)")
            detail[f.rawValue, default: []].append(t)
            total += t
        }
        totals.append(total)
    }
    func median(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
    print("format \(format.rawValue) total_median_s \(median(totals))")
    for f in functions { print("  \(f.rawValue) median_s \(median(detail[f.rawValue]!))") }
    print("  tiers \(tiers.sorted().joined(separator: " "))")
}
