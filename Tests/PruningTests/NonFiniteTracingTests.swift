import XCTest
@testable import Pruning
import LLM
import ModelIO

/// Issue 18, done-means 4: a NaN or overflow injected at one stage is reported where it first
/// appears — naming the stage, the layer and the tensor — not as a wrong perplexity at the end.
final class NonFiniteTracingTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny/llama-gqa-untied").path
    let calibration: [[Int32]] = (0..<3).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model(_ edit: (LlamaModel) -> Void = { _ in }) throws -> LlamaModel {
        let m = try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny))
        edit(m)
        return m
    }

    func set(_ m: LlamaModel, _ name: String, _ value: Float) {
        m.withParameter(name) { w in for j in w.indices { w[j] = value } }
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    /// Weights: a NaN in a checkpoint is refused at load, naming the tensor.
    func testNaNWeightIsNamedAtLoad() throws {
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        let src = try HFCheckpoint(directory: Self.tiny)
        for n in src.tensorNames { tensors[n] = (src.shape(of: n)!, try src.loadFloat32(n)) }
        tensors["model.layers.1.mlp.up_proj.weight"]!.values[5] = .nan
        let m = message { _ = try LlamaModel(config: src.config, tensors: InMemoryTensors(tensors)) }
        XCTAssertTrue(m.contains("model.layers.1.mlp.up_proj.weight") && m.contains("NaN"), m)
    }

    /// Activations: layer 0's down projection overflows the residual stream; the run stops at
    /// layer 0's output, not after pruning every layer.
    func testOverflowingActivationsStopAtTheLayer() throws {
        // (SparseGPT's weight update happens to pull this layer's output back into range.)
        for method in [PruneMethod.wanda, .ria, .dsnot] {
            let m = try model { self.set($0, "model.layers.0.mlp.down_proj.weight", 3e38) }
            let msg = message { _ = try LayerwisePruner(model: m, configuration: PruneConfiguration(method: method, sparsity: 0.5)).run(calibration: calibration) }
            XCTAssertTrue(msg.contains("activations leaving layer 0") && msg.contains("not finite"), "\(method): \(msg)")
        }
    }

    /// Hessians and activation norms: finite inputs whose squares overflow float32 (1e25² > 3.4e38;
    /// layer 1's input norm scales q/k/v's inputs to ~1e25) are reported at the first projection that
    /// reads them, with layer and projection.
    func testOverflowingStatisticsNameLayerAndProjection() throws {
        let big = { (m: LlamaModel) in self.set(m, "model.layers.1.input_layernorm.weight", 1e25) }
        let sgpt = message { _ = try LayerwisePruner(model: try model(big), configuration: PruneConfiguration(method: .sparsegpt, sparsity: 0.5)).run(calibration: calibration) }
        XCTAssertTrue(sgpt.contains("layer 1") && sgpt.contains("Hessian"), sgpt)
        let wanda = message { _ = try LayerwisePruner(model: try model(big), configuration: PruneConfiguration(method: .wanda, sparsity: 0.5)).run(calibration: calibration) }
        XCTAssertTrue(wanda.contains("layer 1") && wanda.contains("projection") && wanda.contains("not finite"), wanda)
    }

    /// Gradients: an LM head that overflows the logits gives a non-finite calibration gradient,
    /// named by window and tensor, for the unstructured gradient scores and for Taylor.
    func testNonFiniteGradientsNameTheTensor() throws {
        let head = { (m: LlamaModel) in self.set(m, "lm_head.weight", 3e38) }
        let taylor = message { _ = try LayerwisePruner(model: try model(head), configuration: PruneConfiguration(method: .taylor, sparsity: 0.5)).run(calibration: calibration) }
        XCTAssertTrue(taylor.contains("gradient of window 0") && taylor.contains("model."), taylor)
        let structured = message {
            _ = try StructuredPruner.prune(try model(head), configuration: StructuredPruneConfiguration(criterion: .taylor, ratio: 0.2), calibration: calibration)
        }
        XCTAssertTrue(structured.contains("gradient of window 0") && structured.contains("model."), structured)
    }
}
