// How the `accurate` kernels were compiled: the build-time CPU policy of Package.swift
// (SOFTMAX_ORACLE_TARGET_CPU), which the benchmarks print next to their numbers. Both policies
// give results within the same stated bounds (docs/kernels.md): the FMA build forms the same
// exact products with one fused multiply-add instead of Dekker's 17 operations, and evaluates
// the same polynomials with fused or separate multiply-adds, both inside the rounding budget.

/// The instruction-set policy the `accurate` kernels were compiled with.
public enum AccurateBuild {
    /// True when compiled with hardware FMA (`DOUBLEWORD_FMA`, set by Package.swift when
    /// SOFTMAX_ORACLE_TARGET_CPU names a CPU); false for the portable build.
    #if DOUBLEWORD_FMA
    public static let usesFMA = true
    #else
    public static let usesFMA = false
    #endif

    /// One line for benchmark reports: the policy and the lane width of the vector path.
    public static var description: String {
        (usesFMA ? "FMA build (SOFTMAX_ORACLE_TARGET_CPU)" : "portable build (no FMA, default target)")
            + "; \(Lanes.scalarCount) binary64 lanes"
    }
}
