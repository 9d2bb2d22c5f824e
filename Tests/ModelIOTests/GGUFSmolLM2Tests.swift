import XCTest
import Foundation
@testable import ModelIO
import LLM

/// The real SmolLM2-135M-Instruct Q4_1 GGUF (llama arch; Q4_1, Q8_0 and F32 tensors).
final class GGUFSmolLM2Tests: XCTestCase {
    static let modelPath = NSHomeDirectory() + "/.cache/secateur/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"

    func modelOrSkip() throws -> String {
        let p = GGUFSmolLM2Tests.modelPath
        if !FileManager.default.fileExists(atPath: p) {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI=true but \(p) is missing"); throw XCTSkip("missing") }
            throw XCTSkip("\(p) not present")
        }
        return p
    }

    func testMetadataAndConfig() throws {
        let path = try modelOrSkip()
        let t0 = Date()
        let f = try GGUFFile(path: path)
        let parse = Date().timeIntervalSince(t0)
        print("SmolLM2 GGUF parse: \(String(format: "%.1f", parse * 1000)) ms")
        XCTAssertLessThan(parse, 2.0)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(f.metadata.count, 33, "gguf-py lists 36 fields: these 33 plus 3 GGUF.* header pseudo-fields")
        XCTAssertEqual(f["general.architecture"]?.string, "llama")
        XCTAssertEqual(f["tokenizer.ggml.model"]?.string, "gpt2")
        XCTAssertEqual(f["tokenizer.ggml.pre"]?.string, "smollm")
        XCTAssertEqual(f["general.languages"]?.strings, ["en"])
        let tokens = try XCTUnwrap(f["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(tokens.count, 49152)
        XCTAssertEqual(Array(tokens.prefix(3)), ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        XCTAssertEqual(f["tokenizer.ggml.merges"]?.array?.count, 48900)
        XCTAssertEqual(f["tokenizer.ggml.token_type"]?.ints?.count, 49152)
        XCTAssertEqual(f["tokenizer.ggml.padding_token_id"]?.int, 2)
        XCTAssertEqual(f["tokenizer.ggml.add_bos_token"]?.bool, false)
        XCTAssertEqual(f["llama.rope.freq_base"]?.float, 100000)
        XCTAssertEqual(f.alignment, 32)

        let ck = try GGUFCheckpoint(file: f)
        let c = ck.config
        XCTAssertEqual(c.architecture, "llama")
        XCTAssertEqual(c.numLayers, 30)
        XCTAssertEqual(c.hiddenSize, 576)
        XCTAssertEqual(c.numHeads, Array(repeating: 9, count: 30))
        XCTAssertEqual(c.numKVHeads, Array(repeating: 3, count: 30))
        XCTAssertEqual(c.intermediateSizes, Array(repeating: 1536, count: 30))
        XCTAssertEqual(c.headDim, 64)
        XCTAssertEqual(c.vocabSize, 49152)
        XCTAssertEqual(c.ropeTheta, 100000)
        XCTAssertNil(c.ropeScaling)
        XCTAssertEqual(c.rmsNormEps, 1e-5)
        XCTAssertTrue(c.tieWordEmbeddings)
        XCTAssertFalse(c.attentionBias)
        XCTAssertEqual(c.maxPositionEmbeddings, 8192)
        XCTAssertEqual(c.bosTokenID, 1)
        XCTAssertEqual(c.eosTokenID, 2)
        XCTAssertEqual(ck.tensorNames.count, 272)
        XCTAssertEqual(ck.shape(of: "model.embed_tokens.weight"), [49152, 576])
        XCTAssertEqual(ck.shape(of: "model.layers.0.self_attn.k_proj.weight"), [192, 576])
        XCTAssertEqual(ck.shape(of: "model.layers.0.mlp.down_proj.weight"), [576, 1536])
    }

    /// Rows dequantized by gguf-py (scripts/make_gguf_fixtures.py, SMOL_ROWS).
    func testRowsMatchGGUFPy() throws {
        let path = try modelOrSkip()
        let rowsPath = GGUFFixtures.path("smollm2_rows.f32")
        guard FileManager.default.fileExists(atPath: rowsPath) else { throw XCTSkip("smollm2_rows.f32 not generated") }
        let expected = try GGUFFixtures.floats("smollm2_rows.f32")
        let f = try GGUFFile(path: path)
        let spec: [(String, [Int])] = [("token_embd.weight", [0, 1, 2, 100, 49151]),
                                       ("blk.0.ffn_down.weight", [0, 7, 575]),
                                       ("blk.29.attn_q.weight", [0, 1, 63, 64, 575])]
        var at = 0
        for (name, rows) in spec {
            let t = try XCTUnwrap(f.tensor(named: name))
            let all = try f.decodeFloat32(t)
            let cols = t.dims[0]
            for r in rows {
                assertBitEqual(Array(all[(r * cols)..<((r + 1) * cols)]), Array(expected[at..<(at + cols)]), "\(name) row \(r)")
                at += cols
            }
        }
        XCTAssertEqual(at, expected.count)
        XCTAssertEqual(f.tensor(named: "blk.0.ffn_down.weight")?.type, .q4_1)
        XCTAssertEqual(f.tensor(named: "token_embd.weight")?.type, .q8_0)
    }

    /// q_proj through the checkpoint = GGUF rows un-permuted per head (9 heads of 64).
    func testQProjIsUnpermuted() throws {
        let path = try modelOrSkip()
        let ck = try GGUFCheckpoint(path: path)
        let raw = try ck.file.decodeFloat32(XCTUnwrap(ck.file.tensor(named: "blk.3.attn_q.weight")))
        let hf = try ck.loadFloat32("model.layers.3.self_attn.q_proj.weight")
        // HF row h*64 + j*32 + i is GGUF row h*64 + 2i + j.
        for (h, i, j) in [(0, 0, 1), (4, 31, 0), (8, 5, 1)] {
            let hr = h * 64 + j * 32 + i, gr = h * 64 + 2 * i + j
            XCTAssertEqual(Array(hf[(hr * 576)..<((hr + 1) * 576)]), Array(raw[(gr * 576)..<((gr + 1) * 576)]))
        }
        XCTAssertNotEqual(hf, raw)
        // v_proj is untouched.
        XCTAssertEqual(try ck.loadFloat32("model.layers.3.self_attn.v_proj.weight"),
                       try ck.file.decodeFloat32(XCTUnwrap(ck.file.tensor(named: "blk.3.attn_v.weight"))))
    }

    func testFullModelDecodeTiming() throws {
        let path = try modelOrSkip()
        let f = try GGUFFile(path: path)
        var total = 0
        let t0 = Date()
        for t in f.tensors { total += try f.decodeFloat32(t).count }
        let raw = Date().timeIntervalSince(t0)
        let ck = try GGUFCheckpoint(file: f)
        let t1 = Date()
        for n in ck.tensorNames { _ = try ck.loadFloat32(n) }
        let viaCheckpoint = Date().timeIntervalSince(t1)
        print("SmolLM2 full decode: \(total) floats, GGUFFile \(String(format: "%.3f", raw)) s, GGUFCheckpoint (with q/k unpermute) \(String(format: "%.3f", viaCheckpoint)) s")
        XCTAssertEqual(total, 134_515_008)
        XCTAssertLessThan(raw, 5.0)
    }
}
