import MPFR
@testable import SoftmaxOracle
import Testing

/// The MPFR path's per-logit memory (issue 13, "Memory proportional to the row"): `ShiftedRow`
/// keeps each distinct e_j's lower end in a `PackedFloats`, recomputes d_j and e_j's upper end,
/// and sums through pointers; probability targets keep w_c·p_c packed (`ScaledWeights`);
/// cross_entropy's Σ r̃_c·(m − x_c) sums packed terms. Expected values: the same quantities made
/// the way the MPFR path made them before, as separate `Interval`s of `BigFloat`s with
/// `IntervalArithmetic` (each MPFR operation is correctly rounded, so equal operations give
/// equal bits), and sizes from the MPFR manual's `mpfr_custom_get_size` (⌈p/64⌉ limbs of 8 bytes).
@Suite("MPFR path: compact per-logit terms")
struct CompactTermsTests {
    static func same(_ a: BigFloat, _ b: BigFloat) -> Bool {
        a.precision == b.precision && a.description == b.description && a.signBit == b.signBit
    }

    static func same(_ a: Interval?, _ b: Interval?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return same(a.lo, b.lo) && same(a.hi, b.hi) && a.isPoint == b.isPoint
    }

    @Test("a packed number takes its mpfr_t (32 bytes) and ⌈p/64⌉ limbs")
    func bytesPerNumber() {
        for (p, bytes) in [(64, 40), (93, 48), (128, 48), (129, 56), (186, 56), (372, 80), (1 << 16, 32 + 8192)] {
            #expect(PackedFloats.bytesPerNumber(precision: p) == bytes, "at \(p) bits")
        }
    }

    /// Rows with every kind of term: distinct logits, equal ones, −inf, the maximum repeated,
    /// an inexact difference (1e-300 − 1e300 needs more than 93 bits), an exponential below MPFR's
    /// range (−1e300 − 1e300: its lower end 0, its upper end the least positive number).
    static let rows: [[Double]] = [
        [0.5, -3, 2, 2, -.infinity, 1e-3, -700, 2, 0.5],
        [1e300, 1e-300, -1e300, 3, -.infinity, 1e300],
        [7],
        [-.infinity, 4, -.infinity],
        Self.mixed,
    ]

    static let mixed: [Double] = (0..<300).map { (i: Int) -> Double in
        let a: Double = Double(i % 17) * 0.37
        return a - Double(i % 5) * 1e-9
    }

    @Test("d_j, e_j, s, S and L are the bits of the separate intervals", arguments: [64, 93, 200])
    func sameEnclosures(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        for x in Self.rows {
            let facts = RowFacts(x)
            let row = ShiftedRow(x, facts: facts, arithmetic: w)
            let m = w.point(facts.max)
            var others: [Interval] = []
            // (After the sums, which move the store's numbers up and back: e(j) checks both.)
            for j in x.indices {
                let d: Interval? = x[j].isFinite ? {
                    let difference = w.sub(w.point(x[j]), m)
                    return difference.isPoint ? Interval(point: difference.lo) : difference
                }() : nil
                let e = d.map { w.exp($0) }
                #expect(Self.same(row.d(j), d), "d_\(j) of \(x) at \(precision) bits")
                #expect(Self.same(row.e(j), e), "e_\(j) of \(x) at \(precision) bits")
                if let e, j != facts.maxIndex { others.append(e) }
            }
            let s = w.sum(others)
            #expect(Self.same(row.s, s) && Self.same(row.S, w.add(w.one, s)) && Self.same(row.L, w.log1p(s)), "sums of \(x)")
        }
    }

    @Test("a row keeps 4 bytes a logit and one packed number and a byte a term")
    func storedBytes() {
        let k = 10_000
        let x = (0..<k).map { Double($0) * 0x1p-10 - 3 }  // distinct, x_j − m exact
        for p in [93, 128, 186] {
            let row = ShiftedRow(x, facts: RowFacts(x), arithmetic: IntervalArithmetic(precision: p))
            let want = 4 * k + k * (PackedFloats.bytesPerNumber(precision: p) + 1)
            #expect((want...want + 64).contains(row.storedBytes), "at \(p) bits (arrays' capacities round up a little)")
        }
        // Equal logits share a term: 8 distinct values, one number each.
        let repeated = (0..<k).map { Double($0 % 8) }
        let row = ShiftedRow(repeated, facts: RowFacts(repeated), arithmetic: IntervalArithmetic(precision: 93))
        #expect((5 * k + 8 * 48...5 * k + 8 * 48 + 64).contains(row.storedBytes), "kinds reserved for every logit, numbers made for 8")
    }

    @Test("probability targets: r̃_c = w_c·p_c packed, the exact products at 106 bits, and their exact total")
    func packedWeights() {
        let p: [Double] = [0.25, 0, 0.125, 0.1, 0.1, 0.3, 0x1p-1074, 0.125]
        for weight in [nil, [1, 2, 3, 0.5, 0.5, 1e300, 3, 2.5]] as [[Double]?] {
            let r = TargetWeights(target: .probabilities(p), classes: p.count, weight: weight, labelSmoothing: 0)
            var objects: [BigFloat] = []
            for c in p.indices {
                let want = ExactArithmetic.product(ExactArithmetic.value(weight?[c] ?? 1), ExactArithmetic.value(p[c]))
                objects.append(want)
                #expect(Self.same(r.scaled[c], want), "r̃_\(c)")
            }
            #expect(Self.same(r.total, ExactArithmetic.sum(objects)), "R̃")
        }
    }

    @Test("cross_entropy's Σ r̃_c·(m − x_c): the sum of the separate products", arguments: [93, 200])
    func weightedGaps(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        let x: [Double] = [0.5, -3, 2, 2, -.infinity, 1e-3, -700, 1e-300, 0.5]
        let p: [Double] = [0.1, 0.2, 0.05, 0.05, 0, 0.3, 0.1, 0.2, 0]
        let r = TargetWeights(target: .probabilities(p), classes: x.count, weight: nil, labelSmoothing: 0)
        let m = w.point(2)
        let terms = x.indices.filter { x[$0].isFinite && x[$0] != 2 && !r.scaled[$0].isZero }
            .map { w.mul(Interval(point: r.scaled[$0]), w.sub(m, w.point(x[$0]))) }
        #expect(Self.same(CrossEntropy.weightedGaps(x, m: 2, r, w), w.sum(terms)))
        let none = TargetWeights(target: .index(2), classes: x.count, weight: nil, labelSmoothing: 0)
        #expect(Self.same(CrossEntropy.weightedGaps(x, m: 2, none, w), w.zero), "no term: the exact 0")
    }

    /// r̃_c by the formulas of `TargetWeights` (PyTorch's semantics), each an exact number made
    /// with `ExactArithmetic` on its own, and R̃ = `ExactArithmetic.sum` of all of them.
    static func expectedWeights(target: RowTarget, k: Int, weight: [Double]?, eps: Double) -> [BigFloat] {
        let w = { (c: Int) in ExactArithmetic.value(weight?[c] ?? 1) }
        let e = ExactArithmetic.value(eps)
        let a = ExactArithmetic.product(ExactArithmetic.difference(ExactArithmetic.value(1), e), ExactArithmetic.value(Double(k)))
        return (0..<k).map { c in
            switch target {
            case .index(let t):
                if eps == 0 { return c == t ? w(c) : ExactArithmetic.value(0) }
                let smooth = ExactArithmetic.product(e, w(c))
                return c == t ? ExactArithmetic.sum([smooth, ExactArithmetic.product(a, w(c))]) : smooth
            case .probabilities(let p):
                if eps == 0 { return ExactArithmetic.product(w(c), ExactArithmetic.value(p[c])) }
                return ExactArithmetic.product(w(c), ExactArithmetic.sum([ExactArithmetic.product(a, ExactArithmetic.value(p[c])), e]))
            }
        }
    }

    @Test("hard targets and label smoothing: r̃_c and R̃ made without a number per class are the exact numbers, precisions included")
    func weightsWithoutStore() {
        for k in [1, 3, 700] {
            let p: [Double] = (0..<k).map { (c: Int) -> Double in c % 7 == 3 ? 0 : Double(c % 11 + 1) / Double(16 * k) }
            let choices: [Double] = [0.5, 1, 3, 0.1, 1e-300]
            let weight: [Double] = (0..<k).map { (c: Int) -> Double in c % 5 == 2 ? 0 : choices[c % 5] }
            for target in [RowTarget.index(k / 2), .index(0), .probabilities(p)] {
                for wt in [nil, weight] as [[Double]?] {
                    for eps in [0, 0.1, 1] as [Double] {
                        let r = TargetWeights(target: target, classes: k, weight: wt, labelSmoothing: eps)
                        let want = Self.expectedWeights(target: target, k: k, weight: wt, eps: eps)
                        for c in 0..<k where !Self.same(r.scaled[c], want[c]) {
                            Issue.record("r̃_\(c) of K = \(k), \(target), weights \(wt != nil), ε = \(eps)")
                        }
                        // Asked for again, out of order (a made weight keeps the last one).
                        #expect(Self.same(r.scaled[k - 1], want[k - 1]) && Self.same(r.scaled[0], want[0]))
                        #expect(Self.same(r.total, ExactArithmetic.sum(want)), "R̃ of K = \(k), \(target), weights \(wt != nil), ε = \(eps)")
                        #expect(r.divisor == (eps == 0 ? 1 : k))
                    }
                }
            }
        }
    }

    @Test("ShiftedRow.sums: s, S and L of the row, bit for bit, without its terms", arguments: [64, 93, 200])
    func sumsWithoutTerms(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        // Repeated logits past one store of shared terms (6000 distinct values, each twice), and
        // distinct ones past the sharing table's window.
        let shared: [Double] = (0..<12_000).map { (i: Int) -> Double in Double((i / 2) % 6000) * 0x1p-7 - 20 }
        let distinct: [Double] = (0..<9000).map { (i: Int) -> Double in Double(i) * 0.37 - 3000 }
        for x in Self.rows + [shared, distinct, [1, 1], [-.infinity, 2, 2, -.infinity]] {
            let facts = RowFacts(x)
            let row = ShiftedRow(x, facts: facts, arithmetic: w)
            let sums = ShiftedRow.sums(x, facts: facts, arithmetic: w)
            #expect(Self.same(sums.s, row.s) && Self.same(sums.S, row.S) && Self.same(sums.L, row.L), "row of \(x.count) at \(precision) bits")
        }
    }
}
