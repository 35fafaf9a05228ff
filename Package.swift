// swift-tools-version: 6.1
// softmax-oracle: certified MPFR ground truth for the softmax family, fast kernels scored against it,
// and the harness that does the scoring. See README.md and DESIGN notes in the repository.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "softmax-oracle",
    products: [
        .library(name: "DoubleWordArithmetic", targets: ["DoubleWordArithmetic"]),
        .library(name: "SoftmaxOracle", targets: ["SoftmaxOracle"]),
        .library(name: "FastSoftmax", targets: ["FastSoftmax"]),
        .library(name: "AccuracyHarness", targets: ["AccuracyHarness"]),
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
        .target(name: "DoubleWordArithmetic", swiftSettings: strict),
        // The certified oracle: formats, interval enclosures, the softmax family, ULP error.
        .target(
            name: "SoftmaxOracle", dependencies: ["MPFR", "DoubleWordArithmetic"], swiftSettings: strict,
            linkerSettings: [.linkedLibrary("m")]
        ),
        // Implementations under test: naive, shifted, online, accurate, mixed precision.
        .target(
            name: "FastSoftmax",
            dependencies: ["DoubleWordArithmetic", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: strict
        ),
        // Exact text formats: JSON, hex floats, requests and results.
        .target(name: "OracleIO", dependencies: ["SoftmaxOracle"], swiftSettings: strict),
        // Generators of extreme logits, scoring, shrinking, reports.
        .target(
            name: "AccuracyHarness",
            dependencies: ["SoftmaxOracle", "FastSoftmax", "OracleIO"],
            swiftSettings: strict
        ),
        // Implementations outside this process: a JSON Lines child process, stored result files.
        .target(
            name: "ExternalImplementations",
            dependencies: ["SoftmaxOracle", "AccuracyHarness", "OracleIO"],
            swiftSettings: strict
        ),
        // Golden fixture files: generate, shard, merge, verify, NumPy export; the regression gate.
        .target(
            name: "GoldenFixtures",
            dependencies: ["MPFR", "SoftmaxOracle", "AccuracyHarness", "OracleIO"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "softmax-oracle",
            dependencies: [
                "MPFR", "SoftmaxOracle", "FastSoftmax", "AccuracyHarness", "OracleIO",
                "ExternalImplementations", "GoldenFixtures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DoubleWordArithmeticTests",
            dependencies: ["DoubleWordArithmetic", "MPFR", "SoftmaxOracle", "FastSoftmax", "AccuracyHarness"],
            swiftSettings: strict
        ),
        .testTarget(name: "SoftmaxOracleTests", dependencies: ["SoftmaxOracle", "MPFR", "DoubleWordArithmetic"], swiftSettings: strict),
        .testTarget(name: "OracleIOTests", dependencies: ["OracleIO"], swiftSettings: strict),
        .testTarget(
            name: "FastSoftmaxTests",
            dependencies: [
                "FastSoftmax", "DoubleWordArithmetic", "SoftmaxOracle", "AccuracyHarness",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccuracyHarnessTests",
            dependencies: [
                "AccuracyHarness", "SoftmaxOracle", "FastSoftmax", "OracleIO",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ExternalImplementationsTests",
            dependencies: ["ExternalImplementations", "AccuracyHarness", "SoftmaxOracle", "OracleIO"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GoldenFixturesTests",
            dependencies: ["GoldenFixtures", "AccuracyHarness", "SoftmaxOracle", "OracleIO"],
            swiftSettings: strict
        ),
    ]
)
