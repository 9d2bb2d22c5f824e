import XCTest
import Foundation
@testable import Pruning
@testable import LLM
import ModelIO
import TestSupport

/// Streaming (issue 16): blocks read from the checkpoint one at a time, written out as each is
/// final, released after. The written directory must hold exactly the tensors an in-memory run
/// produces, for every method and both orders, and a block range must leave the others as read.
final class StreamedPruningTests: XCTestCase {
    func calibration() -> [[Int32]] { (0..<4).map { s in (0..<16).map { Int32((s * 5 + $0 * 11) % 48) } } }

    func testStreamedRunsWriteWhatInMemoryRunsProduce() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-streamed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        var cases: [(String, PruneConfiguration)] = []
        for method in [PruneMethod.wanda, .sparsegpt] {
            for order in [PruneOrder.reference, .onePass] {
                var c = PruneConfiguration(method: method, pattern: method == .wanda ? .unstructured : .nOfM(n: 2, m: 4), sparsity: 0.5)
                c.order = order
                cases.append(("\(method.rawValue)-\(order.rawValue)", c))
            }
        }
        var magnitude = PruneConfiguration(method: .magnitude, sparsity: 0.6)
        magnitude.layers = 1...1
        cases.append(("magnitude-layer1", magnitude))
        var ranged = PruneConfiguration(method: .wanda, sparsity: 0.5)
        ranged.layers = 0...0
        cases.append(("wanda-layer0", ranged))

        for (name, c) in cases {
            let memory = try LlamaModel(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny))
            let expected = try LayerwisePruner(model: memory, configuration: c).run(calibration: calibration())

            let stream = try LlamaLayerStream(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny))
            XCTAssertFalse(stream.isResident(0))
            XCTAssertTrue(stream.model.layers[0].q.weight.isEmpty, "blocks start in the checkpoint")
            let pruner = try LayerwisePruner(model: stream.model, configuration: c)
            pruner.residency = stream
            var order: [Int] = []
            let out = root.appendingPathComponent(name).path
            let (report, summary) = try HFExport.writeStreamed(stream.model, dtype: .f32, tokenizer: nil, to: out) { writeBlock in
                pruner.layerFinished = { i in
                    XCTAssertTrue(stream.isResident(i))
                    order.append(i)
                    try writeBlock(i)
                }
                return try pruner.run(calibration: calibration())
            }
            XCTAssertEqual(order, Array(0..<memory.layerCount), name)
            XCTAssertTrue((0..<memory.layerCount).allSatisfy { !stream.isResident($0) }, "\(name): every block released")
            XCTAssertEqual(summary.shards, memory.layerCount + 1)
            XCTAssertEqual(report.prunableZeros, expected.prunableZeros, name)
            XCTAssertEqual(report.paramsNonzero, expected.paramsNonzero, name)
            XCTAssertEqual(report.paramsTotal, expected.paramsTotal, name)

            let written = try checkpointTensors(out)
            XCTAssertEqual(written.keys.sorted(), memory.parameters.map(\.name).sorted(), name)
            for p in memory.parameters {
                memory.withParameter(p.name) { XCTAssertEqual(written[p.name], $0, "\(name) \(p.name)") }
            }
        }
    }

    /// Structured pruning streamed (block mode): the same plan as in memory — Taylor from the
    /// blockwise backward, first and second order, and a layer range that leaves the backward
    /// short of block 0 — and the written model holds exactly the in-memory pruned tensors.
    func testStreamedStructuredPruningCutsWhatInMemoryPruningCuts() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-streamed-structured-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let cases: [(String, StructuredPruneConfiguration)] = [
            ("taylor-first", StructuredPruneConfiguration(criterion: .taylor, ratio: 0.2, attentionLayers: 0...1, mlpLayers: 0...1)),
            ("taylor-second", StructuredPruneConfiguration(criterion: .taylor, ratio: 0.2, attentionLayers: 0...1, mlpLayers: 0...1,
                                                           taylorOrder: .second)),
            ("taylor-layer1", StructuredPruneConfiguration(criterion: .taylor, ratio: 0.1, attentionLayers: 1...1, mlpLayers: 1...1)),
            ("l2", StructuredPruneConfiguration(criterion: .l2, ratio: 0.2, attentionLayers: 0...1, mlpLayers: 0...1)),
        ]
        for (name, c) in cases {
            let memory = try LlamaModel(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny))
            let expected = try StructuredPruner.prune(memory, configuration: c, calibration: calibration())

            let stream = try LlamaLayerStream(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny))
            let result = try StructuredPruner.pruneStreamed(stream.model, residency: stream, configuration: c,
                                                            calibration: calibration())
            XCTAssertEqual(result.plan, expected.plan, name)
            XCTAssertEqual(result.report.paramsAfter, expected.report.paramsAfter, name)
            XCTAssertEqual(result.model.blockShapes, expected.model.blockShapes, name)
            XCTAssertTrue((0..<memory.layerCount).allSatisfy { !stream.isResident($0) }, "\(name): source blocks released")

            let out = root.appendingPathComponent(name).path
            _ = try HFExport.writeStreamed(result.model, dtype: .f32, tokenizer: nil, perLayerWidths: true, to: out) { writeBlock in
                for i in 0..<result.model.layerCount {
                    try result.residency.load(i)
                    try writeBlock(i)
                    result.residency.release(i)
                }
            }
            XCTAssertTrue((0..<memory.layerCount).allSatisfy { !stream.isResident($0) && !result.residency.isResident($0) }, name)
            let written = try checkpointTensors(out)
            XCTAssertEqual(written.keys.sorted(), expected.model.parameters.map(\.name).sorted(), name)
            for p in expected.model.parameters {
                expected.model.withParameter(p.name) { XCTAssertEqual(written[p.name], $0, "\(name) \(p.name)") }
            }
            let back = try LlamaModel(checkpoint: try HFCheckpoint(directory: out))
            XCTAssertEqual(try back.logits([1, 5, 9, 3]), try expected.model.logits([1, 5, 9, 3]), name)
        }
        var channel = StructuredPruneConfiguration(criterion: .l2, ratio: 0.2)
        channel.mode = .channel
        let stream = try LlamaLayerStream(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny))
        XCTAssertThrowsError(try StructuredPruner.pruneStreamed(stream.model, residency: stream, configuration: channel)) { e in
            XCTAssertTrue("\(e)".contains("needs every block in memory"), "\(e)")
        }
    }

    func testGlobalAndOWLAreRefusedWhenStreaming() throws {
        let stream = try LlamaLayerStream(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny))
        var global = PruneConfiguration(method: .magnitude, sparsity: 0.5)
        global.group = .global
        let pruner = try LayerwisePruner(model: stream.model, configuration: global)
        pruner.residency = stream
        XCTAssertThrowsError(try pruner.run(calibration: [])) { XCTAssertTrue("\($0)".contains("every layer in memory"), "\($0)") }
    }
}
