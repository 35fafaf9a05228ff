import DoubleWordArithmetic
import RealModule

// The `accurate` variant: softmax, log_softmax, logsumexp, cross-entropy (hard and probability
// targets) and its gradient, within the bounds derived below (0.5 + 2^-27 ulp in binary64,
// 0.5 + 2^-29 + 2^-56 in binary32; the SIMD path's looser ones in AccurateVector*.swift) on
// every input (special values exactly as docs/semantics.md says). AccurateBoundTests checks
// every function and family at these stated bounds.
//
// Strategy (the same for every function, stated once here; each routine below states its own
// error budget):
//
// 1. m = max x_j at index a (the first maximum), m2 = max_{j != a} x_j (m2 = m on a tie).
// 2. s2 = Σ_{j != a} e^(x_j - m2) in double-word arithmetic (every term <= 1, one term = 1,
//    so s2 in [1, K-1]); each x_j - m2 is an exact double-word (two-sum), so a logit 1e15 away
//    or a subnormal difference loses nothing, and e^(hi + lo) is evaluated to ~2^-98.
// 3. s = e^(m2 - m)·s2 = Σ_{j != a} e^(x_j - m), as an extended-range double-word `ScaledDoubleWord`, so that
//    s = 1e-320 (or 1e-2000) is carried with full relative precision, not flushed.
// 4. L = log1p(s) to ~2^-97 relative (Newton-corrected binary64 log1p; series for tiny s).
//    Then, with no cancellation anywhere:
//      log_softmax_i = (x_i - m) - L   (two terms <= 0; x_i - m exact as a double-word)
//      CE(t)         = (m - x_t) + L   (two terms >= 0; = L exactly when t = a)
//      softmax_i     = e^(x_i - m) / (1 + s)
//      grad_t        = -(1 + s - e_t)/(1 + s), grad_a = -s/(1 + s)   (never softmax_t - 1)
//      CE(p)         = Σ p_i·(L + (m - x_i))   (all terms >= 0 for p >= 0)
//    and the only two outputs that can cancel are
//      logsumexp     = m + L           (m < 0, L ≈ -m)
//      grad(p)_i     = softmax_i·Σp - p_i
//    for which the double-word error bound is tested against the result (a relative error of
//    2^-(p+8), i.e. 1/512 ulp); when the test fails, the output is recomputed in multi-precision
//    (fixed-point exponentials, `MPFloat` products) at 192 ... 2432 bits until it passes
//    (see AccurateSlowPath.swift).
// 5. Each output is then rounded once to binary64 (`ScaledDoubleWord.doubleValue`: correctly rounded from the
//    double-word, also into the subnormal range) and, for binary32, once more from binary64.
//
// Final error: a relative error ρ before the last rounding gives at most 1/2 + ρ·2^p ulp for a
// normal result (p = 53 or 24); every ρ below is at most 2^-80 (K <= 2^20), so the outputs are
// within 0.5 + 2^-27 ulp (binary64) and 0.5 + 2^-29 + 2^-56 ulp (binary32: the double rounding
// adds at most 2^-53 relative). A result in the subnormal range is within 0.5 ulp plus
// ρ·|v|/ulp <= 2^-80·2^52 (the subnormal ulp is larger than a normal one relative to |v|), and
// binary32 subnormals are normal binary64 numbers. Overflow goes to ±inf exactly where the
// exact value rounds to ±inf.
//
// softmax and log_softmax in binary64/binary32 first try the SIMD path (AccurateVector.swift:
// same steps with one double-word per element instead of 2^-98 exponentials; within
// 0.5 + 2^-4.3 ulp in binary64, 0.5 + 2^-16 in binary32); rows it declines (special values,
// K = 1, s < 2^-860) run the code below.
//
// Why binary32 goes through binary64: every binary32 input is a binary64 value; e^(x - m),
// (x - m) and all sums stay inside binary64's range whenever they matter for a binary32 result
// (binary32's range is 2^±149..2^128, binary64's 2^±1074..2^1024, and the kernels only need
// K·e^(x-m) <= K); so the binary64 algorithm computes the binary32 function to 2^-80 and a
// single conversion rounds it.

enum Accurate {
    /// Per-operation and per-routine relative error bounds: every double-word operation of
    /// DoubleWordArithmetic is within rhoOp = 2^-101 = 16u² (its bounds are 2.01u²–14u²; the
    /// any-sign sum's is absolute, 3.1u²(|a| + |b|), counted where it can cancel), and
    /// DoubleWordElementary.swift derives rhoExp and rhoLog1p.
    static let rhoOp = 0x1p-101
    static let rhoExp = 0x1p-98
    static let rhoLog1p = 0x1p-97

    /// The output grid: precision p and the exponent of the least subnormal.
    struct Grid: Sendable {
        let precision: Int
        let minSubnormalExponent: Int

        init<T: BinaryFloatingPoint>(_: T.Type) {
            precision = T.significandBitCount + 1
            minSubnormalExponent = Int(T.leastNonzeroMagnitude.exponent)
        }

        /// True if an absolute error of at most 2^errLog2 on the computed value `r` keeps the
        /// result within 1/512 ulp of the exact value before the final rounding: relative
        /// 2^-(p+8) (|r| >= 2^r.exponent), or absolute 2^(emin_sub - 9) (subnormal or zero results).
        func accepts(errorLog2: Double, result r: ScaledDoubleWord) -> Bool {
            if errorLog2 <= Double(minSubnormalExponent - 9) { return true }
            if r.isZero { return false }
            return errorLog2 <= Double(r.exponent - precision - 8)
        }
    }

    enum Kind: Sendable { case empty, nan, positiveInfinity, allNegativeInfinity, finite }

    /// Everything the row functions share: the special-value class, the max, and L = log1p(s).
    struct Row {
        var kind: Kind
        /// The maximum and its (first) index.
        var m: Double = -.infinity
        var argmax: Int = -1
        /// The largest finite logit below m (-inf if none).
        var maxBelowMax: Double = -.infinity
        /// s = Σ_{j != argmax} e^(x_j - m), relative error <= rhoS.
        var s: ScaledDoubleWord = .zero
        var rhoS: Double = 0
        /// L = log1p(s) = logsumexp(x) - m, relative error <= rhoL.
        var L: ScaledDoubleWord = .zero
        var rhoL: Double = 0
        /// Number of terms summed (for error bounds).
        var terms: Int = 0
        /// True when s = 0 exactly (no finite logit besides the max). Otherwise s > 0 even if
        /// it is below the extended range's cutoff (e^-16000) and carried as 0: then an
        /// output that rounds to zero from below is -0, as the exact value is negative.
        var sIsExactlyZero: Bool = true

        /// 1 + s = Σ_j e^(x_j - m), relative error <= rhoS (the 1 is exact, s >= 0).
        var S: ScaledDoubleWord { ScaledDoubleWord.one + s }
    }

    /// Passes 0 and 1 over the row: special values, max, second max, s, L.
    ///
    /// Error budget of s: every term e^(x_j - m2) has relative error <= rhoExp; the sum of
    /// positive terms adds (terms + 1)·rhoOp; the terms skipped because x_j - m2 < -700 total
    /// below K·2^-1009 while s2 >= 1; the factor e^(m2 - m) adds rhoExp and the product rhoOp:
    ///   rhoS = 2·rhoExp + (terms + 2)·rhoOp + K·2^-1009      (<= 2^-80 for K <= 2^20)
    /// L = log1p(s): rhoL = rhoS + rhoLog1p (DoubleWordMath.log1p, valid for s >= 0).
    static func analyze<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> Row {
        let k = x.count
        if k == 0 { return Row(kind: .empty) }
        var m = -Double.infinity, m2 = -Double.infinity, a = -1
        for i in 0..<k {
            let v = Double(x[i])
            if v.isNaN { return Row(kind: .nan) }
            if v > m {
                m2 = m
                m = v
                a = i
            } else if v > m2 {
                m2 = v
            }
        }
        if m == .infinity { return Row(kind: .positiveInfinity, m: m, argmax: a) }
        if a < 0 { return Row(kind: .allNegativeInfinity) }
        var row = Row(kind: .finite, m: m, argmax: a)
        if m2 > -.infinity {
            row.sIsExactlyZero = false
            var acc = DoubleWord.zero
            var terms = 0
            var below = -Double.infinity
            for j in 0..<k where j != a {
                let v = Double(x[j])
                if v < m && v > below { below = v }
                let d = twoSum(v, -m2)
                if !(d.hi >= -700) { continue }  // also -inf logits and overflowed differences
                acc = DoubleWord.sameSignSum(acc, DoubleWordMath.exp(d).unscaled)
                terms += 1
            }
            let scale = DoubleWordMath.exp(twoSum(m2, -m))
            row.s = scale * ScaledDoubleWord(acc)
            row.terms = terms
            row.maxBelowMax = below
            row.rhoS = 2 * rhoExp + Double(terms + 2) * rhoOp + Double(k) * 0x1p-1009
        }
        row.L = DoubleWordMath.log1p(row.s)
        row.rhoL = row.rhoS + rhoLog1p
        return row
    }

    /// |m - v| for m >= v, exactly, as an extended-range double-word (also when m - v
    /// overflows binary64: then (m/2 - v/2)·2, where halving is exact for |m| or |v| >= 2^1023
    /// up to the subnormal last bit of the other operand, 2^-1075 against 2^1023).
    static func gap(_ m: Double, _ v: Double) -> ScaledDoubleWord {
        let d = twoSum(m, -v)
        if d.hi.isFinite { return ScaledDoubleWord(d) }
        return ScaledDoubleWord(twoSum(0.5 * m, -0.5 * v), exponent: 1)
    }

    /// Runs the vector path (AccurateVector.swift) for binary64 and binary32 rows; false when
    /// it does not take the row (other formats, special values, T < 2^-860).
    @inline(__always)
    static func vectorPath<T: BinaryFloatingPoint>(
        _ x: UnsafeBufferPointer<T>, _ out: UnsafeMutableBufferPointer<T>,
        _ double: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Bool,
        _ float: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Bool
    ) -> Bool {
        if T.self == Double.self {
            return double(unsafeBitCast(x, to: UnsafeBufferPointer<Double>.self),
                          unsafeBitCast(out, to: UnsafeMutableBufferPointer<Double>.self))
        }
        if T.self == Float.self {
            return float(unsafeBitCast(x, to: UnsafeBufferPointer<Float>.self),
                         unsafeBitCast(out, to: UnsafeMutableBufferPointer<Float>.self))
        }
        return false
    }

    // MARK: - softmax

    /// softmax_i = e^(x_i - m)/(1 + s).
    ///
    /// Error: e^(x_i - m) from an exact double-word difference, rhoExp; 1 + s, rhoS·s/(1+s);
    /// the division rhoOp: ρ <= rhoExp + rhoS + rhoOp <= 2^-80, so <= 0.5 + 2^-27 ulp
    /// (also for subnormal results). softmax_a = 1/(1 + s): rhoS + rhoOp.
    static func softmax<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                               into out: UnsafeMutableBufferPointer<T>) {
        if vectorPath(x, out, AccurateVector.softmax, AccurateVector.softmax) { return }
        let row = analyze(x)
        guard row.kind == .finite else { return out.update(repeating: .nan) }
        let S = row.S
        for i in 0..<x.count {
            out[i] = T(softmaxEntry(x, i, row, S).doubleValue)
        }
    }

    static func softmaxEntry<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, _ i: Int,
                                                    _ row: Row, _ S: ScaledDoubleWord) -> ScaledDoubleWord {
        if i == row.argmax { return ScaledDoubleWord.one / S }
        let d = twoSum(Double(x[i]), -row.m)
        return DoubleWordMath.exp(d) / S
    }

    // MARK: - log_softmax

    /// log_softmax_i = (x_i - m) - L.
    ///
    /// Error: x_i - m is an exact double-word (or -inf when it overflows, where the exact
    /// result also rounds to -inf); both terms are <= 0, so the relative error is at most
    /// rhoL·L/(L + |x_i - m|) + rhoOp <= rhoL + rhoOp <= 2^-80. At i = a the result is -L,
    /// with L carried in extended range (a result of -1e-320 keeps its subnormal digits).
    static func logSoftmax<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                  into out: UnsafeMutableBufferPointer<T>) {
        if vectorPath(x, out, AccurateVector.logSoftmax, AccurateVector.logSoftmax) { return }
        let row = analyze(x)
        guard row.kind == .finite else { return out.update(repeating: .nan) }
        // log_softmax at the max is -L; when L = 0 exactly (no other finite logit) it is +0,
        // as IEEE x - logsumexp(x) gives; when L > 0 underflows, -0.
        let negL = row.sIsExactlyZero ? ScaledDoubleWord.zero : -row.L
        let negLdw = negL.unscaled
        for i in 0..<x.count {
            if i == row.argmax {
                out[i] = T(negL.doubleValue)
                continue
            }
            let d = twoSum(Double(x[i]), -row.m)
            if !d.hi.isFinite {
                out[i] = -.infinity
                continue
            }
            if d.hi == 0 {
                out[i] = T(negL.doubleValue)
                continue
            }
            out[i] = T(DoubleWord.sameSignSum(d, negLdw).hi)
        }
    }

    // MARK: - logsumexp

    /// logsumexp = m + L.
    ///
    /// Error: m is exact, so the absolute error is at most rhoL·|L| + 3.1u²(|m| + |L|) (the
    /// any-sign sum), <= 2·rhoL·|L| + 3.1u²·|m + L| as |m| <= |m + L| + |L|. No cancellation
    /// when m >= 0 or L <= |m|/2; otherwise the relative error is amplified by L/|m + L|. The bound is tested (`Grid.accepts`: 1/512 ulp); if it fails, `SlowPath`
    /// recomputes t = Σ e^(x_j) - 1 with MPFloat until |error| <= 2^-(p+8)·|t| (or below
    /// 2^(emin_sub - 9)) and returns log1p(t) (2^-97): <= 0.5 + 2^-8 ulp in every case.
    static func logsumexp<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>) -> T {
        let row = analyze(x)
        switch row.kind {
        case .nan: return .nan
        case .positiveInfinity: return .infinity
        case .empty, .allNegativeInfinity: return -.infinity
        case .finite: break
        }
        let r = ScaledDoubleWord(row.m) + row.L
        // L = 0: the result is m exactly; + 0 turns a -0 maximum into +0 (log 1 is an exact
        // zero, +0) and changes no other value.
        if row.L.isZero { return T(r.doubleValue + 0) }
        let errLog2 = Double.log2(row.rhoL * 2.0) + Double(row.L.exponent) + 1
        if Grid(T.self).accepts(errorLog2: errLog2, result: r) || abs(row.m) > 1000 {
            return T(r.doubleValue)
        }
        return T(SlowPath.logsumexp(x, max: row.m, grid: Grid(T.self), fallback: r))
    }

    // MARK: - cross-entropy

    /// CE(t) = (m - x_t) + L; CE(a) = L.
    ///
    /// Error: m - x_t >= 0 is exact (or overflows, where the exact value also rounds to +inf),
    /// L >= 0: relative error <= rhoL + rhoOp <= 2^-80; with target a the result is L itself,
    /// in extended range, so a loss of 1e-320 keeps its digits.
    static func crossEntropy<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, target t: Int) -> T {
        let row = analyze(x)
        guard row.kind == .finite else { return .nan }
        if t == row.argmax { return T(row.L.doubleValue) }
        let d = twoSum(row.m, -Double(x[t]))
        if !d.hi.isFinite { return .infinity }
        if d.hi == 0 { return T(row.L.doubleValue) }
        return T(DoubleWord.sameSignSum(d, row.L.unscaled).hi)
    }

    /// CE(p) = Σ_i p_i·(L + (m - x_i)), with 0·(+inf) = 0 (p_i = 0 at x_i = -inf).
    ///
    /// Error (p_i finite and >= 0): each term is a product of nonnegative extended-range
    /// double-words, relative error <= rhoL + 3·rhoOp; the sum of nonnegative terms adds
    /// K·rhoOp: ρ <= rhoL + (K + 3)·rhoOp <= 2^-80. Extended range keeps p_i = 1e-310 or a
    /// term above 1e308 exact until the single final rounding.
    static func crossEntropy<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                    probabilities p: UnsafeBufferPointer<T>) -> T {
        let row = analyze(x)
        guard row.kind == .finite else { return .nan }
        var acc = ScaledDoubleWord.zero
        for i in 0..<x.count {
            let pi = Double(p[i])
            if pi.isNaN { return .nan }
            if pi == 0 { continue }
            let v = Double(x[i])
            if v == -.infinity { return pi > 0 ? .infinity : -.infinity }
            let term = i == row.argmax ? row.L : row.L + gap(row.m, v)
            acc = acc + ScaledDoubleWord(pi) * term
        }
        return T(acc.doubleValue)
    }

    // MARK: - gradient

    /// ∂CE(t)/∂x: softmax_i for i != t, and at t: -(Σ_{j != t} e^(x_j - m))/(1 + s), computed
    /// as -s/(1 + s) when t = a and as -((1 + s) - e_t)/(1 + s) otherwise.
    ///
    /// Error: for t = a, rhoS + rhoOp. For t != a, (1 + s) - e_t has absolute error
    /// <= rhoS·s + rhoExp·e_t + 3.1u²(1 + s + e_t) while its value is >= max(1, s) (e_t <= 1
    /// and e_t is one of the terms of s), so its relative error is <= 2·(rhoS + rhoExp) +
    /// 12.4u² <= 2·(rhoS + rhoExp) + rhoOp; with the
    /// division, ρ <= 3·rhoS + 2·rhoExp + 2·rhoOp <= 2^-78. Other entries: as softmax.
    static func crossEntropyGrad<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>, target t: Int,
                                                        into out: UnsafeMutableBufferPointer<T>) {
        let row = analyze(x)
        guard row.kind == .finite else { return out.update(repeating: .nan) }
        let S = row.S
        for i in 0..<x.count {
            if i != t {
                out[i] = T(softmaxEntry(x, i, row, S).doubleValue)
            } else if t == row.argmax {
                out[i] = row.sIsExactlyZero ? 0 : (row.s.isZero ? -0.0 : T((-(row.s / S)).doubleValue))
            } else {
                let et = DoubleWordMath.exp(twoSum(Double(x[t]), -row.m))
                out[i] = T((-((S - et) / S)).doubleValue)
            }
        }
    }

    /// ∂CE(p)/∂x_i = softmax_i·P - p_i with P = Σ_j p_j.
    ///
    /// Fast path: softmax_i (relative rhoExp + rhoS + rhoOp), P (K any-sign sums, each within
    /// 3.1u²·2Σ|p_j| <= rhoOp·Σ|p_j|), the product rhoOp and the difference (any-sign sum,
    /// 3.1u²(softmax_i·|P| + |p_i|) <= 6.2u²·softmax_i·Σ|p| + 3.1u²·|g_i|): absolute error
    ///   <= (rhoExp + rhoS + (K + 3)·rhoOp)·softmax_i·Σ|p| + rhoOp·|g_i|,
    /// and the test below doubles the first term; accepted when that is 1/512 ulp of the computed g_i (`Grid.accepts`). Otherwise
    /// (p_i ≈ softmax_i·P, e.g. targets equal to the model's own rounded probabilities) the entry
    /// is recomputed by `SlowPath.gradient` (escalating MPFloat precision, same test), or exactly
    /// when all finite logits are equal (softmax = 1/n: g = (P - n·p_i)/n from an exact P; also
    /// when the other logits are more than 1800 below the max, where they only decide the sign
    /// of a zero).
    static func crossEntropyGrad<T: BinaryFloatingPoint>(_ x: UnsafeBufferPointer<T>,
                                                        probabilities p: UnsafeBufferPointer<T>,
                                                        into out: UnsafeMutableBufferPointer<T>) {
        let row = analyze(x)
        let k = x.count
        var anyNaN = false
        for i in 0..<k where Double(p[i]).isNaN { anyNaN = true }
        guard row.kind == .finite, !anyNaN else {
            return out.update(repeating: .nan)
        }
        var P = ScaledDoubleWord.zero
        var absP = ScaledDoubleWord.zero
        for i in 0..<k {
            let pi = Double(p[i])
            if pi == 0 { continue }
            P = P + ScaledDoubleWord(pi)
            absP = absP + ScaledDoubleWord(abs(pi))
        }
        let S = row.S
        let grid = Grid(T.self)
        let rho = rhoExp + row.rhoS + Double(k + 3) * rhoOp
        var failed: [Int] = []
        for i in 0..<k {
            let pi = Double(p[i])
            if Double(x[i]) == -.infinity {
                out[i] = T(-pi)
                continue
            }
            let sigma = softmaxEntry(x, i, row, S)
            let g = sigma * P - ScaledDoubleWord(pi)
            out[i] = T(g.doubleValue)
            if P.isZero { continue }
            let scaleBound = sigma * absP
            // softmax_i below the extended range (< e^-16000): the error is below 2^-22000.
            if scaleBound.isZero { continue }
            let errLog2 = Double.log2(rho * 2.0) + Double(scaleBound.exponent) + 1
            if !grid.accepts(errorLog2: errLog2, result: g) { failed.append(i) }
        }
        if !failed.isEmpty {
            // "All equal": every finite logit equals m or lies more than 1800 below it (its
            // softmax is below e^-1800, irrelevant at any precision the slow path could use).
            let allEqual = row.maxBelowMax == -.infinity || twoSum(row.maxBelowMax, -row.m).hi < -1800
            SlowPath.gradient(x, probabilities: p, max: row.m, allEqual: allEqual,
                              negligibleTerms: row.maxBelowMax > -.infinity,
                              indices: failed, grid: grid, into: out)
        }
    }
}
