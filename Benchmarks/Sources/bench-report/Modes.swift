import BenchSupport
import SoftmaxOracle

/// --peak-memory: a certified f64 softmax of K logits; prints the peak resident bytes after it,
/// before it, and its tier (the table's child process reads the first two).
func measurePeakMemory(k: Int) {
    let x = Workloads.normalLogits(count: k)
    let before = Workloads.peakResidentBytes()
    let r = Workloads.certify(Oracle(), Workloads.request(.softmax, .f64, x))
    precondition(r.values.count == k)
    print("\(Workloads.peakResidentBytes()) \(before) \(r.tier.rawValue)")
}

/// --profile-oracle: section 1's oracle request alone, `count` times, for perf record.
func runProfile(_ format: Format, count: Int, function: OracleFunction) {
    let q = Workloads.request(function, format, Workloads.normalLogits(count: 100_000))
    let oracle = Oracle(threads: 1)
    for _ in 0..<count { consume(Workloads.certify(oracle, q)) }
}

/// --verify-harness: the double-word tier against the MPFR path on the harness's cases, in 6
/// formats; prints each mismatch and a summary. True when there is none.
func crossCheckHarness(perFamily: Int, seed: UInt64) -> Bool {
    let (_, cases) = Workloads.harnessCases(perFamily: perFamily, seed: seed)
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
    return mismatches == 0
}
