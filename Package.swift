// swift-tools-version: 6.1
// softmax-oracle: certified MPFR ground truth for the softmax family, fast kernels scored against it,
// and the harness that does the scoring. See README.md and docs/.
import PackageDescription

/// Build-time CPU target (README, "Build for this CPU"; scripts/target-cpu.sh chooses it for the
/// Makefile and the scripts): with SOFTMAX_ORACLE_TARGET_CPU set to an LLVM CPU name (native;
/// haswell or x86-64-v3: FMA + AVX2; skylake-avx512, znver4 or x86-64-v4: AVX-512), every Swift
/// target is compiled for that CPU and DoubleWordArithmetic and FastSoftmax use hardware FMA
/// (DOUBLEWORD_FMA: the same exact products and bounds). Unset, empty or `portable`: portable
/// x86-64 code (Dekker's products). On arm64 FMA is part of the base architecture, so DOUBLEWORD_FMA
/// is always defined there (this manifest is compiled for the host, which is the target unless
/// cross-compiling; an x86-64 target would then call libm's fma, exact but slow on a CPU without it).
let targetCPU = Context.environment["SOFTMAX_ORACLE_TARGET_CPU"].flatMap { $0.isEmpty || $0 == "portable" ? nil : $0 }
// The x86-64 micro-architecture levels (x86-64-v3: FMA + AVX2; x86-64-v4: AVX-512) are not CPU
// names to swift-frontend's -target-cpu, but Swift compiles for the CPU the Clang importer targets.
let cpuFlags: [SwiftSetting] = targetCPU.map {
    [.unsafeFlags($0.hasPrefix("x86-64-v") ? ["-Xcc", "-march=\($0)"] : ["-target-cpu", $0])]
} ?? []
#if arch(arm64)
let baselineFMA = true
#else
let baselineFMA = false
#endif
// CPUs with FMA and AVX2 but no AVX-512 (16 vector registers): the certified tier's rows run on 4
// lanes there (DOUBLEWORD_NARROW_LANES, LaneArithmetic.swift). `native` cannot be told apart here:
// scripts/target-cpu.sh resolves it to x86-64-v3 on such a CPU.
let avx2OnlyCPUs: Set<String> = [
    "x86-64-v3", "haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake", "arrowlake",
    "znver1", "znver2", "znver3",
]
let narrowLanes: [SwiftSetting] = targetCPU.map { avx2OnlyCPUs.contains($0) } == true ? [.define("DOUBLEWORD_NARROW_LANES")] : []
let fmaDefines: [SwiftSetting] = (targetCPU == nil && !baselineFMA ? [] : [.define("DOUBLEWORD_FMA")]) + narrowLanes
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)] + cpuFlags

let package = Package(
    name: "softmax-oracle",
    products: [
        .library(name: "DoubleWordArithmetic", targets: ["DoubleWordArithmetic"]),
        .library(name: "SoftmaxOracle", targets: ["SoftmaxOracle"]),
        .library(name: "FastSoftmax", targets: ["FastSoftmax"]),
        .library(name: "AccuracyHarness", targets: ["AccuracyHarness"]),
        .library(name: "BuiltInImplementations", targets: ["BuiltInImplementations"]),
        .library(name: "ParallelExecution", targets: ["ParallelExecution"]),
        .library(name: "OracleIO", targets: ["OracleIO"]),
        .library(name: "ExternalImplementations", targets: ["ExternalImplementations"]),
        .library(name: "GoldenFixtures", targets: ["GoldenFixtures"]),
        .executable(name: "softmax-oracle", targets: ["softmax-oracle"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // MPFR and GMP from the system (Debian: libmpfr-dev, libgmp-dev).
        .systemLibrary(
            name: "CMPFR",
            pkgConfig: "mpfr",
            providers: [.apt(["libmpfr-dev", "libgmp-dev"])]
        ),
        // Safe Swift ownership of mpfr_t, rounding modes, the thread-local exponent range.
        .target(name: "MPFR", dependencies: ["CMPFR"], swiftSettings: strict),
        // Error-free transforms and double-word arithmetic with stated error bounds; no
        // dependencies. One FMA policy: Dekker's product unless built with -DDOUBLEWORD_FMA.
        .target(name: "DoubleWordArithmetic", swiftSettings: strict + fmaDefines),
        // The certified oracle: formats, interval enclosures, the softmax family, ULP error.
        .target(
            name: "SoftmaxOracle", dependencies: ["MPFR", "DoubleWordArithmetic", "ParallelExecution"], swiftSettings: strict,
            linkerSettings: [.linkedLibrary("m")]
        ),
        // Implementations under test: naive, shifted, online, accurate, mixed precision.
        .target(
            name: "FastSoftmax",
            dependencies: ["DoubleWordArithmetic", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: strict + fmaDefines
        ),
        // Spreading work over threads: the processor count, an order-keeping parallel map, chunks.
        .target(name: "ParallelExecution", swiftSettings: strict),
        // Exact text formats: JSON, hex floats, requests and results.
        .target(name: "OracleIO", dependencies: ["SoftmaxOracle", "ParallelExecution"], swiftSettings: strict),
        // Generators of extreme logits, scoring, shrinking, reports; running the oracle on threads.
        .target(
            name: "AccuracyHarness",
            dependencies: ["MPFR", "SoftmaxOracle", "OracleIO", "ParallelExecution"],
            swiftSettings: strict
        ),
        // Where kernels and harness meet: the FastSoftmax kernels as implementations under test.
        .target(
            name: "BuiltInImplementations",
            dependencies: ["AccuracyHarness", "FastSoftmax", "SoftmaxOracle"],
            swiftSettings: strict
        ),
        // Implementations outside this process: a JSON Lines child process, stored result files.
        .target(
            name: "ExternalImplementations",
            dependencies: ["SoftmaxOracle", "AccuracyHarness", "OracleIO", "ParallelExecution"],
            swiftSettings: strict
        ),
        // Golden fixture files: generate, shard, merge, verify, NumPy export; the regression gate.
        .target(
            name: "GoldenFixtures",
            dependencies: ["MPFR", "SoftmaxOracle", "AccuracyHarness", "OracleIO", "ParallelExecution"],
            swiftSettings: strict
        ),
        // The static CLI's argc and argv for the Swift runtime, without its /proc/self/maps scan
        // at start-up (see the file). DWARF 4: valgrind 3.19 (scripts/leak-check.sh) gives up on
        // a binary holding clang's DWARF 5 for this C file ("possibly corrupted debuginfo").
        .target(name: "ProcessArguments", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        .executableTarget(
            name: "softmax-oracle",
            dependencies: [
                "ProcessArguments", "MPFR", "SoftmaxOracle", "FastSoftmax", "AccuracyHarness", "BuiltInImplementations", "OracleIO",
                "ExternalImplementations", "GoldenFixtures", "ParallelExecution",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // What several test targets share: the seeded generator, ULP errors, exact hex text, the
        // package root and Python look-ups. A library, so that test targets can depend on it.
        .target(
            name: "TestSupport", dependencies: ["AccuracyHarness", "MPFR", "DoubleWordArithmetic"],
            path: "Tests/TestSupport", swiftSettings: strict
        ),
        .testTarget(
            name: "DoubleWordArithmeticTests",
            dependencies: ["DoubleWordArithmetic", "MPFR", "SoftmaxOracle", "FastSoftmax", "AccuracyHarness", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "SoftmaxOracleTests", dependencies: ["SoftmaxOracle", "MPFR", "DoubleWordArithmetic", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "OracleIOTests", dependencies: ["OracleIO", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ParallelExecutionTests", dependencies: ["ParallelExecution"], swiftSettings: strict),
        .testTarget(
            name: "FastSoftmaxTests",
            dependencies: [
                "FastSoftmax", "DoubleWordArithmetic", "SoftmaxOracle", "AccuracyHarness", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccuracyHarnessTests",
            dependencies: [
                "AccuracyHarness", "BuiltInImplementations", "MPFR", "SoftmaxOracle", "FastSoftmax", "OracleIO",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Golden"],  // committed report output, read by GoldenReportTests
            swiftSettings: strict
        ),
        .testTarget(
            name: "ExternalImplementationsTests",
            dependencies: ["ExternalImplementations", "AccuracyHarness", "SoftmaxOracle", "OracleIO", "TestSupport"],
            swiftSettings: strict
        ),
        // End-to-end tests of the command line: they run the built softmax-oracle binary (this
        // dependency makes `swift test` build it) and read its command types' help texts.
        .testTarget(name: "CommandLineTests", dependencies: ["softmax-oracle", "OracleIO", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "GoldenFixturesTests",
            dependencies: ["GoldenFixtures", "AccuracyHarness", "BuiltInImplementations", "SoftmaxOracle", "OracleIO", "TestSupport"],
            swiftSettings: strict
        ),
    ]
)
