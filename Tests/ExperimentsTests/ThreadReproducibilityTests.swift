import XCTest
import Compute
import Evaluation
import LLM
import ModelIO
import Pruning

/// Issue 18, done-means 5: the same settings give bit-identical masks, weights and perplexity with
/// one worker thread and with two. Every parallel kernel splits independent outputs (rows, columns,
/// heads) between workers, and each output is summed in a fixed order whatever the split; BLAS runs
/// single-threaded inside each worker.
final class ThreadReproducibilityTests: XCTestCase {
    /// A random Llama wide enough that every parallel kernel splits its work between two workers
    /// (the tiny fixtures are below the kernels' per-worker minimums and would prove nothing).
    nonisolated(unsafe) static var directory: String?
    static func checkpoint() throws -> String {
        if let d = directory { return d }
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-threads-\(getpid())").path
        let layers = 2
        let config = ModelConfig(architecture: "llama", vocabSize: 512, hiddenSize: 256, headDim: 32,
                                 numHeads: Array(repeating: 8, count: layers), numKVHeads: Array(repeating: 4, count: layers),
                                 intermediateSizes: Array(repeating: 704, count: layers), rmsNormEps: 1e-5, ropeTheta: 10000,
                                 tieWordEmbeddings: false)
        _ = try RandomCheckpoint.write(config: config, seed: 7, dtype: .f32, to: d)
        directory = d
        return d
    }
    override class func tearDown() {
        if let d = directory { try? FileManager.default.removeItem(atPath: d) }
    }

    let calibration: [[Int32]] = (0..<4).map { s in (0..<96).map { Int32((s * 11 + $0 * 5) % 512) } }
    let window: [Int32] = (0..<128).map { Int32(($0 * 17 + 3) % 512) }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: try Self.checkpoint())) }

    func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let previous = Parallelism.threads
        Parallelism.setThreads(n)
        defer { Parallelism.setThreads(previous) }
        return try body()
    }

    func weights(_ m: LanguageModel) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for t in m.parameters { out[t.name] = m.withParameter(t.name) { $0 } }
        return out
    }

    /// Prunes with `prune` under 1 and 2 threads; both models' tensors and perplexity are identical.
    func assertSameAcrossThreads(_ name: String, _ prune: () throws -> LanguageModel) throws {
        let (a, b) = try (withThreads(1, prune), withThreads(2, prune))
        let wa = weights(a), wb = weights(b)
        XCTAssertEqual(wa.keys.sorted(), wb.keys.sorted(), name)
        for (k, v) in wa where wb[k] != v { XCTFail("\(name): \(k) differs between 1 and 2 threads"); break }
        let nllA = try withThreads(1) { try Perplexity.windowNLL(model: a, window: window) }
        let nllB = try withThreads(2) { try Perplexity.windowNLL(model: b, window: window) }
        XCTAssertEqual(nllA, nllB, name)
        XCTAssertTrue(nllA.isFinite, name)
    }

    func testWandaSparseGPTAndTaylorAreIdenticalForOneAndTwoThreads() throws {
        XCTAssertGreaterThan(ProcessInfo.processInfo.activeProcessorCount, 1, "needs 2 cores to mean anything")
        for method in [PruneMethod.wanda, .sparsegpt, .gblm, .dsnot] {
            try assertSameAcrossThreads(method.rawValue) {
                let m = try model()
                _ = try LayerwisePruner(model: m, configuration: PruneConfiguration(method: method, sparsity: 0.5)).run(calibration: calibration)
                return m
            }
        }
        try assertSameAcrossThreads("sparsegpt 2:4") {
            let m = try model()
            _ = try LayerwisePruner(model: m, configuration: PruneConfiguration(method: .sparsegpt, pattern: .nOfM(n: 2, m: 4), sparsity: 0))
                .run(calibration: calibration)
            return m
        }
        try assertSameAcrossThreads("structured taylor") {
            let c = StructuredPruneConfiguration(criterion: .taylor, ratio: 0.2)
            return try StructuredPruner.prune(try model(), configuration: c, calibration: calibration).model
        }
    }
}
