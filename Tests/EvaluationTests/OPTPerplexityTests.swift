import XCTest
import Foundation
import Evaluation
import LLM

/// OPT perplexity with the Wanda protocol against transformers on the fixture's token ids
/// (scripts/make_opt_fixtures.py: windows of 32 tokens, exp of the mean window loss).
final class OPTPerplexityTests: XCTestCase {
    func testPerplexityWithinATenthOfAPercentOfTransformers() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/opt")
        for name in ["opt-pre", "opt-post-proj"] {
            let data = try Data(contentsOf: fixtures.appendingPathComponent("\(name)/perplexity.json"))
            let ref = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            let ids = (ref["ids"] as! [Int]).map { Int32($0) }, seqlen = ref["seqlen"] as! Int
            let windows = (0..<(ids.count / seqlen)).map { Array(ids[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
            let model = try OPTModel(directory: fixtures.appendingPathComponent(name).path)
            let r = try Perplexity.evaluate(model: model, modelName: name, dataset: "wikitext2", protocol: .wanda, windows: windows)
            let expected = ref["ppl"] as! Double
            XCTAssertEqual(windows.count, ref["windows"] as! Int)
            XCTAssertEqual(r.ppl, expected, accuracy: 1e-3 * expected, name)
            // One token at a time through the KV cache: the same losses (float32 weights).
            let d = try Perplexity.evaluate(model: model, modelName: name, dataset: "wikitext2", protocol: .wanda,
                                            windows: windows, pass: .decode)
            XCTAssertEqual(d.ppl, expected, accuracy: 1e-3 * expected, "\(name) decode pass")
            for (a, b) in zip(d.nllPerWindow, r.nllPerWindow) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "\(name) decode pass") }
        }
    }
}

/// Task scoring packs documents (a shared context segment, one segment per choice) into one
/// forward; OPT's learned positions must restart per segment, so each choice's log-likelihood
/// equals an ordinary forward over its own context + continuation.
final class OPTTaskScoringTests: XCTestCase {
    func testPackedDocumentsScoreAsSeparateForwards() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/opt")
        let model = try OPTModel(directory: fixtures.appendingPathComponent("opt-pre").path)
        let docs: [[(context: [Int32], continuation: [Int32])]] = [
            [([2, 10, 20, 30, 40], [50, 60]), ([2, 10, 20, 30, 40], [70]), ([2, 10, 20, 30, 40], [80, 90, 100])],
            [([2, 7, 8], [9]), ([2, 7, 8], [11, 12])],
        ]
        let scores = try LoglikelihoodScorer(model: model, tokenizer: nil).score(tokenDocuments: docs)
        for (doc, docScores) in zip(docs, scores) {
            for (pair, score) in zip(doc, docScores) {
                let input = pair.context + pair.continuation.dropLast()
                let logits = try model.logits(input), v = model.vocabSize
                var expected = 0.0
                for (t, target) in pair.continuation.enumerated() {
                    let row = Array(logits[((pair.context.count - 1 + t) * v)..<((pair.context.count + t) * v)])
                    let m = row.max()!, lse = Double(m) + log(row.map { exp(Double($0 - m)) }.reduce(0, +))
                    expected += Double(row[Int(target)]) - lse
                }
                XCTAssertEqual(score.loglikelihood, expected, accuracy: 1e-4, "\(pair)")
            }
        }
    }
}
