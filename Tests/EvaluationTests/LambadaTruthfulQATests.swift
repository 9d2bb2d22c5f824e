import XCTest
@testable import Evaluation
import LLM
import ModelIO

/// lambada_openai and truthfulqa_mc1/mc2 against lm-eval itself: requests (and SmolLM2 token ids)
/// of the first documents on the same local files, and lm-eval's own process_results / perplexity
/// aggregation on made-up loglikelihoods (fixtures from scripts/make_task_fixtures.py); malformed data.
final class LambadaTruthfulQATests: XCTestCase {
    struct Fixture: Decodable {
        struct Probe: Decodable { var loglikelihoods: [Double]; var is_greedy: [Bool]; var results: [String: Double] }
        struct Doc: Decodable {
            var doc_id: Int; var gold: Int; var requests: [[String]]; var tokens: [[[Int32]]]?
            var labels: [Int]?; var probe: Probe
        }
        var task: String
        var docs: [Doc]
        var probe_perplexity: Double?
    }

    func fixture(_ task: EvalTask) throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TaskPromptTests.fixtures.appendingPathComponent("\(task.name).json")))
    }

    func requireData(_ task: EvalTask) throws {
        for f in task.files where !FileManager.default.fileExists(atPath: TaskPromptTests.data.url.appendingPathComponent(f).path) {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI needs \(f) under \(TaskPromptTests.data.url.path)") }
            throw XCTSkip("data file \(f) not found")
        }
    }

    /// Our documents for the fixture's doc ids (which need not be the first ones).
    func documents(_ task: EvalTask, _ fx: Fixture) throws -> [TaskDocument] {
        let all = try task.documents(data: TaskPromptTests.data, limit: (fx.docs.map(\.doc_id).max() ?? 0) + 1)
        return fx.docs.map { all[$0.doc_id] }
    }

    func checkRequests(_ task: EvalTask) throws {
        try requireData(task)
        let fx = try fixture(task)
        XCTAssertEqual(fx.task, task.name)
        let docs = try documents(task, fx)
        for (doc, ref) in zip(docs, fx.docs) {
            XCTAssertEqual(doc.index, ref.doc_id)
            XCTAssertEqual(doc.gold, ref.gold, "\(task) doc \(ref.doc_id): gold")
            XCTAssertEqual(doc.requests.map { [$0.context, $0.continuation] }, ref.requests, "\(task) doc \(ref.doc_id): requests")
            if let labels = ref.labels { XCTAssertEqual(doc.labels, labels, "\(task) doc \(ref.doc_id): labels") }
        }
        try TaskPromptTests.checkTokens(task.name, docs, fx.docs.map { ($0.doc_id, $0.tokens) })
    }

    func testLambadaRequests() throws { try checkRequests(.lambadaOpenAI) }
    func testTruthfulQAMC1Requests() throws { try checkRequests(.truthfulqaMC1) }
    func testTruthfulQAMC2Requests() throws { try checkRequests(.truthfulqaMC2) }

    /// Per-document metrics equal what lm-eval's process_results returned for the same
    /// loglikelihoods, and the aggregates its aggregation functions.
    func checkMetrics(_ task: EvalTask, _ metric: String) throws {
        try requireData(task)
        let fx = try fixture(task)
        let docs = try documents(task, fx)
        var outcomes: [TaskEvaluation.Outcome] = []
        for (doc, ref) in zip(docs, fx.docs) {
            let scores = zip(ref.probe.loglikelihoods, ref.probe.is_greedy).map { ContinuationScore(loglikelihood: $0, isGreedy: $1) }
            let o = TaskEvaluation.outcome(task, doc, scores)
            outcomes.append(o)
            XCTAssertEqual(o.acc, ref.probe.results[metric]!, accuracy: 1e-12, "\(task) doc \(ref.doc_id)")
            XCTAssertNil(o.accNorm)
            if let ll = ref.probe.results["perplexity"] { XCTAssertEqual(o.perplexityTerm!, ll, accuracy: 1e-12) }
        }
        let r = TaskEvaluation.aggregate(task, outcomes, seconds: 0)
        let expected = fx.docs.map { $0.probe.results[metric]! }.reduce(0, +) / Double(fx.docs.count)
        XCTAssertEqual(r.acc, expected, accuracy: 1e-12)
        XCTAssertNil(r.acc_norm)
        if let ppl = fx.probe_perplexity {
            XCTAssertEqual(r.perplexity!, ppl, accuracy: 1e-9 * ppl)
        } else {
            XCTAssertNil(r.perplexity)
        }
    }

    func testLambadaMetricsFollowLMEval() throws { try checkMetrics(.lambadaOpenAI, "acc") }
    func testTruthfulQAMC1MetricsFollowLMEval() throws { try checkMetrics(.truthfulqaMC1, "acc") }
    /// The fixture holds documents 25 and 208, whose true answers do not all come first.
    func testTruthfulQAMC2MetricsFollowLMEval() throws {
        XCTAssertTrue(try fixture(.truthfulqaMC2).docs.contains { ($0.labels ?? []) != ($0.labels ?? []).sorted(by: >) })
        try checkMetrics(.truthfulqaMC2, "acc")
    }

    func testMC2ScoreIsTheTrueMass() {
        // exp(-1) / (exp(-1) + exp(-2) + exp(-1.5)) for one true answer, labels in any order.
        let e = { (x: Double) in Foundation.exp(x) }
        XCTAssertEqual(TruthfulQA.mc2Score(loglikelihoods: [-2, -1, -1.5], labels: [0, 1, 0]), e(-1) / (e(-1) + e(-2) + e(-1.5)), accuracy: 1e-15)
        // Loglikelihoods far below exp's range still give the ratio.
        XCTAssertEqual(TruthfulQA.mc2Score(loglikelihoods: [-2000, -2000], labels: [1, 0]), 0.5, accuracy: 1e-15)
    }

    func testPrimerIsLMEvalsSixShotPrefix() {
        // MANIFEST.md: 573 characters, six Q/A pairs separated by blank lines.
        XCTAssertEqual(TruthfulQA.primer.count, 573)
        XCTAssertEqual(TruthfulQA.primer.components(separatedBy: "\n\n").count, 6)
        XCTAssertTrue(TruthfulQA.context(question: "Why?").hasSuffix("Spain.\n\nQ: Why?\nA:"))
    }

    func testLambadaSplitsOnTheLastSpace() {
        XCTAssertEqual(LambadaOpenAI.request(text: "a b\n\"c"), TaskRequest(context: "a", continuation: " b\n\"c"))
        XCTAssertEqual(LambadaOpenAI.request(text: "a  b"), TaskRequest(context: "a ", continuation: " b"))
        XCTAssertNil(LambadaOpenAI.request(text: "word"))
    }

    func testTaskNamesAndRecordsUseLMEvalNames() throws {
        XCTAssertEqual(EvalTask.names.suffix(3), ["lambada_openai", "truthfulqa_mc1", "truthfulqa_mc2"])
        XCTAssertEqual(EvalTask.defaults.count, 8)
        XCTAssertFalse(EvalTask.defaults.contains(.lambadaOpenAI))
        let tasks: [EvalTask] = [.zeroShot(.boolq), .truthfulqaMC2]
        let json = try JSONEncoder().encode(tasks)
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #"["boolq","truthfulqa_mc2"]"#)
        XCTAssertEqual(try JSONDecoder().decode([EvalTask].self, from: json), tasks)
        XCTAssertThrowsError(try JSONDecoder().decode([EvalTask].self, from: Data(#"["mmlu"]"#.utf8)))
    }

    func testOrderedJSONKeepsKeyOrderAndLines() throws {
        let text = "{\n \"z\": 1,\n \"a\": [true, null, \"\\u00e9\\ud83d\\ude00\\n\"],\n \"m\": {\"y\": -2.5e1}\n}"
        guard case .object(let fields, 1) = try OrderedJSON.parse(Data(text.utf8), file: "x.json") else { return XCTFail("object") }
        XCTAssertEqual(fields.map(\.key), ["z", "a", "m"])
        XCTAssertEqual(fields[1].value, .array([.bool(true, line: 0), .null(line: 0), .string("é😀\n", line: 0)], line: 0))
        XCTAssertEqual(fields[1].value.line, 3)
        XCTAssertEqual(fields[2].value, .object([(key: "y", value: .number(-25, line: 0))], line: 0))
        for (bad, line) in [("{\"a\": 1,\n}", 2), ("[1,\n2,\n", 3), ("{\"a\": tru}", 1), ("\"\\ud800\"", 1), ("[1] 2", 1)] {
            XCTAssertThrowsError(try OrderedJSON.parse(Data(bad.utf8), file: "x.json")) { e in
                guard case DatasetError.malformedLine("x.json", let l, _) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(l, line, bad)
            }
        }
    }

    func assertMalformed(_ task: EvalTask, _ files: [String: String], line: Int, mentioning: String, sourceLine: UInt = #line) throws {
        let data = try TaskPromptTests.tempData(files)
        XCTAssertThrowsError(try task.documents(data: data), line: sourceLine) { e in
            guard case DatasetError.malformedLine(let f, let l, _) = e else { return XCTFail("\(e)", line: sourceLine) }
            XCTAssertTrue(f.hasSuffix(task.files[0]), f, line: sourceLine)
            XCTAssertEqual(l, line, "\(e)", line: sourceLine)
            XCTAssertFalse("\(e)".contains("\n"), line: sourceLine)
            XCTAssertTrue("\(e)".contains(mentioning), "\(e)", line: sourceLine)
        }
    }

    func testMalformedDataNamesFileAndLine() throws {
        try assertMalformed(.lambadaOpenAI, [LambadaOpenAI.file: "{\"text\": \"a b\"}\n{\"txt\": \"a b\"}\n"], line: 2, mentioning: "'text'")
        try assertMalformed(.lambadaOpenAI, [LambadaOpenAI.file: "{\"text\": \"a b\"}\n\n{\"text\": \"ab\"}\n"], line: 3, mentioning: "no space")
        let q = { (mc1: String, mc2: String) in "  {\n    \"question\": \"q\",\n    \"mc1_targets\": {\(mc1)},\n    \"mc2_targets\": {\(mc2)}\n  }" }
        let good = q(#""t": 1, "f": 0"#, #""t": 1, "f": 0"#)
        try assertMalformed(.truthfulqaMC1, [TruthfulQA.file: "[\n" + good + ",\n" + q(#""f": 0, "t": 1"#, #""t": 1"#) + "\n]"],
                            line: 9, mentioning: "exactly one label 1")
        try assertMalformed(.truthfulqaMC2, [TruthfulQA.file: "[\n" + good + ",\n" + q(#""t": 1"#, #""t": 1, "f": 2"#) + "\n]"],
                            line: 10, mentioning: "0 or 1")
        try assertMalformed(.truthfulqaMC2, [TruthfulQA.file: "[\n" + good + ",\n  {\"question\": 3}\n]"], line: 7, mentioning: "'question'")
        try assertMalformed(.truthfulqaMC1, [TruthfulQA.file: "[\n" + good + ",\n  {\"question\": \"q\"\n]"], line: 8, mentioning: "expected")
        // MC2 needs no label order: false answers may come first.
        let data = try TaskPromptTests.tempData([TruthfulQA.file: "[\n" + q(#""t": 1"#, #""f": 0, "t": 1"#) + "\n]"])
        XCTAssertEqual(try EvalTask.truthfulqaMC2.documents(data: data)[0].labels, [0, 1])
        XCTAssertEqual(try EvalTask.truthfulqaMC2.documents(data: data)[0].choices, ["f", "t"])
        for task in [EvalTask.lambadaOpenAI, .truthfulqaMC1] {
            XCTAssertThrowsError(try task.documents(data: try TaskPromptTests.tempData([:]))) { e in
                XCTAssertTrue("\(e)".contains(task.files[0]), "\(e)")
                XCTAssertFalse("\(e)".contains("\n"))
            }
        }
    }
}
