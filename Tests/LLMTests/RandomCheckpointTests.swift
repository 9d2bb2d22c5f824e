import XCTest
import Foundation
@testable import LLM
import ModelIO
import TestSupport
import Compute

/// Shape-exact random checkpoints: the registry built from a config alone equals the one a
/// loaded model reports; the published shapes have their published parameter counts; a
/// written checkpoint loads (here and by shape), holds transformers' initialisation, is the
/// same for the same seed whatever the shard size or piece size, and runs to finite logits.
final class RandomCheckpointTests: XCTestCase {
    func fixture(_ name: String) -> String { TinyModelLogitsTests.fixtures.appendingPathComponent(name).path }

    func testRegistryFromConfigEqualsTheLoadedModels() throws {
        for name in ["llama-gqa-untied", "llama-gqa-tied", "qwen2"] {
            let m = try LlamaModel(checkpoint: try HFCheckpoint(directory: fixture(name)))
            XCTAssertEqual(LlamaModel.parameters(config: m.config), m.parameters, name)
        }
    }

    func testPublishedShapesHaveTheirParameterCounts() {
        // The counts the model cards and transformers' num_parameters() give.
        XCTAssertEqual(LlamaShape.llama2_7b.parameterCount, 6_738_415_616)
        XCTAssertEqual(LlamaShape.llama3_8b.parameterCount, 8_030_261_248)
        XCTAssertEqual(LlamaShape.tinyllama_1_1b.parameterCount, 1_100_048_384)
        XCTAssertEqual(LlamaShape.smollm2_135m.parameterCount, 134_515_008)
    }

    func tinyConfig() -> ModelConfig {
        ModelConfig(architecture: "llama", vocabSize: 96, hiddenSize: 64, headDim: 16, numHeads: [4, 4, 4],
                    numKVHeads: [2, 2, 2], intermediateSizes: [160, 160, 160], rmsNormEps: 1e-5, ropeTheta: 10000,
                    tieWordEmbeddings: false, maxPositionEmbeddings: 128)
    }

    func testWrittenCheckpointLoadsWithTheInitialisation() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-random-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let c = tinyConfig()
        let a = root.appendingPathComponent("a").path, b = root.appendingPathComponent("b").path
        let sa = try RandomCheckpoint.write(config: c, seed: 7, dtype: .f32, to: a, maxShardBytes: 100_000)
        XCTAssertGreaterThan(sa.shards, 1, "small shards force an index")
        XCTAssertTrue(sa.files.contains(HFCheckpoint.indexFileName))
        XCTAssertEqual(sa.parameterCount, LlamaModel.parameters(config: c).reduce(0) { $0 + $1.count })
        // One shard, other piece boundaries: the same values.
        _ = try RandomCheckpoint.write(config: c, seed: 7, dtype: .f32, to: b)
        let ta = try checkpointTensors(a), tb = try checkpointTensors(b)
        XCTAssertEqual(ta.keys.sorted(), LlamaModel.parameters(config: c).map(\.name).sorted())
        XCTAssertEqual(ta, tb)

        var piece = [Float](repeating: 0, count: 3 * RandomCheckpoint.blockValues)
        let name = "model.layers.1.mlp.up_proj.weight", role = ParameterRole.projection(.up, layer: 1, site: .mlpInput)
        piece.withUnsafeMutableBufferPointer { RandomCheckpoint.fill($0, tensor: name, role: role, offset: 0, seed: 7, std: 0.02) }
        var second = [Float](repeating: 0, count: RandomCheckpoint.blockValues)
        second.withUnsafeMutableBufferPointer {
            RandomCheckpoint.fill($0, tensor: name, role: role, offset: RandomCheckpoint.blockValues, seed: 7, std: 0.02)
        }
        XCTAssertEqual(Array(piece[RandomCheckpoint.blockValues..<(2 * RandomCheckpoint.blockValues)]), second)
        let mean = piece.reduce(0, +) / Float(piece.count)
        let std = (piece.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(piece.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.0005)
        XCTAssertEqual(mean, 0, accuracy: 0.0005)

        for (n, v) in ta where n.hasSuffix("norm.weight") { XCTAssertTrue(v.allSatisfy { $0 == 1 }, n) }
        // Each tensor its own streams.
        XCTAssertNotEqual(Array(ta["model.layers.0.self_attn.q_proj.weight"]!.prefix(64)),
                          Array(ta["model.layers.0.self_attn.k_proj.weight"]!.prefix(64)))

        // Another seed, other values; bf16 rounds the same values.
        let c2 = root.appendingPathComponent("c").path, d = root.appendingPathComponent("d").path
        _ = try RandomCheckpoint.write(config: c, seed: 8, dtype: .f32, to: c2)
        XCTAssertNotEqual(try checkpointTensors(c2)["model.embed_tokens.weight"], ta["model.embed_tokens.weight"])
        _ = try RandomCheckpoint.write(config: c, seed: 7, dtype: .bf16, to: d)
        let td = try checkpointTensors(d)
        XCTAssertEqual(td["lm_head.weight"], ta["lm_head.weight"]!.map { floatFromBFloat16Bits(bfloat16Bits($0)) })

        // It runs: finite logits of a sensible size.
        let model = try LlamaModel(checkpoint: try HFCheckpoint(directory: a))
        let logits = try model.logits([1, 5, 9, 3])
        XCTAssertEqual(logits.count, 4 * 96)
        XCTAssertTrue(logits.allSatisfy(\.isFinite))
    }

    func testStreamWriterWritesWhatTheWholeFileWriterWrites() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let shapes: [(String, [Int])] = [("b.weight", [3, 5]), ("a.weight", [7]), ("c.bias", [2, 2, 2])]
        for dtype in [SafetensorsDType.f32, .f16, .bf16] {
            var whole = SafetensorsWriter(metadata: ["format": "pt"])
            var values: [String: [Float]] = [:]
            for (i, (n, s)) in shapes.enumerated() {
                let v = (0..<s.reduce(1, *)).map { Float($0 * (i + 1)) * 0.37 - 1 }
                values[n] = v
                try whole.add(n, shape: s, data: v, as: dtype)
            }
            let p1 = root.appendingPathComponent("whole-\(dtype.rawValue)").path, p2 = root.appendingPathComponent("stream-\(dtype.rawValue)").path
            try whole.write(to: p1)
            var stream = try SafetensorsStreamWriter(metadata: ["format": "pt"], tensors: shapes.map { .init(name: $0.0, shape: $0.1, dtype: dtype) })
            stream.pieceValues = 2
            try stream.write(to: p2) { t, offset, piece in
                for i in 0..<piece.count { piece[i] = values[t.name]![offset + i] }
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p1)), try Data(contentsOf: URL(fileURLWithPath: p2)), dtype.rawValue)
            XCTAssertEqual(stream.fileBytes, try Data(contentsOf: URL(fileURLWithPath: p2)).count)
        }
        XCTAssertThrowsError(try SafetensorsStreamWriter(tensors: [.init(name: "x", shape: [1], dtype: .f32), .init(name: "x", shape: [2], dtype: .f32)]))
        XCTAssertThrowsError(try SafetensorsStreamWriter(tensors: [.init(name: "x", shape: [1], dtype: .i32)]))
    }
}
