import Foundation
import XCTest
@testable import LLM
@testable import ModelIO

/// Inputs that made the readers crash, hang or exhaust memory, found by the fuzz harnesses
/// (fuzz/, issue 18) or while writing them. Each must now fail fast with a clear typed error
/// (or be accepted cheaply).
final class FuzzFindingsTests: XCTestCase {
    /// A deci GGUF header (no tensors) claiming 65,536 attention-free layers of width 2²⁴: the
    /// checkpoint used to build the unit norm and empty projections of every such layer at once
    /// (2⁴⁰ floats) before any tensor was read, so `secateur info` ran out of memory.
    func testDeciHeaderWithHugeZeroWidthLayersCostsNothing() throws {
        var b = GGUFBuilder()
        b.addString("general.architecture", "deci")
        b.addU32("deci.block_count", 1 << 16)
        b.addU32("deci.embedding_length", 1 << 24)
        b.addU32("deci.feed_forward_length", 0)
        b.addU32("deci.attention.head_count", 0)
        b.addU32("deci.attention.key_length", 2)
        b.addF32("deci.attention.layer_norm_rms_epsilon", 1e-5)
        b.addU32("deci.vocab_size", 8)
        let dir = TempDir()
        let start = Date()
        let checkpoint = try GGUFCheckpoint(path: dir.write(b.bytes()))
        XCTAssertEqual(checkpoint.config.numLayers, 1 << 16)
        // The zero-width tensors are still there when asked for, by name, at their size.
        XCTAssertEqual(checkpoint.shape(of: "model.layers.65535.input_layernorm.weight"), [1 << 24])
        XCTAssertEqual(checkpoint.shape(of: "model.layers.7.mlp.down_proj.weight"), [1 << 24, 0])
        XCTAssertNil(checkpoint.shape(of: "model.layers.65536.input_layernorm.weight"))
        XCTAssertEqual(try checkpoint.loadFloat32("model.layers.3.self_attn.q_proj.weight"), [])
        // Building the model stops at the first tensor the file lacks.
        XCTAssertThrowsError(try LlamaModel(checkpoint: checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("model.embed_tokens.weight"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }
}
