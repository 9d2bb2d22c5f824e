import Foundation
import XCTest
@testable import ModelIO

/// SmolLM2-135M tokenizer built from its GGUF metadata, against the tokenizer transformers builds
/// from the same GGUF (fixtures from scripts/make_tokenizer_fixtures.py).
final class TokenizerSmolLM2Tests: XCTestCase {
    func testBasics() throws {
        let tok = try TokenizerFixtures.smollm2()
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertEqual(tok.bosTokenID, 1)
        XCTAssertEqual(tok.eosTokenID, 2)
        XCTAssertEqual(tok.unkTokenID, 0)
        XCTAssertEqual(tok.prefixTokenIDs, [])  // add_bos_token is false in this GGUF
        XCTAssertEqual(tok.tokenString(1), "<|im_start|>")
        XCTAssertEqual(tok.tokenID("<|im_end|>"), 2)
        XCTAssertTrue(tok.isSpecial(0))
        XCTAssertEqual(tok.encode("Hello world"), [19556, 905])
    }

    func testTrickyStrings() throws {
        let tok = try TokenizerFixtures.smollm2()
        let items = try TokenizerFixtures.json("smollm2_strings.json") as! [[String: Any]]
        XCTAssertGreaterThan(items.count, 80)
        for item in items {
            let text = item["text"] as! String
            let want = (item["ids"] as! [NSNumber]).map { $0.int32Value }
            let wantNoSpecial = (item["ids_no_special"] as! [NSNumber]).map { $0.int32Value }
            TokenizerFixtures.assertSameIDs(tok.encode(text), want, "encode(\(text.debugDescription.prefix(60)))", tokenizer: tok)
            TokenizerFixtures.assertSameIDs(tok.encode(text, addSpecialTokens: false), wantNoSpecial,
                                            "encode(no special)(\(text.debugDescription.prefix(60)))", tokenizer: tok)
            XCTAssertEqual(tok.decode(want), item["decoded"] as! String, "decode of \(text.debugDescription.prefix(60))")
            // Byte-level BPE is lossless.
            XCTAssertEqual(tok.decode(tok.encode(text)), text)
        }
    }

    func testWikiText2Test() throws {
        // A fresh tokenizer, so the first encode runs with an empty word cache.
        let tok = try TokenizerFixtures.ggufTokenizer("smollm2_gguf_tokenizer.json")
        let text = try TokenizerFixtures.wikitextText()
        let info = (try TokenizerFixtures.manifest()["smollm2"] as! [String: Any])["wikitext2_test"] as! [String: Any]
        XCTAssertEqual(text.unicodeScalars.count, (info["chars"] as! NSNumber).intValue, "reconstructed text length")
        let want = try TokenizerFixtures.u16("smollm2_wikitext2_test.u16")
        // Cold cache, then warm cache.
        var t0 = Date()
        let got = tok.encode(text)
        let cold = Date().timeIntervalSince(t0)
        t0 = Date()
        let again = tok.encode(text)
        let warm = Date().timeIntervalSince(t0)
        print(String(format: "[tokenizer] WikiText-2 test: %d chars -> %d tokens; encode %.3f s (first), %.3f s (cached); HF: %.3f s",
                     text.unicodeScalars.count, got.count, cold, warm,
                     (info["hf_seconds_backend_encode"] as? NSNumber)?.doubleValue ?? -1))
        TokenizerFixtures.assertSameIDs(got, want, "WikiText-2 test", tokenizer: tok)
        XCTAssertEqual(again, got)
        XCTAssertEqual(tok.decode(got), text)
        XCTAssertLessThan(cold, 10, "encoding WikiText-2 should take well under a few seconds")
    }

    func testPTBTest() throws {
        let tok = try TokenizerFixtures.smollm2()
        let text = try TokenizerFixtures.ptbText()
        let info = (try TokenizerFixtures.manifest()["smollm2"] as! [String: Any])["ptb_test"] as! [String: Any]
        XCTAssertEqual(text.unicodeScalars.count, (info["chars"] as! NSNumber).intValue, "reconstructed text length")
        let want = try TokenizerFixtures.u16("smollm2_ptb_test.u16")
        let got = tok.encode(text)
        TokenizerFixtures.assertSameIDs(got, want, "PTB test", tokenizer: tok)
        XCTAssertEqual(tok.decode(got), text)
    }

    func testC4Documents() throws {
        let tok = try TokenizerFixtures.smollm2()
        let info = (try TokenizerFixtures.manifest()["smollm2"] as! [String: Any])["c4_200"] as! [String: Any]
        let lengths = (info["lengths"] as! [NSNumber]).map { $0.intValue }
        let docs = try TokenizerFixtures.c4Documents(lengths.count)
        XCTAssertEqual(docs.count, 200)
        let all = try TokenizerFixtures.u16("smollm2_c4_200.u16")
        XCTAssertEqual(all.count, lengths.reduce(0, +))
        var offset = 0
        var mismatches = 0
        for (k, doc) in docs.enumerated() {
            let want = Array(all[offset..<(offset + lengths[k])])
            offset += lengths[k]
            let got = tok.encode(doc)
            if got != want {
                mismatches += 1
                TokenizerFixtures.assertSameIDs(got, want, "C4 document \(k)", tokenizer: tok)
            }
            XCTAssertEqual(tok.decode(got), doc, "C4 document \(k) round trip")
        }
        XCTAssertEqual(mismatches, 0)
    }
}
