import Foundation
import XCTest
@testable import ModelIO

/// OPT's GPT-2 byte-level BPE tokenizer (Tests/Fixtures/opt, scripts/make_opt_fixtures.py) in the two
/// layouts an OPT checkpoint directory may have: `tokenizer.json` as transformers 5 saves it, and the
/// Hub files `vocab.json` + `merges.txt` + `tokenizer_config.json` + `special_tokens_map.json`.
final class TokenizerOPTTests: XCTestCase {
    static let optDir = TokenizerFixtures.packageRoot.appendingPathComponent("Tests/Fixtures/opt")
    static let jsonDir = optDir.appendingPathComponent("tokenizer-json")
    static let hubDir = optDir.appendingPathComponent("tokenizer-vocab-merges")

    private func items() throws -> [[String: Any]] {
        let data = try Data(contentsOf: Self.optDir.appendingPathComponent("tokenizer_strings.json"))
        return try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data)) as! [[String: Any]]
    }

    /// Every fixture string: ids with and without the BOS, decode of the ids, round trip.
    private func check(_ tok: Tokenizer, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(tok.prefixTokenIDs, [2], name, file: file, line: line)
        XCTAssertEqual(tok.suffixTokenIDs, [], name, file: file, line: line)
        XCTAssertEqual(tok.bosTokenID, 2, name, file: file, line: line)
        XCTAssertEqual(tok.eosTokenID, 2, name, file: file, line: line)
        XCTAssertEqual(tok.unkTokenID, 2, name, file: file, line: line)
        XCTAssertEqual(tok.padTokenID, 1, name, file: file, line: line)
        XCTAssertEqual(tok.vocabularySize, 512, name, file: file, line: line)
        XCTAssertTrue(tok.isSpecial(1) && tok.isSpecial(2), name, file: file, line: line)
        XCTAssertFalse(tok.isSpecial(0) || tok.isSpecial(3), name, file: file, line: line)  // "<s>", "<unk>": plain vocabulary
        XCTAssertEqual(tok.tokenID("</s>"), 2, name, file: file, line: line)
        let items = try items()
        XCTAssertEqual(items.count, 67, file: file, line: line)
        for item in items {
            let text = item["text"] as! String
            let want = (item["ids"] as! [NSNumber]).map { $0.int32Value }
            let wantNoSpecial = (item["ids_no_special"] as! [NSNumber]).map { $0.int32Value }
            let what = "\(name): \(text.debugDescription.prefix(60))"
            TokenizerFixtures.assertSameIDs(tok.encode(text), want, "\(what) encode", tokenizer: tok, file: file, line: line)
            TokenizerFixtures.assertSameIDs(tok.encode(text, addSpecialTokens: false), wantNoSpecial,
                                            "\(what) encode without special tokens", tokenizer: tok, file: file, line: line)
            XCTAssertEqual(tok.decode(want), item["decoded"] as! String, "\(what) decode", file: file, line: line)
            XCTAssertEqual(tok.decode(wantNoSpecial), text, "\(what) round trip", file: file, line: line)
            XCTAssertEqual(tok.decode(want, skipSpecialTokens: true), text.replacingOccurrences(of: "</s>", with: "")
                .replacingOccurrences(of: "<pad>", with: ""), "\(what) decode skipping special tokens", file: file, line: line)
        }
    }

    // MARK: The two layouts

    func testTokenizerJSONLayout() throws {
        let tok = try Tokenizer(tokenizerJSON: Self.jsonDir.appendingPathComponent("tokenizer.json"),
                                tokenizerConfig: Self.jsonDir.appendingPathComponent("tokenizer_config.json"))
        try check(tok, "tokenizer.json")
        // Without tokenizer_config.json the post-processor's "</s>" still names BOS.
        let bare = try Tokenizer(tokenizerJSON: Self.jsonDir.appendingPathComponent("tokenizer.json"))
        XCTAssertEqual(bare.bosTokenID, 2)
        XCTAssertEqual(bare.encode("a</s>b"), [2, 68, 2, 69])
    }

    func testVocabMergesLayout() throws {
        let tok = try Tokenizer(vocabJSON: Self.hubDir.appendingPathComponent("vocab.json"),
                                merges: Self.hubDir.appendingPathComponent("merges.txt"),
                                tokenizerConfig: Self.hubDir.appendingPathComponent("tokenizer_config.json"),
                                specialTokensMap: Self.hubDir.appendingPathComponent("special_tokens_map.json"))
        try check(tok, "vocab.json + merges.txt")
        // tokenizer_config.json alone gives the same tokenizer (special_tokens_map.json repeats it).
        let noMap = try Tokenizer(vocabJSON: Self.hubDir.appendingPathComponent("vocab.json"),
                                  merges: Self.hubDir.appendingPathComponent("merges.txt"),
                                  tokenizerConfig: Self.hubDir.appendingPathComponent("tokenizer_config.json"))
        try check(noMap, "vocab.json + merges.txt, no special_tokens_map.json")
    }

    func testLoadDirectory() throws {
        for dir in [Self.jsonDir, Self.hubDir, Self.optDir.appendingPathComponent("opt-pre"),
                    Self.optDir.appendingPathComponent("opt-post-proj")] {
            let tok = try XCTUnwrap(try Tokenizer.load(directory: dir), dir.path)
            try check(tok, dir.lastPathComponent)
        }
        let tmp = try temporaryDirectory()
        XCTAssertNil(try Tokenizer.load(directory: tmp))
        // A model directory of the Hub layout (config.json says opt, no tokenizer_class).
        for f in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: Self.hubDir.appendingPathComponent(f), to: tmp.appendingPathComponent(f))
        }
        try FileManager.default.copyItem(at: Self.optDir.appendingPathComponent("opt-pre/config.json"),
                                         to: tmp.appendingPathComponent("config.json"))
        XCTAssertEqual(try Tokenizer.load(directory: tmp)?.encode("Hello world"), [2, 43, 511, 82, 270, 275, 436])
        // Another model type's vocab.json + merges.txt (RoBERTa: different template) is refused.
        try Data(#"{"model_type": "roberta"}"#.utf8).write(to: tmp.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try Tokenizer.load(directory: tmp)) { e in
            guard case TokenizerError.unsupportedModel = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("config.json") && "\(e)".contains("roberta"), "\(e)")
        }
        // ... unless tokenizer_config.json says GPT2Tokenizer (AutoTokenizer follows tokenizer_class).
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: tmp.appendingPathComponent("tokenizer_config.json"))) as! [String: Any]
        config["tokenizer_class"] = "GPT2Tokenizer"
        try JSONSerialization.data(withJSONObject: config).write(to: tmp.appendingPathComponent("tokenizer_config.json"))
        XCTAssertEqual(try Tokenizer.load(directory: tmp)?.encode("Hello world"), [2, 43, 511, 82, 270, 275, 436])
        config["tokenizer_class"] = "RobertaTokenizer"
        try JSONSerialization.data(withJSONObject: config).write(to: tmp.appendingPathComponent("tokenizer_config.json"))
        XCTAssertThrowsError(try Tokenizer.load(directory: tmp)) { e in
            guard case TokenizerError.unsupportedModel = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("tokenizer_config.json") && "\(e)".contains("RobertaTokenizer"), "\(e)")
        }
        // vocab.json without merges.txt.
        try FileManager.default.removeItem(at: tmp.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try Tokenizer.load(directory: tmp)) { e in
            guard case TokenizerError.missingMerges = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains(tmp.appendingPathComponent("merges.txt").path), "\(e)")
        }
    }

    // MARK: Special tokens of the Hub layout

    /// A Hub directory with the fixture's vocab.json + merges.txt and the given config files.
    private func hubVariant(config: String, specialTokensMap: String? = nil, addedTokens: String? = nil) throws -> Tokenizer {
        let dir = try temporaryDirectory()
        for f in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: Self.hubDir.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try Data(config.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        if let m = specialTokensMap { try Data(m.utf8).write(to: dir.appendingPathComponent("special_tokens_map.json")) }
        if let a = addedTokens { try Data(a.utf8).write(to: dir.appendingPathComponent("added_tokens.json")) }
        guard let tok = try Tokenizer.load(directory: dir) else { throw TokenizerError.fileNotFound(dir.path) }
        return tok
    }

    private static let variantTexts = ["Hello world", "hi</s>x<s>y", "<|endoftext|>a", "a <extra> b<new>c <sp> d<foo><unk>", ""]

    /// Expected values: transformers 5.24 `GPT2Tokenizer.from_pretrained(dir)` on the same files
    /// (bos/eos/unk/pad ids, `len(tokenizer)`, `tokenizer(text)["input_ids"]` for `variantTexts`).
    private func checkVariant(_ tok: Tokenizer, bos: Int32?, eos: Int32?, unk: Int32?, pad: Int32?, size: Int,
                              ids: [[Int32]], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(tok.bosTokenID, bos, "bos", file: file, line: line)
        XCTAssertEqual(tok.eosTokenID, eos, "eos", file: file, line: line)
        XCTAssertEqual(tok.unkTokenID, unk, "unk", file: file, line: line)
        XCTAssertEqual(tok.padTokenID, pad, "pad", file: file, line: line)
        XCTAssertEqual(tok.vocabularySize, size, "size", file: file, line: line)
        for (text, want) in zip(Self.variantTexts, ids) {
            TokenizerFixtures.assertSameIDs(tok.encode(text), want, text.debugDescription, tokenizer: tok, file: file, line: line)
        }
    }

    func testDefaultSpecialTokens() throws {
        // No bos/eos/unk: GPT2Tokenizer's default "<|endoftext|>", added after the vocabulary.
        let tok = try hubVariant(config: #"{"add_bos_token": true}"#)
        checkVariant(tok, bos: 512, eos: 512, unk: 512, pad: nil, size: 513, ids: [
            [512, 43, 511, 82, 270, 275, 436],
            [512, 367, 31, 18, 86, 33, 91, 31, 86, 33, 92],
            [512, 512, 68],
            [512, 68, 224, 31, 72, 91, 87, 484, 33, 280, 31, 81, 419, 33, 70, 224, 31, 86, 83, 33, 296, 31, 73, 82, 82,
             33, 31, 342, 78, 33],
            [512]])
        XCTAssertTrue(tok.isSpecial(512))
    }

    func testStringSpecialTokensAndEOS() throws {
        let tok = try hubVariant(config: #"""
            {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": null,
             "add_bos_token": true, "add_eos_token": true, "additional_special_tokens": ["<extra>"]}
            """#)
        checkVariant(tok, bos: 0, eos: 2, unk: 3, pad: nil, size: 513, ids: [
            [0, 43, 511, 82, 270, 275, 436, 2],
            [0, 367, 2, 91, 0, 92, 2],
            [0, 31, 95, 72, 274, 82, 73, 87, 72, 91, 87, 95, 33, 68, 2],
            [0, 68, 224, 512, 280, 31, 81, 419, 33, 70, 224, 31, 86, 83, 33, 296, 31, 73, 82, 82, 33, 3, 2],
            [0, 2]])
        XCTAssertEqual(tok.suffixTokenIDs, [2])
    }

    func testAddedTokensDecoder() throws {
        func e(_ s: Bool, _ n: Bool, _ l: Bool = false, _ r: Bool = false) -> String {
            #""special": \#(s), "normalized": \#(n), "lstrip": \#(l), "rstrip": \#(r), "single_word": false"#
        }
        let config = """
            {"bos_token": "</s>", "eos_token": "</s>", "add_bos_token": true, "added_tokens_decoder": {
              "1": {"content": "<pad>", \(e(true, false))}, "512": {"content": "<new>", \(e(false, true))},
              "513": {"content": "<sp>", \(e(true, false, true, true))}}}
            """
        // special_tokens_map.json is legacy: ignored when the config has added_tokens_decoder.
        let tok = try hubVariant(config: config, specialTokensMap: #"{"bos_token": "<s>"}"#)
        checkVariant(tok, bos: 2, eos: 2, unk: 514, pad: nil, size: 515, ids: [
            [2, 43, 511, 82, 270, 275, 436],
            [2, 367, 2, 91, 31, 86, 33, 92],
            [2, 514, 68],
            [2, 68, 224, 31, 72, 91, 87, 484, 33, 280, 512, 70, 513, 71, 31, 73, 82, 82, 33, 31, 342, 78, 33],
            [2]])
        XCTAssertFalse(tok.isSpecial(512))
        XCTAssertTrue(tok.isSpecial(513))
        // An added_tokens_decoder id the token would not get is an error.
        let bad = config.replacingOccurrences(of: #""513": {"content": "<sp>""#, with: #""600": {"content": "<sp>""#)
        XCTAssertThrowsError(try hubVariant(config: bad)) { e in
            guard case TokenizerError.malformedJSON(let why) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(why.contains("tokenizer_config.json") && why.contains("600") && why.contains("513"), why)
        }
        XCTAssertThrowsError(try hubVariant(config: #"{"added_tokens_decoder": {"x": {"content": "<a>"}}}"#)) { e in
            guard case TokenizerError.malformedJSON(let why) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(why.contains("tokenizer_config.json") && why.contains("\"x\""), why)
        }
    }

    func testLegacySpecialTokensMapAndAddedTokens() throws {
        let tok = try hubVariant(
            config: #"{"bos_token": "</s>", "eos_token": "</s>", "add_bos_token": true}"#,
            specialTokensMap: #"{"bos_token": {"content": "<s>", "normalized": true, "lstrip": false, "rstrip": false, "single_word": false}, "pad_token": "<pad>"}"#)
        checkVariant(tok, bos: 0, eos: 2, unk: 512, pad: 1, size: 513, ids: [
            [0, 43, 511, 82, 270, 275, 436],
            [0, 367, 2, 91, 0, 92],
            [0, 512, 68],
            [0, 68, 224, 31, 72, 91, 87, 484, 33, 280, 31, 81, 419, 33, 70, 224, 31, 86, 83, 33, 296, 31, 73, 82, 82, 33,
             31, 342, 78, 33],
            [0]])
        let added = try hubVariant(config: #"{"bos_token": "</s>", "add_bos_token": false}"#,
                                   addedTokens: #"{"<foo>": 512, "<s>": 0}"#)
        checkVariant(added, bos: 2, eos: 513, unk: 513, pad: nil, size: 514, ids: [
            [43, 511, 82, 270, 275, 436],
            [367, 2, 91, 0, 92],
            [513, 68],
            [68, 224, 31, 72, 91, 87, 484, 33, 280, 31, 81, 419, 33, 70, 224, 31, 86, 83, 33, 296, 512, 31, 342, 78, 33],
            []])
        XCTAssertFalse(added.isSpecial(512))
        XCTAssertThrowsError(try hubVariant(config: "{}", addedTokens: #"{"<foo>": 700}"#)) { e in
            guard case TokenizerError.malformedJSON(let why) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(why.contains("added_tokens.json") && why.contains("700"), why)
        }
    }

    func testAddPrefixSpace() throws {
        let tok = try hubVariant(config: #"{"add_prefix_space": true, "bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>"}"#)
        checkVariant(tok, bos: 2, eos: 2, unk: 2, pad: nil, size: 512, ids: [
            [347, 511, 82, 270, 275, 436],
            [299, 76, 2, 224, 91, 31, 86, 33, 92],
            [224, 31, 95, 72, 274, 82, 73, 87, 72, 91, 87, 95, 33, 68],
            [262, 224, 31, 72, 91, 87, 484, 33, 280, 31, 81, 419, 33, 70, 224, 31, 86, 83, 33, 296, 31, 73, 82, 82, 33,
             31, 342, 78, 33],
            []])
    }

    // MARK: Errors

    /// A scratch directory removed after the test.
    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-opt-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Writes vocab.json / merges.txt into a scratch directory and loads them.
    private func load(vocab: String? = nil, merges: String? = nil, config: String? = nil) throws -> Tokenizer {
        let dir = try temporaryDirectory()
        let v = dir.appendingPathComponent("vocab.json"), m = dir.appendingPathComponent("merges.txt")
        try (vocab.map { Data($0.utf8) } ?? Data(contentsOf: Self.hubDir.appendingPathComponent("vocab.json"))).write(to: v)
        try (merges.map { Data($0.utf8) } ?? Data(contentsOf: Self.hubDir.appendingPathComponent("merges.txt"))).write(to: m)
        var c: URL? = nil
        if let config = config {
            c = dir.appendingPathComponent("tokenizer_config.json")
            try Data(config.utf8).write(to: c!)
        }
        return try Tokenizer(vocabJSON: v, merges: m, tokenizerConfig: c)
    }

    /// The error is typed as `expected` says, one line, and names `fileName`.
    private func assertError(_ body: @autoclosure () throws -> Tokenizer, _ fileName: String, contains: [String] = [],
                             file: StaticString = #filePath, line: UInt = #line,
                             _ expected: (TokenizerError) -> Bool) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard let te = e as? TokenizerError, expected(te) else { return XCTFail("unexpected error \(e)", file: file, line: line) }
            let text = "\(te)"
            XCTAssertFalse(text.contains("\n"), "not one line: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(fileName), "does not name \(fileName): \(text)", file: file, line: line)
            for c in contains { XCTAssertTrue(text.contains(c), "does not say \(c): \(text)", file: file, line: line) }
        }
    }

    func testMissingFiles() throws {
        let dir = try temporaryDirectory()
        assertError(try Tokenizer(vocabJSON: Self.hubDir.appendingPathComponent("vocab.json"),
                                  merges: dir.appendingPathComponent("merges.txt")), dir.appendingPathComponent("merges.txt").path) {
            if case .fileNotFound = $0 { return true } else { return false }
        }
        assertError(try Tokenizer(vocabJSON: dir.appendingPathComponent("vocab.json"),
                                  merges: Self.hubDir.appendingPathComponent("merges.txt")), dir.appendingPathComponent("vocab.json").path) {
            if case .fileNotFound = $0 { return true } else { return false }
        }
        assertError(try Tokenizer(vocabJSON: Self.hubDir.appendingPathComponent("vocab.json"),
                                  merges: Self.hubDir.appendingPathComponent("merges.txt"),
                                  tokenizerConfig: dir.appendingPathComponent("tokenizer_config.json")), "tokenizer_config.json") {
            if case .fileNotFound = $0 { return true } else { return false }
        }
        // merges.txt without vocab.json in a directory.
        try FileManager.default.copyItem(at: Self.hubDir.appendingPathComponent("merges.txt"), to: dir.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try Tokenizer.load(directory: dir)) { e in
            guard case TokenizerError.fileNotFound = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("vocab.json"), "\(e)")
        }
    }

    func testMalformedVocabJSON() throws {
        let isJSON: (TokenizerError) -> Bool = { if case .malformedJSON = $0 { return true } else { return false } }
        assertError(try load(vocab: #"{"a": 0, "b": "#), "vocab.json", isJSON)
        assertError(try load(vocab: #"["a", "b"]"#), "vocab.json", contains: ["not an object"], isJSON)
        assertError(try load(vocab: #"{"a": 0, "b": "1"}"#), "vocab.json", contains: ["\"b\""], isJSON)
        assertError(try load(vocab: #"{"a": 0, "b": -1}"#), "vocab.json", contains: ["\"b\"", "-1"], isJSON)
        assertError(try load(vocab: #"{"a": 0, "b": 1.5}"#), "vocab.json", contains: ["\"b\""], isJSON)
        assertError(try load(vocab: #"{"a": 0, "b": true}"#), "vocab.json", contains: ["\"b\""], isJSON)
        assertError(try load(vocab: #"{"a": 0, "b": 4294967298}"#), "vocab.json", contains: ["\"b\"", "4294967298"], isJSON)
        assertError(try load(vocab: #"{"a": 0, "b\nc": "1\n2"}"#), "vocab.json", contains: [#""b\nc""#], isJSON)
        assertError(try load(config: #"{"bos_token": 5}"#), "tokenizer_config.json", contains: ["bos_token"], isJSON)
        assertError(try load(config: #"{"add_bos_token": "yes"}"#), "tokenizer_config.json", contains: ["add_bos_token"], isJSON)
        assertError(try load(config: "[]"), "tokenizer_config.json", isJSON)
    }

    func testMalformedMerges() throws {
        let isMerges: (TokenizerError) -> Bool = { if case .malformedMerges = $0 { return true } else { return false } }
        let vocab = #"{"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4}"#
        // One symbol on line 3.
        assertError(try load(vocab: vocab, merges: "#version: 0.2\na b\nabc\n"), "merges.txt", contains: ["line 3", "\"abc\""], isMerges)
        assertError(try load(vocab: vocab, merges: "a b c\n"), "merges.txt", contains: ["line 1"], isMerges)
        assertError(try load(vocab: vocab, merges: "a b\n\nab c\n"), "merges.txt", contains: ["line 2"], isMerges)
        assertError(try load(vocab: vocab, merges: "a  b\n"), "merges.txt", contains: ["line 1"], isMerges)
        // A merge of tokens the vocabulary lacks names the token, file and line.
        assertError(try load(vocab: vocab, merges: "a b\nb c\n"), "merges.txt", contains: ["\"bc\"", "line 2"]) {
            if case .mergeTokenNotInVocabulary = $0 { return true } else { return false }
        }
        // Well-formed: header skipped, CRLF accepted, no trailing newline needed.
        let tok = try load(vocab: vocab, merges: "#version: 0.2\r\na b\r\nab c")
        XCTAssertEqual(tok.encode("abc"), [4])
        XCTAssertEqual(tok.encode("cab", addSpecialTokens: false), [2, 3])
    }

    func testTokenizerJSONIDsAreValidated() throws {
        func json(vocab: String, added: String = "[]", post: String = "null") -> Data {
            Data(#"{"model": {"type": "BPE", "vocab": \#(vocab), "merges": []}, "added_tokens": \#(added), "post_processor": \#(post)}"#.utf8)
        }
        XCTAssertNoThrow(try Tokenizer(tokenizerJSON: json(vocab: #"{"a": 0}"#)))
        for vocab in [#"{"a": -1}"#, #"{"a": 1.5}"#, #"{"a": 99999999999}"#, #"{"a": "0"}"#] {
            XCTAssertThrowsError(try Tokenizer(tokenizerJSON: json(vocab: vocab)), vocab) { e in
                guard case TokenizerError.malformedJSON = e else { return XCTFail("\(e)") }
            }
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: json(vocab: #"{"a": 0}"#, added: #"[{"id": -3, "content": "<x>"}]"#))) { e in
            guard case TokenizerError.malformedJSON = e else { return XCTFail("\(e)") }
        }
        let template = #"{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [IDS], "tokens": ["<s>"]}}}"#
        XCTAssertEqual(try Tokenizer(tokenizerJSON: json(vocab: #"{"a": 0, "<s>": 1}"#, post: template.replacingOccurrences(of: "IDS", with: "1"))).prefixTokenIDs, [1])
        for ids in ["7", "-1", "1.5"] {
            XCTAssertThrowsError(try Tokenizer(tokenizerJSON: json(vocab: #"{"a": 0, "<s>": 1}"#, post: template.replacingOccurrences(of: "IDS", with: ids))), ids) { e in
                guard case TokenizerError.malformedJSON = e else { return XCTFail("\(e)") }
            }
        }
        // The file's path is in the message.
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("tokenizer.json")
        try json(vocab: #"{"a": -1}"#).write(to: url)
        assertError(try Tokenizer(tokenizerJSON: url), url.path) { if case .malformedJSON = $0 { return true } else { return false } }
    }
}
