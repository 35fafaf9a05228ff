import MPFR
@testable import SoftmaxOracle
import Testing

/// `TransformedRow` keeps e_j's two ends compact (for the logits asked for) and computes a_j, d_j and chain's e^(−2|a_j|)
/// again where an output needs them (issue 13, "Memory proportional to the row"). Expected
/// values: the row as the MPFR path made it before, every quantity a separate `Interval` of
/// `BigFloat`s made once per logit with `IntervalArithmetic` (`Unpacked` below, the formulas of
/// LossOptions.swift written out again): equal MPFR operations give equal bits, so every end must
/// be the same number. And, independently, each e_j must enclose e^(z_j − z_M) of the textbook
/// transform (`OptionsBruteForce.transform`, at `BruteForce.bits`).
@Suite("MPFR path: compact transformed rows")
struct CompactTransformedRowTests {
    /// The transformed row as separate intervals, one per logit (before the packing).
    struct Unpacked {
        var a: [Interval?], d: [Interval?], e: [Interval?], t: [Interval?]
        var s: Interval, S: Interval, L: Interval, zMax: Interval

        init(_ x: [BigFloat], _ o: LossOptions, _ w: IntervalArithmetic) {
            var best: Int?
            for (j, v) in x.enumerated() where o.softcap != nil || !v.isInfinite {
                if best.map({ v.compare(x[$0]) > 0 }) ?? true { best = j }
            }
            let m = best!, xm = x[m]
            a = x.map { v in o.tanhScale.flatMap { v.isInfinite ? nil : w.quotient(v, by: $0) } }
            d = [Interval?](repeating: nil, count: x.count)
            t = a.map { aj in aj.map { w.exp(w.negDouble($0.lo.signum >= 0 ? $0 : w.neg($0))) } }
            for (j, v) in x.enumerated() {
                if j == m || v.compare(xm) == 0 { d[j] = w.zero; continue }
                guard let c = o.softcap.map({ Interval(point: $0) }) else {
                    if !v.isInfinite { d[j] = w.quotient(ExactArithmetic.difference(v, xm), by: o.temperature) }
                    continue
                }
                if xm.isInfinite && !xm.signBit {
                    d[j] = v.isInfinite ? w.neg(w.scale(c, 1)) : w.neg(w.mul(c, w.onePlusTanh(w.neg(a[j]!))))
                } else if v.isInfinite {
                    d[j] = w.neg(w.mul(c, w.onePlusTanh(a[m]!)))
                } else if v.signum >= 0 || xm.signum <= 0 {
                    let (p, q) = v.signum >= 0 ? (a[j]!, a[m]!) : (w.neg(a[m]!), w.neg(a[j]!))
                    let delta = w.quotient(ExactArithmetic.difference(xm, v), by: o.tanhScale)
                    let ep = w.exp(w.negDouble(p)), eq = w.exp(w.negDouble(q))
                    let numerator = w.mul(w.scale(c, 1), w.mul(ep, w.expm1(w.negDouble(delta))))
                    d[j] = w.div(numerator, w.mul(w.add(w.one, ep), w.add(w.one, eq)))
                } else {
                    d[j] = w.mul(c, w.sub(w.tanh(a[j]!), w.tanh(a[m]!)))
                }
            }
            e = d.map { $0.map(w.exp) }
            s = w.sum(e.enumerated().compactMap { $0.offset == m ? nil : $0.element })
            S = w.add(w.one, s)
            L = w.log1p(s)
            if let c = o.softcap.map({ Interval(point: $0) }) {
                zMax = xm.isInfinite ? (xm.signBit ? w.neg(c) : c) : w.mul(c, w.tanh(a[m]!))
            } else {
                zMax = w.quotient(xm, by: o.temperature)
            }
        }
    }

    static let saturated: [Double] = (0..<200).map { (i: Int) -> Double in
        let a: Double = Double(i % 23) * 0.61
        return a - Double(i % 7) * 1e-9 - 5
    }

    static let rows: [[Double]] = {
        var r: [[Double]] = []
        r.append([0.5, -3, 2, 2, -Double.infinity, 1e-3, -700, 2, 0.5, -0.0, 0])
        r.append([40, 39.5, -41, 1e-300, -1e300, 1e300, 3, 0])
        r.append([-2, -3, -0.25, -Double.infinity, -7])
        r.append([Double.infinity, 3, -Double.infinity, -2, Double.infinity])
        r.append([7])
        r.append(saturated)
        return r
    }()

    static let options: [(softcap: Double?, zLoss: Double, temperature: Double?)] = [
        (30, 0, nil), (2.5, 1e-4, nil), (nil, 1e-4, nil), (nil, 0, 0.7), (3, 0, 1.5), (nil, 0.5, 3),
    ]

    @Test("a_j, d_j, e_j, s, S, L, z_M and the chain factor are the bits of the separate intervals", arguments: [64, 93, 200])
    func sameEnclosures(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        for x in Self.rows {
            for (c, z, t) in Self.options {
                let o = LossOptions(softcap: c, zLoss: z, temperature: t)
                if TransformedRow.special(x, o) != nil { continue }
                let context = "\(x) softcap \(String(describing: c)) T \(String(describing: t)) at \(precision) bits"
                let row = TransformedRow(x, o, w)
                let exact = TransformedRow(x.map(ExactArithmetic.value), o, w)  // the fused layer's entry
                let want = Unpacked(x.map(ExactArithmetic.value), o, w)
                for r in [row, exact] {
                    #expect(r.termCount == want.e.compactMap { $0 }.count, "n of \(context)")
                    for j in x.indices {
                        #expect(CompactTermsTests.same(r.a(j), want.a[j]), "a_\(j) of \(context)")
                        #expect(CompactTermsTests.same(r.d(j), want.d[j]), "d_\(j) of \(context)")
                        #expect(CompactTermsTests.same(r.e(j), want.e[j]), "e_\(j) of \(context)")
                        // chain of g = 1: 4t/(1 + t)² (/T), t = e^(−2|a_j|), or 0 at ±inf.
                        var g = w.one
                        if c != nil {
                            if let tj = want.t[j] {
                                g = w.div(w.mul(g, w.scale(tj, 2)), w.square(w.add(w.one, tj)))
                            } else {
                                g = w.zero
                            }
                        }
                        if let temperature = o.temperature, !(c != nil && want.t[j] == nil) {
                            g = w.div(g, Interval(point: temperature))
                        }
                        #expect(CompactTermsTests.same(r.chain(w.one, j, w), g), "chain_\(j) of \(context)")
                    }
                    #expect(CompactTermsTests.same(r.s, want.s) && CompactTermsTests.same(r.S, want.S)
                            && CompactTermsTests.same(r.L, want.L) && CompactTermsTests.same(r.zMax, want.zMax), "sums of \(context)")
                }
            }
        }
    }

    @Test("visit hands over every d_j once, in order of j, the bits of the separate intervals", arguments: [64, 200])
    func visitedDifferences(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        for x in Self.rows {
            for (c, z, t) in Self.options {
                let o = LossOptions(softcap: c, zLoss: z, temperature: t)
                if TransformedRow.special(x, o) != nil { continue }
                let want = Unpacked(x.map(ExactArithmetic.value), o, w)
                var seen: [(Int, Interval)] = []
                _ = TransformedRow(x, o, w, keepTerms: false) { j, dj in seen.append((j, dj)) }
                let expected = x.indices.filter { want.d[$0] != nil }
                let context = "\(x) softcap \(String(describing: c)) T \(String(describing: t)) at \(precision) bits"
                #expect(seen.map(\.0) == expected, "the j visited, \(context)")
                for (j, dj) in seen {
                    #expect(CompactTermsTests.same(dj, want.d[j]), "d_\(j) of \(context)")
                }
            }
        }
    }

    @Test("each e_j encloses e^(z_j − z_M) of the textbook transform")
    func enclosesTextbook() {
        let w = IntervalArithmetic(precision: 93)
        for x in Self.rows where !x.contains(where: \.isInfinite) && !x.contains(where: { abs($0) > 1000 }) {
            for (c, z, t) in Self.options {
                let o = LossOptions(softcap: c, zLoss: z, temperature: t)
                let row = TransformedRow(x, o, w)
                let zs = OptionsBruteForce.transform(x, softcap: c, temperature: t).z
                for j in x.indices {
                    let want = OptionsBruteForce.exp(OptionsBruteForce.sub(zs[j], zs[row.maxIndex]))
                    let e = row.e(j)!
                    #expect(e.lo.compare(want) <= 0 && e.hi.compare(want) >= 0, "e_\(j) of \(x), softcap \(String(describing: c))")
                }
            }
        }
    }

    @Test("a row keeps two compact numbers a kept logit (24 bytes each at 93 bits)")
    func storedBytes() {
        let w = IntervalArithmetic(precision: 93)
        let x = (0..<1000).map { Double($0) * 0.01 - 3 }
        let o = LossOptions(softcap: 30, zLoss: 0, temperature: nil)
        #expect(TransformedRow(x, o, w).storedBytes == 2 * 1000 * 24)
        #expect(TransformedRow(x, o, w, keeping: [3, 500, 999]).storedBytes == 2 * 3 * 24)
        #expect(TransformedRow(x, o, w, keepTerms: false).storedBytes == 0)
    }

    @Test("a row keeping some e_j gives every e_j, s, S and L as the separate intervals", arguments: [64, 93, 200])
    func keepingSome(precision: Int) {
        let w = IntervalArithmetic(precision: precision)
        let cases = Self.rows.flatMap { x in Self.options.map { (x, LossOptions(softcap: $0.softcap, zLoss: $0.zLoss, temperature: $0.temperature)) } }
        for (x, o) in cases where TransformedRow.special(x, o) == nil {
            let want = Unpacked(x.map(ExactArithmetic.value), o, w)
            for kept in [[], [0], x.indices.filter { $0 % 3 == 1 }, [x.count - 1], Array(Set([0, x.count - 1])).sorted()] {
                let row = TransformedRow(x, o, w, keeping: kept)
                let context = "\(x) with \(o) at \(precision) bits, keeping \(kept)"
                for j in x.indices { #expect(CompactTermsTests.same(row.e(j), want.e[j]), "e_\(j) of \(context)") }
                #expect(CompactTermsTests.same(row.s, want.s) && CompactTermsTests.same(row.S, want.S)
                        && CompactTermsTests.same(row.L, want.L), "sums of \(context)")
            }
        }
    }
}
