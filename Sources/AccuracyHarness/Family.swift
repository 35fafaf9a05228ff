/// The generator families of extreme logits. Each family stresses one way a softmax-family
/// implementation can lose accuracy or mishandle a special value; ``CaseGenerator`` turns a
/// family, a seed, a format, a function and an index into one deterministic case.
///
/// Every family works for every ``Format`` (the brief requires f64, f32, f16 and bf16; the FP8
/// formats work too). Finite inputs are always values of the case's format (rounded with
/// `Format.round`, saturated at ±maxFinite rather than overflowing). Infinities and NaN appear
/// only in the families made for them (and in e4m3fn, which has no infinity, they are binary64
/// infinities). Thresholds such as ln(maxFinite) are computed with ``DeterministicMath``.
///
/// Raw values are the names used in reports, fixture files and on the command line.
public enum Family: String, CaseIterable, Sendable, Hashable, Codable, Comparable {
    /// Uniform in [−R, R] with R = 2^e, e uniform in [0, maxExponent]: from ordinary logits to
    /// the whole finite range. Stresses the plain path and naive exp overflow at once.
    case uniformWide = "uniform_wide"
    /// Normal with σ = 1 around 0, around a moderate mean, or around a large offset (up to
    /// 2^20, capped by the format). The everyday case: errors here are what users see most.
    case normalSmall = "normal_small"
    /// Normal with σ log-uniform in [2^13, 2^99] (about 1e4 to 1e30), capped at maxFinite/8
    /// (so f16 gets σ ∈ [2^11, 2^12)); values saturate at ±maxFinite. Softmax is nearly one-hot
    /// and losses are huge: tests that shifting by the max is done and that nothing overflows.
    case normalHuge = "normal_huge"
    /// One logit near +S/2 and one near −S/2 with S = 2^e up to 2^997 (≈1.3e300, capped by the
    /// format), the rest of random sign and log-uniform magnitude; a quarter of cases are integer
    /// ladders {−1, 0, 1}·step with step ∈ {1e3, 1e4, 1e8, 1e100, 1e300}, the user story's
    /// [1000, 0, −1000]. True cross-entropies are finite and huge; softmax is [0, …, 1].
    case wideSpread = "wide_spread"
    /// The largest logit on the format's grid within ±3 steps of ln(maxFinite) (709.78 for f64,
    /// 88.72 f32/bf16, 11.09 f16), the others near it or up to 40 below; a quarter of rows are
    /// negated (so exp(−x) overflows, the sigmoid/softplus edge). exp(x) overflows in an
    /// unshifted kernel right at this edge.
    case expOverflow = "exp_overflow"
    /// A maximum m (0, small, or below ln(leastPositive) so every unshifted exp underflows) and
    /// logits at m + t, t within ±3 grid steps of ln(minNormal), ln(leastPositive) and
    /// ln(leastPositive/2) (−708.4, −744.4, −745.1 for f64; −87.3, −103.3, −104.0 for f32):
    /// exp(x − m) becomes subnormal, least-subnormal, or zero exactly there.
    case expUnderflow = "exp_underflow"
    /// Near-ties at a large offset c ∈ {1e6, 1e15, 1e300, 2^(p+2), 1.5·2^(maxExponent−1)} (those
    /// at most maxFinite/2), of random sign: logits c + k·ulp(c), k ∈ −2…2. The logits differ
    /// only in their last bits: x − max is exact, but anything computed from c itself (exp(c),
    /// a sum of the raw logits) is not.
    case nearTies = "near_ties"
    /// A target logit x_t above all others by gaps g_j ≥ g, with g chosen so that the loss
    /// log1p(Σ e^(x_j − x_t)) ≤ (K − 1)·e^(−g) ≈ 2^L2, L2 spread over the format's normal range
    /// down to −4 and, in 40 % of cases, over its subnormal range and just past the least
    /// subnormal (for f64 losses of 1e-300 and below). Stresses cancellation in
    /// logsumexp − x_t: a naive kernel returns 0 or noise. K ∈ 2…16; hard target t.
    case dominantTarget = "dominant_target"
    /// Some, but not all, logits −inf (masked). The target is on a finite logit in 80 % of cases,
    /// on a masked one (true loss +inf) otherwise. Tests that −inf contributes exactly 0.
    case partialMask = "partial_mask"
    /// Every logit −inf: logsumexp −inf, softmax / log_softmax / cross_entropy NaN (0/0).
    case fullMask = "full_mask"
    /// One +inf logit (and, in a quarter of rows with K ≥ 3, one −inf): logsumexp +inf; softmax,
    /// log_softmax and cross_entropy NaN (inf/inf), as PyTorch, JAX and SciPy.
    case positiveInfinity = "positive_infinity"
    /// One NaN logit (and in a quarter of rows also a ±inf): every output NaN.
    case nan = "nan"
    /// K = 1: a single logit, drawn small, huge, subnormal, ±0, ±maxFinite or near ln(maxFinite).
    /// Softmax must be exactly [1], log_softmax [0], cross_entropy 0.
    case singleLogit = "single_logit"
    /// K ∈ {1 000, 10 000, 100 000} (by index modulo 3), normal logits. Stresses summation error
    /// growth with K. Keep counts small: see ``recommendedMaximumCount``.
    case largeK = "large_k"
    /// Subnormal logits of the format, ±0 and the least normal's neighbours. Softmax ≈ 1/K,
    /// sigmoid ≈ ½ + x/4, softplus ≈ ln 2 + x/2: tests flush-to-zero and tiny-argument paths.
    case subnormalLogits = "subnormal_logits"
    /// Uniform over the format's finite bit patterns: every binade equally likely, signs mixed.
    /// A blunt but unbiased sweep over the whole range.
    case bitPatterns = "bit_patterns"
    /// Logits in (ln(maxFinite) − ln K, ln(maxFinite)]: each exp(x_j) is finite in the format but
    /// Σ exp(x_j) overflows it (for f16: x ≈ 10.4…11.09, exp ≈ 3.3e4…6.5e4, sum > 65504).
    /// Breaks unshifted sums, and shifted ones accumulated in the input format. K ∈ 2…64.
    case sumOverflow = "sum_overflow"
    /// Soft-capping near saturation: the cross-entropies get `softcap` c ∈ {1, 5, 30, 50} (by
    /// index modulo 4, in the format) and logits mostly of magnitude c·2^e, e ∈ 1…12 (|x| ≫ c,
    /// tanh(x/c) within e^-4 of ±1 or far closer), some repeated (ties at saturation), a quarter
    /// in (−c, c). K ∈ 2…16. The other functions see the row alone.
    case softcapSaturation = "softcap_saturation"
    /// z-loss dominating: logits around a large offset ±2^(8…14) (capped by the format), σ ∈
    /// [1, 4]; the cross-entropies get `z_loss` 2^-(1…6) and, in a third of cases, a
    /// `temperature` ∈ {0.5, 0.7, 2}: coefficient·logsumexp² >= 2^-6·128² = 256 in f64/f32,
    /// above the cross-entropy (at most about 8σ/T + log K ≈ 70).
    case zLossDominant = "z_loss_dominant"
    /// Every row ignored: the batch losses get every target = ignore_index (mean: NaN; the
    /// backward: all exact zeros). Other functions see an ordinary row.
    case allIgnored = "all_ignored"

    /// The families in declaration order (also the order of reports).
    public static func < (lhs: Family, rhs: Family) -> Bool {
        lhs.order < rhs.order
    }

    /// Position in `allCases`.
    public var order: Int { Family.allCases.firstIndex(of: self)! }

    /// A cap on cases per run that keeps a default report fast (``RunConfiguration`` applies it
    /// unless told otherwise): 3 for ``largeK`` (one of each K), none for the others.
    public var recommendedMaximumCount: Int? {
        self == .largeK ? 3 : nil
    }

    /// True for the families whose inputs include NaN or infinities.
    public var hasSpecialInputs: Bool {
        switch self {
        case .partialMask, .fullMask, .positiveInfinity, .nan: true
        default: false
        }
    }
}
