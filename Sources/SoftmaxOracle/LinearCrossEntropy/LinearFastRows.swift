import DoubleWordArithmetic

/// One kept row of the fast tier: the row's logsumexp and cross-entropy, and the factors of its
/// gradient with respect to the logits, each a `BoundedValue` that encloses the exact value.
///
/// From the computed logits ẑ_j (double words, each within E of the exact z*_j, Lemma 2 of
/// ProductEnclosure.swift): M = the first index of the largest ẑ (normalized double words
/// compare by (hi, lo)), d̂_j = ẑ_j − ẑ_M by `anySignSum` (error <= 3.1u²(|ẑ_j| + |ẑ_M|) <=
/// 6.4u²·max|ẑ|, so η = 6.4u²·max|ẑ|; a computed d̂_j > 0 is set to 0, which moves it towards
/// the true difference <= 0). With y_j = ẑ_M + d̂_j (exact reals), |y_j − z*_j| <= E' = E + η.
/// Everything below is exact arithmetic on y up to the stated roundings, and then:
/// - logsumexp is 1-Lipschitz in the max norm: |lse(y) − lse(z*)| <= E';
/// - CE = lse − z_t: |CE(y) − CE(z*)| <= 2E';
/// - e*_j = e^(d̂_j + δ_j), |δ_j| <= E', lies within (e^E' − 1)·e_j <= 1.01E'·e_j of e_j = e^(d̂_j)
///   (E' <= 2^-12), and so do S = Σ e_j and S − e_t = Σ_{j≠t} e_j (sums of such terms); softmax_j =
///   e_j/S and 1 − softmax_t = (S − e_t)/S then follow through `BoundedValue`'s division.
/// The exponentials are `DoubleWordExp.exp` (2^-101 relative; d̂ >= −2^20, else the row is left
/// to the MPFR path); s = Σ_{j≠M} e_j is summed in a `FixedPointSum` relative to the largest
/// term's scale 2^K (each of the 2V parts truncated by < 2^(K−126), and s >= 2^K(1 − 2^-17.5)),
/// so ε_s = 2^-101 + 2V·2^-126·1.02 + the conversion's 2^-104.9, as in ExactRowSum.swift;
/// L = log1p(s) by `DoubleWordLog1p` (its run-time bound ε_L, which includes ε_s).
struct LinearFastRow {
    /// logsumexp of the row.
    var lse: BoundedValue
    /// lse − z_t, the unweighted cross-entropy.
    var ce: BoundedValue
    /// M, the index of the largest logit.
    var maxIndex: Int
    /// E' (see the type's notes).
    var logitError: Double
    /// S = 1 + s and S − e_t, with the E' perturbation included.
    var sum: BoundedValue
    var sumWithoutTarget: BoundedValue

    /// The row from its computed logits (zh, zl: V values), target t and logit bound E, or nil
    /// when it is out of the tier's scope. Writes e_j = e^(d̂_j) as plain double words into eh, el
    /// (0 where they underflow; e_M = 1).
    static func make(zh: UnsafePointer<Double>, zl: UnsafePointer<Double>, classes v: Int, target t: Int,
                     logitError e: Double, eh: UnsafeMutablePointer<Double>, el: UnsafeMutablePointer<Double>) -> LinearFastRow? {
        let u2 = unitRoundoffSquared
        var mIndex = 0
        var top = 0.0
        for j in 0..<v {
            if zh[j] > zh[mIndex] || (zh[j] == zh[mIndex] && zl[j] > zl[mIndex]) { mIndex = j }
            top = Swift.max(top, zh[j].magnitude)
        }
        let eP = roundedUp(e + 6.4 * u2 * top * (1 + 0x1p-50))
        guard eP <= 0x1p-12 else { return nil }
        let zm = DoubleWord(zh[mIndex], zl[mIndex])
        let tab = DoubleWordExpTable.shared
        var kMax = Int.min
        var dt = DoubleWord(0, 0)
        // First pass: exponentials as 2^k·M, M kept in eh/el, k in the exponent of a marker.
        var ks = [Int](repeating: 0, count: v)
        for j in 0..<v where j != mIndex {
            var d = DoubleWord.anySignSum(DoubleWord(zh[j], zl[j]), -zm)
            if d.hi > 0 || (d.hi == 0 && d.lo > 0) { d = DoubleWord(0, 0) }
            if j == t { dt = d }
            guard d.hi >= DoubleWordExp.lowestArgument else { return nil }
            let x = DoubleWordExp.exp(d.hi, d.lo, tab)
            eh[j] = x.m.hi
            el[j] = x.m.lo
            ks[j] = x.k
            kMax = Swift.max(kMax, x.k)
        }
        var fixed = FixedPointSum()
        for j in 0..<v where j != mIndex {
            fixed.add(eh[j], scale: ks[j] - kMax)
            fixed.add(el[j], scale: ks[j] - kMax)
        }
        var l = BoundedValue.zero
        var sPlain = DoubleWord(0, 0)
        var epsS = 0.0
        if v > 1 {
            guard let f = fixed.value() else { return nil }
            epsS = roundedUp(DoubleWordExp.relativeError * 1.0001 + Double(2 * v) * 0x1p-126 * 1.02 + FixedPointSum.conversionError * 1.0001)
            let sd = ScaledDoubleWord(hi: f.hi, lo: f.lo, exponent: f.exponent + kMax)
            let s = DoubleWord(f.hi, f.lo)
            guard let (lv, epsL) = DoubleWordLog1p.logOnePlus(sd, relativeError: epsS, tab) else { return nil }
            if lv.exponent >= -1000 {
                let plain = DoubleWord(scaled(lv.hi, by: lv.exponent), scaled(lv.lo, by: lv.exponent))
                l = BoundedValue(plain, err: roundedUp(epsL * powerOfTwo(lv.exponent + 1) + 0x1p-1074))
            } else {
                l = BoundedValue(DoubleWord(0, 0), err: 0x1p-999)
            }
            sPlain = DoubleWord(scaled(s.hi, by: f.exponent + kMax), scaled(s.lo, by: f.exponent + kMax))
            for j in 0..<v where j != mIndex {
                eh[j] = scaled(eh[j], by: ks[j])
                el[j] = scaled(el[j], by: ks[j])
            }
        }
        eh[mIndex] = 1
        el[mIndex] = 0
        let lse = (BoundedValue(zm) + l).widened(by: eP)
        let ce = (BoundedValue(-dt) + l).widened(by: 2 * eP)
        let perturb = 1.01 * eP
        let sv = DoubleWord.sameSignSum(DoubleWord(1, 0), sPlain)
        let sumBound = BoundedValue(sv, err: roundedUp((perturb + 3.1 * u2) * sv.hi * (1 + 0x1p-50) + epsS * sPlain.hi * (1 + 0x1p-50) + BoundedValue.slack))
        var without: BoundedValue
        if t == mIndex {
            without = BoundedValue(sPlain, err: roundedUp((perturb + epsS) * sPlain.hi * (1 + 0x1p-50) + BoundedValue.slack))
        } else {
            let et = DoubleWord(eh[t], el[t])
            let diff = DoubleWord.anySignSum(sPlain, -et)
            let w = DoubleWord.sameSignSum(DoubleWord(1, 0), diff.hi >= 0 ? diff : DoubleWord(0, 0))
            without = BoundedValue(w, err: roundedUp(
                (perturb + 3.1 * u2) * w.hi * (1 + 0x1p-50) + epsS * sPlain.hi * (1 + 0x1p-50) + 0x1p-101 * et.hi
                    + 3.2 * u2 * (sPlain.hi + et.hi) * (1 + 0x1p-50) + diff.hi.magnitude * (diff.hi < 0 ? 1 : 0) + BoundedValue.slack))
        }
        return LinearFastRow(lse: lse, ce: ce, maxIndex: mIndex, logitError: eP, sum: sumBound, sumWithoutTarget: without)
    }

    /// e_j as a `BoundedValue`: the exponential's 2^-101 and the perturbation 1.01E', relative,
    /// and 2^-1072 for a part that underflowed when scaled.
    @inline(__always)
    func exponential(_ eh: Double, _ el: Double) -> BoundedValue {
        BoundedValue(DoubleWord(eh, el), err: roundedUp((0x1p-101 + 1.01 * logitError) * eh * (1 + 0x1p-50) + 0x1p-1072))
    }

    /// The row's gradient with respect to its logits, G_j = coefficient·softmax_j − α·[j = t]:
    /// coefficient = α + β (α = σ·w[t], β = τ·2·zLoss·lse), written as double words (gh, gl)
    /// with bounds gerr. The target's entry is −α·(S − e_t)/S + β·e_t/S (no cancellation
    /// between 1 and softmax_t).
    func gradient(alpha: BoundedValue, beta: BoundedValue?, target t: Int, classes v: Int,
                  eh: UnsafePointer<Double>, el: UnsafePointer<Double>,
                  gh: UnsafeMutablePointer<Double>, gl: UnsafeMutablePointer<Double>, gerr: UnsafeMutablePointer<Double>) {
        let inv = BoundedValue(1) / sum
        let coefficient = beta.map { alpha + $0 } ?? alpha
        let scaledCoefficient = coefficient * inv
        for j in 0..<v {
            var g: BoundedValue
            if j == t {
                g = -(alpha * (sumWithoutTarget * inv))
                if let beta { g = g + beta * (exponential(eh[j], el[j]) * inv) }
            } else {
                g = scaledCoefficient * exponential(eh[j], el[j])
            }
            gh[j] = g.v.hi
            gl[j] = g.v.lo
            gerr[j] = g.err
        }
    }
}
