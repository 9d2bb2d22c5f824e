import XCTest
import Evaluation
import LLM
import ModelIO

/// Perplexity protocol pieces against independent facts (the data MANIFEST) and SmolLM2-135M
/// against transformers' figures on the same windows (fixtures from bench/ppl_reference.py).
final class PerplexityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/reference")

    var data: DataDirectory {
        let env = ProcessInfo.processInfo.environment
        if let d = env["SECATEUR_DATA"], !d.isEmpty { return DataDirectory(explicit: d) }
        let sibling = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")
        return DataDirectory(explicit: sibling.path)
    }

    func requireData(_ relative: String) throws {
        if !FileManager.default.fileExists(atPath: data.url.appendingPathComponent(relative).path) {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI needs \(relative) under \(data.url.path)") }
            throw XCTSkip("data file \(relative) not found")
        }
    }

    /// MANIFEST.md: the joined rows are 1,294,336 characters and start with this prefix.
    func testWikiText2TextMatchesManifest() throws {
        try requireData("wikitext2/wiki.test.raw")
        let text = try PerplexityCorpus.text(dataset: "wikitext2", protocol: .wanda, data: data)
        XCTAssertEqual(text.unicodeScalars.count, 1_294_336)
        XCTAssertTrue(text.hasPrefix("\n\n = Robert Boulter = \n\n\n\n\n Robert Boulter is"))
        let rows = PerplexityCorpus.wikitext2Rows(try data.text("wikitext2/wiki.test.raw", hint: ""))
        XCTAssertEqual(rows.count, 4358)
        XCTAssertEqual(rows.filter(\.isEmpty).count, 1467)
    }

    func testPTBSentencesAreStrippedLines() throws {
        try requireData("ptb/ptb.test.txt")
        let text = try PerplexityCorpus.text(dataset: "ptb", protocol: .wanda, data: data)
        XCTAssertFalse(text.hasPrefix(" "))
        XCTAssertEqual(text.components(separatedBy: " ").first, "no")   // "no it was n't black monday"
        let pruner = try PerplexityCorpus.text(dataset: "ptb", protocol: .llmPruner, data: data)
        XCTAssertEqual(pruner.components(separatedBy: "\n\n").count, 3370)
    }

    func testWindowsDropTheTailAndRefuseTooMany() throws {
        let tokens = (0..<10).map { Int32($0) }
        let w = try Perplexity.windows(tokens: tokens, seqlen: 4, limit: nil, dataset: "x")
        XCTAssertEqual(w, [[0, 1, 2, 3], [4, 5, 6, 7]])
        XCTAssertThrowsError(try Perplexity.windows(tokens: tokens, seqlen: 4, limit: 3, dataset: "x")) { e in
            XCTAssertTrue("\(e)".contains("windows"))
        }
        XCTAssertThrowsError(try Perplexity.windows(tokens: tokens, seqlen: 11, limit: nil, dataset: "x"))
    }

    func testMissingC4ValidationIsAClearError() {
        let empty = DataDirectory(explicit: FileManager.default.temporaryDirectory.appendingPathComponent("no-data-\(getpid())").path)
        XCTAssertThrowsError(try PerplexityCorpus.text(dataset: "c4", protocol: .wanda, data: empty)) { e in
            XCTAssertTrue("\(e)".contains("c4-validation"))
        }
    }

    struct Reference: Decodable { var ppl: Double; var seqlen: Int; var windows: Int; var nll_per_window: [Double] }

    /// Done-means 3: WikiText-2 perplexity over the first 16 windows of 2048 within 0.1 % of
    /// transformers on the same dequantized weights and windows; every window within 0.1 % too.
    func testSmolLM2WikiText2PerplexityMatchesTransformers() throws {
        try comparePerplexity(dataset: "wikitext2", reference: "transformers_smollm2_wikitext2_w16.json")
    }

    func comparePerplexity(dataset: String, reference: String) throws {
        try requireData("wikitext2/wiki.test.raw")
        let loaded: LoadedModel
        do { loaded = try ModelLoader.load("smollm2-135m") } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw error }
            throw XCTSkip("smollm2-135m not fetched: \(error)")
        }
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent(reference)))
        let text = try PerplexityCorpus.text(dataset: dataset, protocol: .wanda, data: data)
        let windows = try Perplexity.windows(tokens: loaded.tokenizer.encode(text), seqlen: ref.seqlen, limit: ref.windows, dataset: dataset)
        let r = try Perplexity.evaluate(model: loaded.model, modelName: "smollm2-135m", dataset: dataset, protocol: .wanda, windows: windows)
        XCTAssertEqual(r.windows, 16)
        XCTAssertLessThan(abs(r.ppl - ref.ppl) / ref.ppl, 0.001, "ppl \(r.ppl) vs transformers \(ref.ppl)")
        for (i, (ours, theirs)) in zip(r.nllPerWindow, ref.nll_per_window.map { $0 / Double(ref.seqlen) }).enumerated() {
            XCTAssertLessThan(abs(ours - theirs) / theirs, 0.001, "window \(i): \(ours) vs \(theirs)")
        }
    }
}
