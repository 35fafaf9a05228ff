// swift-tools-version: 6.1
// Benchmarks of softmax-oracle (a separate package, so that the main package does not depend on
// ordo-one/benchmark): the certified oracle, the fast kernels, the harness, and the baselines
// they are compared with (a plain 128-bit MPFR softmax loop in C, SciPy through python3).
//
//   swift package --package-path Benchmarks benchmark          # the ordo-one/benchmark suite
//   bash scripts/bench.sh                                      # one run, a markdown table of ratios
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "softmax-oracle-benchmarks",
    dependencies: [
        .package(name: "softmax-oracle", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The baseline: softmax with MPFR at a fixed precision (mpfr_exp, mpfr_add, mpfr_div,
        // mpfr_get_d), as a plain C loop. Uncertified: it is what the oracle must beat.
        .target(
            name: "CMPFRLoop",
            linkerSettings: [.linkedLibrary("mpfr"), .linkedLibrary("gmp")]
        ),
        // Inputs, workloads and timing shared by the suite and the report.
        .target(
            name: "BenchSupport",
            dependencies: [
                "CMPFRLoop",
                .product(name: "SoftmaxOracle", package: "softmax-oracle"),
                .product(name: "FastSoftmax", package: "softmax-oracle"),
                .product(name: "AccuracyHarness", package: "softmax-oracle"),
                .product(name: "BuiltInImplementations", package: "softmax-oracle"),
            ],
            swiftSettings: strict
        ),
        // What the command lines share: formats, functions and families as option values, comma
        // lists, checks of paths and counts (swift-argument-parser).
        .target(
            name: "BenchArguments",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SoftmaxOracle", package: "softmax-oracle"),
                .product(name: "AccuracyHarness", package: "softmax-oracle"),
            ],
            swiftSettings: strict
        ),
        // One process, every measurement interleaved, a markdown table of medians and ratios.
        .executableTarget(
            name: "bench-report",
            dependencies: ["BenchSupport", "BenchArguments"],
            swiftSettings: strict
        ),
        // The text layer: ns per value of reading and writing floats, and `eval` with JSON Lines
        // against the C loop reading decimal text (mpfr-text-loop), whole processes.
        .executableTarget(
            name: "bench-io",
            dependencies: ["BenchSupport", "BenchArguments", .product(name: "OracleIO", package: "softmax-oracle")],
            swiftSettings: strict
        ),
        // The C loop as a whole process: decimal text in (strtod), %a out.
        .executableTarget(name: "mpfr-text-loop", dependencies: ["CMPFRLoop"]),
        // Every function x every harness family through `softmax-oracle eval`, against the C loop.
        .executableTarget(
            name: "tier-grid",
            dependencies: ["BenchSupport", "BenchArguments", .product(name: "OracleIO", package: "softmax-oracle")],
            swiftSettings: strict
        ),
        // The fused linear cross-entropy against NumPy float64 (scripts/bench-linear.sh): times the
        // forward loss and its three gradients, certified, in one process.
        .executableTarget(
            name: "bench-linear",
            dependencies: ["BenchArguments", .product(name: "SoftmaxOracle", package: "softmax-oracle")],
            swiftSettings: strict
        ),
        // The `accurate` kernels against SciPy on a row and a batch (Sources/kernel-bench).
        .executableTarget(
            name: "kernel-bench",
            dependencies: [
                .product(name: "FastSoftmax", package: "softmax-oracle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The ordo-one/benchmark suite (Benchmarks/SoftmaxBenchmarks).
        .executableTarget(
            name: "SoftmaxBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SoftmaxBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
