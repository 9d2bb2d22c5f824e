import XCTest
import Foundation
@testable import ModelIO
import Compute

/// HFCheckpoint: model directories with config.json and (sharded) safetensors.
final class SafetensorsCheckpointTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// HF names and shapes every Llama-family checkpoint has, derived from its config.
    func expectedShapes(_ c: ModelConfig) -> [String: [Int]] {
        var s: [String: [Int]] = ["model.embed_tokens.weight": [c.vocabSize, c.hiddenSize], "model.norm.weight": [c.hiddenSize]]
        if !c.tieWordEmbeddings { s["lm_head.weight"] = [c.vocabSize, c.hiddenSize] }
        for l in 0..<c.numLayers {
            let p = "model.layers.\(l)."
            let q = c.numHeads[l] * c.headDim, kv = c.numKVHeads[l] * c.headDim, f = c.intermediateSizes[l]
            s[p + "input_layernorm.weight"] = [c.hiddenSize]
            s[p + "post_attention_layernorm.weight"] = [c.hiddenSize]
            s[p + "self_attn.q_proj.weight"] = [q, c.hiddenSize]
            s[p + "self_attn.k_proj.weight"] = [kv, c.hiddenSize]
            s[p + "self_attn.v_proj.weight"] = [kv, c.hiddenSize]
            s[p + "self_attn.o_proj.weight"] = [c.hiddenSize, q]
            if c.attentionBias {
                s[p + "self_attn.q_proj.bias"] = [q]
                s[p + "self_attn.k_proj.bias"] = [kv]
                s[p + "self_attn.v_proj.bias"] = [kv]
            }
            s[p + "mlp.gate_proj.weight"] = [f, c.hiddenSize]
            s[p + "mlp.up_proj.weight"] = [f, c.hiddenSize]
            s[p + "mlp.down_proj.weight"] = [c.hiddenSize, f]
        }
        return s
    }

    func testTinyFixtureCheckpoints() throws {
        for model in Fixtures.tinyModels {
            let ckpt = try HFCheckpoint(directory: Fixtures.tiny(model))
            let expected = expectedShapes(ckpt.config)
            XCTAssertEqual(Set(ckpt.tensorNames), Set(expected.keys), model)
            for (name, shape) in expected {
                XCTAssertEqual(ckpt.shape(of: name), shape, "\(model) \(name)")
                XCTAssertEqual(ckpt.dtype(of: name), .f32)
            }
            XCTAssertEqual(try ckpt.loadFloat32("model.norm.weight").count, ckpt.config.hiddenSize)
            XCTAssertNil(ckpt.shape(of: "nope"))
            XCTAssertThrowsError(try ckpt.loadFloat32("nope")) {
                guard case HFCheckpointError.tensorNotFound(_, "nope") = $0 else { return XCTFail("\($0)") }
            }
        }
        // The tied fixture really has no lm_head; the untied one has a distinct one.
        let untied = try HFCheckpoint(directory: Fixtures.tiny("llama-gqa-untied"))
        XCTAssertNotEqual(try untied.loadFloat32("lm_head.weight"), try untied.loadFloat32("model.embed_tokens.weight"))
        // Qwen2 biases are non-zero.
        let qwen = try HFCheckpoint(directory: Fixtures.tiny("qwen2"))
        XCTAssertTrue(try qwen.loadFloat32("model.layers.1.self_attn.k_proj.bias").contains { abs($0) > 0.1 })
    }

    func testShardedCheckpoint() throws {
        // Split the tiny Llama across two shards with an index, as save_pretrained does.
        let src = try HFCheckpoint(directory: Fixtures.tiny("llama-gqa-untied"))
        try FileManager.default.copyItem(atPath: Fixtures.tiny("llama-gqa-untied") + "/config.json", toPath: dir + "/config.json")
        var shards = [SafetensorsWriter(metadata: ["format": "pt"]), SafetensorsWriter(metadata: ["format": "pt"])]
        var map: [String: String] = [:]
        for (i, name) in src.tensorNames.enumerated() {
            try shards[i % 2].add(name, try src.loadTensor(name))
            map[name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        for (i, w) in shards.enumerated() { try w.write(to: dir + "/model-0000\(i + 1)-of-00002.safetensors") }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 1], "weight_map": map])
        _ = FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: index)

        let ckpt = try HFCheckpoint(directory: dir)
        XCTAssertEqual(ckpt.files.count, 2)
        XCTAssertEqual(ckpt.tensorNames, src.tensorNames)
        for name in src.tensorNames {
            XCTAssertEqual(ckpt.shape(of: name), src.shape(of: name))
            XCTAssertEqual(try ckpt.loadFloat32(name), try src.loadFloat32(name))
        }

        // A shard listed in the index but absent.
        try FileManager.default.removeItem(atPath: dir + "/model-00002-of-00002.safetensors")
        XCTAssertThrowsError(try HFCheckpoint(directory: dir)) {
            guard case HFCheckpointError.missingShard(_, "model-00002-of-00002.safetensors") = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue("\($0)".contains("model-00002-of-00002.safetensors"))
        }
        // A broken index.
        _ = FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data("{\"weight_map\": 3}".utf8))
        XCTAssertThrowsError(try HFCheckpoint(directory: dir)) {
            guard case HFCheckpointError.invalidIndex = $0 else { return XCTFail("\($0)") }
        }
    }

    func testMissingFiles() throws {
        XCTAssertThrowsError(try HFCheckpoint(directory: dir + "/absent")) {
            guard case HFCheckpointError.notADirectory = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try HFCheckpoint(directory: dir)) {
            guard case let HFCheckpointError.missingConfig(d) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(d, self.dir)
            XCTAssertTrue("\($0)".contains("config.json"))
        }
        try FileManager.default.copyItem(atPath: Fixtures.tiny("qwen2") + "/config.json", toPath: dir + "/config.json")
        XCTAssertThrowsError(try HFCheckpoint(directory: dir)) {
            guard case HFCheckpointError.missingWeights = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue("\($0)".contains("model.safetensors"))
        }
        _ = FileManager.default.createFile(atPath: dir + "/pytorch_model.bin", contents: Data([0]))
        XCTAssertThrowsError(try HFCheckpoint(directory: dir)) {
            guard case let HFCheckpointError.missingWeights(_, reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("PyTorch"))
        }
        // A corrupt weights file surfaces the safetensors error.
        _ = FileManager.default.createFile(atPath: dir + "/model.safetensors", contents: Data([1, 2, 3]))
        XCTAssertThrowsError(try HFCheckpoint(directory: dir)) {
            guard case SafetensorsError.fileTooSmall = $0 else { return XCTFail("\($0)") }
        }
    }

    func testSaveAndReload() throws {
        let src = try HFCheckpoint(directory: Fixtures.tiny("qwen2"))
        let tensors = try src.tensorNames.map { (name: $0, tensor: try src.loadTensor($0)) }
        let out = dir + "/saved"
        try HFCheckpoint.save(config: src.config, tensors: tensors, to: out)
        let back = try HFCheckpoint(directory: out)
        XCTAssertEqual(back.config, src.config)
        XCTAssertEqual(back.tensorNames, src.tensorNames)
        XCTAssertEqual(back.files.first?.metadata["format"], "pt")
        for name in src.tensorNames { XCTAssertEqual(try back.loadFloat32(name), try src.loadFloat32(name)) }

        try HFCheckpoint.save(config: src.config, tensors: tensors, to: out, dtype: .bf16)
        let half = try HFCheckpoint(directory: out)
        XCTAssertEqual(half.dtype(of: "model.norm.weight"), .bf16)
        let a = try src.loadFloat32("model.norm.weight"), b = try half.loadFloat32("model.norm.weight")
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: abs(x) / 128) }
    }
}
