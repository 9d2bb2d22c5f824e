import Foundation
import XCTest
@testable import ModelIO

/// Small byte-level BPE tokenizer.json files trained by the fixture script: SmolLM style
/// (Digits(individual) + ByteLevel) and Llama-3 style (Split(Llama-3 regex) + ByteLevel without
/// regex, ignore_merges, BOS template).
final class TokenizerByteLevelJSONTests: XCTestCase {
    private func check(_ name: String, prefix: [Int32]) throws {
        let tok = try Tokenizer(tokenizerJSON: TokenizerFixtures.dir.appendingPathComponent("bytelevel_\(name)_tokenizer.json"))
        XCTAssertEqual(tok.prefixTokenIDs, prefix)
        XCTAssertEqual(tok.tokenID("<|im_end|>"), 2)
        let items = try TokenizerFixtures.json("bytelevel_\(name)_strings.json") as! [[String: Any]]
        XCTAssertGreaterThan(items.count, 80)
        for item in items {
            let text = item["text"] as! String
            let want = (item["ids"] as! [NSNumber]).map { $0.int32Value }
            let wantNoSpecial = (item["ids_no_special"] as! [NSNumber]).map { $0.int32Value }
            TokenizerFixtures.assertSameIDs(tok.encode(text), want, "\(name): encode(\(text.debugDescription.prefix(60)))", tokenizer: tok)
            TokenizerFixtures.assertSameIDs(tok.encode(text, addSpecialTokens: false), wantNoSpecial,
                                            "\(name): encode no special(\(text.debugDescription.prefix(60)))", tokenizer: tok)
            XCTAssertEqual(tok.decode(want), item["decoded"] as! String, "\(name): decode of \(text.debugDescription.prefix(60))")
            XCTAssertEqual(tok.decode(tok.encode(text, addSpecialTokens: false)), text)
        }
    }

    func testSmolStyle() throws { try check("smol", prefix: []) }
    func testLlama3Style() throws { try check("llama3", prefix: [1]) }
}
