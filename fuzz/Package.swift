// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses for Secateur's readers of untrusted files (see README.md).
// A package of its own so that the sanitized build (`--sanitize=fuzzer --sanitize=address`)
// never touches the main package's build directory.
let package = Package(
    name: "SecateurFuzz",
    dependencies: [.package(name: "Secateur", path: "..")],
    targets: [
        // libFuzzer supplies `main`; the harness only defines LLVMFuzzerTestOneInput.
        .executableTarget(name: "secateur-fuzz",
                          dependencies: [.product(name: "Secateur", package: "Secateur")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v5]
)
