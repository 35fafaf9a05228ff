@testable import SoftmaxOracle
import Testing

/// `Oracle.evaluateRounded` (RoundedEvaluation.swift): its rounded values against the MPFR path
/// alone (`Oracle(doubleWordTier: false)`, bit for bit) in every format, on the rows whose outputs
/// it writes without exact values (elementwise rows across its blocks and regimes, outputs left
/// to the MPFR path, tiny-spread rows) and on a row it leaves to `evaluate`; its precision,
/// escalations and tier against `evaluate`'s. Failure messages carry the seed.
@Suite("Rounded-only evaluation: the same rounded values without the exact ones")
struct RoundedEvaluationTests {
    static let seed: UInt64 = 0x90DE_D5EE_2026_1205
    static let mpfr = Oracle(doubleWordTier: false)

    /// `evaluateRounded(q)` against the MPFR path's rounded values and `evaluate(q)`'s metadata;
    /// `direct`: whether the rounded values must come without exact values.
    static func check(_ q: OracleRequest, direct: Bool, oracle: Oracle = Oracle(), _ what: String) throws {
        let got = try oracle.evaluateRounded(q)
        let want = try mpfr.evaluate(q).rounded
        let full = try oracle.evaluate(q)
        let label = "\(what), \(q.function.rawValue) \(q.format.rawValue), seed 0x\(String(seed, radix: 16))"
        #expect(got.count == want.count, "\(label): count")
        for (i, (g, w)) in zip(got.rounded, want).enumerated() where g.bitPattern != w.bitPattern && !(g.isNaN && w.isNaN) {
            Issue.record("\(label): output \(i) (x = \(hex(q.logits[i]))): \(hex(g)), the MPFR path \(hex(w))")
            break
        }
        #expect(got.precision == full.precision && got.escalations == full.escalations && got.tier == full.tier, "\(label): metadata")
        if case .rounded = got.values { #expect(direct, "\(label): rounded alone where evaluate's values were expected") } else {
            #expect(!direct, "\(label): evaluate's values where the rounded ones alone were expected")
        }
    }

    /// 2600 logits over three blocks of `ElementwiseOutputs.roundedBlock`: a block of tiny logits
    /// (|x| <= 2^-60: the fill is skipped), then every regime mixed (tiny, the 2^-60 edge, moderate,
    /// |x| > 2^20, ±inf, NaN, ±0), in runs of four and alone.
    static func elementwiseRow(_ rng: inout SplitMix64) -> [Double] {
        let special: [Double] = [0, -0.0, 0x1p-60, -0x1p-60, 0x1p-60.nextUp, -(0x1p-60.nextUp), .leastNonzeroMagnitude,
                                 -.leastNormalMagnitude, 0x1p20, 0x1p20.nextUp, -0x1p21, 1e300, -1e300, .infinity, -.infinity, .nan]
        var x = (0..<1100).map { _ in (rng.oneIn(2) ? -1.0 : 1.0) * Double(rng.next() >> 12) * 0x1p-1074 }
        while x.count < 2600 {
            switch rng.int(0...3) {
            case 0: x.append(special[rng.index(special.count)])
            case 1: x += (0..<4).map { _ in rng.uniform(-1, 1) * pow2(-rng.int(61...1074)) }
            case 2: x += (0..<rng.int(1...5)).map { _ in rng.uniform(-40, 40) }
            default: x.append(rng.uniform(-1, 1) * pow2(rng.int(-59...1023)))
            }
        }
        return x
    }

    @Test("sigmoid, log_sigmoid, softplus and bce_with_logits: every regime, every format, one and two threads")
    func elementwise() throws {
        var rng = SplitMix64(seed: Self.seed)
        for format in Format.allCases {
            let x = Self.elementwiseRow(&rng)
            for f in [OracleFunction.sigmoid, .logSigmoid, .softplus] {
                try Self.check(OracleRequest(function: f, format: format, logits: x), direct: true, oracle: Oracle(threads: 1), "mixed row")
            }
            let labels = x.indices.map { _ in rng.oneIn(2) ? 0 : 1 } .map(Double.init)
            try Self.check(OracleRequest(function: .bceWithLogits, format: format, logits: x, labels: labels), direct: true,
                           oracle: Oracle(threads: 2), "bce, hard labels")
        }
    }

    @Test("bce_with_logits with outputs left to the MPFR path (labels outside [0, 1]), per-logit pos_weight and weight")
    func pendingOutputs() throws {
        var rng = SplitMix64(seed: Self.seed ^ 1)
        for format in [Format.f64, .f32, .bf16, .e4m3fn] {
            let n = 300
            let x = (0..<n).map { _ in rng.oneIn(5) ? rng.uniform(-1, 1) * 0x1p-70 : rng.uniform(-30, 30) }
            let labels = (0..<n).map { _ in rng.oneIn(7) ? rng.uniform(-2, 3) : rng.unit() }
            let pw = (0..<n).map { _ in rng.uniform(0, 4) }, w = (0..<n).map { _ in rng.uniform(0, 2) }
            try Self.check(OracleRequest(function: .bceWithLogits, format: format, logits: x, labels: labels, posWeight: pw),
                           direct: true, "per-logit pos_weight")
            try Self.check(OracleRequest(function: .bceWithLogits, format: format, logits: x, weight: w, labels: labels,
                                         posWeight: [1.5]), direct: true, "weight, one pos_weight")
        }
    }

    @Test("tiny-spread rows of softmax, log_softmax and cross_entropy_grad (hard target, also at a −inf logit)")
    func tinySpread() throws {
        var rng = SplitMix64(seed: Self.seed ^ 2)
        for format in Format.allCases {
            for k in [2, 5, 700] {
                var x = (0..<k).map { _ in (rng.oneIn(2) ? -1.0 : 1.0) * Double(rng.next() >> 12) * 0x1p-1074 }
                if k > 2 && rng.oneIn(2) { x[rng.index(k)] = -.infinity }  // (two finite logits at least: a tiny-spread row)
                try Self.check(OracleRequest(function: .softmax, format: format, logits: x), direct: true, "k \(k)")
                try Self.check(OracleRequest(function: .logSoftmax, format: format, logits: x), direct: true, "k \(k)")
                let t = x.firstIndex(of: -.infinity) ?? rng.index(k)
                try Self.check(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(t)),
                               direct: true, "k \(k), target \(t) (\(hex(x[t])))")
            }
        }
        // A long row on two threads (chunks), against `evaluate`'s tier (the MPFR path is slow there).
        let x = (0..<40_000).map { i in i % 97 == 0 ? -Double.infinity : Double(i % 13) * 0x1p-1074 }
        for f in [OracleFunction.softmax, .logSoftmax] {
            let q = OracleRequest(function: f, logits: x)
            let got = try Oracle(threads: 2).evaluateRounded(q), want = try Oracle(threads: 2).evaluate(q).rounded
            #expect(got.rounded.map(\.bitPattern) == want.map(\.bitPattern), "long row, \(f.rawValue)")
        }
    }

    @Test("tiny-spread rows of cross_entropy_grad with probability targets")
    func tinySpreadProbabilities() throws {
        var rng = SplitMix64(seed: Self.seed ^ 4)
        for format in Format.allCases {
            for k in [3, 600] {
                var x = (0..<k).map { _ in (rng.oneIn(2) ? -1.0 : 1.0) * Double(rng.next() >> 12) * 0x1p-1074 }
                if rng.oneIn(2) { x[rng.index(k)] = -.infinity }
                let p = (0..<k).map { _ in rng.oneIn(4) ? 0 : Double(rng.int(1...8)) / 8 }
                try Self.check(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .probabilities(p)),
                               direct: true, "k \(k)")
            }
        }
    }

    @Test("wide rows (the two largest logits 2^19 apart) of softmax, log_softmax and cross_entropy_grad, over several blocks")
    func wideRows() throws {
        var rng = SplitMix64(seed: Self.seed ^ 5)
        for format in Format.allCases {
            let k = 2500
            var x = (0..<k).map { _ in rng.oneIn(3) ? rng.uniform(-1, 1) * pow2(rng.int(-1074...1023)) : rng.uniform(-1, 1) * 1e300 }
            if rng.oneIn(2) { x[rng.index(k)] = -.infinity }
            let top = rng.index(k)
            x[top] = 1.5e306
            for f in [OracleFunction.softmax, .logSoftmax] {
                try Self.check(OracleRequest(function: f, format: format, logits: x), direct: true, oracle: Oracle(threads: 1), "wide row")
            }
            for t in [top, rng.index(k)] {
                try Self.check(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(t)),
                               direct: true, "wide row, target \(t)")
            }
        }
    }

    @Test("wide rows: the direct rounded fills (softmax and the gradient's constants, log_softmax's f64 lanes) on odd lengths, −inf and near-tie groups, one and two threads")
    func wideRowDirectFills() throws {
        var rng = SplitMix64(seed: Self.seed ^ 6)
        for (k, threads) in [(7, 1), (2501, 1), (2501, 2), (DoubleWordTier.parallelThreshold + 3, 2)] {
            for format in [Format.f64, .f32, .bf16] where k < 10_000 || format == .f64 {
                // Logits far below the maximum (log_softmax lanes decided by the f64 test) mixed
                // with ones near −m (w = m − x with a low part too large for it: `single` and
                // near ties), −inf in some groups, and the maximum near the row's end.
                var x = (0..<k).map { _ in rng.oneIn(4) ? -1.5e306 * rng.uniform(0.5, 1) : rng.uniform(-1, 1) * pow2(rng.int(-1074...1000)) }
                for _ in 0..<Swift.max(1, k / 500) { x[rng.index(k)] = -.infinity }
                let top = k - 1 - rng.index(Swift.min(k, 6))
                x[top] = 1.5e306
                for f in [OracleFunction.softmax, .logSoftmax] {
                    try Self.check(OracleRequest(function: f, format: format, logits: x), direct: true, oracle: Oracle(threads: threads),
                                   "wide row k \(k), \(threads) threads")
                }
                let t = rng.index(k)
                try Self.check(OracleRequest(function: .crossEntropyGrad, format: format, logits: x, target: .index(t)), direct: true,
                               oracle: Oracle(threads: threads), "wide row k \(k), target \(t), \(threads) threads")
            }
        }
    }

    @Test("automatic threads: one below singleThreadValues logits, one per processor from there")
    func automaticThreads() {
        #expect(Oracle.automaticThreads(values: 100_000) == 1)
        #expect(Oracle.automaticThreads(values: Oracle.singleThreadValues - 1) == 1)
        #expect(Oracle.automaticThreads(values: Oracle.singleThreadValues) >= 1)
    }

    /// With automatic threads the tier splits a stage after a timed first piece
    /// (`DoubleWordTier.StageSplit`): the values and metadata must be one thread's, whichever way
    /// the timing goes. Rows of 20 000 logits (above the tier's `parallelThreshold`): ordinary
    /// ones, and underflowing ones whose cross_entropy_grad outputs are the costly refined ones
    /// (their stages take milliseconds, and split, in a debug build). The splits themselves are
    /// ParallelTests' `forEachChunkWhenWorthIt` tests.
    @Test("automatic threads (stages split after a timed first piece): one thread's values and metadata")
    func automaticSplits() throws {
        var rng = SplitMix64(seed: Self.seed ^ 0x5EED)
        let k = 20_000
        let ordinary = (0..<k).map { _ in rng.uniform(-20, 20) }
        var underflowing = (0..<k).map { _ in -rng.uniform(700, 760) }
        underflowing[rng.index(k)] = 0
        for (name, x) in [("ordinary", ordinary), ("underflowing", underflowing)] {
            let t = rng.index(k)
            for q in [OracleRequest(function: .softmax, logits: x), OracleRequest(function: .logSoftmax, format: .f32, logits: x),
                      OracleRequest(function: .crossEntropyGrad, logits: x, target: .index(t)),
                      OracleRequest(function: .logsumexp, logits: x), OracleRequest(function: .softplus, format: .bf16, logits: x)] {
                let one = try Oracle(threads: 1).evaluateRounded(q)
                let automatic = try Oracle().evaluateRounded(q)
                let label = "\(name) \(q.function.rawValue) \(q.format.rawValue), seed 0x\(String(Self.seed, radix: 16))"
                #expect(automatic.rounded.map(\.bitPattern) == one.rounded.map(\.bitPattern), "\(label): values")
                #expect(automatic.precision == one.precision && automatic.escalations == one.escalations && automatic.tier == one.tier,
                        "\(label): metadata")
            }
        }
        // The underflowing cross_entropy_grad row against the MPFR path too.
        try Self.check(OracleRequest(function: .crossEntropyGrad, logits: underflowing, target: .index(1)), direct: false, "underflowing row")
    }

    @Test("rows outside the rounded-only paths: evaluate's values, in place")
    func otherRows() throws {
        var rng = SplitMix64(seed: Self.seed ^ 3)
        let x = (0..<200).map { _ in rng.uniform(-20, 20) }
        try Self.check(OracleRequest(function: .softmax, format: .f32, logits: x), direct: false, "normal row")
        try Self.check(OracleRequest(function: .logsumexp, logits: x), direct: false, "logsumexp")
        let tiny = (0..<50).map { Double($0 % 3) * 0x1p-1074 }
        try Self.check(OracleRequest(function: .crossEntropyGrad, logits: tiny, target: .index(3), labelSmoothing: 0.25),
                       direct: false, "label smoothing")
        try Self.check(OracleRequest(function: .sigmoid, logits: x), direct: false, oracle: Oracle(doubleWordTier: false), "MPFR only")
        for f in [OracleFunction.softmax, .logSoftmax] {  // loss options: the tier's option paths
            try Self.check(OracleRequest(function: f, logits: tiny, temperature: 2), direct: false, "temperature")
        }
    }
}
