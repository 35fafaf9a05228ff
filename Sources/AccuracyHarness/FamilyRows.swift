import SoftmaxOracle

/// One generated row of logits, with the target index the family wants (if it wants one).
struct GeneratedRow {
    var logits: [Double]
    var preferredTarget: Int?
}

/// The random stream and format a family draws one case from, with the helpers every family
/// shares. All values returned by the `value…` helpers are finite values of `format`.
struct RowContext {
    var rng: Xoshiro256StarStar
    let format: Format
    let index: Int

    /// ln(maxFinite): exp(x) overflows the format just above this.
    var lnMaxFinite: Double { DeterministicMath.log(format.maxFinite) }
    /// ln(2^minNormalExponent): exp(x) is subnormal below this.
    var lnMinNormal: Double { Double(format.minNormalExponent) * DeterministicMath.ln2Hi }
    /// ln(leastPositive).
    var lnLeastPositive: Double { Double(format.minSubnormalExponent) * DeterministicMath.ln2Hi }

    /// `x` rounded into the format, saturating at ±maxFinite.
    func value(_ x: Double) -> Double { FormatGrid.finiteRound(x, format) }

    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        value(rng.nextDouble(in: lo...hi))
    }

    mutating func normal(mean: Double, sd: Double) -> Double {
        value(rng.nextNormal(mean: mean, standardDeviation: sd))
    }

    /// (1 + u) · 2^e with e uniform in `exponents`: log-uniform magnitude, exact before rounding.
    mutating func logUniform(_ exponents: ClosedRange<Int>) -> Double {
        let e = rng.nextInt(in: exponents)
        return Double(sign: .plus, exponent: e, significand: 1 + rng.nextUnitDouble())
    }

    mutating func signed(_ x: Double) -> Double { rng.nextBool() ? -x : x }

    /// K for the families without a K of their own: 2…8 (half), 9…64 (30 %), 65…512 (20 %).
    mutating func standardK() -> Int {
        let r = rng.nextInt(in: 0..<10)
        if r < 5 { return rng.nextInt(in: 2...8) }
        if r < 8 { return rng.nextInt(in: 9...64) }
        return rng.nextInt(in: 65...512)
    }

    /// Ordinary finite logits to surround special values with: normal, σ ∈ {1, 10, 100} capped.
    mutating func ordinaryRow(_ k: Int) -> [Double] {
        let sd = Swift.min(rng.nextElement(of: [1.0, 10.0, 100.0]), format.maxFinite / 64)
        let mean = rng.nextBool() ? 0 : uniform(-10, 10)
        return (0..<k).map { _ in normal(mean: mean, sd: sd) }
    }

    /// The format's value at `x`, moved by a random number of grid steps in `steps`.
    mutating func near(_ x: Double, steps: ClosedRange<Int>) -> Double {
        FormatGrid.step(value(x), by: rng.nextInt(in: steps), format)
    }
}

extension Family {
    /// The row length for case `index`.
    func chooseK(_ c: inout RowContext) -> Int {
        switch self {
        case .singleLogit: 1
        case .largeK: [1_000, 10_000, 100_000][c.index % 3]
        case .dominantTarget: c.rng.nextInt(in: 2...16)
        case .sumOverflow: c.rng.nextInt(in: 2...64)
        case .fullMask: c.rng.nextChance(1, in: 8) ? 1 : c.standardK()
        case .softcapSaturation: c.rng.nextInt(in: 2...16)
        default: c.standardK()
        }
    }

    /// One row of `k` logits (`k` from ``chooseK(_:)``; families with an intrinsic K may change it).
    func makeRow(k: Int, _ c: inout RowContext) -> GeneratedRow {
        let f = c.format
        switch self {
        case .uniformWide:
            let r = Double(sign: .plus, exponent: c.rng.nextInt(in: 0...f.maxExponent), significand: 1)
            return GeneratedRow(logits: (0..<k).map { _ in c.value(r * (2 * c.rng.nextUnitDouble() - 1)) })

        case .normalSmall:
            let mean: Double
            switch c.rng.nextInt(in: 0..<3) {
            case 0: mean = 0
            case 1: mean = c.uniform(-30, 30)
            default: mean = c.signed(c.logUniform(4...Swift.min(20, f.maxExponent - 2)))
            }
            return GeneratedRow(logits: (0..<k).map { _ in c.normal(mean: mean, sd: 1) })

        case .normalHuge:
            let cap = f.maxExponent - 4
            let sd = c.logUniform(Swift.min(13, cap)...Swift.min(99, cap))
            let mean = c.rng.nextBool() ? 0 : sd * c.rng.nextNormal()
            return GeneratedRow(logits: (0..<k).map { _ in c.normal(mean: mean, sd: sd) })

        case .wideSpread:
            if c.rng.nextChance(1, in: 4) {
                let steps = [1e3, 1e4, 1e8, 1e100, 1e300].filter { $0 <= f.maxFinite }
                let step = c.value(steps.isEmpty ? f.maxFinite / 2 : c.rng.nextElement(of: steps))
                return GeneratedRow(logits: (0..<k).map { _ in Double(c.rng.nextInt(in: -1...1)) * step })
            }
            let top = c.rng.nextInt(in: Swift.min(4, f.maxExponent - 1)...Swift.min(997, f.maxExponent - 1))
            var xs = [c.value(c.logUniform((top - 1)...(top - 1)))]
            if k > 1 { xs.append(-c.value(c.logUniform((top - 1)...(top - 1)))) }
            while xs.count < k {
                if c.rng.nextChance(1, in: 4) {
                    xs.append(0)
                } else {
                    xs.append(c.signed(c.value(c.logUniform(-4...(top - 1)))))
                }
            }
            c.rng.shuffle(&xs)
            return GeneratedRow(logits: xs)

        case .expOverflow:
            let t = c.lnMaxFinite
            var xs = [c.near(t, steps: -3...3)]
            while xs.count < k {
                xs.append(c.rng.nextBool() ? c.near(t, steps: -6...3) : c.value(t - c.rng.nextDouble(in: 0...40)))
            }
            if c.rng.nextChance(1, in: 4) { xs = xs.map { -$0 } }
            c.rng.shuffle(&xs)
            return GeneratedRow(logits: xs)

        case .expUnderflow:
            let m: Double
            switch c.rng.nextInt(in: 0..<3) {
            case 0: m = 0
            case 1: m = c.uniform(-20, 20)
            default: m = c.value(c.lnLeastPositive - DeterministicMath.ln2Hi - c.rng.nextDouble(in: 0...10))
            }
            let thresholds = [c.lnMinNormal, c.lnLeastPositive, c.lnLeastPositive - DeterministicMath.ln2Hi]
            var xs = [m]
            while xs.count < k {
                let x: Double
                if c.rng.nextChance(3, in: 4) {
                    x = c.near(m + c.rng.nextElement(of: thresholds), steps: -3...3)
                } else {
                    x = c.value(m + c.rng.nextDouble(in: (thresholds[2] - 5)...0))
                }
                xs.append(Swift.min(x, m))
            }
            c.rng.shuffle(&xs)
            return GeneratedRow(logits: xs)

        case .nearTies:
            let candidates = [1e6, 1e15, 1e300, Double(sign: .plus, exponent: f.precision + 2, significand: 1),
                              Double(sign: .plus, exponent: f.maxExponent - 1, significand: 1.5)]
                .filter { $0 <= f.maxFinite / 2 }
            let offset = c.signed(c.value(c.rng.nextElement(of: candidates)))
            return GeneratedRow(logits: (0..<k).map { _ in c.near(offset, steps: -2...2) })

        case .dominantTarget:
            let l2 = c.rng.nextChance(2, in: 5)
                ? c.rng.nextInt(in: (f.minSubnormalExponent - 2)...f.minNormalExponent)
                : c.rng.nextInt(in: f.minNormalExponent...(-4))
            let gap = Double(-l2) * DeterministicMath.ln2Hi + DeterministicMath.log(Double(k - 1))
            let xt = c.uniform(-Swift.min(100, f.maxFinite / 4), Swift.min(100, f.maxFinite / 4))
            let t = c.rng.nextInt(in: 0..<k)
            var xs = [Double](repeating: 0, count: k)
            for j in 0..<k {
                if j == t { xs[j] = xt; continue }
                let extra = c.rng.nextBool() ? 0 : 2 * c.rng.nextNormal().magnitude
                // Round down so that the gap x_t − x_j is at least `gap` (up to x_t's own rounding).
                xs[j] = FormatGrid.roundDown(xt - gap - extra, f)
            }
            return GeneratedRow(logits: xs, preferredTarget: t)

        case .partialMask:
            var xs = c.ordinaryRow(k)
            let masked = c.rng.sample(c.rng.nextInt(in: 1...(k - 1)), from: k)
            for j in masked { xs[j] = -.infinity }
            let unmasked = (0..<k).filter { xs[$0] != -.infinity }
            let t = c.rng.nextChance(4, in: 5) ? c.rng.nextElement(of: unmasked) : c.rng.nextElement(of: masked)
            return GeneratedRow(logits: xs, preferredTarget: t)

        case .fullMask:
            return GeneratedRow(logits: [Double](repeating: -.infinity, count: k))

        case .positiveInfinity:
            var xs = c.ordinaryRow(k)
            let picks = c.rng.sample(Swift.min(2, k), from: k)
            xs[picks[0]] = .infinity
            if k >= 3 && c.rng.nextChance(1, in: 4) { xs[picks[1]] = -.infinity }
            return GeneratedRow(logits: xs)

        case .nan:
            var xs = c.ordinaryRow(k)
            let picks = c.rng.sample(Swift.min(2, k), from: k)
            xs[picks[0]] = .nan
            if k >= 2 && c.rng.nextChance(1, in: 4) { xs[picks[1]] = c.rng.nextBool() ? .infinity : -.infinity }
            return GeneratedRow(logits: xs)

        case .singleLogit:
            let x: Double
            switch c.rng.nextInt(in: 0..<7) {
            case 0: x = c.normal(mean: 0, sd: 1)
            case 1: x = c.signed(c.value(c.logUniform(0...f.maxExponent)))
            case 2: x = c.signed(Double(c.rng.nextInt(in: 1..<(1 << (f.precision - 1)))) * f.leastPositive)
            case 3: x = c.rng.nextBool() ? 0.0 : -0.0
            case 4: x = c.signed(f.maxFinite)
            case 5: x = c.signed(c.near(c.lnMaxFinite, steps: -2...2))
            default:
                var y = FormatGrid.decode(bits: c.rng.next(), f)
                while !y.isFinite { y = FormatGrid.decode(bits: c.rng.next(), f) }
                x = y
            }
            return GeneratedRow(logits: [x], preferredTarget: 0)

        case .largeK:
            let sd = c.rng.nextBool() ? 1.0 : 5.0
            let mean = c.rng.nextBool() ? 0 : c.uniform(-10, 10)
            return GeneratedRow(logits: (0..<k).map { _ in c.normal(mean: mean, sd: sd) })

        case .subnormalLogits:
            let subnormalCount = 1 << UInt64(f.precision - 1)  // 2^(p−1) subnormal codes (with 0)
            let minNormal = Double(sign: .plus, exponent: f.minNormalExponent, significand: 1)
            return GeneratedRow(logits: (0..<k).map { _ in
                switch c.rng.nextInt(in: 0..<8) {
                case 0: return c.rng.nextBool() ? 0.0 : -0.0
                case 1: return c.signed(FormatGrid.step(minNormal, by: c.rng.nextInt(in: -2...2), f))
                default:
                    let m = Double(c.rng.nextUInt64(below: UInt64(subnormalCount - 1)) + 1)
                    return c.signed(m * f.leastPositive)  // exact: m < 2^(p−1)
                }
            })

        case .bitPatterns:
            return GeneratedRow(logits: (0..<k).map { _ in
                while true {
                    let x = FormatGrid.decode(bits: c.rng.next(), f)
                    if x.isFinite { return x }
                }
            })

        case .sumOverflow:
            let t = c.lnMaxFinite
            let margin = 1e-12 * t
            let hi = FormatGrid.roundDown(t - margin, f)
            var k = k
            var lo = FormatGrid.roundUp(t - DeterministicMath.log(Double(k)) + margin, f)
            while lo > hi {  // a coarse grid (FP8) needs a larger K to leave room
                k *= 2
                lo = FormatGrid.roundUp(t - DeterministicMath.log(Double(k)) + margin, f)
            }
            return GeneratedRow(logits: (0..<k).map { _ in
                Swift.min(Swift.max(c.value(c.rng.nextDouble(in: lo...hi)), lo), hi)
            })

        case .softcapSaturation:
            let cap = Self.softcap(index: c.index, f)
            var xs: [Double] = []
            while xs.count < k {
                if !xs.isEmpty && c.rng.nextChance(1, in: 6) {
                    xs.append(c.rng.nextElement(of: xs))  // a tie, often at saturation
                } else if c.rng.nextChance(1, in: 4) {
                    xs.append(c.uniform(-cap, cap))
                } else {
                    xs.append(c.signed(c.value(cap * c.logUniform(1...12))))
                }
            }
            return GeneratedRow(logits: xs)

        case .zLossDominant:
            let offset = c.signed(c.value(Swift.min(c.logUniform(8...14), f.maxFinite / 4)))
            let sd = c.rng.nextDouble(in: 1...4)
            return GeneratedRow(logits: (0..<k).map { _ in c.normal(mean: offset, sd: sd) })

        case .allIgnored:
            return GeneratedRow(logits: c.ordinaryRow(k))
        }
    }
}

extension Family {
    /// The soft-cap of `softcap_saturation` case `index`: 1, 5, 30 or 50 (index modulo 4), in the format.
    static func softcap(index: Int, _ f: Format) -> Double { FormatGrid.finiteRound([1.0, 5, 30, 50][index % 4], f) }

    /// True for the functions that take the loss options (`softcap`, `z_loss`, `temperature`).
    static func takesLossOptions(_ function: OracleFunction) -> Bool {
        [.crossEntropy, .crossEntropyGrad, .crossEntropyLoss, .crossEntropyLossBackward].contains(function)
    }
}
