import XCTest
import LLM
import ModelIO

/// Logits of tiny random Llama / Mistral / Qwen2 models against transformers (float32),
/// loaded from safetensors and from GGUF (with llama.cpp's q/k row permutation undone).
/// Fixtures: scripts/make_tiny_models.py.
final class TinyModelLogitsTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny")

    struct Expected { var input: [Int32]; var logits: [Float]; var next: [Int32]; var nextLogits: [Float] }

    func expected(_ name: String) throws -> Expected {
        let f = try SafetensorsFile(path: Self.fixtures.appendingPathComponent("\(name)/expected.safetensors").path)
        return Expected(input: try f.loadInts("input_ids").map { Int32($0) }, logits: try f.loadFloat32("logits"),
                        next: try f.loadInts("next_input_ids").map { Int32($0) }, nextLogits: try f.loadFloat32("next_logits"))
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func check(_ name: String, model: LlamaModel, tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) throws {
        let e = try expected(name)
        let full = try model.logits(e.input)
        XCTAssertLessThanOrEqual(maxAbsDiff(full, e.logits), tolerance, "\(name): full-sequence logits", file: file, line: line)
        // Incremental decoding: prefix through the cache, then the continuation.
        let cache = model.makeCache(capacity: e.input.count + e.next.count)
        _ = try model.lastLogits(e.input, cache: cache)
        let cont = try model.logits(e.next, cache: cache)
        XCTAssertLessThanOrEqual(maxAbsDiff(cont, e.nextLogits), tolerance, "\(name): logits after KV cache", file: file, line: line)
        // And decoding one token at a time must give the same last logits.
        let cache2 = model.makeCache(capacity: e.input.count + e.next.count)
        _ = try model.lastLogits(e.input, cache: cache2)
        var last: [Float] = []
        for t in e.next { last = try model.lastLogits([t], cache: cache2) }
        let v = model.vocabSize
        XCTAssertLessThanOrEqual(maxAbsDiff(last, Array(e.nextLogits[(e.nextLogits.count - v)...])), tolerance, file: file, line: line)
    }

    static let names = ["llama-gqa-untied", "llama-gqa-tied", "llama3-ropescaling", "mistral", "qwen2"]

    func testSafetensorsLogitsMatchTransformers() throws {
        for name in Self.names {
            let ckpt = try HFCheckpoint(directory: Self.fixtures.appendingPathComponent(name).path)
            try check(name, model: try LlamaModel(checkpoint: ckpt))
        }
    }

    func testGGUFLogitsMatchTransformers() throws {
        var tested = 0
        for name in Self.names {
            for file in ["model.gguf", "model-f16.gguf"] {
                let path = Self.fixtures.appendingPathComponent("\(name)/\(file)").path
                guard FileManager.default.fileExists(atPath: path) else { continue }
                // F16 storage rounds weights, so compare it more loosely than the float32 file.
                try check("\(name)", model: try LlamaModel(checkpoint: try GGUFCheckpoint(path: path)),
                          tolerance: file.contains("f16") ? 2e-2 : 1e-4)
                tested += 1
            }
        }
        XCTAssertGreaterThanOrEqual(tested, 5)
    }
}
