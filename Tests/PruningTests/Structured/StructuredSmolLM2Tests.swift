import XCTest
@testable import Pruning
import LLM
import TestSupport
import ModelIO

/// Whole-model ratio on the real SmolLM2-135M (30 layers, hidden 576, 9 heads / 3 KV heads,
/// intermediate 1536, tied 49152 × 576 embedding), block-wise over LLM-Pruner's middle layers
/// (4..<30 of 32, scaled to 30 layers: 4-27 inclusive).
final class StructuredSmolLM2Tests: XCTestCase {
    nonisolated(unsafe) static var cached: LlamaModel?

    func smolLM2() throws -> LlamaModel {
        if let m = Self.cached { return m }
        let m = try LlamaModel(checkpoint: try GGUFCheckpoint(file: try GGUFFile(path: try smolLM2GGUFPath())))
        Self.cached = m
        return m
    }

    func testBlockRatioWithinHalfAPoint() throws {
        let m = try smolLM2()
        XCTAssertEqual(m.parameterCount, 49152 * 576 + 576 + 30 * (2 * 576 + 576 * 576 * 2 + 2 * 192 * 576 + 3 * 576 * 1536))
        for r in [0.1, 0.3, 0.5] {
            let c = StructuredPruneConfiguration(criterion: .l2, ratio: r, attentionLayers: 4...27, mlpLayers: 4...27)
            let p = try StructuredPruner.prune(m, configuration: c)
            XCTAssertEqual(p.report.ratioActual, r, accuracy: 0.005, "ratio \(r)")
            XCTAssertEqual(p.model.parameterCount, p.report.paramsAfter)
            // Layers outside 4-27 are untouched.
            for i in [0, 3, 28, 29] {
                XCTAssertEqual((p.model as! LlamaModel).layers[i].kvHeads, 3); XCTAssertEqual((p.model as! LlamaModel).layers[i].intermediateSize, 1536)
            }
            XCTAssertTrue((p.model as! LlamaModel).layers.allSatisfy { $0.heads == 3 * $0.kvHeads })
        }
    }

    func testUnreachableRatioOnSmolLM2() throws {
        let m = try smolLM2()
        // Keeping one KV group and one MLP channel in each of the 24 layers: 24·(2·294912 + 1535·1728).
        let maximum = Double(24 * (2 * 294_912 + 1535 * 1728)) / Double(m.parameterCount)
        XCTAssertThrowsError(try StructuredPruner.prune(m, configuration: StructuredPruneConfiguration(
            criterion: .l1, ratio: 0.7, attentionLayers: 4...27, mlpLayers: 4...27))) { e in
            guard case let StructuredPruningError.ratioUnreachable(_, max, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(max, maximum, accuracy: 1e-12)
            XCTAssertTrue("\(e)".contains("57."), "\(e)")
        }
    }

    func testChannelAndLayerRatioModes() throws {
        let m = try smolLM2()
        let ch = try StructuredPruner.prune(m, configuration: StructuredPruneConfiguration(criterion: .l1, mode: .channel, ratio: 0.3))
        XCTAssertEqual(ch.report.ratioActual, 0.3, accuracy: 0.005)
        XCTAssertEqual(ch.model.hiddenSize, 403)   // P is linear in d (no biases): round(576 · 0.7)
        // LLM-Pruner's per-layer meaning (llama3.py, k_proj root): k keeps int(192·0.7) = 134 rows →
        // 58 removed < 64 (one KV head) → no attention removed; MLP keeps int(1536·0.7) = 1075.
        let lay = try StructuredPruner.prune(m, configuration: StructuredPruneConfiguration(
            criterion: .l2, ratio: 0.3, ratioMode: .layer, attentionLayers: 4...27, mlpLayers: 4...27))
        XCTAssertEqual(lay.report.kvHeads[4], 3)
        XCTAssertEqual(lay.report.intermediateSizes[4], 1075)
        XCTAssertEqual(lay.report.paramsBefore - lay.report.paramsAfter, 24 * 461 * 1728)
    }
}
