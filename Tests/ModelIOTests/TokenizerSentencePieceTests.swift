import Foundation
import XCTest
@testable import ModelIO

/// SentencePiece-style BPE with byte fallback: a Llama-2-shaped tokenizer.json trained by the
/// fixture script, and the same vocabulary as a llama-type GGUF (merges derived from scores).
final class TokenizerSentencePieceTests: XCTestCase {
    private func check(_ tok: Tokenizer, fixture: String, roundTrip: Bool) throws {
        let items = try TokenizerFixtures.json(fixture) as! [[String: Any]]
        XCTAssertGreaterThan(items.count, 150)
        var failures = 0
        for item in items {
            let text = item["text"] as! String
            let want = (item["ids"] as! [NSNumber]).map { $0.int32Value }
            let wantNoSpecial = (item["ids_no_special"] as! [NSNumber]).map { $0.int32Value }
            let got = tok.encode(text)
            if got != want { failures += 1 }
            TokenizerFixtures.assertSameIDs(got, want, "\(fixture): encode(\(text.debugDescription.prefix(60)))", tokenizer: tok)
            TokenizerFixtures.assertSameIDs(tok.encode(text, addSpecialTokens: false), wantNoSpecial,
                                            "\(fixture): encode no special(\(text.debugDescription.prefix(60)))", tokenizer: tok)
            XCTAssertEqual(tok.decode(want), item["decoded"] as! String, "\(fixture): decode of \(text.debugDescription.prefix(60))")
            if roundTrip && !text.isEmpty && !text.hasPrefix(" ") && !text.contains("<") && !text.contains("\u{2581}") {
                // The decoder strips the one prefix space; texts with literal special tokens or a
                // leading space do not round-trip in HF either.
                XCTAssertEqual(tok.decode(tok.encode(text, addSpecialTokens: false)), text, "round trip \(text.debugDescription.prefix(60))")
            }
        }
        XCTAssertEqual(failures, 0, "\(fixture): \(failures) strings differ")
    }

    func testTokenizerJSON() throws {
        let tok = try Tokenizer(tokenizerJSON: TokenizerFixtures.dir.appendingPathComponent("spm_bpe_tokenizer.json"))
        XCTAssertEqual(tok.bosTokenID, 1)
        XCTAssertEqual(tok.eosTokenID, 2)
        XCTAssertEqual(tok.unkTokenID, 0)
        XCTAssertEqual(tok.prefixTokenIDs, [1])
        XCTAssertEqual(tok.tokenString(3), "<0x00>")
        try check(tok, fixture: "spm_bpe_strings.json", roundTrip: true)
    }

    func testLlamaGGUFMetadata() throws {
        let tok = try TokenizerFixtures.ggufTokenizer("spm_llama_gguf_tokenizer.json")
        XCTAssertEqual(tok.bosTokenID, 1)
        XCTAssertEqual(tok.prefixTokenIDs, [1])
        XCTAssertEqual(tok.tokenID("<tool>"), 1256)
        XCTAssertFalse(tok.isSpecial(1256))
        try check(tok, fixture: "spm_llama_gguf_strings.json", roundTrip: true)
    }

    func testErrors() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/tokenizer.json")
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: missing)) { e in
            guard case TokenizerError.fileNotFound = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("/nonexistent/tokenizer.json"))
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data("{not json".utf8))) { e in
            guard case TokenizerError.malformedJSON = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"Unigram","vocab":[]}}"#.utf8))) { e in
            guard case TokenizerError.unsupportedModel("Unigram") = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"BPE","vocab":{"a":0}}}"#.utf8))) { e in
            guard case TokenizerError.missingMerges = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data(#"{"model":{"type":"BPE","vocab":{"a":0},"merges":["a b"]}}"#.utf8))) { e in
            guard case TokenizerError.mergeTokenNotInVocabulary("b") = e else { return XCTFail("\(e)") }
        }
        let json = #"{"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"UnicodeScripts"}}"#
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data(json.utf8))) { e in
            guard case TokenizerError.unsupportedComponent = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("UnicodeScripts"))
        }
        XCTAssertThrowsError(try Tokenizer(ggufModel: "t5", pre: nil, tokens: ["a"], tokenTypes: nil, merges: nil,
                                           scores: [0], bosID: nil, eosID: nil, unkID: nil, addBOS: nil, addEOS: nil)) { e in
            guard case TokenizerError.unsupportedModel = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Tokenizer(ggufModel: "llama", pre: nil, tokens: ["a", "b"], tokenTypes: nil, merges: nil,
                                           scores: nil, bosID: nil, eosID: nil, unkID: nil, addBOS: nil, addEOS: nil)) { e in
            guard case TokenizerError.missingMerges = e else { return XCTFail("\(e)") }
        }
    }
}
