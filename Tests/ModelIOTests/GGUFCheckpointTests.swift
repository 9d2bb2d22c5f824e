import XCTest
@testable import ModelIO
@testable import LLM

/// GGUF → Hugging Face view: config from metadata, names, shapes, q/k un-permutation.
final class GGUFCheckpointTests: XCTestCase {
    func testInverseRotaryPermutationMatchesLlamaCppConverter() throws {
        let orig = try GGUFFixtures.floats("permute.orig.f32")      // HF [24, 5]
        let perm = try GGUFFixtures.floats("permute.perm.f32")      // llama.cpp permute(orig, n_head=3)
        assertBitEqual(LlamaCppRotaryPermutation.unpermute(perm, rows: 24, cols: 5, heads: 3), orig, "unpermute")
        assertBitEqual(LlamaCppRotaryPermutation.permute(orig, rows: 24, cols: 5, heads: 3), perm, "permute")
        XCTAssertNotEqual(orig, perm)
        // Round trip on a bias-like vector (cols = 1) with one head.
        let v: [Float] = (0..<8).map(Float.init)
        XCTAssertEqual(LlamaCppRotaryPermutation.permute(v, rows: 8, cols: 1, heads: 1), [0, 4, 1, 5, 2, 6, 3, 7])
        XCTAssertEqual(LlamaCppRotaryPermutation.unpermute([0, 4, 1, 5, 2, 6, 3, 7], rows: 8, cols: 1, heads: 1), v)
    }

    func testTinyLlama() throws {
        let ck = try GGUFCheckpoint(path: GGUFFixtures.path("tiny_llama.gguf"))
        let c = ck.config
        XCTAssertEqual(c.architecture, "llama")
        XCTAssertEqual(c.vocabSize, 40, "from the token list (no llama.vocab_size key)")
        XCTAssertEqual(c.hiddenSize, 32)
        XCTAssertEqual(c.headDim, 8)
        XCTAssertEqual(c.numHeads, [4, 4])
        XCTAssertEqual(c.numKVHeads, [2, 2])
        XCTAssertEqual(c.intermediateSizes, [64, 64])
        XCTAssertEqual(c.rmsNormEps, 1e-5)
        XCTAssertEqual(c.ropeTheta, 500000)
        XCTAssertEqual(c.ropeScaling, RopeScaling(type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4,
                                                  originalMaxPositionEmbeddings: 8192))
        XCTAssertTrue(c.tieWordEmbeddings)
        XCTAssertFalse(c.attentionBias)
        XCTAssertEqual(c.maxPositionEmbeddings, 4096)
        XCTAssertEqual(c.bosTokenID, 1)
        XCTAssertEqual(c.eosTokenID, 2)
        XCTAssertTrue(ck.rotaryRowsPermuted)
        XCTAssertEqual(ck.unmappedTensorNames, ["rope_freqs.weight"])
        XCTAssertEqual(ck.tensorNames.count, 2 + 2 * 9)
        XCTAssertFalse(ck.tensorNames.contains("lm_head.weight"))
        try checkAllTensors(ck, fixture: "tiny_llama")
        XCTAssertEqual(ck.shape(of: "model.layers.1.self_attn.k_proj.weight"), [16, 32])
        XCTAssertEqual(ck.shape(of: "model.layers.0.mlp.down_proj.weight"), [32, 64])
        XCTAssertNil(ck.shape(of: "lm_head.weight"))
        guard case .tensorNotFound? = expectGGUFError("missing", { _ = try ck.loadFloat32("lm_head.weight") }) else { return XCTFail() }
    }

    func testTinyQwen2() throws {
        let ck = try GGUFCheckpoint(path: GGUFFixtures.path("tiny_qwen2.gguf"))
        let c = ck.config
        XCTAssertEqual(c.architecture, "qwen2")
        XCTAssertEqual(c.vocabSize, 36)
        XCTAssertEqual(c.numHeads, [4], "per-layer array")
        XCTAssertEqual(c.numKVHeads, [2])
        XCTAssertEqual(c.headDim, 8)
        XCTAssertEqual(c.intermediateSizes, [48])
        XCTAssertEqual(c.ropeTheta, 1_000_000)
        XCTAssertNil(c.ropeScaling)
        XCTAssertFalse(c.tieWordEmbeddings)
        XCTAssertTrue(c.attentionBias)
        XCTAssertEqual(c.maxPositionEmbeddings, 32768)
        XCTAssertEqual(c.bosTokenID, 5)
        XCTAssertEqual(c.eosTokenID, 7)
        XCTAssertFalse(ck.rotaryRowsPermuted)
        XCTAssertTrue(ck.tensorNames.contains("lm_head.weight"))
        XCTAssertTrue(ck.tensorNames.contains("model.layers.0.self_attn.q_proj.bias"))
        try checkAllTensors(ck, fixture: "tiny_qwen2")
    }

    private func checkAllTensors(_ ck: GGUFCheckpoint, fixture: String) throws {
        for name in ck.tensorNames {
            let want = try GGUFFixtures.floats("expected/\(fixture)/\(name).f32")
            let got = try ck.loadFloat32(name)
            assertBitEqual(got, want, name)
            XCTAssertEqual(ck.shape(of: name)?.reduce(1, *), want.count, name)
        }
    }

    func testNameMapping() {
        let cases = [
            ("token_embd.weight", "model.embed_tokens.weight"), ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"), ("blk.3.attn_norm.weight", "model.layers.3.input_layernorm.weight"),
            ("blk.12.ffn_norm.weight", "model.layers.12.post_attention_layernorm.weight"),
            ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
            ("blk.0.attn_k.bias", "model.layers.0.self_attn.k_proj.bias"),
            ("blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight"),
            ("blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight"),
            ("blk.7.ffn_gate.weight", "model.layers.7.mlp.gate_proj.weight"),
            ("blk.7.ffn_up.weight", "model.layers.7.mlp.up_proj.weight"),
            ("blk.7.ffn_down.weight", "model.layers.7.mlp.down_proj.weight"),
        ]
        for (g, hf) in cases { XCTAssertEqual(GGUFCheckpoint.hfName(forGGUFName: g), hf) }
        for g in ["rope_freqs.weight", "blk.x.attn_q.weight", "blk.0.attn_q.scale", "blk.0.ffn_gate_exps.weight"] {
            XCTAssertNil(GGUFCheckpoint.hfName(forGGUFName: g), g)
        }
        XCTAssertEqual(GGUFCheckpoint.rotaryProjection("model.layers.2.self_attn.q_proj.weight")?.0, 2)
        XCTAssertEqual(GGUFCheckpoint.rotaryProjection("model.layers.2.self_attn.k_proj.bias")?.1, false)
        XCTAssertNil(GGUFCheckpoint.rotaryProjection("model.layers.2.self_attn.v_proj.weight"))
    }

    private func minimalModel(arch: String, extra: (inout GGUFBuilder) -> Void = { _ in }) -> [UInt8] {
        var b = GGUFBuilder()
        b.addString("general.architecture", arch)
        b.addU32("\(arch).block_count", 2)
        b.addU32("\(arch).embedding_length", 64)
        b.addU32("\(arch).feed_forward_length", 128)
        b.addU32("\(arch).attention.head_count", 4)
        b.addF32("\(arch).attention.layer_norm_rms_epsilon", 1e-6)
        b.addU32("\(arch).vocab_size", 100)
        extra(&b)
        return b.bytes()
    }

    func testConfigDefaultsAndErrors() throws {
        let dir = TempDir()
        // Defaults: kv heads = heads, theta 10000, head dim = hidden / heads, context 2048.
        let c = try GGUFCheckpoint(path: dir.write(minimalModel(arch: "mistral"))).config
        XCTAssertEqual(c.numKVHeads, [4, 4])
        XCTAssertEqual(c.ropeTheta, 10000)
        XCTAssertEqual(c.headDim, 16)
        XCTAssertEqual(c.maxPositionEmbeddings, 2048)
        XCTAssertNil(c.bosTokenID)

        let lin = try GGUFCheckpoint(path: dir.write(minimalModel(arch: "llama") {
            $0.addString("llama.rope.scaling.type", "linear"); $0.addF32("llama.rope.scaling.factor", 4)
        })).config
        XCTAssertEqual(lin.ropeScaling?.type, "linear")
        XCTAssertEqual(lin.ropeScaling?.factor, 4)

        let e = expectGGUFError("arch") { _ = try GGUFCheckpoint(path: dir.write(minimalModel(arch: "gpt2"))) }
        guard case .unsupportedArchitecture(_, "gpt2", _)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(e!.description.contains("'gpt2'") && e!.description.contains("llama, mistral, qwen2"))

        var b = GGUFBuilder(); b.addString("general.architecture", "llama")
        guard case .missingMetadata(_, "llama.block_count")? = expectGGUFError("missing", { _ = try GGUFCheckpoint(path: dir.write(b.bytes())) })
        else { return XCTFail() }
        guard case .missingMetadata(_, "general.architecture")? = expectGGUFError("no arch", { _ = try GGUFCheckpoint(path: dir.write(GGUFBuilder().bytes())) })
        else { return XCTFail() }
        guard case .badMetadata(_, "llama.attention.head_count", _)? = expectGGUFError("bad array", {
            _ = try GGUFCheckpoint(path: dir.write(self.minimalModel(arch: "llama") {
                let key = GGUFBuilder.str("llama.attention.head_count")
                $0.kv.removeAll { Array($0.prefix(key.count)) == key }
                $0.add("llama.attention.head_count", type: 9, payload: GGUFBuilder.u32(4) + GGUFBuilder.u64(3) + GGUFBuilder.u32(4) + GGUFBuilder.u32(4) + GGUFBuilder.u32(4))
            }))
        }) else { return XCTFail() }
        guard case .unsupportedModel? = expectGGUFError("partial rotary", {
            _ = try GGUFCheckpoint(path: dir.write(self.minimalModel(arch: "llama") { $0.addU32("llama.rope.dimension_count", 8) }))
        }) else { return XCTFail() }
        guard case .unsupportedModel? = expectGGUFError("yarn", {
            _ = try GGUFCheckpoint(path: dir.write(self.minimalModel(arch: "llama") { $0.addString("llama.rope.scaling.type", "yarn") }))
        }) else { return XCTFail() }
    }
}
