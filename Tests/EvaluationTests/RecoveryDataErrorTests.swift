import XCTest
import Evaluation
import LLM
import ModelIO

/// Each way recovery data can be wrong gives an error that names the file and the element or
/// line at fault, and settings by their keys (never a command-line flag).
final class RecoveryDataErrorTests: XCTestCase {
    static let tok = try! Tokenizer(tokenizerJSON: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer/spm_bpe_tokenizer.json"))
    static let alpacaSample = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/recovery-data/alpaca-sample.json").path

    var tmp: URL!
    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("recovery-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = tmp.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// The error building `settings` gives, with its message checked for `mentions`.
    @discardableResult
    func error(_ settings: RecoveryDataSettings, mentions: [String], file: StaticString = #filePath, line: UInt = #line) -> RecoveryDataError? {
        do {
            _ = try RecoveryDataset(settings: settings, tokenizer: Self.tok, data: DataDirectory(explicit: tmp.path))
            XCTFail("no error", file: file, line: line)
            return nil
        } catch {
            let message = "\(error)"
            for m in mentions { XCTAssertTrue(message.contains(m), "'\(m)' not in: \(message)", file: file, line: line) }
            XCTAssertFalse(message.contains("--"), "names a flag: \(message)", file: file, line: line)
            return error
        }
    }

    func alpaca(_ name: String, _ json: String) throws -> RecoveryDataSettings {
        RecoveryDataSettings(source: .file(try write(name, json)))
    }

    func testMissingFile() {
        let p = tmp.appendingPathComponent("nope.json").path
        guard case .missingFile(let q)? = error(RecoveryDataSettings(source: .file(p)), mentions: [p, "not found"]) else { return XCTFail() }
        XCTAssertEqual(q, p)
        error(RecoveryDataSettings(source: .file(tmp.path)), mentions: [tmp.path, "directory"])
    }

    func testMissingDatasetNamesTheDataFolder() {
        guard case .dataset(.missingFile)? = error(RecoveryDataSettings(source: .c4),
                                                   mentions: ["c4/c4-train.00000-of-01024", tmp.path]) else { return XCTFail() }
        error(RecoveryDataSettings(source: .bookcorpus), mentions: ["bookcorpus/book10k.txt", tmp.path])
        error(RecoveryDataSettings(source: .wikitext2), mentions: ["wikitext2/wiki.train.raw"])
    }

    func testNotJSON() throws {
        let s = try alpaca("broken.json", "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n  {\"instruction\": \n")
        guard case .malformedJSON? = error(s, mentions: ["broken.json", "not valid JSON"]) else { return XCTFail() }
    }

    func testNotAnArray() throws {
        let s = try alpaca("object.json", "{\n  \"instruction\": \"a\",\n  \"output\": \"b\"\n}\n")
        guard case .notAnArray? = error(s, mentions: ["object.json", "an object", "not a JSON array"]) else { return XCTFail() }
        error(try alpaca("scalar.json", "\"just a string\""), mentions: ["scalar.json", "a single value"])
    }

    func testElementNotAnObject() throws {
        let s = try alpaca("mixed.json", "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n  \"oops\"\n]")
        guard case .malformedElement(_, 1, 3, _)? = error(s, mentions: ["mixed.json:3", "element 1", "not an object"]) else { return XCTFail() }
    }

    func testElementMissingFields() throws {
        let json = """
        [
          {"instruction": "a", "input": "", "output": "b"},
          {"instruction": "c", "output": "d"},
          {
            "instruction": "e",
            "input": "f"
          }
        ]
        """
        guard case .malformedElement(_, 2, 4, _)? = error(try alpaca("no-output.json", json), mentions: ["no-output.json:4", "element 2", "\"output\""])
        else { return XCTFail() }
        let noInstruction = "[{\"instruction\": \"a\", \"output\": \"b\"}, {\"input\": \"x\", \"output\": \"y\"}]"
        guard case .malformedElement(_, 1, 1, _)? = error(try alpaca("no-instruction.json", noInstruction),
                                                          mentions: ["element 1", "has no \"instruction\""]) else { return XCTFail() }
    }

    func testElementWithNonStringFields() throws {
        let json = "[\n{\"instruction\": \"a\", \"output\": \"b\"},\n{\"instruction\": \"a\", \"output\": \"b\"},\n{\"instruction\": \"a\", \"input\": 3, \"output\": \"b\"}\n]"
        error(try alpaca("number-input.json", json), mentions: ["number-input.json:4", "element 2", "non-string \"input\"", "a number"])
        error(try alpaca("array-output.json", "[{\"instruction\": \"a\", \"output\": [\"b\"]}]"), mentions: ["element 0", "\"output\"", "an array"])
        error(try alpaca("bool-instruction.json", "[{\"instruction\": true, \"output\": \"b\"}]"), mentions: ["element 0", "\"instruction\"", "a boolean"])
        error(try alpaca("null-output.json", "[{\"instruction\": \"a\", \"output\": null}]"), mentions: ["element 0", "\"output\"", "null"])
        // Braces and brackets inside strings do not confuse the element's line.
        let tricky = "[{\"instruction\": \"a ] , [ {\", \"output\": \"}\\\" ,\"},\n\n {\"instruction\": 1, \"output\": \"b\"}]"
        guard case .malformedElement(_, 1, 3, _)? = error(try alpaca("tricky.json", tricky), mentions: ["tricky.json:3", "element 1"]) else { return XCTFail() }
    }

    func testEmptyAlpacaArray() throws {
        guard case .noTrainingExamples? = error(try alpaca("empty.json", "[]"), mentions: ["empty.json", "empty"]) else { return XCTFail() }
    }

    func testMalformedJSONLines() throws {
        let p = try write("bad.jsonl", "{\"text\": \"fine\"}\n\n{\"text\": \"also fine\"}\nnot json\n")
        guard case .malformedLine(_, 4, _)? = error(RecoveryDataSettings(source: .file(p)), mentions: ["bad.jsonl:4", "not a JSON object"])
        else { return XCTFail() }
        let q = try write("notext.jsonl", "{\"text\": \"fine\"}\n{\"body\": \"no text\"}\n")
        error(RecoveryDataSettings(source: .file(q)), mentions: ["notext.jsonl:2", "no \"text\" field"])
        let r = try write("numtext.jsonl", "{\"text\": 5}\n")
        error(RecoveryDataSettings(source: .file(r)), mentions: ["numtext.jsonl:1", "not a string"])
    }

    func testTooLittleText() throws {
        let p = try write("short.txt", "Only a few words.")
        guard case .noTrainingExamples? = error(RecoveryDataSettings(source: .file(p), seqlen: 2048),
                                                mentions: ["short.txt", "fewer than one window of seqlen 2048"]) else { return XCTFail() }
    }

    func testSettingValues() throws {
        guard case .seqlenTooSmall(1)? = error(RecoveryDataSettings(source: .file(Self.alpacaSample), seqlen: 1), mentions: ["seqlen 1"])
        else { return XCTFail() }
        error(RecoveryDataSettings(source: .file(Self.alpacaSample), maxExamples: 0), mentions: ["max_examples 0"])
        error(RecoveryDataSettings(source: .file(Self.alpacaSample), validationCount: -1), mentions: ["validation_count -1"])
    }

    func testValidationCountLeavesNothingToTrain() throws {
        guard case .validationTooLarge(_, 5, 5, _)? = error(RecoveryDataSettings(source: .file(Self.alpacaSample), validationCount: 5),
                                                            mentions: ["validation_count 5", "5 examples", "at most 4"]) else { return XCTFail() }
        XCTAssertEqual(try RecoveryDataset(settings: RecoveryDataSettings(source: .file(Self.alpacaSample), validationCount: 4),
                                           tokenizer: Self.tok, data: DataDirectory(explicit: tmp.path)).train.count, 1)
        let p = try write("two-windows.txt", String(repeating: "word ", count: 40))
        error(RecoveryDataSettings(source: .file(p), seqlen: 16, validationCount: 10), mentions: ["validation_count 10", "windows of 16 tokens"])
    }
}
