import SoftmaxOracle

/// The upstream gradients dy of `softmax_backward` and `log_softmax_backward` cases, drawn on
/// top of the family's logits (which are the same rows as every other function's). One of
/// seven kinds, uniformly, every value finite and a value of the case's format:
///
/// | kind | dy | what it reaches |
/// |---|---|---|
/// | random | normal, σ = 1 | the everyday case |
/// | constant | one value c everywhere | softmax_backward = 0 exactly (textbook kernels give noise) |
/// | one-hot | 1 at one index, 0 elsewhere | dy − ⟨dy, y⟩ cancels at that index when y is one-hot |
/// | zero-sum | a, −a at two indices, 0 elsewhere | Σ dy = 0: log_softmax_backward = dy exactly |
/// | huge/tiny | random sign, log-uniform over the whole finite range | overflow of products and sums, subnormal outputs |
/// | near-constant | c + k·ulp(c), k ∈ −2…2 | deep cancellation in dy_i − ⟨dy, y⟩ |
/// | logits | dy = x (finite logits; 0 for non-finite) | gradients correlated with the logits |
enum GradOutputKind: CaseIterable {
    case random, constant, oneHot, zeroSum, hugeTiny, nearConstant, logits
}

extension CaseGenerator {
    /// K upstream gradient values for a backward case (see `GradOutputKind`).
    static func gradOutput(_ k: Int, logits: [Double], _ c: inout RowContext) -> [Double] {
        let f = c.format
        switch c.rng.nextElement(of: GradOutputKind.allCases) {
        case .random:
            return (0..<k).map { _ in c.normal(mean: 0, sd: 1) }
        case .constant:
            let v = c.signed(c.value(c.logUniform(-4...4)))
            return [Double](repeating: v, count: k)
        case .oneHot:
            var dy = [Double](repeating: 0, count: k)
            if k > 0 { dy[c.rng.nextInt(in: 0..<k)] = 1 }
            return dy
        case .zeroSum:
            var dy = [Double](repeating: 0, count: k)
            let a = c.signed(c.value(c.logUniform(-8...8)))
            if k >= 2 {
                let i = c.rng.nextInt(in: 0..<k)
                let j = (i + c.rng.nextInt(in: 1..<k)) % k
                dy[i] = a
                dy[j] = -a
            }
            return dy
        case .hugeTiny:
            return (0..<k).map { _ in c.signed(c.value(c.logUniform(f.minSubnormalExponent...f.maxExponent))) }
        case .nearConstant:
            let v = c.signed(c.value(c.logUniform(-4...8)))
            return (0..<k).map { _ in FormatGrid.step(v, by: c.rng.nextInt(in: -2...2), f) }
        case .logits:
            return logits.map { $0.isFinite ? $0 : 0 }
        }
    }
}
