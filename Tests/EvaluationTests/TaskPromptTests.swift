import XCTest
import Evaluation
import LLM
import ModelIO

/// Prompt construction of the eight tasks against lm-eval's own requests on the same local files
/// (fixtures from scripts/make_task_fixtures.py), metrics against lm-eval's definitions, and
/// malformed-data errors.
final class TaskPromptTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tasks")

    struct Fixture: Decodable {
        struct Doc: Decodable { var doc_id: Int; var gold: Int; var requests: [[String]]; var tokens: [[[Int32]]]? }
        var task: String
        var docs: [Doc]
    }

    static var data: DataDirectory {
        let env = ProcessInfo.processInfo.environment
        if let d = env["SECATEUR_DATA"], !d.isEmpty { return DataDirectory(explicit: d) }
        let sibling = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")
        return DataDirectory(explicit: sibling.path)
    }

    func requireData(_ task: ZeroShotTask) throws {
        for f in task.files where !FileManager.default.fileExists(atPath: Self.data.url.appendingPathComponent(f).path) {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI needs \(f) under \(Self.data.url.path)") }
            throw XCTSkip("data file \(f) not found")
        }
    }

    func fixture(_ task: ZeroShotTask) throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("\(task.rawValue).json")))
    }

    static let tokenizer: Tokenizer? = try? ModelLoader.load("smollm2-135m").tokenizer

    func checkPrompts(_ task: ZeroShotTask) throws {
        try requireData(task)
        let fx = try fixture(task)
        let docs = try task.documents(data: Self.data, limit: fx.docs.count)
        XCTAssertEqual(docs.count, fx.docs.count)
        for (doc, ref) in zip(docs, fx.docs) {
            XCTAssertEqual(doc.index, ref.doc_id)
            XCTAssertEqual(doc.gold, ref.gold, "\(task) doc \(ref.doc_id): gold")
            XCTAssertEqual(doc.requests.map { [$0.context, $0.continuation] }, ref.requests, "\(task) doc \(ref.doc_id): requests")
        }
        try Self.checkTokens(task.rawValue, docs, fx.docs.map { ($0.doc_id, $0.tokens) })
    }

    /// Token ids of HFLM's _encode_pair with the SmolLM2 tokenizer (fixture, when the model is
    /// fetched) against ours, for each document's requests.
    static func checkTokens(_ task: String, _ docs: [TaskDocument], _ refs: [(docID: Int, tokens: [[[Int32]]]?)]) throws {
        guard let tok = tokenizer else { return }
        let scorer = LoglikelihoodScorer(model: try ModelLoader.load("smollm2-135m").model, tokenizer: tok)
        for (doc, ref) in zip(docs, refs) {
            guard let tokens = ref.tokens else { continue }
            for (r, t) in zip(doc.requests, tokens) {
                let (c, x) = scorer.encodePair(context: r.context, continuation: r.continuation)
                XCTAssertEqual(c, t[0], "\(task) doc \(ref.docID): context tokens")
                XCTAssertEqual(x, t[1], "\(task) doc \(ref.docID): continuation tokens")
            }
        }
    }

    func testBoolQPrompts() throws { try checkPrompts(.boolq) }
    func testHellaSwagPrompts() throws { try checkPrompts(.hellaswag) }
    func testWinoGrandePrompts() throws { try checkPrompts(.winogrande) }
    func testARCEasyPrompts() throws { try checkPrompts(.arc_easy) }
    func testARCChallengePrompts() throws { try checkPrompts(.arc_challenge) }
    func testOpenBookQAPrompts() throws { try checkPrompts(.openbookqa) }
    func testPIQAPrompts() throws { try checkPrompts(.piqa) }
    func testRTEPrompts() throws { try checkPrompts(.rte) }

    /// lm-eval: acc = argmax(ll) (first maximum), acc_norm = argmax(ll / len(choice)) with len in
    /// characters; stderr = sample standard deviation / √n.
    func testMetricsFollowLMEval() {
        XCTAssertEqual(TaskMetrics.argmax([-1, -0.5, -0.5]), 1)
        // "é" is one character (two UTF-8 bytes): -3/3 = -1 beats -2.2/2 = -1.1 only by characters.
        let p = TaskMetrics.predictions(loglikelihoods: [-2.2, -3], choices: ["ab", "aéb"])
        XCTAssertEqual(p.acc, 0)
        XCTAssertEqual(p.accNorm, 1)
        XCTAssertEqual(TaskMetrics.meanStderr([1, 0, 1, 1]), 0.25, accuracy: 1e-12)
        XCTAssertEqual(TaskEvaluation.average([]).isNaN, true)
    }

    func testUnknownTaskIsRefused() {
        XCTAssertThrowsError(try EvalTask.parseList("boolq,mmlu")) { e in
            XCTAssertTrue("\(e)".contains("mmlu"), "\(e)")
        }
        // "all" stays the eight zero-shot tasks; the others only by name.
        XCTAssertEqual(try EvalTask.parseList("all"), ZeroShotTask.allCases.map(EvalTask.zeroShot))
        XCTAssertEqual(try EvalTask.parseList("all,lambada_openai,boolq"), ZeroShotTask.allCases.map(EvalTask.zeroShot) + [.lambadaOpenAI])
        XCTAssertEqual(try EvalTask.parseList("truthfulqa_mc2,truthfulqa_mc1"), [.truthfulqaMC2, .truthfulqaMC1])
    }

    static func tempData(_ files: [String: String]) throws -> DataDirectory {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-tasks-\(UUID().uuidString)")
        for (rel, text) in files {
            let url = dir.appendingPathComponent(rel)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: false, encoding: .utf8)
        }
        return DataDirectory(explicit: dir.path)
    }

    func assertMalformed(_ task: ZeroShotTask, _ files: [String: String], file name: String, line: Int,
                         sourceLine: UInt = #line) throws {
        let data = try Self.tempData(files)
        XCTAssertThrowsError(try task.documents(data: data), line: sourceLine) { e in
            guard case DatasetError.malformedLine(let f, let l, _) = e else { return XCTFail("\(e)", line: sourceLine) }
            XCTAssertTrue(f.hasSuffix(name), f, line: sourceLine)
            XCTAssertEqual(l, line, "\(e)", line: sourceLine)
            XCTAssertFalse("\(e)".contains("\n"), line: sourceLine)
        }
    }

    func testMalformedLinesNameFileAndLine() throws {
        let good = #"{"question": "q", "title": "t", "answer": true, "passage": "p"}"#
        try assertMalformed(.boolq, ["boolq/dev.jsonl": good + "\n" + "{not json\n"], file: "boolq/dev.jsonl", line: 2)
        try assertMalformed(.boolq, ["boolq/dev.jsonl": good + "\n" + #"{"question": "q", "title": "t", "answer": "yes", "passage": "p"}"#],
                            file: "boolq/dev.jsonl", line: 2)
        try assertMalformed(.rte, ["rte/val.jsonl": #"{"premise": "a", "hypothesis": "b", "label": "maybe"}"#], file: "rte/val.jsonl", line: 1)
        try assertMalformed(.winogrande, ["winogrande/dev.jsonl": #"{"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"}"#],
                            file: "winogrande/dev.jsonl", line: 1)
        try assertMalformed(.arc_easy, ["arc_easy/ARC-Easy-Test.jsonl": #"{"question": {"stem": "s", "choices": [{"text": "x", "label": "A"}]}, "answerKey": "B"}"#],
                            file: "ARC-Easy-Test.jsonl", line: 1)
        try assertMalformed(.hellaswag, ["hellaswag/hellaswag_val_full.txt": "ctx\n7\na\nb\nc\nd\n"], file: "hellaswag_val_full.txt", line: 2)
        try assertMalformed(.piqa, ["piqa/valid.jsonl": #"{"goal": "g", "sol1": "a", "sol2": "b"}"#, "piqa/valid-labels.lst": "x\n"],
                            file: "valid-labels.lst", line: 1)
        XCTAssertThrowsError(try ZeroShotTask.openbookqa.documents(data: try Self.tempData([:]))) { e in
            XCTAssertTrue("\(e)".contains("openbookqa/test.jsonl"), "\(e)")
        }
    }
}
