import Foundation
import XCTest
@testable import LLM
@testable import ModelIO

/// Inputs that made the readers crash, hang or exhaust memory, found by the fuzz harnesses
/// (fuzz/, issue 18) or while writing them. Each must now fail fast with a clear typed error
/// (or be accepted cheaply).
final class FuzzFindingsTests: XCTestCase {
    /// A deci GGUF header (no tensors) claiming the most attention-free layers allowed (found at 65,536) of width 2²⁴: the
    /// checkpoint used to build the unit norm and empty projections of every such layer at once
    /// (2⁴⁰ floats) before any tensor was read, so `secateur info` ran out of memory.
    func testDeciHeaderWithHugeZeroWidthLayersCostsNothing() throws {
        var b = GGUFBuilder()
        b.addString("general.architecture", "deci")
        b.addU32("deci.block_count", UInt32(ModelSizeLimits.layers))
        b.addU32("deci.embedding_length", 1 << 24)
        b.addU32("deci.feed_forward_length", 0)
        b.addU32("deci.attention.head_count", 0)
        b.addU32("deci.attention.key_length", 2)
        b.addF32("deci.attention.layer_norm_rms_epsilon", 1e-5)
        b.addU32("deci.vocab_size", 8)
        let dir = TempDir()
        let start = Date()
        let checkpoint = try GGUFCheckpoint(path: dir.write(b.bytes()))
        XCTAssertEqual(checkpoint.config.numLayers, ModelSizeLimits.layers)
        // The zero-width tensors are still there when asked for, by name, at their size.
        XCTAssertEqual(checkpoint.shape(of: "model.layers.\(ModelSizeLimits.layers - 1).input_layernorm.weight"), [1 << 24])
        XCTAssertEqual(checkpoint.shape(of: "model.layers.7.mlp.down_proj.weight"), [1 << 24, 0])
        XCTAssertNil(checkpoint.shape(of: "model.layers.\(ModelSizeLimits.layers).input_layernorm.weight"))
        XCTAssertEqual(try checkpoint.loadFloat32("model.layers.3.self_attn.q_proj.weight"), [])
        // Building the model stops at the first tensor the file lacks.
        XCTAssertThrowsError(try LlamaModel(checkpoint: checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("model.embed_tokens.weight"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    /// An OPT config.json claiming 4,915 layers (found by the config harness after 595,593
    /// executions, 1.8 s under ASan): the shape indexed `heads` and `ffnDims`, which build a
    /// per-layer array on every call, once per layer — O(layers²). At the layer limit of the time (2¹⁶)
    /// that was minutes; now the shape and its counts are one pass, and the counts are checked by hand.
    func testOPTConfigWithManyLayersCountsInOnePass() throws {
        for layers in [1000, ModelSizeLimits.layers, 4915] {
            let dir = TempDir()
            let json = """
            {"model_type": "opt", "vocab_size": 16, "hidden_size": 8, "num_hidden_layers": \(layers),
             "num_attention_heads": 2, "ffn_dim": 12, "max_position_embeddings": 16, "word_embed_proj_dim": 8}
            """
            let start = Date()
            let path = dir.write(Array(json.utf8), name: "config.json")
            guard layers <= ModelSizeLimits.layers else {
                // The finding itself is now over the layer limit, refused at once.
                XCTAssertThrowsError(try OPTConfig.load(path: path)) { XCTAssertTrue("\($0)".contains("num_hidden_layers"), "\($0)") }
                continue
            }
            let config = try OPTConfig.load(path: path)
            let shape = ModelShape(config: config, storedBytesPerValue: 4)
            // Per block: q, k, v, out_proj 8×8 + bias 8; fc1 12×8 + 12; fc2 8×12 + 8; two LayerNorms 2×(8 + 8).
            let block = 4 * (8 * 8 + 8) + (12 * 8 + 12) + (8 * 12 + 8) + 2 * 16
            // Outside: tokens 16×8, positions (16 + 2)×8, final LayerNorm 8 + 8 (pre-LN); the head is tied.
            let outside = 16 * 8 + 18 * 8 + 16
            XCTAssertEqual(shape.blocks.count, layers)
            XCTAssertEqual(shape.largestBlockParameterCount, block)
            XCTAssertEqual(shape.nonBlockParameterCount, outside)
            XCTAssertEqual(shape.parameterCount, layers * block + outside)
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(layers) layers")
        }
    }
}
