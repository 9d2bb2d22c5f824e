import Foundation
import ModelIO
import XCTest

/// The real SmolLM2-135M GGUF that tests run on: `$SECATEUR_GGUF` if set, else the file
/// `--model smollm2-135m` resolves to in the model cache. Missing, it skips the test — or fails it
/// under `CI=true`, where the CI script has fetched the model and a skip would hide a regression.
public func smolLM2GGUFPath() throws -> String {
    let env = ProcessInfo.processInfo.environment
    if let p = env["SECATEUR_GGUF"], FileManager.default.fileExists(atPath: p) { return p }
    guard case .gguf(let url)? = try? ModelCache.resolve("smollm2-135m") else {
        if env["CI"] == "true" { XCTFail("CI=true but the SmolLM2 GGUF is not in the model cache") }
        throw XCTSkip("SmolLM2 GGUF not in the model cache; run `secateur fetch smollm2-135m`")
    }
    return url.path
}
