import DoubleWordArithmetic

/// The `accurate` kernel's soft-capped and z-loss cross-entropy (hard target, forward):
///
///     u_j = x_j / T  (temperature T; u = x without),
///     z_j = c·tanh(u_j / c)  (softcap c; z = u without),  CE = logsumexp(z) − z_t,
///     loss = CE + zLoss·logsumexp(z)²,
///
/// in double-words (DoubleWordMath, u = 2^-53), in the shifted form of the oracle (d_j = z_j − z_M
/// from the exact difference x_j − x_M, never as a difference of two rounded tanh values):
/// - no soft-cap: d_j = (x_j − x_M)/T (an exact two-sum, then one quotient; when the difference
///   overflows binary64, x_j/T − x_M/T, two quotients of opposite signs);
/// - same side of 0 (p = the smaller |a|, q = the larger, a = x/T/c, Δ = (x_M − x_j)/T/c):
///   d_j = 2c·e^(−2p)·expm1(−2Δ) / ((1 + e^(−2p))·(1 + e^(−2q))), no cancellation, no overflow;
/// - opposite sides: d_j = −c·(|tanh a_j| + |tanh a_M|); ±inf logits are the limits ±c.
///
/// **Error bound** (K <= 2^36, stated for the value before the final rounding). Each d_j has
/// relative error <= 2^-94 (two exps and one expm1 at 2^-98, three quotients and five
/// double-word operations at <= 16u² each, the divisions x/T/c at 2·14u² each); an e_j that matters (d_j >= −80) then
/// has relative error <= 80·2^-94 + 2^-98 <= 2^-87, so s (a sum of positive terms) and
/// L = log1p(s) (2^-97) are within 2^-86, and CE = L + |d_t| (both >= 0) within 2^-85.
/// logsumexp = z_M + L can cancel (z_M < 0): its absolute error δ <= 2^-85·(|z_M| + L). If
/// |lse| >= (|z_M| + L)/4 the z-loss term is within 2^-82 relative; otherwise L > 0.6·|z_M|, so
/// δ <= 2^-83.6·L and the term's error zLoss·(2|lse|δ + δ²) <= zLoss·L²·2^-83, which relative
/// to loss >= CE >= L is <= zLoss·L·2^-83 <= zLoss·2^-78 (L <= log K <= 25). In all, relative
/// error <= 2^-78·(1 + zLoss): within 0.5 + 2^-25·(1 + zLoss) ulp in f64 after the rounding,
/// and 0.5 + 2^-29 ulp in f32 (double rounding through binary64 adds 2^-29): **within 2 ULP in
/// both for zLoss <= 2^24**, 0.5 + 2^-24 ulp for zLoss <= 1 (tested at that bound).
public enum AccurateLossOptions {
    /// The loss above for a hard target `t` in [0, K). NaN for a NaN logit; without soft-capping
    /// also for +inf or all −inf (as the oracle), and +inf for x_t = −inf.
    public static func crossEntropy<T: BinaryFloatingPoint>(
        _ x: [T], target t: Int, softcap: Double?, zLoss: Double, temperature: Double? = nil
    ) -> T {
        let scale = Scale(temperature: temperature, softcap: softcap)
        let xs = x.map { Double($0) }
        if xs.contains(where: \.isNaN) { return .nan }
        if softcap == nil {
            if xs.contains(.infinity) || !xs.contains(where: \.isFinite) { return .nan }
            if xs[t] == -.infinity { return .infinity }
        }
        var mIndex = xs.firstIndex { softcap != nil || $0.isFinite }!
        for (j, v) in xs.enumerated() where (softcap != nil || v.isFinite) && v > xs[mIndex] { mIndex = j }
        let xm = xs[mIndex]
        let a = xs.map { scale.tanhArgument(twoSum($0, 0)) }
        var s = ScaledDoubleWord.zero
        var dt = ScaledDoubleWord.zero
        for (j, v) in xs.enumerated() where j != mIndex && (softcap != nil || v.isFinite) {
            let d = difference(v, xm, aj: a[j], am: a[mIndex], scale)
            if j == t { dt = d }
            s = s + DoubleWordMath.exp(d.unscaled)
        }
        if !dt.isFinite { return .infinity }  // x_M − x_t overflowed binary64: so does the loss
        let L = DoubleWordMath.log1p(s)
        var loss = L - dt
        if zLoss != 0 {
            var zm = ScaledDoubleWord(scale.byTemperature(DoubleWord(xm, 0)))
            if let c = softcap {
                zm = xm.isInfinite ? ScaledDoubleWord(xm > 0 ? c : -c)
                    : ScaledDoubleWord(c) * tanhOfMagnitude(abs(a[mIndex])) * ScaledDoubleWord(xm < 0 ? -1 : 1)
            }
            let lse = zm + L
            loss = loss + ScaledDoubleWord(zLoss) * lse * lse
        }
        return T(loss.doubleValue)
    }

    /// d_j = z_j − z_M (x_j < x_M, neither NaN; ±inf only under soft-capping).
    static func difference(_ xj: Double, _ xm: Double, aj: DoubleWord, am: DoubleWord, _ scale: Scale) -> ScaledDoubleWord {
        if xj == xm { return .zero }
        guard let c = scale.softcap else {
            let d = twoSum(xj, -xm)
            if d.hi.isFinite { return ScaledDoubleWord(scale.byTemperature(d)) }
            return ScaledDoubleWord(DoubleWord.anySignSum(scale.byTemperature(DoubleWord(xj, 0)), -scale.byTemperature(DoubleWord(xm, 0))))
        }
        let cc = ScaledDoubleWord(c)
        if xm == .infinity { return xj == -.infinity ? ScaledDoubleWord(-2 * c) : -(cc * onePlusTanh(-aj)) }
        if xj == -.infinity { return -(cc * onePlusTanh(am)) }
        if xj >= 0 || xm <= 0 {
            let (p, q) = xj >= 0 ? (aj, am) : (-am, -aj)
            let delta = scale.tanhArgument(twoSum(xm, -xj))
            let ep = expOfMinusTwice(p), eq = expOfMinusTwice(q)
            let one = ScaledDoubleWord.one
            return ScaledDoubleWord(2 * c) * ep * expm1OfMinusTwice(delta) / ((one + ep) * (one + eq))
        }
        return -(cc * (tanhOfMagnitude(-aj) + tanhOfMagnitude(am)))
    }

    /// e^(−2p) for p >= 0 (0 past p = 8000, below 2^-23000; also for p = +inf or an overflowed p).
    static func expOfMinusTwice(_ p: DoubleWord) -> ScaledDoubleWord {
        guard p.hi <= 8000 else { return .zero }
        return DoubleWordMath.exp(DoubleWord(-2 * p.hi, -2 * p.lo))
    }

    /// expm1(−2Δ) for Δ >= 0: e^y − 1 directly for y <= −1/2 (|result| >= 0.39: no cancellation),
    /// else expm1(y.hi) + e^(y.hi)·y.lo (the dropped y.lo²/2 is below 2^-106 relative).
    static func expm1OfMinusTwice(_ delta: DoubleWord) -> ScaledDoubleWord {
        let y = DoubleWord(-2 * delta.hi, -2 * delta.lo)
        if !(y.hi > -0.5) { return DoubleWordMath.exp(y) - .one }
        let e = DoubleWordMath.expm1(y.hi)
        return ScaledDoubleWord(DoubleWord.anySignSum(e, DoubleWord.product(DoubleWord.sum(e, 1), y.lo)))
    }

    /// tanh(a) for a >= 0: −expm1(−2a) / (1 + e^(−2a)), no cancellation.
    static func tanhOfMagnitude(_ a: DoubleWord) -> ScaledDoubleWord {
        -expm1OfMinusTwice(a) / (.one + expOfMinusTwice(a))
    }

    /// 1 + tanh(u): 1 + tanh(u) for u >= 0, 2e^(−2|u|)/(1 + e^(−2|u|)) for u < 0.
    static func onePlusTanh(_ u: DoubleWord) -> ScaledDoubleWord {
        if u.hi >= 0 { return .one + tanhOfMagnitude(u) }
        let e = expOfMinusTwice(-u)
        return ScaledDoubleWord(2) * e / (.one + e)
    }
}

/// Division by T and c, each a `DoubleWord.quotient` (14u²), skipped when absent.
struct Scale {
    let temperature: Double?
    let softcap: Double?

    func byTemperature(_ v: DoubleWord) -> DoubleWord {
        temperature.map { DoubleWord.quotient(v, DoubleWord($0, 0)) } ?? v
    }

    /// v/T/c (v/T without a soft-cap).
    func tanhArgument(_ v: DoubleWord) -> DoubleWord {
        softcap.map { DoubleWord.quotient(byTemperature(v), DoubleWord($0, 0)) } ?? byTemperature(v)
    }
}

private func abs(_ a: DoubleWord) -> DoubleWord { a.hi < 0 ? -a : a }
