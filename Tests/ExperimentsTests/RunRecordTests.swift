@testable import Evaluation
import Foundation
import Pruning
import XCTest
@testable import Experiments

/// The run record's JSON: it round-trips through the decoder for every command, keys are the
/// documented snake_case ones, and a record of another schema version is refused clearly.
final class RunRecordTests: XCTestCase {
    static let identity = ModelIdentity(name: "tiny", architecture: "llama", format: "safetensors", sourcePath: "/m/tiny",
                                        sourceSHA256: String(repeating: "ab", count: 32), paramsTotal: 17056, paramsNonzero: 17000)
    static let environment = RunEnvironment(cpu: "Test CPU", logicalCores: 2, threads: 2, os: "Linux", secateurVersion: "0.0.0",
                                            gitCommit: nil)

    func record(settings: RunSettings, result: RunResult, metrics: RunMetrics = RunMetrics()) -> RunRecord {
        RunRecord(model: Self.identity, settings: settings, secondsByPhase: ["load": 0.5, "evaluate": 1.25], secondsTotal: 2,
                  peakRSSMegabytes: 123.5, metrics: metrics, environment: Self.environment, result: result)
    }

    func testPerplexityRecordRoundTrips() throws {
        let settings = PerplexitySettings(dataset: .ptb, protocol: .llmPruner, seqlen: 128, windows: 3, dataDirectory: "/d", threads: 2)
        let r = PerplexityResult(model: "tiny", dataset: "ptb", protocol: "llm-pruner", seqlen: 128, windows: 3, tokens: 384,
                                 ppl: 12.5, nllPerWindow: [2.5, 2.6, 2.4], seconds: 1, tokensPerSecond: 384,
                                 flopsPerToken: 1e6, gflopsPerSecond: 0.4)
        let metric = PerplexityMetric(dataset: "ptb", protocol: "llm-pruner", seqlen: 128, windows: 3, value: 12.5, stage: .dense)
        let rec = record(settings: .evalPerplexity(settings), result: .evalPerplexity(PerplexityRunResult(r, textTokens: 1000)),
                         metrics: RunMetrics(perplexity: [metric]))
        let data = try rec.prettyJSON()
        let back = try RunRecord.decode(data)
        XCTAssertEqual(back.schemaVersion, 1)
        XCTAssertEqual(back.command, .evalPerplexity)
        XCTAssertEqual(back.model, Self.identity)
        XCTAssertEqual(back.settings, .evalPerplexity(settings))
        XCTAssertEqual(back.metrics, rec.metrics)
        XCTAssertEqual(back.environment, Self.environment)
        XCTAssertEqual(back.secondsByPhase, rec.secondsByPhase)
        XCTAssertEqual(back.peakRSSMegabytes, 123.5)
        guard case .evalPerplexity(let pr) = back.result else { return XCTFail("result \(back.result)") }
        XCTAssertEqual(pr.ppl, 12.5)
        XCTAssertEqual(pr.nllPerWindow, [2.5, 2.6, 2.4])
        // Re-encoding the decoded record gives the same bytes (sorted keys: a stable text).
        XCTAssertEqual(try back.prettyJSON(), data)

        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["schema_version", "command", "model", "settings", "seconds_by_phase", "seconds_total", "peak_rss_mb",
                    "metrics", "environment", "ppl", "tokens_per_second"] {
            XCTAssertNotNil(obj[key], "missing \(key)")
        }
        XCTAssertEqual(obj["command"] as? String, "eval_ppl")
        let env = try XCTUnwrap(obj["environment"] as? [String: Any])
        XCTAssertTrue(env.keys.contains("git_commit"), "git_commit is written as null, not left out")
        let model = try XCTUnwrap(obj["model"] as? [String: Any])
        XCTAssertEqual(Set(model.keys), ["name", "architecture", "format", "source_path", "source_sha256", "params_total", "params_nonzero"])
        let ppl = try XCTUnwrap((obj["metrics"] as? [String: Any])?["perplexity"] as? [[String: Any]])
        XCTAssertEqual(ppl.first?["stage"] as? String, "dense")
        XCTAssertEqual(ppl.first?["protocol"] as? String, "llm-pruner")
    }

    func testPruneSettingsRoundTrip() throws {
        var s = PruneSettings()
        s.method = .sparsegpt; s.pattern = .nOfM(n: 2, m: 4); s.group = .row; s.layers = 1...3; s.matrices = [.q, .down]
        s.calibration = .tokenFile("/tmp/calib.i32"); s.evaluation = PruneEvaluationSettings(dataset: .wikitext2, seqlen: 2048, windows: 4)
        s.ties = .torch; s.order = .onePass; s.allocation = .uniform; s.output = "/out"; s.threads = 3
        let enc = JSONEncoder(); enc.outputFormatting = .sortedKeys
        let json = String(decoding: try enc.encode(s), as: UTF8.self)
        XCTAssertTrue(json.contains(#""pattern":"2:4""#), json)
        XCTAssertTrue(json.contains(#""calibration":{"token_file":"\/tmp\/calib.i32"}"#) || json.contains(#""token_file":"/tmp/calib.i32""#), json)
        XCTAssertTrue(json.contains(#""order":"one-pass""#), json)
        XCTAssertEqual(try JSONDecoder().decode(PruneSettings.self, from: Data(json.utf8)), s)
    }

    func testUnknownSchemaVersionIsRefused() throws {
        var g = GenerateSettings(prompt: "hello"); g.threads = 1
        let rec = record(settings: .generate(g), result: .generate(GenerationResult(text: "x", tokens: 1, seconds: 1, tokensPerSecond: 1)))
        var obj = try XCTUnwrap(JSONSerialization.jsonObject(with: try rec.compactJSON()) as? [String: Any])
        XCTAssertNoThrow(try RunRecord.decode(try JSONSerialization.data(withJSONObject: obj)))
        obj["schema_version"] = 2
        XCTAssertThrowsError(try RunRecord.decode(try JSONSerialization.data(withJSONObject: obj))) { e in
            XCTAssertEqual(e as? RunRecordError, .unsupportedSchemaVersion(found: 2, supported: 1))
            XCTAssertTrue("\(e)".contains("schema_version 2 is not supported"), "\(e)")
        }
        obj["schema_version"] = 1
        obj["command"] = "frobnicate"
        XCTAssertThrowsError(try RunRecord.decode(try JSONSerialization.data(withJSONObject: obj))) { e in
            XCTAssertEqual(e as? RunRecordError, .unknownCommand("frobnicate"))
        }
    }

    func testSHA256KnownAnswers() {
        func hex(_ s: String) -> String { var h = SHA256(); h.update(Data(s.utf8)); return h.finalizeHex() }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in uneven pieces across block boundaries: the same digest as in one piece.
        let long = String(repeating: "secateur-", count: 300)
        var h = SHA256()
        var rest = Substring(long)
        for n in [1, 63, 64, 65, 7, 200] { h.update(Data(rest.prefix(n).utf8)); rest = rest.dropFirst(n) }
        h.update(Data(rest.utf8))
        XCTAssertEqual(h.finalizeHex(), hex(long))
    }
}
