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

    /// transformers' AutoTokenizer on the written tokenizer.json + tokenizer_config.json gives
    /// the fixtures' ids (transformers' own, from the original files) — for a SentencePiece
    /// tokenizer built from GGUF metadata and for SmolLM2's byte-level one. Skips, saying so,
    /// when Python lacks transformers (`SECATEUR_PYTHON` names the interpreter).
    func testTransformersReadsTheWrittenTokenizerJSON() throws {
        let python = ProcessInfo.processInfo.environment["SECATEUR_PYTHON"] ?? "python3"
        guard run(python, ["-c", "import transformers"]).status == 0 else {
            throw XCTSkip("\(python) lacks transformers: the AutoTokenizer check of the written tokenizer.json was skipped")
        }
        let script = TokenizerFixtures.packageRoot.appendingPathComponent("scripts/check_tokenizer_json.py").path
        for (name, original, stringsFile) in try sources() where ["spm_llama_gguf", "smollm2_gguf"].contains(name) {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-tokjson-\(getpid())-\(name)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try original.tokenizerJSONData().write(to: dir.appendingPathComponent("tokenizer.json"))
            try JSONSerialization.data(withJSONObject: original.tokenizerConfigObject(chatTemplate: nil, modelMaxLength: 2048))
                .write(to: dir.appendingPathComponent("tokenizer_config.json"))
            let r = run(python, [script, dir.path, TokenizerFixtures.dir.appendingPathComponent(stringsFile).path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let got = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[Int]], r.stdout)
            let expected = try strings(stringsFile)
            XCTAssertEqual(got.count, expected.count)
            for (g, e) in zip(got, expected) {
                XCTAssertEqual(g.map(Int32.init), e.ids, "\(name): \(e.text.debugDescription)")
            }
        }
    }

    func run(_ python: String, _ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testGGUFPreNames() throws {
        let dir = TokenizerFixtures.dir
        XCTAssertEqual(try Tokenizer(tokenizerJSON: dir.appendingPathComponent("bytelevel_llama3_tokenizer.json")).ggufPreName, "llama-bpe")
        XCTAssertEqual(try Tokenizer(tokenizerJSON: dir.appendingPathComponent("bytelevel_smol_tokenizer.json")).ggufPreName, "smollm")
    }
}
