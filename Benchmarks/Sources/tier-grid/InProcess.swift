import AccuracyHarness
import BenchSupport
import Foundation
import SoftmaxOracle

/// One row of K normal(0, 10) logits, certified softmax into f64 in-process on 1 and on 2
/// threads (medians): the speed-up two cores give (issue 13's target: 1.8x at K = 10^6).
func measureThreads(_ o: TierGrid) {
    let q = Workloads.request(.softmax, .f64, Workloads.normalLogits(count: o.k))
    var one: [Double] = [], two: [Double] = []
    for _ in 0..<Swift.max(o.repeats, 5) {
        var t0 = monotonicSeconds()
        _ = Workloads.certify(Oracle(threads: 1), q)
        one.append(monotonicSeconds() - t0)
        t0 = monotonicSeconds()
        _ = Workloads.certify(Oracle(threads: 2), q)
        two.append(monotonicSeconds() - t0)
    }
    let a = median(one), b = median(two)
    print("softmax f64 K=\(o.k): 1 thread \(String(format: "%.4f", a)) s, 2 threads \(String(format: "%.4f", b)) s: \(String(format: "%.2f", a / b))x")
}

/// cross_entropy_grad on one row of K (normal_small, target K/3), in-process: the peak resident
/// memory and the bytes per logit above the input's.
func measureMemory(_ o: TierGrid) {
    var q = request(o, .crossEntropyGrad, .normalSmall)
    q.target = .index(o.k / 3)
    let before = Workloads.peakResidentBytes()
    let r = Workloads.certify(Oracle(), q)
    let after = Workloads.peakResidentBytes()
    let perLogit = Double(after - before) / Double(o.k)
    print("cross_entropy_grad K=\(o.k) (\(r.tier.rawValue)): peak \(after >> 20) MB, \(String(format: "%.0f", perLogit)) bytes per logit above the input (\(before >> 20) MB)")
}
