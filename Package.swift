// swift-tools-version:6.0
import PackageDescription

import Foundation

// Release builds of numeric code: -Ounchecked removes bounds checks in hot loops;
// correctness is guarded by the test suite, which also runs optimized.
// On x86-64 the kernels are compiled for Haswell-class CPUs (AVX2: 8-lane SIMD exp, softmax,
// norms); set SECATEUR_PORTABLE=1 when building for an older CPU.
var optimizationFlags = ["-Ounchecked", "-wmo"]
#if arch(x86_64)
if ProcessInfo.processInfo.environment["SECATEUR_PORTABLE"] == nil {
    optimizationFlags += ["-target-cpu", "haswell"]
}
#endif
let optimized: [SwiftSetting] = [.unsafeFlags(optimizationFlags)]
// The C decode kernels: AVX2 + FMA + F16C on x86-64 (their scalar twins otherwise).
var kernelFlags = ["-O3"]
#if arch(x86_64)
if ProcessInfo.processInfo.environment["SECATEUR_PORTABLE"] == nil {
    kernelFlags += ["-mavx2", "-mfma", "-mf16c"]
}
#endif

let package = Package(
    name: "Secateur",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "secateur", targets: ["secateur"]),
        .library(name: "Secateur", targets: ["Compute", "ModelIO", "LLM", "Pruning", "Evaluation", "Experiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Studies: the YAML grid (Yams) and the SQLite results store (GRDB; libsqlite3-dev on Linux).
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The engine's spinning fork-join workers (Compute/WorkerPool).
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .target(name: "DecodeKernels", cSettings: [.unsafeFlags(kernelFlags)]),
        .target(name: "Compute",
                dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux])),
                               .target(name: "CMalloc", condition: .when(platforms: [.linux])), "DecodeKernels",
                               .product(name: "Atomics", package: "swift-atomics")],
                swiftSettings: optimized),
        .target(name: "ModelIO", dependencies: ["Compute"], swiftSettings: optimized),
        .target(name: "LLM", dependencies: ["Compute", "ModelIO"], swiftSettings: optimized),
        .target(name: "Pruning", dependencies: ["Compute", "ModelIO", "LLM"], swiftSettings: optimized),
        .target(name: "Evaluation", dependencies: ["Compute", "ModelIO", "LLM"], swiftSettings: optimized),
        .target(name: "Experiments", dependencies: ["Compute", "ModelIO", "LLM", "Pruning", "Evaluation",
                                                    .product(name: "Yams", package: "Yams"),
                                                    .product(name: "GRDB", package: "GRDB.swift")],
                swiftSettings: optimized),
        .executableTarget(name: "secateur",
                          dependencies: ["Compute", "ModelIO", "LLM", "Pruning", "Evaluation", "Experiments",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimized),
        .testTarget(name: "ComputeTests", dependencies: ["Compute", "ModelIO"]),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "Compute", "LLM"]),
        // Helpers several test targets share (not part of any product).
        .target(name: "TestSupport", dependencies: ["LLM", "ModelIO"], path: "Tests/TestSupport"),
        .testTarget(name: "LLMTests", dependencies: ["LLM", "ModelIO", "Compute", "TestSupport"]),
        .testTarget(name: "PruningTests", dependencies: ["Pruning", "LLM", "ModelIO", "Compute", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "LLM", "ModelIO", "Compute"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Pruning", "Evaluation", "LLM", "ModelIO", "Compute", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["secateur", "Experiments", "TestSupport"]),
    ],
    // Language mode 5: the engine shares raw buffers across worker threads by design
    // (disjoint slices), which strict Sendable checking cannot express.
    swiftLanguageModes: [.v5]
)
