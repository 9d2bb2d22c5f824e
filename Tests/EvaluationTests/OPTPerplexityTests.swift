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
        }
    }
}
