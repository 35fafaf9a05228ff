import Foundation
import SoftmaxOracle
import Testing
@testable import AccuracyHarness

/// The formats every family must support, and the FP8 ones it supports as well.
let requiredFormats: [Format] = [.f64, .f32, .f16, .bf16]

/// Small counts: large_k rows are up to 100 000 logits (case 0 has 1 000).
func count(_ family: Family) -> Int { family == .largeK ? 1 : 12 }

@Suite("Generator families")
struct FamilyTests {
    @Test("Finite inputs are values of the format; targets and fields are valid",
          arguments: Format.allCases)
    func valuesOfFormat(format: Format) {
        for family in Family.allCases {
            for function in [OracleFunction.crossEntropy, .bceWithLogits, .crossEntropyLoss] {
                for c in family.cases(seed: 11, format: format, function: function, count: count(family)) {
                    let r = c.request
                    #expect(r.format == format && r.function == function)
                    let xs = c.allLogits
                    #expect(!xs.isEmpty)
                    let strays = xs.filter { $0.isFinite && !format.contains($0) }
                    #expect(strays.isEmpty, "\(c.key): \(strays.prefix(3)) are not \(format) values")
                    if !family.hasSpecialInputs {
                        #expect(xs.allSatisfy { $0.isFinite }, "\(c.key) has a special input")
                    }
                    switch function {
                    case .crossEntropy:
                        switch r.target {
                        case .index(let t)?: #expect((0..<r.logits.count).contains(t))
                        case .probabilities(let p)?:
                            #expect(p.count == r.logits.count)
                            #expect(p.allSatisfy { $0 >= 0 && $0 <= 1 && format.contains($0) })
                        case nil: Issue.record("no target for \(c.key)")
                        }
                    case .bceWithLogits:
                        #expect(r.labels?.count == r.logits.count)
                        #expect(r.labels!.allSatisfy { $0 >= 0 && $0 <= 1 && format.contains($0) })
                        if let w = r.posWeight {
                            #expect(w.count == 1 || w.count == r.logits.count)
                            #expect(w.allSatisfy { $0 > 0 && format.contains($0) })
                        }
                    default:
                        let batch = r.batch!
                        #expect(r.logits.isEmpty && !batch.isEmpty)
                        #expect(batch.allSatisfy { $0.count == batch[0].count })
                        switch r.batchTargets {
                        case .indices(let t)?:
                            #expect(t.count == batch.count)
                            #expect(t.allSatisfy { $0 == r.ignoreIndex || (0..<batch[0].count).contains($0) })
                        case .probabilities(let p)?: #expect(p.count == batch.count)
                        case nil: Issue.record("no batch targets for \(c.key)")
                        }
                        if let w = r.weight { #expect(w.count == batch[0].count && w.allSatisfy { $0 >= 0 }) }
                    }
                }
            }
        }
    }

    @Test("Deterministic: same seed same cases; case i does not depend on count; logits do not depend on the function")
    func deterministic() {
        for family in Family.allCases where family != .largeK {
            let a = family.cases(seed: 5, format: .f32, function: .softmax, count: 8)
            let b = family.cases(seed: 5, format: .f32, function: .softmax, count: 8)
            let c = family.cases(seed: 5, format: .f32, function: .softmax, count: 3)
            let d = family.cases(seed: 5, format: .f32, function: .crossEntropy, count: 8)
            let e = family.cases(seed: 6, format: .f32, function: .softmax, count: 8)
            #expect(same(a, b))
            #expect(same(Array(a.prefix(3)), c))
            #expect(zip(a, d).allSatisfy { bits($0.request.logits) == bits($1.request.logits) })
            if family != .fullMask { #expect(!same(a, e), "\(family) ignores the seed") }
        }
    }

    @Test("Masks, infinities, NaN, K = 1, large K", arguments: requiredFormats)
    func specialFamilies(format: Format) {
        for c in Family.partialMask.cases(seed: 1, format: format, function: .crossEntropy, count: 30) {
            let masked = c.request.logits.filter { $0 == -.infinity }.count
            #expect(masked >= 1 && masked < c.request.logits.count)
        }
        for c in Family.fullMask.cases(seed: 1, format: format, function: .softmax, count: 20) {
            #expect(c.request.logits.allSatisfy { $0 == -.infinity })
        }
        for c in Family.positiveInfinity.cases(seed: 1, format: format, function: .softmax, count: 20) {
            #expect(c.request.logits.filter { $0 == .infinity }.count == 1)
            #expect(!c.request.logits.contains { $0.isNaN })
        }
        for c in Family.nan.cases(seed: 1, format: format, function: .softmax, count: 20) {
            #expect(c.request.logits.contains { $0.isNaN })
        }
        for c in Family.singleLogit.cases(seed: 1, format: format, function: .crossEntropy, count: 20) {
            #expect(c.request.logits.count == 1 && c.request.target == .index(0))
        }
        let ks = Family.largeK.cases(seed: 1, format: format, function: .logsumexp, count: 3).map(\.k)
        #expect(ks == [1_000, 10_000, 100_000])
    }

    @Test("Dominant target: loss ≤ (K−1)·e^(−min gap) ≤ 2^-3, and some losses are subnormal",
          arguments: requiredFormats)
    func dominantTarget(format: Format) {
        var subnormalLosses = 0
        var belowLeastSubnormal = 0
        for c in Family.dominantTarget.cases(seed: 3, format: format, function: .crossEntropy, count: 60) {
            guard case .index(let t)? = c.request.target else { Issue.record("no index target"); continue }
            let xs = c.request.logits
            let gaps = xs.indices.filter { $0 != t }.map { xs[t] - xs[$0] }
            #expect(gaps.allSatisfy { $0 > 0 }, "\(c.key): target is not the strict arg-max")
            // loss = log1p(Σ e^(x_j − x_t)) ≤ Σ e^(x_j − x_t) ≤ (K − 1)·e^(−min gap)
            let bound = Double(xs.count - 1) * Foundation.exp(-gaps.min()!)
            #expect(bound <= 0x1p-3, "\(c.key): loss bound \(bound)")
            let minNormal = Double(sign: .plus, exponent: format.minNormalExponent, significand: 1)
            if bound < minNormal { subnormalLosses += 1 }
            if bound < format.leastPositive / 2 { belowLeastSubnormal += 1 }
        }
        #expect(subnormalLosses >= 5, "\(format): only \(subnormalLosses) subnormal-loss cases")
        #expect(belowLeastSubnormal >= 1 || format == .f64)  // f64: exp(-gap) itself underflows in the test
    }

    @Test("Sum overflow: every exp(x) is finite in the format, their sum is not",
          arguments: requiredFormats)
    func sumOverflow(format: Format) {
        for c in Family.sumOverflow.cases(seed: 4, format: format, function: .logsumexp, count: 20) {
            let exps = c.request.logits.map { Foundation.exp($0) }
            #expect(exps.allSatisfy { $0 <= format.maxFinite }, "\(c.key)")
            #expect(exps.reduce(0, +) > format.maxFinite, "\(c.key)")
        }
    }

    @Test("Threshold families sit at the exp overflow and underflow edges", arguments: requiredFormats)
    func thresholds(format: Format) {
        let lnMax = Foundation.log(format.maxFinite)
        let ulpAtEdge = FormatGrid.nextUp(FormatGrid.finiteRound(lnMax, format), format) - FormatGrid.finiteRound(lnMax, format)
        for c in Family.expOverflow.cases(seed: 8, format: format, function: .softmax, count: 20) {
            // The largest logit is at the edge, or (negated rows) the smallest is at minus the edge.
            let xs = c.request.logits
            let atEdge = abs(xs.max()! - lnMax) <= 7 * ulpAtEdge || abs(-xs.min()! - lnMax) <= 7 * ulpAtEdge
            #expect(atEdge, "\(c.key): \(xs.min()!)…\(xs.max()!) vs ±\(lnMax)")
        }
        let lnLeast = Foundation.log(format.leastPositive)
        var nearLeast = 0
        for c in Family.expUnderflow.cases(seed: 8, format: format, function: .softmax, count: 20) {
            let m = c.request.logits.max()!
            if c.request.logits.contains(where: { abs(($0 - m) - lnLeast) < 1 }) { nearLeast += 1 }
        }
        #expect(nearLeast >= 5)
    }

    @Test("Spread, ties, subnormals, bit patterns", arguments: requiredFormats)
    func rangeFamilies(format: Format) {
        let minNormal = Double(sign: .plus, exponent: format.minNormalExponent, significand: 1)
        for c in Family.subnormalLogits.cases(seed: 2, format: format, function: .softmax, count: 20) {
            #expect(c.request.logits.allSatisfy { $0.magnitude <= FormatGrid.step(minNormal, by: 2, format) })
        }
        for c in Family.nearTies.cases(seed: 2, format: format, function: .softmax, count: 20) {
            let xs = c.request.logits
            let lo = xs.min()!, hi = xs.max()!
            // Within a few grid steps of each other, at a large offset.
            #expect(FormatGrid.step(lo, by: 4, format) >= hi, "\(c.key)")
            #expect(lo.magnitude >= 1_000 || hi.magnitude >= 1_000)
        }
        var wide = 0
        for c in Family.wideSpread.cases(seed: 2, format: format, function: .crossEntropy, count: 30) {
            if c.spread >= 100 { wide += 1 }
        }
        #expect(wide >= 20)
        if format == .f64 {
            let spreads = Family.wideSpread.cases(seed: 2, format: .f64, function: .softmax, count: 200).map(\.spread)
            #expect(spreads.max()! >= 1e250)
        }
        for c in Family.bitPatterns.cases(seed: 2, format: format, function: .softmax, count: 20) {
            #expect(c.request.logits.allSatisfy { $0.isFinite })
        }
        for c in Family.normalHuge.cases(seed: 2, format: format, function: .softmax, count: 20) {
            #expect(c.request.logits.allSatisfy { $0.isFinite && $0.magnitude <= format.maxFinite })
        }
    }

    @Test("The user story's row [1000, 0, -1000] is among the wide-spread ladders")
    func userStory() {
        let rows = Family.wideSpread.cases(seed: 0, format: .f64, function: .crossEntropy, count: 400).map(\.request.logits)
        #expect(rows.contains { Set($0) == [1000, 0, -1000] })
    }

    @Test("Bit-pattern decoding matches the formats")
    func decode() {
        #expect(FormatGrid.decode(bits: 0x7bff, .f16) == 65504)
        #expect(FormatGrid.decode(bits: 0x0001, .f16) == 0x1p-24)
        #expect(FormatGrid.decode(bits: 0x7c00, .f16) == .infinity)
        #expect(FormatGrid.decode(bits: 0x7f7f, .bf16) == Format.bf16.maxFinite)
        #expect(FormatGrid.decode(bits: 0x7e, .e4m3fn) == 448)
        #expect(FormatGrid.decode(bits: 0x7f, .e4m3fn).isNaN)
        #expect(FormatGrid.decode(bits: 0x7b, .e5m2) == 57344)
        #expect(FormatGrid.decode(bits: 0x8000, .f16).sign == .minus)
        #expect(FormatGrid.nextUp(65504, .f16) == 65504)
        #expect(FormatGrid.nextDown(1, .f16) == 1 - 0x1p-11)
        #expect(FormatGrid.nextUp(1, .f16) == 1 + 0x1p-10)
        #expect(FormatGrid.nextUp(0, .bf16) == Format.bf16.leastPositive)
        #expect(FormatGrid.nextUp(-1, .f32) == -1 + 0x1p-24)
    }
}

func bits(_ xs: [Double]) -> [UInt64] { xs.map(\.bitPattern) }

func same(_ a: [HarnessCase], _ b: [HarnessCase]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.key == y.key && bits(x.allLogits) == bits(y.allLogits) && x.request.target == y.request.target
    }
}
