import ParallelExecution

// The fused linear cross-entropy: where each part lives.
//
//   LinearCrossEntropyInputs.swift  the request's model (matrices, targets, grad_output)
//   LinearValidation.swift          shapes and values, naming the field
//   ExactLogits.swift               z = H·Wᵀ + b exactly, as MPFR numbers
//   LinearExactPath.swift           the MPFR path: enclosures with escalation (every option)
//   ExactZeroGradients.swift        the gradients' exact zeros and exact-form enclosures
//   ProductEnclosure.swift          the fast tier's compensated products and their proven bounds
//   BoundedValue.swift              double-words with absolute error bounds (the row arithmetic)
//   LinearFastRows.swift            the fast tier's per-row loss and gradient with respect to z
//   LinearFastTier.swift            the fast tier's outputs, certified as the double-word tier does
//
// `evaluate` tries the fast tier, then recomputes on the MPFR path only the outputs that did not
// certify (or all of them when the fast tier does not apply), so the values are those of the
// MPFR path alone: certified roundings of the exact real results.

/// The fused linear cross-entropy functions (see the overview above this type).
enum LinearCrossEntropy {
    static func evaluate(_ q: OracleRequest, _ certifier: Certifier, fastTier: Bool, threads: Int) throws(OracleError) -> OracleResult {
        let m = q.linear!
        let n = m.outputCount(q.function, reduction: q.reduction)
        let fast = fastTier ? LinearFastTier.evaluate(q, threads: threads) : nil
        let missing = fast?.failed ?? Array(0..<n)
        if missing.isEmpty, let fast {
            return OracleResult(values: fast.values, precision: DoubleWordTier.reportedPrecision(q.format),
                                escalations: 0, tier: .doubleWord)
        }
        let exact = LinearExactPath(q)
        let part = try certifier.run(outputs: missing.count) { w, pending in
            exact.enclosures(w, pending: pending.map { missing[$0] })
        }
        guard var values = fast?.values else { return part }
        for (k, o) in missing.enumerated() { values[o] = part.values[k] }
        return OracleResult(values: values, precision: part.precision, escalations: part.escalations)
    }
}
