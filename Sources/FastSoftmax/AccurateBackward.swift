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
// bound uses Σ|p|): within 0.5 + 2^-27 ulp (binary64), 0.5 + 2^-29 + 2^-56 ulp (binary32).

extension Accurate {
    /// dy_i − softmax_i·Σ dy: `crossEntropyGrad(x, probabilities: −dy)` (see the file's notes).
    /// Non-finite dy: every output NaN (the oracle rejects such requests).
    static func logSoftmaxBackward<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, gradOutput dy: UnsafeBufferPointer<T>,
                                                          into out: UnsafeMutableBufferPointer<T>) {
        if dy.contains(where: { !$0.isFinite }) { return out.update(repeating: .nan) }
        let negated = dy.map { -$0 }
        negated.withUnsafeBufferPointer { crossEntropyGrad(x, probabilities: $0, into: out) }
    }

    /// y_i·(dy_i − ⟨dy, y⟩), within 0.5 + 2^-7 ulp of the exact value in binary64 and binary32
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
        for j in 0..<k where Double(x[j]) != -.infinity {
            e[j] = j == row.argmax ? .one : DoubleWordMath.exp(twoSum(Double(x[j]), -row.m))
            let d = differences.delta(j)
            if d.isZero { continue }
            t = t + e[j] * d
            a = a + e[j] * d.magnitude
        }
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
            var errN = a * ScaledDoubleWord(rhoA) + di.magnitude * S * ScaledDoubleWord(rhoD)
            if differences.scaled && !(a.isZero && di.isZero) {
                errN = errN + S * ScaledDoubleWord(0x1p-1073)  // the halved differences' 2^-1074 each
            }
            let bound = errN * e[i] / S2
            if bound.isZero { continue }
            if !grid.accepts(errorLog2: Double(bound.exponent) + 2, result: dx) { failed.append(i) }
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
