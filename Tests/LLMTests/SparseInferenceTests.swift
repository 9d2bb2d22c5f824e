import XCTest
@testable import LLM
import ModelIO
import Compute

/// A pruned tiny model run with sparse storage must give the logits of the same model run
/// dense with the zeros in place (max |Δ| ≤ 1e-4), for a whole sequence (prefill kernels)
/// and token by token through the KV cache (decode kernels).
final class SparseInferenceTests: XCTestCase {
    func tinyModel(_ name: String) throws -> LlamaModel {
        let dir = TinyModelLogitsTests.fixtures.appendingPathComponent(name).path
        return try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
    }

    /// Zeros the smallest |w|: per row `fraction` unstructured, or `keep` of every `group`.
    func prune(_ model: LlamaModel, fraction: Double? = nil, keep: Int = 2, group: Int = 4) {
        for i in model.layers.indices {
            for p in Projection.allCases {
                var l = model.layers[i][p]
                let cols = l.inFeatures
                for r in 0..<l.outFeatures {
                    let span = fraction == nil ? group : cols
                    for g in stride(from: 0, to: cols, by: span) {
                        let idx = (g..<(g + span)).sorted { abs(l.weight[r * cols + $0]) < abs(l.weight[r * cols + $1]) }
                        let drop = fraction.map { Int(Double(span) * $0) } ?? (group - keep)
                        for c in idx.prefix(drop) { l.weight[r * cols + c] = 0 }
                    }
                }
                model.layers[i][p] = l
            }
        }
    }

    func outputs(_ m: LlamaModel, _ tokens: [Int32]) throws -> (full: [Float], steps: [Float]) {
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

    let tokens: [Int32] = (0..<41).map { Int32(($0 * 7 + 3) % 48) }

    func testSparseFormatsMatchDenseWithZeros() throws {
        for name in ["llama-gqa-untied", "qwen2", "mistral"] {
            for (label, fraction) in [("2:4", nil), ("70%", 0.7 as Double?)] {
                let model = try tinyModel(name)
                prune(model, fraction: fraction)
                let dense = try outputs(model, tokens)
                let formats: [SparseFormat] = fraction == nil ? [.csr, .nm, .bitmap, .auto] : [.csr, .bitmap, .auto]
                for f in formats {
                    try model.useSparseFormat(f)
                    if f != .auto {
                        XCTAssertTrue(model.layers.allSatisfy { l in Projection.allCases.allSatisfy { l[$0].weight.isEmpty } },
                                      "\(name) \(label) \(f): dense copies dropped")
                    }
                    let sparse = try outputs(model, tokens)
                    XCTAssertLessThanOrEqual(maxAbsDiff(sparse.full, dense.full), 1e-4, "\(name) \(label) \(f) prefill")
                    XCTAssertLessThanOrEqual(maxAbsDiff(sparse.steps, dense.steps), 1e-4, "\(name) \(label) \(f) decode")
                    try model.useSparseFormat(.dense)
                    XCTAssertEqual(try outputs(model, tokens).full, dense.full, "\(name): back to dense is exact")
                }
            }
        }
    }

    func testAutoPicksSparseStorageForPrunedModels() throws {
        let m24 = try tinyModel("llama-gqa-untied")
        prune(m24)
        // The 2:4 decode format costs 1.15× dense's time per byte for 0.53× the bytes
        // (`SparseDecodeCost`): the matrices 32 inputs wide take it; the 40-wide down_proj only
        // fits the general N:M kernel (2.2× per byte for 0.625× the bytes) and stays dense.
        let s24 = try m24.useSparseFormat(.auto)
        XCTAssertEqual(s24.matrices["2:4"], 12, "\(s24)")
        XCTAssertEqual(s24.matrices["dense"], 2, "\(s24)")
        XCTAssertEqual(try m24.useSparseFormat(.nm).matrices["2:4"], 14, "nm still packs it")
        let m70 = try tinyModel("llama-gqa-untied")
        prune(m70, fraction: 0.7)
        // At 70 % CSR and the bitmap cost about the same (0.675× and 0.7× dense at these widths,
        // where CSR's row starts weigh more); every matrix goes sparse, the 40-wide one to CSR.
        let s70 = try m70.useSparseFormat(.auto)
        XCTAssertEqual(s70.matrices["csr", default: 0] + s70.matrices["bitmap", default: 0], 14, "\(s70)")
        XCTAssertGreaterThanOrEqual(s70.matrices["csr", default: 0], 2, "\(s70)")
        // At half density CSR reads 0.75× the bytes at 1.5× the time per byte (1.12× dense's
        // time); the bitmap's 0.7× per weight wins where the width is whole 32-column words (the
        // 40-wide down_proj stays dense).
        let m50 = try tinyModel("llama-gqa-untied")
        prune(m50, fraction: 0.5)
        let s50 = try m50.useSparseFormat(.auto)
        XCTAssertEqual(s50.matrices["bitmap"], 12, "\(s50)")
        XCTAssertEqual(s50.matrices["dense"], 2, "\(s50)")
        // Asked for explicitly, widths the bitmap cannot hold go to CSR.
        let sb = try m50.useSparseFormat(.bitmap)
        XCTAssertEqual(sb.matrices["bitmap"], 12, "\(sb)")
        XCTAssertEqual(sb.matrices["csr"], 2, "\(sb)")
        // A dense model stays dense.
        XCTAssertEqual(try tinyModel("llama-gqa-untied").useSparseFormat(.auto).matrices["dense"], 14)
    }

    func testNMOnUnstructuredModelIsAClearError() throws {
        let model = try tinyModel("llama-gqa-untied")
        prune(model, fraction: 0.5)
        XCTAssertThrowsError(try model.useSparseFormat(.nm)) { e in
            XCTAssertTrue("\(e)".contains("model.layers.0.self_attn.q_proj is not N:M sparse"), "\(e)")
        }
    }
}
