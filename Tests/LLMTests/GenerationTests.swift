import XCTest
import LLM
import ModelIO

final class GenerationTests: XCTestCase {
    func tinyModel() throws -> LlamaModel {
        let dir = TinyModelLogitsTests.fixtures.appendingPathComponent("llama-gqa-untied").path
        return try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
    }

    func argmax(_ x: ArraySlice<Float>) -> Int32 {
        Int32(x.indices.max { x[$0] < x[$1] }! - x.startIndex)
    }

    /// Greedy decoding through the KV cache must pick, at every step, the argmax of the logits
    /// of a full forward over everything so far (no cache).
    func testGreedyWithCacheEqualsFullRecompute() throws {
        let model = try tinyModel()
        var sampler = Sampler()
        let prompt: [Int32] = [3, 17, 5, 40, 2]
        let out = try model.generate(prompt: prompt, maxTokens: 8, sampler: &sampler)
        XCTAssertEqual(out.count, 8)
        var seq = prompt
        for t in out {
            let logits = try model.logits(seq)
            let v = model.vocabSize
            XCTAssertEqual(t, argmax(logits[(logits.count - v)...]))
            seq.append(t)
        }
    }

    func testSamplingIsReproducibleAndTopPNarrows() {
        let logits: [Float] = [0.1, 3.0, 0.2, 2.9, -1]
        var a = Sampler(temperature: 1, topP: 1, seed: 7), b = Sampler(temperature: 1, topP: 1, seed: 7)
        let xa = (0..<200).map { _ in a.next(logits) }, xb = (0..<200).map { _ in b.next(logits) }
        XCTAssertEqual(xa, xb)
        XCTAssertGreaterThan(Set(xa).count, 2)          // full distribution: more than the top two appear
        var narrow = Sampler(temperature: 1, topP: 0.5, seed: 3)
        let xs = Set((0..<50).map { _ in narrow.next(logits) })
        XCTAssertTrue(xs.isSubset(of: [1, 3]))           // the two tokens that already hold > 0.5 mass
        var greedy = Sampler(temperature: 0)
        XCTAssertEqual(greedy.next(logits), 1)
    }

    func testCacheRefusesOverflow() throws {
        let model = try tinyModel()
        let cache = model.makeCache(capacity: 4)
        XCTAssertThrowsError(try model.lastLogits([1, 2, 3, 4, 5], cache: cache))
    }
}
