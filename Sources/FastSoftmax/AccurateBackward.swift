import DoubleWordArithmetic
import RealModule

// The `accurate` vector–Jacobian products of softmax and log_softmax (bounds derived below):
//
//   softmax_backward_i     = y_i·(dy_i − ⟨dy, y⟩) = e_i·N_i/S²,   N_i = δ_i·S − Σ_j e_j·δ_j
//   log_softmax_backward_i = dy_i − y_i·Σ_j dy_j
//
// with e_j = e^(x_j − m), S = Σ_j e_j, and δ_j = dy_j − c for c = dy at the arg-max. Centering
// is exact algebra (Σ_j e_j·c = c·S cancels in N_i), and δ_j is an exact double word, so a
// constant dy gives δ = 0 and N_i = 0 with an error bound of 0: exact zeros come out exactly 0
// without any slow path. Both outputs can still cancel to any depth (dy_i ≈ ⟨dy, y⟩); as for
// the probability-target gradient, the double-word error bound is tested against the result
// (1/512 ulp, `Accurate.Grid.accepts`) and failing entries are recomputed in multi-precision.
//
// log_softmax_backward(x, dy) is the probability-target gradient softmax_i·Σp − p_i at p = −dy
// (negating the inputs is exact), whose analysis in Accurate.swift holds for any finite p (its
// bound uses Σ|p|): within 0.5 + 2^-8 ulp (the 1/512-ulp test on the entries that can cancel;
// the others within 0.5 + 2^-27 in binary64, 0.5 + 2^-29 + 2^-56 in binary32).

extension Accurate {
    /// dy_i − softmax_i·Σ dy: `crossEntropyGrad(x, probabilities: −dy)` (see the file's notes).
    /// Non-finite dy: every output NaN (the oracle rejects such requests).
    static func logSoftmaxBackward<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                                          into out: UnsafeMutableBufferPointer<T>) {
        if dy.contains(where: { !$0.isFinite }) { return out.update(repeating: .nan) }
        let negated = dy.map { -$0 }
        negated.withUnsafeBufferPointer { crossEntropyGrad(x, probabilities: $0, into: out) }
        if out.first?.isNaN ?? true { return }  // a NaN, +inf or all −inf row: every output NaN
        // Signed zeros: at dy_i = 0 the exact value is −y_i·G, a zero of the sign of −G when y_i
        // underflows (the gradient kernel gives +0); G's double-word sum has the sign of the
        // exact sum when |G| > 2·(K + 1)·rhoOp·Σ|dy|. A −inf logit gives dy_i exactly (+0 for
        // an exact zero, as the oracle).
        var g = ScaledDoubleWord.zero, absG = ScaledDoubleWord.zero
        for v in dy where v != 0 {
            g = g + ScaledDoubleWord(Double(v))
            absG = absG + ScaledDoubleWord(abs(Double(v)))
        }
        let signKnown = !g.isZero && (g.magnitude - absG * ScaledDoubleWord(2 * Double(dy.count + 1) * rhoOp)).hi > 0
        for i in 0..<x.count {
            if Double(x[i]) == -.infinity { out[i] = T(Double(dy[i]) + 0.0); continue }
            if dy[i] == 0 && out[i] == 0 && signKnown { out[i] = g.hi > 0 ? -0.0 : 0 }
        }
    }

    /// y_i·(dy_i − ⟨dy, y⟩), within 0.5 + 2^-8 + 2^-26 ulp of the exact value in binary64 and binary32
    /// (relative to the output, subnormal and zero results included), on every finite dy.
    ///
    /// Fast path, double-word: e_j to rhoExp (e_a = 1 exactly), S = 1 + s to rhoS, δ_j exact.
    /// T = Σ_j e_j·δ_j: each product rhoExp + rhoOp, K any-sign sums each within rhoOp·A,
    /// A = Σ_j e_j·|δ_j|: |err T| <= (rhoExp + (K + 1)·rhoOp)·A. δ_i·S: (rhoS + rhoOp)·|δ_i|·S;
    /// the difference 3.1u²(|δ_i|·S + |T|) <= rhoOp·(|δ_i|·S + A). So
    ///   |err N_i| <= (rhoExp + (K + 2)·rhoOp)·A + (rhoS + 2·rhoOp)·|δ_i|·S =: E_i,
    /// and dx_i = e_i·N_i/S² adds a relative rhoExp + 2·rhoS + 3·rhoOp <= 2^-80. The test
    /// accepts when 2·E_i·e_i/S² (the 2 covers the rounding of the bound's own terms) is
    /// within 1/512 ulp of the computed dx_i; then dx_i is within 2^-(p+8) + 2^-80 relative of
    /// the exact value before the final rounding: 0.5 + 2^-8 + 2^-27 ulp (binary32 adds 2^-29
    /// for the double rounding). E_i = 0 (e.g. constant dy) means dx_i is exact.
    ///
    /// Entries that fail go to `BackwardSlowPath.softmax`, which states its own bound (the same
    /// 1/512-ulp test) and returns exact zeros exactly.
    static func softmaxBackward<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                                       into out: UnsafeMutableBufferPointer<T>) {
        let k = x.count
        if k == 0 { return }
        let row = analyze(x)
        guard row.kind == .finite, !dy.contains(where: { !$0.isFinite }) else { return out.update(repeating: .nan) }
        let differences = BackwardDifferences(dy, reference: Double(dy[row.argmax]))
        let S = row.S
        var e = [ScaledDoubleWord](repeating: .zero, count: k)
        var t = ScaledDoubleWord.zero
        var a = ScaledDoubleWord.zero
        var under = ScaledDoubleWord.zero  // Σ|δ_j| over the e_j that underflowed to 0
        for j in 0..<k where Double(x[j]) != -.infinity {
            e[j] = j == row.argmax ? .one : DoubleWordMath.exp(twoSum(Double(x[j]), -row.m))
            let d = differences.delta(j)
            if d.isZero { continue }
            if e[j].isZero { under = under + d.magnitude }
            t = t + e[j] * d
            a = a + e[j] * d.magnitude
        }
        // An e_j below 2^-23000 is carried as 0: an absolute error below 2^-23000·|δ_j| in T.
        let underError = under * ScaledDoubleWord(hi: 1, lo: 0, exponent: -22999)
        let grid = Grid(T.self)
        let rhoA = rhoExp + Double(k + 2) * rhoOp
        let rhoD = row.rhoS + 2 * rhoOp
        let S2 = S * S
        var failed: [Int] = []
        for i in 0..<k {
            if Double(x[i]) == -.infinity { out[i] = 0; continue }  // y_i = 0 exactly
            let di = differences.delta(i)
            let n = di * S - t
            let dx = e[i] * n / S2
            out[i] = T(dx.doubleValue)
            var errN = a * ScaledDoubleWord(rhoA) + di.magnitude * S * ScaledDoubleWord(rhoD) + underError
            if differences.scaled && !(a.isZero && di.isZero) {
                errN = errN + S * ScaledDoubleWord(0x1p-1073)  // the halved differences' 2^-1074 each
            }
            if e[i].isZero {
                // e_i below the extended range (x_i − m < −16000 or so): |dx_i| < 2^-23000 is a
                // zero whose sign is N_i's, known when |N_i| exceeds twice its error bound.
                if errN.isZero || (n.magnitude - errN * ScaledDoubleWord(2)).hi > 0 {
                    out[i] = n.hi < 0 ? -0.0 : 0
                } else {
                    failed.append(i)
                }
                continue
            }
            let bound = errN * e[i] / S2
            if bound.isZero { continue }
            // A result that rounds to zero needs its sign: |dx_i| > 2·bound.
            let signUnknown = out[i] == 0 && !((dx.magnitude - bound * ScaledDoubleWord(2)).hi > 0)
            if signUnknown || !grid.accepts(errorLog2: Double(bound.exponent) + 2, result: dx) { failed.append(i) }
        }
        if !failed.isEmpty {
            BackwardSlowPath.softmax(x, gradOutput: dy, max: row.m, indices: failed, grid: grid, into: out)
        }
    }
}

/// The exact differences δ_j = dy_j − c as scaled double words.
///
/// two-sum gives dy_j − c exactly as a double word unless the difference overflows binary64
/// (|dy| near 2^1024 with both signs). Then both are halved first: exact except for bits
/// below 2^-1074 of a subnormal dy_j, an absolute error <= 2^-1074 per difference against a
/// difference >= 2^1022 in magnitude somewhere in the row, which the fast path's bound covers
/// (`scaled`: it adds nothing visible at binary64 resolution, and N_i of a constant dy stays 0).
struct BackwardDifferences {
    let values: [Double]
    let c: Double
    let scaled: Bool

    init<T: BinaryFloatingPoint>(_ dy: UnsafeBufferPointer<T>, reference c: Double) {
        values = dy.map { Double($0) }
        self.c = c
        scaled = values.contains { abs($0) >= 0x1p1022 }
    }

    func delta(_ j: Int) -> ScaledDoubleWord {
        let v = values[j]
        if v == c { return .zero }
        if !scaled { return ScaledDoubleWord(twoSum(v, -c)) }
        return ScaledDoubleWord(twoSum(v * 0.5, -c * 0.5), exponent: 1)
    }
}

extension ScaledDoubleWord {
    /// |x|, exactly.
    var magnitude: ScaledDoubleWord { hi < 0 ? -self : self }
}
