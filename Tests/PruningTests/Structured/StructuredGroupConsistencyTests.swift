import XCTest
@testable import Pruning
import LLM
import TestSupport
import ModelIO

/// Structured pruning keeps the model consistent: the shrunk model computes exactly what the
/// dense model computes once the removed groups' weights are zeroed (their contributions deleted),
/// and the requested whole-model ratio is met within 0.5 points.
final class StructuredGroupConsistencyTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny")

    func model(_ name: String) throws -> LlamaModel {
        try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.fixtures.appendingPathComponent(name).path))
    }

    let tokens: [Int32] = (0..<24).map { Int32(($0 * 17 + 5) % 48) }

    /// The dense model with every weight of the groups the plan removes set to zero.
    func zeroedCopy(_ dense: LlamaModel, _ plan: StructuredPlan) throws -> LlamaModel {
        let m = dense
        let z = LlamaModel(config: m.config, embedding: m.embedding, layers: m.layers, finalNorm: m.finalNorm, lmHead: m.lmHead)
        for i in z.layers.indices {
            var l = z.layers[i]
            let hd = l.headDim, perKV = l.heads / l.kvHeads, d = z.hiddenSize
            for g in 0..<l.kvHeads where !plan.keptKVGroups[i].contains(g) {
                for r in (g * perKV * hd)..<((g + 1) * perKV * hd) {
                    for j in 0..<d { l.q.weight[r * d + j] = 0; l.o.weight[j * l.o.inFeatures + r] = 0 }
                    if l.q.bias != nil { l.q.bias![r] = 0 }
                }
                for r in (g * hd)..<((g + 1) * hd) {
                    for j in 0..<d { l.k.weight[r * d + j] = 0; l.v.weight[r * d + j] = 0 }
                    if l.k.bias != nil { l.k.bias![r] = 0; l.v.bias![r] = 0 }
                }
            }
            for c in 0..<l.intermediateSize where !plan.keptMLPChannels[i].contains(c) {
                for j in 0..<d {
                    l.gate.weight[c * d + j] = 0; l.up.weight[c * d + j] = 0
                    l.down.weight[j * l.intermediateSize + c] = 0
                }
            }
            z.layers[i] = l
        }
        return z
    }

    func assertClose(_ a: [Float], _ b: [Float], tol: Float = 2e-5, _ msg: String) {
        XCTAssertEqual(a.count, b.count, msg)
        let scale = max(1, b.map { abs($0) }.max() ?? 1)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, tol * scale, msg)
    }

    func testBlockPrunedModelEqualsDenseWithRemovedGroupsZeroed() throws {
        for name in ["llama-gqa-untied", "llama-gqa-tied", "qwen2"] {
            for criterion in [StructuredCriterion.l1, .l2, .random] {
                let dense = try model(name)
                let c = StructuredPruneConfiguration(criterion: criterion, ratio: 0.3, attentionLayers: 0...1, mlpLayers: 0...1, seed: 3)
                let r = try StructuredPruner.prune(dense, configuration: c)
                XCTAssertLessThan(r.model.parameterCount, dense.parameterCount)
                XCTAssertTrue((r.model as! LlamaModel).layers.contains { $0.kvHeads < 2 }, "\(name): some attention group removed")
                let expected = try zeroedCopy(dense, r.plan).logits(tokens)
                assertClose(try r.model.logits(tokens), expected, "\(name) \(criterion)")
                // and the removal really changed the function (the test could fail)
                XCTAssertGreaterThan(zip(try dense.logits(tokens), expected).map { abs($0 - $1) }.max()!, 1e-3)
            }
        }
    }

    func testLayerDropEqualsSkippingTheLayer() throws {
        let dense = try model("llama-gqa-untied")
        let calib: [[Int32]] = [(0..<16).map { Int32($0 * 3 % 48) }, (0..<16).map { Int32($0 * 5 % 48) }]
        for score in [LayerScore.blockInfluence, .loss] {
            let c = StructuredPruneConfiguration(criterion: .l1, mode: .layer, ratio: 0.5, ratioMode: .layer, layerScore: score)
            let r = try StructuredPruner.prune(dense, configuration: c, calibration: calib)
            XCTAssertEqual(r.report.droppedLayers.count, 1)
            let kept = 1 - r.report.droppedLayers[0]
            var h = try dense.embed(tokens)
            try dense.runLayers(kept..<(kept + 1), hidden: &h)
            assertClose(try r.model.logits(tokens), dense.headLogits(normed: dense.finalNormed(h)), tol: 1e-6, "\(score)")
        }
    }

    func testBlockInfluenceIsOneMinusMeanCosine() throws {
        let dense = try model("llama-gqa-tied")
        let w: [Int32] = (0..<12).map { Int32($0 * 7 % 48) }
        let bi = try BlockInfluence.scores(model: dense, windows: [w])
        var h = try dense.embed(w)
        let d = dense.hiddenSize
        for i in 0..<dense.layers.count {
            let x = h
            try dense.runLayers(i..<(i + 1), hidden: &h)
            var cosSum = 0.0
            for t in 0..<w.count {
                let a = x[(t * d)..<((t + 1) * d)].map(Double.init), b = h[(t * d)..<((t + 1) * d)].map(Double.init)
                let dot = zip(a, b).map(*).reduce(0, +)
                cosSum += dot / (sqrt(a.map { $0 * $0 }.reduce(0, +)) * sqrt(b.map { $0 * $0 }.reduce(0, +)))
            }
            XCTAssertEqual(bi[i], 1 - cosSum / Double(w.count), accuracy: 1e-9)
        }
    }

    func testRatioLandsWithinHalfAPointOnTheTinyModel() throws {
        let dense = try model("llama-gqa-untied")
        for r in [0.05, 0.1, 0.2, 0.3, 0.45, 0.6] {
            let c = StructuredPruneConfiguration(criterion: .l2, ratio: r, attentionLayers: 0...1, mlpLayers: 0...1)
            let p = try StructuredPruner.prune(dense, configuration: c)
            XCTAssertEqual(p.report.ratioActual, r, accuracy: 0.005, "ratio \(r)")
            XCTAssertEqual(p.report.paramsAfter, p.model.parameterCount)
            XCTAssertEqual(p.report.ratioActual, 1 - Double(p.model.parameterCount) / Double(dense.parameterCount), accuracy: 1e-12)
        }
        // Channel mode: one hidden channel of 32 is 3.1 points here, so the ratio-mode-layer
        // width int(32·0.7) = 22 is checked by hand, and 10 % is refused with its neighbour.
        // P(22) = 2·48·22 (embedding, head) + 22 (final norm) + 2·(2·22 + 22·(32 + 16 + 16) + 32·22 + 3·40·22).
        let p = try StructuredPruner.prune(dense, configuration: StructuredPruneConfiguration(criterion: .l1, mode: .channel, ratio: 0.3, ratioMode: .layer))
        XCTAssertEqual(p.model.hiddenSize, 22)
        XCTAssertEqual(p.report.paramsAfter, 2 * 48 * 22 + 22 + 2 * (2 * 22 + 22 * 64 + 32 * 22 + 3 * 40 * 22))
        XCTAssertEqual(p.model.parameterCount, p.report.paramsAfter)
        XCTAssertTrue(try p.model.logits(tokens).allSatisfy(\.isFinite))
        XCTAssertThrowsError(try StructuredPruner.prune(dense, configuration: StructuredPruneConfiguration(criterion: .l1, mode: .channel, ratio: 0.1))) { e in
            guard case let StructuredPruningError.ratioNotRepresentable(_, below, _, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(below!, 3.0 / 32, accuracy: 1e-12)   // 29 of 32 channels
        }
    }

    func testChannelPruningKeepsTheHighestL1HiddenChannels() throws {
        let dense = try model("llama-gqa-tied")
        let p = try StructuredPruner.prune(dense, configuration: StructuredPruneConfiguration(criterion: .l1, mode: .channel, ratio: 0.25, ratioMode: .layer))
        // Hand score of channel c (sum aggregation): every tensor's |w| along c.
        let d = dense.hiddenSize, v = dense.vocabSize
        var score = [Double](repeating: 0, count: d)
        for c in 0..<d {
            for t in 0..<v { score[c] += Double(abs(dense.embedding[t * d + c])) }
            score[c] += Double(abs(dense.finalNorm[c]))
            for l in dense.layers {
                score[c] += Double(abs(l.inputNorm[c])) + Double(abs(l.postAttentionNorm[c]))
                for lin in [l.q, l.k, l.v, l.gate, l.up] { for r in 0..<lin.outFeatures { score[c] += Double(abs(lin.weight[r * d + c])) } }
                for lin in [l.o, l.down] { for j in 0..<lin.inFeatures { score[c] += Double(abs(lin.weight[c * lin.inFeatures + j])) } }
            }
        }
        let keep = Array(score.indices.sorted { score[$0] > score[$1] }.prefix(24)).sorted()
        XCTAssertEqual(p.plan.keptHiddenChannels, keep)
        // The kept columns are the dense ones.
        XCTAssertEqual((p.model as! LlamaModel).embedding[5 * 24 + 3], dense.embedding[5 * d + keep[3]])
    }

    func testUnreachableRatioNamesTheMaximum() throws {
        let dense = try model("llama-gqa-untied")
        // Layer 1 only: one KV group (1536) + 39 MLP channels (96 each) of 17056 parameters.
        let maximum = Double(1536 + 39 * 96) / Double(dense.parameterCount)
        let c = StructuredPruneConfiguration(criterion: .l1, ratio: 0.4, attentionLayers: 1...1, mlpLayers: 1...1)
        XCTAssertThrowsError(try StructuredPruner.prune(dense, configuration: c)) { e in
            guard case let StructuredPruningError.ratioUnreachable(req, max, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(req, 0.4)
            XCTAssertEqual(max, maximum, accuracy: 1e-12)
            XCTAssertTrue("\(e)".contains(String(format: "%.2f %%", maximum * 100)), "\(e)")
        }
        // Layer drop of a 2-layer model: one layer is 41 % of it; 20 % is refused with the neighbours.
        let calib: [[Int32]] = [(0..<8).map { Int32($0) }]
        XCTAssertThrowsError(try StructuredPruner.prune(dense, configuration: StructuredPruneConfiguration(criterion: .l1, mode: .layer, ratio: 0.2),
                                                        calibration: calib)) { e in
            guard case StructuredPruningError.ratioNotRepresentable = e else { return XCTFail("\(e)") }
        }
    }

    func testLayerRatioModeFollowsLLMPrunerArithmetic() throws {
        let dense = try model("llama-gqa-untied")
        let c = StructuredPruneConfiguration(criterion: .l2, ratio: 0.5, ratioMode: .layer, attentionLayers: 0...1, mlpLayers: 0...1)
        let p = try StructuredPruner.prune(dense, configuration: c)
        // k: 16 rows, int(16·0.5) = 8 kept → 8 removed = one KV head (head_dim 8) with its 2 query heads; MLP 40 − int(20) = 20.
        XCTAssertEqual(p.report.kvHeads, [1, 1]); XCTAssertEqual(p.report.heads, [2, 2])
        XCTAssertEqual(p.report.intermediateSizes, [20, 20])
    }

    func testSavedModelReloadsWithIdenticalLogitsAndSmallerWeights() throws {
        let src = Self.fixtures.appendingPathComponent("llama-gqa-untied")
        let dense = try model("llama-gqa-untied")
        let p = try StructuredPruner.prune(dense, configuration: StructuredPruneConfiguration(
            criterion: .l1, ratio: 0.3, attentionLayers: 1...1, mlpLayers: 0...1))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-struct-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelWriter.save(p.model, source: .huggingFaceDirectory(src), to: dir.path)
        let config = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("secateur_num_kv_heads") && config.contains("secateur_intermediate_sizes"), config)
        let back = try LlamaModel(checkpoint: try HFCheckpoint(directory: dir.path))
        XCTAssertEqual(back.layers.map(\.kvHeads), (p.model as! LlamaModel).layers.map(\.kvHeads))
        XCTAssertEqual(back.layers.map(\.intermediateSize), (p.model as! LlamaModel).layers.map(\.intermediateSize))
        XCTAssertEqual(try back.logits(tokens), try p.model.logits(tokens))
        // Weight bytes on disk: float32 data = 4 × parameters, before and after.
        func dataBytes(_ file: URL) throws -> Int {
            let d = try Data(contentsOf: file)
            let n = Int(d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
            return d.count - 8 - n
        }
        let after = try dataBytes(dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(after, 4 * p.report.paramsAfter)
        XCTAssertEqual(1 - Double(after) / Double(4 * dense.parameterCount), p.report.ratioActual, accuracy: 1e-12)
        XCTAssertEqual(try dataBytes(src.appendingPathComponent("model.safetensors")), 4 * dense.parameterCount)
    }

    /// The pruner collects gradients itself (the model's backward); scoring Taylor importance
    /// without statistics is still refused clearly.
    func testTaylorWithoutGradientsIsAClearError() throws {
        XCTAssertThrowsError(try GroupImportance(criterion: .taylor, statistics: nil)) { e in
            XCTAssertEqual(e as? StructuredPruningError, .gradientsUnavailable)
            XCTAssertTrue("\(e)".contains("backward"))
        }
    }

    func testDefaultBlockLayersScaleLLMPrunersRange() {
        XCTAssertEqual(StructuredPruneConfiguration.defaultBlockLayers(layerCount: 32), 4...29)
        XCTAssertEqual(StructuredPruneConfiguration.defaultBlockLayers(layerCount: 30), 4...27)
        XCTAssertEqual(StructuredPruneConfiguration.defaultBlockLayers(layerCount: 22), 3...20)
    }
}
