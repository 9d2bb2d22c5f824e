import Foundation
import XCTest
@testable import ModelIO

/// The tokenizer writers read back to the same tokenizer: tokenizer.json written by
/// `tokenizerJSONData()` and GGUF metadata written by `ggufMetadata()` give the token ids
/// transformers gives (the fixtures' expected ids, scripts/make_tokenizer_fixtures.py), for
/// byte-level BPE (Llama 3 split, SmolLM digits, SmolLM2's GGUF) and SentencePiece BPE.
final class TokenizerWriterTests: XCTestCase {
    /// (tokenizer, strings fixture) pairs covering both BPE kinds.
    func sources() throws -> [(String, Tokenizer, String)] {
        let dir = TokenizerFixtures.dir
        return [
            ("bytelevel_llama3", try Tokenizer(tokenizerJSON: dir.appendingPathComponent("bytelevel_llama3_tokenizer.json")), "bytelevel_llama3_strings.json"),
            ("bytelevel_smol", try Tokenizer(tokenizerJSON: dir.appendingPathComponent("bytelevel_smol_tokenizer.json")), "bytelevel_smol_strings.json"),
            ("spm_bpe", try Tokenizer(tokenizerJSON: dir.appendingPathComponent("spm_bpe_tokenizer.json")), "spm_bpe_strings.json"),
            ("spm_llama_gguf", try TokenizerFixtures.ggufTokenizer("spm_llama_gguf_tokenizer.json"), "spm_llama_gguf_strings.json"),
            ("smollm2_gguf", try TokenizerFixtures.smollm2(), "smollm2_strings.json"),
        ]
    }

    func strings(_ name: String) throws -> [(text: String, ids: [Int32])] {
        let list = try TokenizerFixtures.json(name) as! [[String: Any]]
        return list.map { ($0["text"] as! String, ($0["ids"] as! [NSNumber]).map { $0.int32Value }) }
    }

    func testTokenizerJSONRoundTripKeepsIDs() throws {
        for (name, original, stringsFile) in try sources() {
            // As an HF export writes them: tokenizer.json plus a tokenizer_config.json naming the specials.
            let written = try original.tokenizerJSONData()
            let config = try JSONSerialization.data(withJSONObject: original.tokenizerConfigObject(chatTemplate: nil, modelMaxLength: 2048))
            let reread = try Tokenizer(tokenizerJSON: written, tokenizerConfig: config)
            var checked = 0
            for (text, ids) in try strings(stringsFile) {
                XCTAssertEqual(reread.encode(text), ids, "\(name): \(text.debugDescription)")
                XCTAssertEqual(reread.decode(ids), original.decode(ids), "\(name): decode")
                checked += 1
            }
            XCTAssertGreaterThan(checked, 10, name)
            XCTAssertEqual(reread.bosTokenID, original.bosTokenID, name)
            XCTAssertEqual(reread.eosTokenID, original.eosTokenID, name)
            XCTAssertEqual(reread.vocabularySize, original.vocabularySize, name)
        }
    }

    func testGGUFMetadataRoundTripKeepsIDs() throws {
        for (name, original, stringsFile) in try sources() where !["bytelevel_smol", "spm_bpe"].contains(name) {
            // Two tokenizer.json behaviours have no GGUF spelling that transformers reads back, as
            // with llama.cpp's own converter: SmolLM's digit split (pre=smollm maps to GPT-2's
            // regex) and the legacy SentencePiece normalizer that prepends "▁" to every text
            // (a GGUF `llama` tokenizer gets Metaspace with prepend_scheme "first").
            let md = Dictionary(try original.ggufMetadata(), uniquingKeysWith: { a, _ in a })
            func ints(_ k: String) -> [Int32]? { md[k]?.array?.compactMap { $0.int.map(Int32.init) } }
            let reread = try Tokenizer(
                ggufModel: md["tokenizer.ggml.model"]!.string!, pre: md["tokenizer.ggml.pre"]?.string,
                tokens: md["tokenizer.ggml.tokens"]!.array!.map { $0.string! },
                tokenTypes: ints("tokenizer.ggml.token_type"),
                merges: md["tokenizer.ggml.merges"]?.array?.map { $0.string! },
                scores: md["tokenizer.ggml.scores"]?.array?.map { $0.float! },
                bosID: md["tokenizer.ggml.bos_token_id"]?.int, eosID: md["tokenizer.ggml.eos_token_id"]?.int,
                unkID: md["tokenizer.ggml.unknown_token_id"]?.int, padID: md["tokenizer.ggml.padding_token_id"]?.int,
                addBOS: md["tokenizer.ggml.add_bos_token"]?.bool, addEOS: md["tokenizer.ggml.add_eos_token"]?.bool)
            for (text, ids) in try strings(stringsFile) {
                XCTAssertEqual(reread.encode(text), ids, "\(name): \(text.debugDescription)")
            }
        }
    }

    func testGGUFPreNames() throws {
        let dir = TokenizerFixtures.dir
        XCTAssertEqual(try Tokenizer(tokenizerJSON: dir.appendingPathComponent("bytelevel_llama3_tokenizer.json")).ggufPreName, "llama-bpe")
        XCTAssertEqual(try Tokenizer(tokenizerJSON: dir.appendingPathComponent("bytelevel_smol_tokenizer.json")).ggufPreName, "smollm")
    }
}
