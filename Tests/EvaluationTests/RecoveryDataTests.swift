import XCTest
import Evaluation
import LLM
import ModelIO

/// Recovery fine-tuning data: the Alpaca template and LLM-Pruner's tokenization and label
/// masking (against LLM-Pruner's own code run with Hugging Face tokenizers:
/// Tests/Fixtures/recovery-data/make_expected.py), and against encodings of the expected prompt
/// strings; text windows from .txt/.jsonl files and the data folder; the seeded split.
final class RecoveryDataTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/recovery-data")
    static let alpacaSample = fixtures.appendingPathComponent("alpaca-sample.json").path

    /// Llama-2-shaped SentencePiece BPE: BOS <s>=1 before every encoding, EOS </s>=2.
    static let spm = try! Tokenizer(tokenizerJSON: packageRoot.appendingPathComponent("Tests/Fixtures/tokenizer/spm_bpe_tokenizer.json"))
    /// SmolLM-shaped byte-level BPE: no BOS, EOS <|endoftext|>=0.
    static let byteLevel = try! Tokenizer(tokenizerJSON: packageRoot.appendingPathComponent("Tests/Fixtures/tokenizer/bytelevel_smol_tokenizer.json"))

    static var data: DataDirectory {
        let env = ProcessInfo.processInfo.environment
        if let d = env["SECATEUR_DATA"], !d.isEmpty { return DataDirectory(explicit: d) }
        return DataDirectory(explicit: packageRoot.appendingPathComponent("../shared/data").standardizedFileURL.path)
    }

    func requireData(_ relative: String) throws {
        if !FileManager.default.fileExists(atPath: Self.data.url.appendingPathComponent(relative).path) {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI needs \(relative) under \(Self.data.url.path)") }
            throw XCTSkip("data file \(relative) not found")
        }
    }

    var tmp: URL!
    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("recovery-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = tmp.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func build(_ settings: RecoveryDataSettings, _ tok: Tokenizer = spm) throws -> RecoveryDataset {
        try RecoveryDataset(settings: settings, tokenizer: tok, data: Self.data)
    }

    // MARK: Alpaca template

    func testAlpacaTemplateIsAlpacaLoRAs() {
        XCTAssertEqual(AlpacaPrompt.prompt(instruction: "Add.", input: "2 and 3", output: "5"),
                       "Below is an instruction that describes a task, paired with an input that provides further context. "
                       + "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n2 and 3\n\n### Response:\n5")
        let noInput = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
            + "\n\n### Instruction:\nSay hi.\n\n### Response:\nHi"
        XCTAssertEqual(AlpacaPrompt.prompt(instruction: "Say hi.", input: nil, output: "Hi"), noInput)
        XCTAssertEqual(AlpacaPrompt.prompt(instruction: "Say hi.", input: "", output: "Hi"), noInput, "an empty input is no input (Python `if input:`)")
        // The user prompt: the template up to "### Response:\n"; an empty output adds nothing.
        XCTAssertEqual(AlpacaPrompt.prompt(instruction: "Say hi.", input: nil), String(noInput.dropLast(2)))
        XCTAssertEqual(AlpacaPrompt.prompt(instruction: "Say hi.", input: nil, output: ""), String(noInput.dropLast(2)))
    }

    func testAlpacaFixtureRecords() throws {
        let r = try AlpacaFile.records(path: Self.alpacaSample)
        XCTAssertEqual(r.count, 5)
        XCTAssertEqual(r[0].input, "")
        XCTAssertEqual(r[1].input, "The cat sleeps on the warm windowsill.")
        XCTAssertNil(r[2].input, "absent input")
        XCTAssertNil(r[4].input, "null input")
        XCTAssertEqual(r[1].fullPrompt, "Below is an instruction that describes a task, paired with an input that provides further context. "
                       + "Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate the sentence into French."
                       + "\n\n### Input:\nThe cat sleeps on the warm windowsill.\n\n### Response:\nLe chat dort sur le rebord de fenêtre chaud.")
        XCTAssertEqual(r[2].userPrompt, "Below is an instruction that describes a task. Write a response that appropriately completes the request."
                       + "\n\n### Instruction:\nName the largest planet in the solar system.\n\n### Response:\n")
    }

    // MARK: Alpaca tokenization

    struct Expected: Decodable {
        struct Example: Decodable { var input_ids: [Int32]; var labels: [Int32] }
        struct Case: Decodable {
            var tokenizer: String; var cutoff: Int; var train_on_inputs: Bool; var add_eos_token: Bool
            var examples: [Example]
        }
        var cases: [Case]
    }

    /// LLM-Pruner's `generate_and_tokenize_prompt`, run by make_expected.py with HF tokenizers.
    func testAlpacaMatchesLLMPrunerPostTraining() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("alpaca-sample.expected.json")))
        XCTAssertEqual(expected.cases.count, 12)
        let records = try AlpacaFile.records(path: Self.alpacaSample)
        for c in expected.cases {
            let tok = c.tokenizer == "spm_bpe" ? Self.spm : Self.byteLevel
            let how = AlpacaTokenization(cutoff: c.cutoff, trainOnInputs: c.train_on_inputs, addEOSToken: c.add_eos_token)
            XCTAssertEqual(c.examples.count, records.count)
            for (i, (record, want)) in zip(records, c.examples).enumerated() {
                let got = how.example(record, tokenizer: tok)
                let name = "\(c.tokenizer) cutoff \(c.cutoff) train_on_inputs \(c.train_on_inputs) add_eos_token \(c.add_eos_token) example \(i)"
                XCTAssertEqual(got.tokens, want.input_ids, "\(name): tokens")
                XCTAssertEqual(got.labels, want.labels, "\(name): labels")
            }
        }
    }

    /// The same rules from encodings of the expected prompt strings.
    func testAlpacaTokensFromPromptStrings() throws {
        let r = try AlpacaFile.records(path: Self.alpacaSample)[1]
        let full = "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate the sentence into French."
            + "\n\n### Input:\nThe cat sleeps on the warm windowsill.\n\n### Response:\n"
        let user = full
        let answer = "Le chat dort sur le rebord de fenêtre chaud."
        for (tok, name) in [(Self.spm, "spm"), (Self.byteLevel, "byte-level")] {
            let eos = try XCTUnwrap(tok.eosTokenID)
            let fullIDs = tok.encode(full + answer)          // with the tokenizer's BOS, if any
            let userIDs = tok.encode(user)
            if name == "spm" { XCTAssertEqual(fullIDs.first, 1, "Llama-style: BOS first") } else { XCTAssertNotEqual(fullIDs.first, tok.bosTokenID) }

            // Not training on inputs: the user prompt's tokens are masked, the rest + EOS are targets.
            var e = AlpacaTokenization(cutoff: 256).example(r, tokenizer: tok)
            XCTAssertEqual(e.tokens, fullIDs + [eos], name)
            XCTAssertEqual(e.labels, Array(repeating: -100, count: userIDs.count) + Array(e.tokens[userIDs.count...]), name)
            XCTAssertEqual(e.labels.last, eos)
            // Training on inputs: labels = tokens.
            e = AlpacaTokenization(cutoff: 256, trainOnInputs: true).example(r, tokenizer: tok)
            XCTAssertEqual(e.tokens, fullIDs + [eos]); XCTAssertEqual(e.labels, e.tokens)
            // add_eos_token: the user prompt gets an EOS, then one is subtracted: the same mask.
            e = AlpacaTokenization(cutoff: 256, addEOSToken: true).example(r, tokenizer: tok)
            XCTAssertEqual(e.labels.prefix { $0 == -100 }.count, userIDs.count, name)

            // Truncation at the cutoff: the first `cutoff` tokens (BOS kept), no EOS when full.
            e = AlpacaTokenization(cutoff: 40).example(r, tokenizer: tok)
            XCTAssertEqual(e.tokens, Array(fullIDs.prefix(40)), name)
            XCTAssertEqual(e.labels, Array(repeating: -100, count: 40), "the prompt fills the cutoff: nothing to learn")
            // add_eos_token with a user prompt cut at the cutoff: the reference still subtracts 1.
            e = AlpacaTokenization(cutoff: 40, addEOSToken: true).example(r, tokenizer: tok)
            XCTAssertEqual(e.labels, Array(repeating: -100, count: 39) + [e.tokens[39]], name)
            // Exactly full: no EOS; one more: EOS.
            e = AlpacaTokenization(cutoff: fullIDs.count).example(r, tokenizer: tok)
            XCTAssertEqual(e.tokens, fullIDs)
            e = AlpacaTokenization(cutoff: fullIDs.count + 1).example(r, tokenizer: tok)
            XCTAssertEqual(e.tokens, fullIDs + [eos])
            // Cut inside the output: the answer's first tokens are targets.
            let cut = userIDs.count + 3
            e = AlpacaTokenization(cutoff: cut).example(r, tokenizer: tok)
            XCTAssertEqual(e.tokens, Array(fullIDs.prefix(cut)))
            XCTAssertEqual(e.targetCount, 3, name)
        }
    }

    func testAlpacaDatasetSplitAndMetadata() throws {
        var s = RecoveryDataSettings(source: .file(Self.alpacaSample), seqlen: 100, seed: 7, validationCount: 2)
        let d = try build(s)
        XCTAssertEqual(d.metadata.format, .alpaca)
        XCTAssertEqual(d.metadata.kind, .instructions)
        XCTAssertEqual(d.metadata.available, 5)
        XCTAssertEqual(d.train.count, 3); XCTAssertEqual(d.validation.count, 2)
        // Every element exactly once, validation apart from training.
        let how = AlpacaTokenization(cutoff: 100)
        let all = try AlpacaFile.records(path: Self.alpacaSample).map { how.example($0, tokenizer: Self.spm) }
        XCTAssertEqual(Set((d.train + d.validation).map(\.tokens)), Set(all.map(\.tokens)))
        XCTAssertTrue(Set(d.train.map(\.tokens)).isDisjoint(with: d.validation.map(\.tokens)))
        XCTAssertEqual(d.metadata.trainTokens, d.train.reduce(0) { $0 + $1.tokens.count })
        XCTAssertEqual(d.metadata.trainTargets, d.train.reduce(0) { $0 + $1.targetCount })
        // Elements 0, 1, 3, 4 are longer than 100 tokens with the spm fixture (see the expected file).
        XCTAssertEqual(d.metadata.truncated, 4)
        XCTAssertTrue(d.description.contains("5 Alpaca examples"), d.description)
        // max_examples cuts training only; the held-out split stays.
        s.maxExamples = 1
        let d1 = try build(s)
        XCTAssertEqual(d1.validation, d.validation)
        XCTAssertEqual(d1.train, Array(d.train.prefix(1)))
        // Told from the content when the extension says nothing.
        let noExt = try write("instructions", try String(contentsOfFile: Self.alpacaSample, encoding: .utf8))
        XCTAssertEqual(try build(RecoveryDataSettings(source: .file(noExt), seqlen: 100, seed: 7, validationCount: 2)).validation, d.validation)
    }

    // MARK: Text windows

    func testWindowsFromTextFile() throws {
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. Pruned models recover with a little training.\n", count: 12)
        let path = try write("corpus.txt", text)
        for tok in [Self.spm, Self.byteLevel] {
            let stream = tok.encode(text) + [tok.eosTokenID!]
            let seqlen = 16
            let expected = (0..<(stream.count / seqlen)).map { Array(stream[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
            XCTAssertGreaterThan(expected.count, 10)
            let d = try build(RecoveryDataSettings(source: .file(path), seqlen: seqlen), tok)
            XCTAssertEqual(d.metadata.format, .text)
            XCTAssertEqual(d.metadata.documents, 1)
            XCTAssertEqual(d.metadata.streamTokens, stream.count)
            XCTAssertEqual(d.metadata.droppedTokens, stream.count % seqlen)
            XCTAssertEqual(d.metadata.available, expected.count)
            XCTAssertEqual(d.train.count, expected.count); XCTAssertTrue(d.validation.isEmpty)
            XCTAssertEqual(d.train.map(\.tokens).sorted(by: lexicographic), expected.sorted(by: lexicographic))
            for e in d.train { XCTAssertEqual(e.labels, e.tokens); XCTAssertEqual(e.tokens.count, seqlen) }
        }
    }

    func testWindowsFromJSONLinesFile() throws {
        let docs = ["First document: pruning removes weights.", "Second document, a little longer, about fine-tuning after pruning.",
                    "Third one.", "", "Fourth: the \"text\" field may hold\nnew lines and unicode — like this."]
        var lines = docs.map { doc -> String in
            let data = try! JSONSerialization.data(withJSONObject: ["text": doc, "url": "https://example.org"])
            return String(decoding: data, as: UTF8.self)
        }
        lines.insert("   ", at: 2)   // a blank line is skipped
        let path = try write("docs.jsonl", lines.joined(separator: "\n") + "\n")
        for tok in [Self.spm, Self.byteLevel] {
            let eos = tok.eosTokenID!
            let stream = docs.filter { !$0.isEmpty }.flatMap { tok.encode($0) + [eos] }
            let seqlen = 8
            let d = try build(RecoveryDataSettings(source: .file(path), seqlen: seqlen, seed: 1, validationCount: 1), tok)
            XCTAssertEqual(d.metadata.format, .jsonLines)
            XCTAssertEqual(d.metadata.documents, 5)
            XCTAssertEqual(d.metadata.streamTokens, stream.count)
            let expected = (0..<(stream.count / seqlen)).map { Array(stream[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
            XCTAssertEqual((d.train + d.validation).map(\.tokens).sorted(by: lexicographic), expected.sorted(by: lexicographic))
            XCTAssertEqual(d.validation.count, 1)
        }
        // A C4-style shard named .json is JSON lines too.
        let asJSON = try write("shard.json", lines.joined(separator: "\n"))
        XCTAssertEqual(try build(RecoveryDataSettings(source: .file(asJSON), seqlen: 8)).metadata.format, .jsonLines)
    }

    func testFormatDetection() {
        func detect(_ p: String, _ s: String) -> RecoveryFileFormat { RecoveryFileFormat.detect(path: p, contents: Data(s.utf8)) }
        XCTAssertEqual(detect("a.json", "[\n{\"instruction\": \"x\", \"output\": \"y\"}]"), .alpaca)
        XCTAssertEqual(detect("a.json", "{\"text\": \"x\"}\n{\"text\": \"y\"}"), .jsonLines)
        XCTAssertEqual(detect("a.json", "{\n \"instruction\": \"x\"\n}"), .alpaca, "a pretty-printed object is a malformed Alpaca file")
        XCTAssertEqual(detect("a.JSONL", "[1]"), .jsonLines)
        XCTAssertEqual(detect("a.txt", "[not json]"), .text)
        XCTAssertEqual(detect("data", "  [ ]"), .alpaca)
        XCTAssertEqual(detect("data", "{\"text\": \"x\"}"), .jsonLines)
        XCTAssertEqual(detect("data.md", "# Title"), .text)
    }

    // MARK: Shuffle and split

    func testShuffleIsDeterministicBySeedAndSplitIsDisjoint() throws {
        let text = (1...200).map { "Sentence number \($0) of a long and varied text." }.joined(separator: " ")
        let path = try write("long.txt", text)
        func make(_ seed: UInt64, _ max: Int? = nil) throws -> RecoveryDataset {
            try build(RecoveryDataSettings(source: .file(path), seqlen: 32, seed: seed, maxExamples: max, validationCount: 5))
        }
        let a = try make(42), b = try make(42), c = try make(43)
        XCTAssertGreaterThan(a.metadata.available, 40)
        XCTAssertEqual(a.train, b.train); XCTAssertEqual(a.validation, b.validation)
        XCTAssertNotEqual(a.train.map(\.tokens), c.train.map(\.tokens))
        XCTAssertNotEqual(a.validation.map(\.tokens), c.validation.map(\.tokens))
        for d in [a, c] {
            XCTAssertEqual(d.validation.count, 5); XCTAssertEqual(d.train.count, d.metadata.available - 5)
            XCTAssertTrue(Set(d.train.map(\.tokens)).isDisjoint(with: d.validation.map(\.tokens)))
            XCTAssertEqual(Set((d.train + d.validation).map(\.tokens)).count, d.metadata.available)
        }
        let limited = try make(42, 7)
        XCTAssertEqual(limited.validation, a.validation)
        XCTAssertEqual(limited.train, Array(a.train.prefix(7)))
        XCTAssertEqual(limited.metadata.trainExamples, 7)
        // The permutation rule itself: a permutation, the same for a seed, different across seeds.
        let p = RecoverySplit.permutation(count: 100, seed: 9)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertEqual(p, RecoverySplit.permutation(count: 100, seed: 9))
        XCTAssertNotEqual(p, RecoverySplit.permutation(count: 100, seed: 10))
        XCTAssertNotEqual(p, Array(0..<100))
    }

    // MARK: Settings

    func testSettingsCodable() throws {
        let s = RecoveryDataSettings(source: .file("/tmp/alpaca.json"), seqlen: 128, seed: 3, maxExamples: 10, validationCount: 4,
                                     trainOnInputs: true, addEOSToken: true, fileFormat: .alpaca)
        let json = try JSONEncoder().encode(s)
        XCTAssertEqual(try JSONDecoder().decode(RecoveryDataSettings.self, from: json), s)
        let text = String(decoding: json, as: UTF8.self)
        XCTAssertTrue(text.contains("\"validation_count\":4") && text.contains("\"file\":"), text)
        let c4 = try JSONDecoder().decode(RecoveryDataSettings.self, from: Data(#"{"source": {"dataset": "c4"}}"#.utf8))
        XCTAssertEqual(c4, RecoveryDataSettings(source: .c4))
        XCTAssertEqual(c4.seqlen, 256); XCTAssertEqual(c4.seed, 42); XCTAssertEqual(c4.validationCount, 0)
        XCTAssertThrowsError(try JSONDecoder().decode(RecoveryDataSettings.self, from: Data(#"{"source": {"dataset": "ptb"}}"#.utf8)))
        XCTAssertEqual(RecoveryDataSource(argument: "bookcorpus"), .bookcorpus)
        XCTAssertEqual(RecoveryDataSource(argument: "wikitext2"), .wikitext2)
        XCTAssertEqual(RecoveryDataSource(argument: "./c4"), .file("./c4"))
    }

    // MARK: Data folder

    func testC4TrainWindows() throws {
        try requireData("c4/c4-train.00000-of-01024.first1000.jsonl")
        let tok = Self.byteLevel
        let seqlen = 512
        let d = try build(RecoveryDataSettings(source: .c4, seqlen: seqlen, seed: 0, validationCount: 4), tok)
        XCTAssertEqual(d.metadata.documents, 1000)
        XCTAssertEqual(d.metadata.format, .jsonLines)
        XCTAssertTrue(d.metadata.file.hasSuffix("c4/c4-train.00000-of-01024.first1000.jsonl"))
        XCTAssertEqual(d.metadata.available, d.metadata.streamTokens! / seqlen)
        XCTAssertEqual(d.validation.count, 4); XCTAssertEqual(d.train.count, d.metadata.available - 4)
        // The stream's first window, from the file's first documents read here.
        let url = Self.data.url.appendingPathComponent("c4/c4-train.00000-of-01024.first1000.jsonl")
        var first: [Int32] = []
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") where first.count < seqlen {
            let doc = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            first += tok.encode(doc["text"] as! String) + [tok.eosTokenID!]
        }
        XCTAssertTrue((d.train + d.validation).contains { $0.tokens == Array(first.prefix(seqlen)) })
    }

    func testBookCorpusWindows() throws {
        try requireData("bookcorpus/book10k.txt")
        let raw = try String(contentsOf: Self.data.url.appendingPathComponent("bookcorpus/book10k.txt"), encoding: .utf8)
        let stream = Self.byteLevel.encode(raw.split(separator: "\n").joined(separator: " ")) + [Self.byteLevel.eosTokenID!]
        let d = try build(RecoveryDataSettings(source: .bookcorpus, seqlen: 1024, maxExamples: 3, validationCount: 2), Self.byteLevel)
        XCTAssertEqual(d.metadata.streamTokens, stream.count)
        XCTAssertEqual(d.metadata.available, stream.count / 1024)
        XCTAssertEqual(d.train.count, 3)
        for e in d.train + d.validation {
            let i = (0..<d.metadata.available).first { Array(stream[($0 * 1024)..<(($0 + 1) * 1024)]) == e.tokens }
            XCTAssertNotNil(i, "every window is an aligned slice of the stream")
        }
    }

    func testWikiText2ReadsTheTrainSplitOnly() throws {
        try requireData("wikitext2/wiki.test.raw")
        if FileManager.default.fileExists(atPath: Self.data.url.appendingPathComponent("wikitext2/wiki.train.raw").path) {
            throw XCTSkip("wiki.train.raw present")
        }
        XCTAssertThrowsError(try build(RecoveryDataSettings(source: .wikitext2))) { e in
            guard case RecoveryDataError.dataset(.missingFile(let f, _, _)) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, "wikitext2/wiki.train.raw")
            XCTAssertTrue("\(e)".contains("wikitext2/wiki.train.raw"), "\(e)")
        }
    }
}

fileprivate func lexicographic(_ a: [Int32], _ b: [Int32]) -> Bool { a.lexicographicallyPrecedes(b) }
