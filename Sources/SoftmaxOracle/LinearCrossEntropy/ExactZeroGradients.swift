import MPFR

/// Decides, exactly, whether a fused gradient output (`linear_cross_entropy_grad_hidden`,
/// `_grad_weight`, `_grad_bias`) is 0, and encloses the nonzero ones from their exact form
/// (`enclosure`). Escalation alone never certifies an exact 0 (its enclosure always straddles
/// 0), nor the sign of a sum of terms below MPFR's range. (The argument is also in
/// docs/certification.md, "Exact zeros and exact forms of the gradients".)
///
/// **The form of an output.** Without soft-capping and z-loss, with p_n = softmax of row n's
/// logits z_n (exact dyadic rationals; a temperature T divides them by a binary64 number, still
/// rationals), r̃_n, R̃_n = Σ_c r̃_nc and D (`TargetWeights`), and σ_n the upstream gradient
/// (over the mean's divisor, common to every row), every gradient output is
///
///     out = κ·Σ_n go_n·Σ_c γ_nc·(R̃_n·p_nc − r̃_nc),        κ = 1/(D·T·divisor) > 0,
///
/// with γ_nc = w_ck for grad_hidden[i][k] (only row i), γ_nc = h_nk·[c = v] for
/// grad_weight[v][k], and [c = v] for grad_bias[v], over the kept rows with go_n ≠ 0. Group row
/// n's classes by exact logit value (group g: n_g classes at value x_g, E_g = e^(x_g − x_top)),
/// S_n = Σ_g n_g·E_g; then row n's term is A_n/S_n with
///
///     A_n = Σ_g a_ng·E_g,   a_ng = go_n·(R̃_n·Γ_ng − Q_n·n_g),   Γ_ng = Σ_{c∈g} γ_nc,   Q_n = Σ_c γ_nc·r̃_nc,
///
/// a_ng exact rationals (`ExactArithmetic`). Rows whose logits differ by a constant have the same
/// groups, E_g and S (softmax is shift-invariant), so they merge into one class C by adding their
/// a: out = κ·Σ_C A_C/S_C, and out = 0 iff P = Σ_C A_C·Π_{C'≠C} S_C' = 0 (every S_C > 0).
///
/// **The decision.** P expands into Σ_k c_k·e^(α_k), each α_k a sum of one exponent per class:
/// exact rationals, summed exactly and merged when equal. By the Lindemann–Weierstrass theorem,
/// e^(α) for distinct algebraic α are linearly independent over the algebraic numbers, so P = 0
/// iff every merged coefficient c_k is 0. This is exact in both directions: a single class
/// (grad_hidden, or rows that all share a shape) is 0 iff all its a_g are 0; a class whose a are
/// all 0 contributes nothing; and two rows that are permutations of each other can cancel (logits
/// [0, 1] with target 0 and [1, 0] with target 1 give grad_bias[0] = 0), which the expansion
/// finds. With a temperature the exponents are α_k/T, equal exactly when the α_k are. The
/// expansion has Π_C (groups of C) terms at most; past `termBudget` the output is left undecided
/// (nil: escalation goes on, and ends "not certified" if it is 0). grad_weight and grad_bias form
/// the exponential structure once per class v (`SharedExpansion`), not once per output.
///
/// Soft-capping makes the exponents c·tanh(x/(T·c)) transcendental and z-loss adds lse_n·p_nc
/// terms (lse transcendental): the theorem does not apply, and `init` returns nil.
final class ExactZeroGradients {
    /// One row's logits grouped by exact value: `offsets[g]` = x_g − x_top (<= 0, descending),
    /// `counts[g]` = n_g, `groupOf[c]` = the group of class c.
    struct Shape {
        let offsets: [BigFloat]
        let counts: [Int]
        let groupOf: [Int]

        init(_ z: [BigFloat]) {
            let order = z.indices.sorted { z[$0].compare(z[$1]) > 0 }
            var offsets: [BigFloat] = [], counts: [Int] = [], groupOf = [Int](repeating: 0, count: z.count)
            var last: BigFloat?
            for c in order {
                if last.map({ z[c].compare($0) != 0 }) ?? true {
                    offsets.append(ExactArithmetic.difference(z[c], z[order[0]]))
                    counts.append(0)
                    last = z[c]
                }
                counts[counts.count - 1] += 1
                groupOf[c] = counts.count - 1
            }
            self.offsets = offsets
            self.counts = counts
            self.groupOf = groupOf
        }

        /// Same groups at the same offsets: the rows' softmax vectors are equal.
        func sameSoftmax(as other: Shape) -> Bool {
            counts == other.counts && groupOf == other.groupOf
                && zip(offsets, other.offsets).allSatisfy { $0.compare($1) == 0 }
        }
    }

    /// Σ c·e^(α): terms (α, c), α strictly decreasing, every c ≠ 0, after `normalized`.
    typealias Polynomial = [(alpha: BigFloat, c: BigFloat)]

    /// The most terms one expansion may form (the outputs past it stay undecided).
    static let termBudget = 1 << 14

    /// An output's live classes (those whose a are not all 0), P and Π = Π_C S_C expanded (nil
    /// past the budget), and the exact-zero decision (nil: undecided).
    struct Form {
        var classes: [(shape: Shape, a: [BigFloat])]
        var expansion: (p: Polynomial, pi: Polynomial)?
        /// N·P − c_0·Π when α_0 = 0 (see `enclosure`), formed at the first call.
        var rest: Polynomial?
        var zero: Bool? { classes.isEmpty ? true : expansion.map { $0.p.isEmpty } }
    }

    private unowned let path: LinearExactPath
    private var shapes: [Int: Shape] = [:]
    private var forms: [Int: Form] = [:]
    private var exps: [ExpKey: (alpha: BigFloat, top: BigFloat?, e: Interval)] = [:]

    /// nil under soft-capping or z-loss (see the type's notes).
    init?(_ path: LinearExactPath) {
        guard path.options.softcap == nil, path.options.zLoss == nil else { return nil }
        self.path = path
    }

    /// True: output `o` is exactly 0; false: it is not; nil: past the budget.
    func isZero(_ o: Int) -> Bool? { form(o).zero }

    /// An enclosure of output `o` (whose direct enclosure straddles 0) from its exact form
    /// out = P/(Π·δ), δ = D·T·divisor (the mean's Σ w[t], else 1), every exponential with an exact
    /// argument and the leading one factored out:
    ///
    ///     value(Σ_k c_k·e^(α_k)) = e^(α_0/T)·(c_0 + Σ_{k>0} c_k·e^((α_k − α_0)/T)),   c_0 ≠ 0.
    ///
    /// The bracket is a real of ordinary size, nonzero by the theorem (its terms that MPFR still
    /// represents include c_0 and have distinct exponents), so escalation separates it from 0.
    /// When e^(α_0/T) is below MPFR's range (huge logit gaps), the enclosure is (0, tiny) or
    /// (−tiny, 0): a signed zero in every format, certified through the open end (`Format.certify`).
    /// When α_0 = 0 the output is the rational c_0/(N·δ), N = Π_C n_top(C) (Π's leading
    /// coefficient), plus (N·P − c_0·Π)/(N·Π·δ), whose polynomial has only negative exponents: a
    /// rational that is a rounding midpoint (or a format value) is then an exact end of the
    /// enclosure, and the perturbation's sign decides the rounding, however far below MPFR's
    /// range it is. Past the budget (no expansion), `classEnclosure` is used.
    func enclosure(_ o: Int, _ w: IntervalArithmetic) -> Enclosure {
        let f = form(o)
        if f.zero == true { return .exact(0) }
        guard let (p, pi) = f.expansion else { return classEnclosure(f, w) }
        let delta = divisor(w)
        let denominator = w.mul(value(pi, w), delta)
        guard p[0].alpha.isZero else { return .interval(w.div(value(p, w), denominator)) }
        let n = pi[0].c, c0 = p[0].c, zero = ExactArithmetic.value(0)
        let rational = w.div(Interval(point: c0), w.mul(Interval(point: n), delta))
        let rest = f.rest ?? Self.normalized(p.map { ($0.alpha, ExactArithmetic.product($0.c, n)) }
            + pi.map { ($0.alpha, ExactArithmetic.difference(zero, ExactArithmetic.product($0.c, c0))) })
        forms[o]?.rest = rest
        if rest.isEmpty { return .interval(rational) }
        return .interval(w.add(rational, w.div(value(rest, w), w.mul(Interval(point: n), denominator))))
    }

    /// δ = D·T·divisor (see `enclosure`).
    private func divisor(_ w: IntervalArithmetic) -> Interval {
        var delta = w.point(Double(path.weights.lazy.compactMap { $0 }.first?.divisor ?? 1))
        if let t = path.options.temperature { delta = w.mul(delta, Interval(point: t)) }
        if path.q.reduction == .mean { delta = w.mul(delta, Interval(point: path.ceDivisor)) }
        return delta
    }

    /// e^(x/T) for an exact x.
    private func exp(_ x: BigFloat, _ w: IntervalArithmetic) -> Interval {
        w.exp(w.quotient(x, by: path.options.temperature))
    }

    /// Σ_k c_k·e^(α_k/T) with the leading exponential factored out (see `enclosure`).
    private func value(_ x: Polynomial, _ w: IntervalArithmetic) -> Interval {
        w.mul(exp(x[0].alpha, minus: nil, w), bracket(x, w))
    }

    private struct ExpKey: Hashable {
        let precision: Int
        let alpha: ObjectIdentifier
        let top: ObjectIdentifier?
    }

    /// e^((α − top)/T) (top nil: e^(α/T)) at `w`'s precision, remembered by the precision and the
    /// exponents' objects. The outputs of one class v share them (`SharedExpansion`), so each
    /// exponential is formed once per precision, not once per output; the value is the one `exp`
    /// gives (the same operations on the same exact numbers). The memo keeps the objects alive,
    /// so no other number takes their identities; exact numbers are never modified. Only
    /// grad_weight shares exponents between outputs; the memo holds one precision (escalation
    /// asks every pending output at one precision before the next).
    private func exp(_ alpha: BigFloat, minus top: BigFloat?, _ w: IntervalArithmetic) -> Interval {
        guard path.q.function == .linearCrossEntropyGradWeight else {
            return exp(top.map { ExactArithmetic.difference(alpha, $0) } ?? alpha, w)
        }
        if exps.first?.key.precision != w.precision { exps.removeAll() }
        let key = ExpKey(precision: w.precision, alpha: ObjectIdentifier(alpha), top: top.map(ObjectIdentifier.init))
        if let e = exps[key] { return e.e }
        let e = exp(top.map { ExactArithmetic.difference(alpha, $0) } ?? alpha, w)
        exps[key] = (alpha, top, e)
        return e
    }

    /// c_0 + Σ_{k>0} c_k·e^((α_k − α_0)/T).
    private func bracket(_ x: Polynomial, _ w: IntervalArithmetic) -> Interval {
        let top = x[0].alpha
        return w.sum(x.map { t in
            t.alpha.compare(top) == 0 ? Interval(point: t.c)
                : w.mul(Interval(point: t.c), exp(t.alpha, minus: top, w))
        })
    }

    /// The fallback past the budget: out = Σ_C e^(β_C/T)·b_C/δ, b_C = A_C/(e^(β_C/T)·S_C), β_C
    /// the exponent of A_C's first nonzero term, the largest β factored out. Certifies unless the
    /// leading terms of different classes cancel exactly (then escalation cannot end).
    private func classEnclosure(_ f: Form, _ w: IntervalArithmetic) -> Enclosure {
        var parts: [(beta: BigFloat, b: Interval)] = []
        for c in f.classes {
            let off = c.shape.offsets
            let a: Polynomial = off.indices.compactMap { c.a[$0].isZero ? nil : (off[$0], c.a[$0]) }
            let s: Polynomial = off.indices.map { (off[$0], ExactArithmetic.value(Double(c.shape.counts[$0]))) }
            let b = w.div(bracket(a, w), value(s, w))
            parts.append((a[0].alpha, b))
        }
        let beta = parts.map(\.beta).max { $0.compare($1) < 0 }!
        let inner = w.sum(parts.map { w.mul(exp(ExactArithmetic.difference($0.beta, beta), w), $0.b) })
        return .interval(w.div(w.mul(exp(beta, w), inner), divisor(w)))
    }

    private func shape(_ n: Int) -> Shape {
        if let s = shapes[n] { return s }
        let s = Shape(path.exactRow(n))
        shapes[n] = s
        return s
    }

    private func form(_ o: Int) -> Form {
        if let f = forms[o] { return f }
        let f = makeForm(o)
        forms[o] = f
        return f
    }

    /// a_ng of row n (see the type's notes) for the weights γ_nc = `gamma(c)`; nil for a row
    /// that contributes nothing (go_n = 0, or ignored).
    private func rowCoefficients(_ n: Int, gamma: (Int) -> Double) -> [BigFloat]? {
        let go = path.upstream(n)
        guard go != 0, let r = path.weights[n] else { return nil }
        let s = shape(n), zero = ExactArithmetic.value(0)
        var big = [[BigFloat]](repeating: [], count: s.counts.count)
        var q: [BigFloat] = []
        for c in 0..<path.m.classes {
            let x = gamma(c)
            if x == 0 { continue }
            big[s.groupOf[c]].append(ExactArithmetic.value(x))
            if !r.scaled[c].isZero { q.append(ExactArithmetic.product(ExactArithmetic.value(x), r.scaled[c])) }
        }
        let qn = ExactArithmetic.sum(q), g = ExactArithmetic.value(go)
        return s.counts.indices.map { k in
            let gamma = big[k].isEmpty ? zero : ExactArithmetic.sum(big[k])
            let inner = ExactArithmetic.difference(ExactArithmetic.product(r.total, gamma), Backward.product(qn, s.counts[k]))
            return ExactArithmetic.product(g, inner)
        }
    }

    /// S_C = Σ_g n_g·E_g as a polynomial.
    private static func sPolynomial(_ s: Shape) -> Polynomial {
        s.offsets.indices.map { (s.offsets[$0], ExactArithmetic.value(Double(s.counts[$0]))) }
    }

    /// A class's a_g as a polynomial (zero coefficients dropped).
    private static func aPolynomial(_ s: Shape, _ a: [BigFloat]) -> Polynomial {
        normalized(s.offsets.indices.map { (s.offsets[$0], a[$0]) })
    }

    private func makeForm(_ o: Int) -> Form {
        let m = path.m, d = m.dimension
        switch path.q.function {
        case .linearCrossEntropyGradHidden:
            // One row: one class, P = A and Π = S.
            let (i, k) = (o / d, o % d)
            guard let a = rowCoefficients(i, gamma: { c in m.weight[c * d + k] }), !a.allSatisfy(\.isZero) else {
                return Form(classes: [], expansion: nil)
            }
            let s = shape(i)
            return Form(classes: [(s, a)], expansion: Self.expansion([(Self.aPolynomial(s, a), Self.sPolynomial(s))]))
        case .linearCrossEntropyGradWeight, .linearCrossEntropyGradBias:
            let (v, k) = path.q.function == .linearCrossEntropyGradBias ? (o, -1) : (o / d, o % d)
            return classForm(v, hidden: { n in k < 0 ? 1 : m.hidden[n * d + k] })
        default:
            return Form(classes: [], expansion: nil)
        }
    }

    // MARK: grad_weight and grad_bias: one expansion per class v and live classes

    /// For grad_weight[v][k], γ_nc = h_nk·[c = v], so a_ng = h_nk·b_ng with b_ng the row's
    /// coefficients for γ_nc = [c = v] (grad_bias: h_nk = 1), and A_C = Σ_{n∈C} h_nk·B_n,
    /// B_n = Σ_g b_ng·E_g. With L the output's live classes, M_C = Π_{C'∈L, C'≠C} S_C' and
    /// Ψ_n = B_n·M_{C(n)}:
    ///
    ///     P = Σ_{C∈L} A_C·M_C = Σ_n h_nk·Ψ_n        (n over the rows of L's classes),
    ///
    /// Ψ_n and Π depend on (v, L) only. They are expanded once per (v, L) (`SharedExpansion`) on
    /// a common list of exponents, and each output's P takes at each exponent α the exact
    /// coefficient Σ_n h_nk·Ψ_n[α], dropping zeros: the same normalized polynomial (unique: distinct
    /// exponents in decreasing order, exact nonzero coefficients) as the class-by-class product,
    /// so the decision and the enclosure are those of `expansion`. A dead class (A_C = 0) is left
    /// out of L as there, and its rows' Σ h_nk·Ψ_n is A_C·M_C = 0 whatever M_C.
    struct SharedExpansion {
        /// The exponents of every Ψ_n, strictly decreasing.
        let alphas: [BigFloat]
        /// Ψ_n's coefficient at each of `alphas` (nil: none), by row.
        let psi: [Int: [BigFloat?]]
        let pi: Polynomial

        /// P = Σ_n h_n·Ψ_n, normalized.
        func combination(_ rows: [(row: Int, h: BigFloat)]) -> Polynomial {
            let columns = rows.compactMap { r in psi[r.row].map { (psi: $0, h: r.h) } }
            return alphas.indices.compactMap { i in
                let terms = columns.compactMap { c in c.psi[i].map { ExactArithmetic.product(c.h, $0) } }
                guard !terms.isEmpty else { return nil }
                let c = terms.count == 1 ? terms[0] : ExactArithmetic.sum(terms)
                return c.isZero ? nil : (alphas[i], c)
            }
        }
    }

    private struct SharedKey: Hashable {
        let v: Int
        let live: [Int]
    }

    /// Rows whose softmax vectors are equal share a class: `rowClass[n]` (nil: the row
    /// contributes nothing), `representative[C]` its first row.
    private lazy var rowClasses: (rowClass: [Int?], representative: [Int]) = {
        var rowClass = [Int?](repeating: nil, count: path.m.rows), representative: [Int] = []
        for n in 0..<path.m.rows where path.upstream(n) != 0 && path.weights[n] != nil {
            let s = shape(n)
            if let c = representative.firstIndex(where: { shape($0).sameSoftmax(as: s) }) {
                rowClass[n] = c
            } else {
                rowClass[n] = representative.count
                representative.append(n)
            }
        }
        return (rowClass, representative)
    }()
    /// b_n by class v, then row.
    private var classCoefficients: [Int: [Int: [BigFloat]]] = [:]
    private var shared: [SharedKey: SharedExpansion?] = [:]

    private func coefficients(_ v: Int) -> [Int: [BigFloat]] {
        if let b = classCoefficients[v] { return b }
        var b: [Int: [BigFloat]] = [:]
        for n in 0..<path.m.rows where rowClasses.rowClass[n] != nil {
            b[n] = rowCoefficients(n) { c in c == v ? 1 : 0 }
        }
        classCoefficients[v] = b
        return b
    }

    /// The form of grad_weight[v][k] (grad_bias[v]: h = 1), h_n = `hidden(n)`.
    private func classForm(_ v: Int, hidden: (Int) -> Double) -> Form {
        let b = coefficients(v), (rowClass, representative) = rowClasses
        var order: [Int] = [], a: [Int: [BigFloat]] = [:], rows: [(row: Int, h: BigFloat)] = []
        for n in 0..<path.m.rows {
            let x = hidden(n)
            guard x != 0, let c = rowClass[n], let bn = b[n] else { continue }
            let h = ExactArithmetic.value(x)
            let an = bn.map { ExactArithmetic.product(h, $0) }
            if let sum = a[c] { a[c] = zip(sum, an).map { ExactArithmetic.sum([$0, $1]) } } else { a[c] = an; order.append(c) }
            rows.append((n, h))
        }
        let live = order.filter { !a[$0]!.allSatisfy(\.isZero) }
        let classes = live.map { (shape: shape(representative[$0]), a: a[$0]!) }
        let e = sharedExpansion(SharedKey(v: v, live: live.sorted()))
        return Form(classes: classes, expansion: e.map { ($0.combination(rows), $0.pi) })
    }

    /// Ψ_n and Π for (v, L) (see `SharedExpansion`); nil when a product formed would have more
    /// than `termBudget` terms before merging.
    private func sharedExpansion(_ key: SharedKey) -> SharedExpansion? {
        if let e = shared[key] { return e }
        let e = makeSharedExpansion(key)
        shared[key] = e
        return e
    }

    /// Π and the M_C (in the order of `live`) for live classes L, whatever v; nil past the budget.
    private var denominators: [[Int]: (pi: Polynomial, m: [Polynomial])?] = [:]

    private func denominator(_ live: [Int]) -> (pi: Polynomial, m: [Polynomial])? {
        if let d = denominators[live] { return d }
        let representative = rowClasses.representative
        let s = live.map { Self.sPolynomial(shape(representative[$0])) }
        func product(of factors: [Polynomial]) -> Polynomial? {
            var x: Polynomial = [(ExactArithmetic.value(0), ExactArithmetic.value(1))]
            for f in factors {
                guard x.count * f.count <= Self.termBudget else { return nil }
                x = Self.normalized(Self.product(x, f))
            }
            return x
        }
        var d: (pi: Polynomial, m: [Polynomial])?
        if let pi = product(of: s) {
            let m = s.indices.compactMap { i in product(of: s.indices.filter { $0 != i }.map { s[$0] }) }
            d = m.count == s.count ? (pi, m) : nil
        }
        denominators[live] = d
        return d
    }

    private func makeSharedExpansion(_ key: SharedKey) -> SharedExpansion? {
        let rowClass = rowClasses.rowClass, b = coefficients(key.v)
        guard let (pi, m) = denominator(key.live) else { return nil }
        var psi: [Int: Polynomial] = [:]
        for (i, c) in key.live.enumerated() {
            let mc = m[i]
            for n in 0..<path.m.rows where rowClass[n] == c {
                guard let bn = b[n] else { continue }
                let bPoly = Self.aPolynomial(shape(n), bn)
                guard bPoly.count * mc.count <= Self.termBudget else { return nil }
                psi[n] = Self.normalized(Self.product(bPoly, mc))
            }
        }
        let alphas = Self.normalized(psi.keys.sorted().flatMap { psi[$0]!.map { ($0.alpha, ExactArithmetic.value(1)) } }).map(\.alpha)
        let dense = psi.mapValues { x in
            var column = [BigFloat?](repeating: nil, count: alphas.count), i = 0
            for t in x {
                while alphas[i].compare(t.alpha) != 0 { i += 1 }
                column[i] = t.c
            }
            return column
        }
        return SharedExpansion(alphas: alphas, psi: dense, pi: pi)
    }

    /// P = Σ_C A_C·Π_{C'≠C} S_C' and Π = Π_C S_C, normalized (nil past the budget), formed class
    /// by class: P ← P·S_C + A_C·Π, Π ← Π·S_C.
    static func expansion(_ classes: [(a: Polynomial, s: Polynomial)]) -> (p: Polynomial, pi: Polynomial)? {
        var p: Polynomial = []
        var pi: Polynomial = [(ExactArithmetic.value(0), ExactArithmetic.value(1))]
        for c in classes {
            guard p.count * c.s.count + c.a.count * pi.count + pi.count * c.s.count <= termBudget else { return nil }
            p = normalized(product(p, c.s) + product(c.a, pi))
            pi = normalized(product(pi, c.s))
        }
        return (p, pi)
    }

    static func product(_ x: Polynomial, _ y: Polynomial) -> Polynomial {
        x.flatMap { u in
            y.map { v in (ExactArithmetic.sum([u.alpha, v.alpha]), ExactArithmetic.product(u.c, v.c)) }
        }
    }

    /// Terms sorted by α (decreasing), equal α merged (exact sums), zero coefficients dropped.
    static func normalized(_ x: Polynomial) -> Polynomial {
        let sorted = x.sorted { $0.alpha.compare($1.alpha) > 0 }
        var out: Polynomial = []
        var k = 0
        while k < sorted.count {
            var j = k + 1
            while j < sorted.count && sorted[j].alpha.compare(sorted[k].alpha) == 0 { j += 1 }
            let c = j == k + 1 ? sorted[k].c : ExactArithmetic.sum(sorted[k..<j].map(\.c))
            if !c.isZero { out.append((sorted[k].alpha, c)) }
            k = j
        }
        return out
    }
}
