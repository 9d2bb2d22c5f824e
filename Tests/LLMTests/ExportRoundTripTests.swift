import Foundation
import XCTest
import Compute
import ModelIO
@testable import LLM

/// Export round trips on the tiny Llama / Mistral / Qwen2 / Llama-3-scaling models
/// (scripts/make_tiny_models.py): GGUF → Secateur gives identical logits at F32 and, at F16,
/// BF16, Q8_0 and Q4_0, exactly the weights the type's rounding gives; non-uniform models go to
/// deci (with attention-free and MLP-free layers) and back unchanged; HF directories (sharded,
/// and zero-padded to uniform widths) load back with the same logits.
final class ExportRoundTripTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny")
    static let names = ["llama-gqa-untied", "llama-gqa-tied", "llama3-ropescaling", "mistral", "qwen2"]
    static let tokens: [Int32] = [1, 5, 9, 17, 3, 44, 21, 8, 30, 2, 11, 47]

    func load(_ name: String) throws -> LlamaModel {
        try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny.appendingPathComponent(name).path))
    }

    func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-export-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func viaGGUF(_ model: LlamaModel, _ dtype: ExportDType, file: String) throws -> (LlamaModel, GGUFCheckpoint, GGUFExport.Summary) {
        let (w, summary) = try GGUFExport.writer(for: model, dtype: dtype, tokenizer: nil, name: "test")
        let path = tempPath(file)
        try w.write(to: path)
        let ckpt = try GGUFCheckpoint(path: path)
        return (try LlamaModel(checkpoint: ckpt), ckpt, summary)
    }

    func testF32RoundTripGivesIdenticalLogits() throws {
        for name in Self.names {
            let m = try load(name)
            let (back, ckpt, summary) = try viaGGUF(m, .f32, file: "\(name).gguf")
            XCTAssertEqual(summary.architecture, name == "qwen2" ? "qwen2" : "llama", name)
            XCTAssertEqual(ckpt.file.metadata["general.architecture"]?.string, summary.architecture)
            XCTAssertEqual(back.config.ropeScaling?.type, m.config.ropeScaling?.type, name)
            XCTAssertEqual(back.config.numHeads, m.config.numHeads)
            XCTAssertEqual(back.config.tieWordEmbeddings, m.config.tieWordEmbeddings, name)
            XCTAssertEqual(try back.logits(Self.tokens), try m.logits(Self.tokens), "\(name): logits must be bit-identical")
        }
    }

    /// Each matrix read back equals dequantize(quantize(original)) bit for bit; 1-D tensors stay exact.
    func testQuantizedRoundTripStoresTheTypesRounding() throws {
        for name in ["llama-gqa-untied", "qwen2"] {
            let m = try load(name)
            let reference = try m.logits(Self.tokens)
            let scale = reference.map(abs).max()!
            for (dtype, tolerance) in [(ExportDType.f16, Float(3e-3)), (.bf16, 3e-2), (.q8_0, 5e-2), (.q4_0, 0.5)] {
                let (back, ckpt, summary) = try viaGGUF(m, dtype, file: "\(name)-\(dtype.rawValue).gguf")
                let storedShapes = Dictionary(uniqueKeysWithValues: back.parameters.map { ($0.name, $0.shape) })
                for p in m.parameters {
                    var original = m.withParameter(p.name) { $0 }
                    let stored = back.withParameter(p.name) { $0 }
                    guard p.shape.count == 2, let info = ckpt.ggufTensor(for: p.name) else {
                        XCTAssertEqual(stored, original, "\(name) \(dtype): \(p.name) should be exact")
                        continue
                    }
                    // Below F32 the 40-wide MLP is padded with zero channels to 64 (whole blocks of 32).
                    let shape = try XCTUnwrap(storedShapes[p.name])
                    if shape != p.shape {
                        original = UniformPadding.place(original, shape: p.shape, into: shape,
                                                        maps: p.shape.map { Array(0..<$0) })
                    }
                    // What the file holds for this matrix: its type's rounding of the original (rows permuted for q/k).
                    let rows = shape[0], cols = shape[1]
                    var expected = try GGMLQuantize.encode(original, rowLength: cols, as: info.type)
                        .withUnsafeBytes { raw -> [Float] in
                            var out = [Float](repeating: 0, count: original.count)
                            out.withUnsafeMutableBufferPointer { GGMLDequantize.decode(info.type, from: raw.baseAddress!, to: $0.baseAddress!, count: original.count) }
                            return out
                        }
                    if ckpt.rotaryRowsPermuted, p.name.hasSuffix("q_proj.weight") || p.name.hasSuffix("k_proj.weight") {
                        // Blocks run along rows, so permuting rows commutes with the rounding.
                        let l = p.role.layer!
                        let heads = p.name.hasSuffix("q_proj.weight") ? m.config.numHeads[l] : m.config.numKVHeads[l]
                        expected = LlamaCppRotaryPermutation.unpermute(
                            LlamaCppRotaryPermutation.permute(expected, rows: rows, cols: cols, heads: heads), rows: rows, cols: cols, heads: heads)
                    }
                    XCTAssertEqual(stored, expected, "\(name) \(dtype): \(p.name) (\(info.type))")
                }
                XCTAssertEqual(summary.fallbackTensors, [], "\(name) \(dtype): every matrix is stored in the chosen type")
                XCTAssertEqual(summary.paddedMLPLayers, [0, 1])
                XCTAssertEqual(back.config.intermediateSizes, [64, 64])
                let diff = zip(try back.logits(Self.tokens), reference).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(diff, tolerance * scale, "\(name) \(dtype): logits moved by \(diff)")
            }
        }
    }

    /// A model narrowed per layer: layer widths `shapes`, first heads/channels of the original.
    func narrowed(_ m: LlamaModel, _ shapes: [BlockShape]) throws -> LlamaModel {
        try m.rebuilt(hiddenSize: m.hiddenSize, widths: shapes) { name, shape in
            let full = m.withParameter(name) { $0 }
            let original = m.parameters.first { $0.name == name }!.shape
            if shape == original { return full }
            if shape.count == 1 { return Array(full[0..<shape[0]]) }
            var out: [Float] = []
            for r in 0..<shape[0] { out += full[(r * original[1])..<(r * original[1] + shape[1])] }
            return out
        } as! LlamaModel
    }

    func testNonUniformModelRoundTripsThroughDeci() throws {
        for name in ["llama-gqa-untied", "qwen2"] {
            let m = try load(name)
            let hd = m.config.headDim
            for second in [BlockShape(heads: 2, kvHeads: 1, headDim: hd, intermediateSize: 17),
                           BlockShape(heads: 0, kvHeads: 0, headDim: hd, intermediateSize: 0)] {
                let n = try narrowed(m, [m.layers[0].shape, second])
                let (back, ckpt, summary) = try viaGGUF(n, .f32, file: "\(name)-deci.gguf")
                XCTAssertEqual(summary.architecture, "deci")
                XCTAssertEqual(ckpt.file.metadata["deci.attention.head_count"]?.ints, [m.layers[0].heads, second.heads])
                XCTAssertEqual(back.config.numHeads, n.config.numHeads)
                XCTAssertEqual(back.config.numKVHeads, n.config.numKVHeads)
                // F32 keeps exact widths, except that deci cannot hold an empty MLP (0 → 1 zero channel).
                XCTAssertEqual(back.config.intermediateSizes, [40, max(second.intermediateSize, 1)])
                XCTAssertEqual(summary.paddedMLPLayers, second.intermediateSize == 0 ? [1] : [])
                if second.intermediateSize == 0 {
                    XCTAssertNil(ckpt.file.tensor(named: "blk.1.attn_q.weight"), "attention-free deci layers carry no attention tensors")
                    XCTAssertNil(ckpt.file.tensor(named: "blk.1.attn_norm.weight"))
                }
                XCTAssertEqual(try back.logits(Self.tokens), try n.logits(Self.tokens), "\(name) \(second): deci logits")
            }
        }
    }

    func testDeciNeedsHeadsInLayerZero() throws {
        let m = try load("llama-gqa-untied")
        let hd = m.config.headDim
        let n = try narrowed(m, [BlockShape(heads: 0, kvHeads: 0, headDim: hd, intermediateSize: 40), m.layers[1].shape])
        XCTAssertThrowsError(try GGUFExport.writer(for: n, dtype: .f32, tokenizer: nil, name: "x")) { e in
            XCTAssertTrue("\(e)".contains("layer 0 has no attention heads"), "\(e)")
        }
    }

    func testHFExportPadsNonUniformModelsWithoutChangingLogits() throws {
        let m = try load("llama-gqa-untied")
        let hd = m.config.headDim
        // Layer 1 keeps 2 of 4 query heads in 2 groups of 1: padding must regroup them (G = 2).
        let n = try narrowed(m, [m.layers[0].shape, BlockShape(heads: 2, kvHeads: 2, headDim: hd, intermediateSize: 23)])
        let dir = tempPath("padded-hf")
        XCTAssertThrowsError(try HFExport.write(n, dtype: .f32, tokenizer: nil, padUniform: false, to: dir)) { e in
            guard case ExportError.nonUniformWidths = e else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "a refused export writes nothing")
        let s = try HFExport.write(n, dtype: .f32, tokenizer: nil, padUniform: true, to: dir)
        XCTAssertTrue(s.padded)
        let back = try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
        XCTAssertEqual(back.config.numHeads, [4, 4])
        XCTAssertEqual(back.config.numKVHeads, [2, 2])
        XCTAssertEqual(back.config.intermediateSizes, [40, 40])
        let a = try back.logits(Self.tokens), b = try n.logits(Self.tokens)
        XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testHFExportShardsAboveTheLimitAndLoadsBack() throws {
        for name in ["llama-gqa-tied", "qwen2"] {
            let m = try load(name)
            let dir = tempPath("sharded-\(name)")
            let s = try HFExport.write(m, dtype: .f32, tokenizer: nil, padUniform: false, to: dir, maxShardBytes: 8_000)
            XCTAssertGreaterThan(s.shards, 2)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + HFCheckpoint.indexFileName))
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + HFCheckpoint.singleFileName))
            let back = try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
            XCTAssertEqual(try back.logits(Self.tokens), try m.logits(Self.tokens), name)
            // Rewriting the directory replaces it whole: one bf16 file, no stale index or shards.
            let half = try HFExport.write(m, dtype: .bf16, tokenizer: nil, padUniform: false, to: dir)
            XCTAssertEqual(half.shards, 1)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + HFCheckpoint.indexFileName))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".safetensors") }, [HFCheckpoint.singleFileName])
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
            XCTAssertEqual(config["dtype"] as? String, "bfloat16")
        }
    }

    func testHFExportRejectsQuantizedTypes() {
        XCTAssertThrowsError(try HFExport.write(try load("mistral"), dtype: .q8_0, tokenizer: nil, padUniform: false, to: tempPath("q8-hf"))) { e in
            XCTAssertEqual(e as? ExportError, .dtypeNotAvailable(.q8_0, format: .hf))
        }
    }
}
