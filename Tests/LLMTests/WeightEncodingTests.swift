import XCTest
import TestSupport
@testable import LLM
import ModelIO
import Compute

/// Models run with their matrices encoded (`useWeights`): the logits equal those of the
/// float32 model whose weights are the encoded values (for the whole sequence through the
/// decoded tiles, and token by token through the dot kernels); the head is encoded too;
/// widths that are not whole blocks fall back to f16; a GGUF's own blocks run as stored
/// and a model changed since loading is refused.
final class WeightEncodingTests: XCTestCase {
    func tinyModel(_ name: String) throws -> LlamaModel {
        let dir = TinyModelLogitsTests.fixtures.appendingPathComponent(name).path
        return try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
    }

    let tokens: [Int32] = (0..<37).map { Int32(($0 * 5 + 1) % 48) }

    func outputs(_ m: LanguageModel, _ tokens: [Int32]) throws -> (full: [Float], steps: [Float]) {
        let full = try m.logits(tokens)
        let cache = m.makeCache(capacity: tokens.count)
        var steps: [Float] = []
        for t in tokens { steps += try m.lastLogits([t], cache: cache) }
        return (full, steps)
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testEncodedModelsEqualTheirDecodedFloatTwins() throws {
        for name in ["llama-gqa-untied", "llama-gqa-tied", "qwen2"] {
            for e in [BlockEncoding.f16, .bf16, .q8_0, .q4_0] {
                let model = try tinyModel(name)
                let summary = try model.useWeights(e)
                // hidden 32 is one block; the MLP's 40-wide down_proj is not, so it falls back to f16.
                let blockWise = e == .q8_0 || e == .q4_0
                XCTAssertEqual(summary.matrices[e.rawValue], blockWise ? 2 * 6 + 1 : 2 * 7 + 1, "\(name) \(e): \(summary)")
                if blockWise { XCTAssertEqual(summary.matrices["f16"], 2, "\(name) \(e): \(summary)") }
                XCTAssertNotNil(model.encodedHead)
                XCTAssertTrue(model.layers.allSatisfy { $0.q.weight.isEmpty }, "dense copies dropped")
                let encoded = try outputs(model, tokens)

                // The twin: a float32 model holding exactly the encoded values.
                let twin = try tinyModel(name)
                for i in twin.layers.indices {
                    for p in Projection.allCases { twin.layers[i][p].weight = model.layers[i][p].denseWeight }
                }
                let blocksOnly = try twin.logits(tokens)
                // An untied head holding the encoded head's values (a tied twin keeps its embedding for the lookup).
                twin.lmHead = model.encodedHead!.densified()
                let reference = try outputs(twin, tokens)
                XCTAssertLessThanOrEqual(maxAbsDiff(encoded.full, reference.full), 1e-4, "\(name) \(e) prefill")
                // Decode through block types multiplies 8-bit activations (the kernel is checked
                // exactly in EncodedMatrixTests): near the twin, relative to its largest logit (at
                // width 32 each row is one block, the coarsest case; on SmolLM2 the decode-pass
                // perplexity is within 0.05 % of llama.cpp's, BENCHMARKS.md).
                let stepScale = reference.steps.map(abs).max()!
                let decodeTolerance: Float = blockWise ? 0.08 * stepScale : 1e-4
                XCTAssertLessThanOrEqual(maxAbsDiff(encoded.steps, reference.steps), decodeTolerance, "\(name) \(e) decode (scale \(stepScale))")
                // And they are near the original model's, relative to the largest logit (f16 tightly, 4 bits loosely).
                let original = try tinyModel(name).logits(tokens)
                let scale = original.map(abs).max()!
                let tolerance: Float = [.f16: 0.01, .bf16: 0.05, .q8_0: 0.1, .q4_0: 0.5][e]!
                XCTAssertLessThanOrEqual(maxAbsDiff(encoded.full, original), tolerance * scale, "\(name) \(e) vs float32 (scale \(scale))")

                // Back to float32 storage: the encoded values held dense, and the float32 head.
                try model.useWeights(.f32)
                XCTAssertNil(model.encodedHead)
                XCTAssertLessThanOrEqual(maxAbsDiff(try model.logits(tokens), blocksOnly), 1e-5, "\(name) \(e) back to f32")
            }
        }
    }

    func testSparseStorageKeepsItsFloatValues() throws {
        let model = try tinyModel("llama-gqa-untied")
        try model.useSparseFormat(.csr)
        let s = try model.useWeights(.q8_0)
        XCTAssertEqual(s.matrices["csr"], 14, "\(s)")
        XCTAssertEqual(s.matrices["q8_0"], 1, "only the head: \(s)")
    }

    func testBitmapStorageReencodesItsKeptValues() throws {
        let model = try tinyModel("llama-gqa-untied")
        let dense = try model.logits(tokens)
        try model.useSparseFormat(.bitmap)
        for (e, label) in [(BlockEncoding.q8_0, "bitmap f16"), (.f16, "bitmap f16"), (.bf16, "bitmap bf16")] {
            let s = try model.useWeights(e)
            XCTAssertEqual(s.matrices[label], 12, "\(e): \(s)")   // the 40-wide down_proj is CSR
            XCTAssertEqual(s.matrices["csr"], 2, "\(e): \(s)")
            // 16-bit values: logits near the float32 model's, not equal; the decode kernel and
            // the prefill's decoded tiles run the same stored values.
            let out = try outputs(model, tokens)
            let d = maxAbsDiff(out.full, dense)
            XCTAssertGreaterThan(d, 0, "\(e)")
            XCTAssertLessThan(d, 0.1, "\(e)")
            // (A Q8_0 head runs on 8-bit activations in decode: not comparable.)
            if e != .q8_0 { XCTAssertLessThanOrEqual(maxAbsDiff(out.steps, out.full), 1e-4, "\(e): decode = prefill") }
        }
    }

    func smolLM2Path() throws -> String { try smolLM2GGUFPath() }

    func testNativeRunsTheGGUFBlocksAsStored() throws {
        let path = try smolLM2Path()
        let loaded = try ModelLoader.load(path)
        let ids: [Int32] = [1, 504, 3458, 282, 4649, 314, 2]
        let before = try outputs(loaded.model, ids)
        let summary = try loaded.useWeights(.native)
        // 30 blocks × 7 projections and the (tied) head, mostly Q4_1 blocks in this file.
        let total = summary.matrices.values.reduce(0, +)
        XCTAssertEqual(total, 30 * 7 + 1, "\(summary)")
        XCTAssertGreaterThan(summary.matrices["q4_1", default: 0], 0, "\(summary)")
        XCTAssertNotNil(loaded.model.encodedHead)
        // The same values as the float32 model (the check inside useWeights is exact): prefill
        // differs by summation order only; decode by the 8-bit activations of the block kernels.
        let after = try outputs(loaded.model, ids)
        let scale = before.full.map(abs).max()!
        XCTAssertLessThanOrEqual(maxAbsDiff(after.full, before.full), 1e-4 * scale)
        XCTAssertLessThanOrEqual(maxAbsDiff(after.steps, before.steps), 0.1 * scale)

        // A model changed after loading cannot stand on its file's blocks.
        let changed = try ModelLoader.load(path)
        var l = changed.model.linear(.up, layer: 3)
        l.weight[5] = 0.125
        changed.model.setLinear(l, .up, layer: 3)
        XCTAssertThrowsError(try changed.useWeights(.native)) { e in
            XCTAssertTrue("\(e)".contains("model.layers.3.mlp.up_proj.weight"), "\(e)")
        }
    }
}
