import Foundation
import XCTest

/// `secateur recover` end to end on the tiny 2:4-pruned OPT model (it has a tokenizer): the
/// outputs (merged model, PEFT adapter, recovery.json) and the kept zeros; a run killed with
/// SIGKILL after a checkpoint and resumed ends bit-identical to an uninterrupted one; bad input
/// fails with one clear line and writes nothing.
final class RecoverCLITests: XCTestCase {
    var tmp: TempDir!
    var text: URL!

    static let pruned = Fixture.root.appendingPathComponent("recovery/opt-pruned")

    override func setUpWithError() throws {
        tmp = try TempDir()
        guard CLIBinary.url != nil else { throw XCTSkip("secateur binary not built") }
        // A few hundred lines of plain text from a small vocabulary, seeded.
        let words = "the cat sat on a warm mat while dogs ran through green fields and birds sang in tall trees".split(separator: " ")
        var state: UInt64 = 7
        var lines: [String] = []
        for _ in 0..<200 {
            var l: [Substring] = []
            for _ in 0..<30 { state = state &* 6364136223846793005 &+ 1442695040888963407; l.append(words[Int(state >> 33) % words.count]) }
            lines.append(l.joined(separator: " "))
        }
        text = tmp.write(Data(lines.joined(separator: "\n").utf8), "text.txt")
    }

    override func tearDown() { tmp = nil }

    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let (p, out, err) = try startCLI(args, home: tmp.url)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, "killed by a signal: \(args)")
        return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    func recoverArgs(_ output: URL, _ extra: [String] = []) -> [String] {
        ["recover", "--model", Self.pruned.path, "--data", text.path, "--seqlen", "32", "--lr", "1e-3",
         "--output", output.path] + extra
    }

    func testLoRARecoveryWritesMergedModelAdapterAndRecord() throws {
        let out = tmp.url.appendingPathComponent("rec")
        let r = try run(recoverArgs(out, ["--steps", "40", "--val-windows", "8", "--eval-every", "10", "--json"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(j["command"] as? String, "recover")
        XCTAssertEqual(j["steps"] as? Int, 40)
        XCTAssertEqual(j["tokens_seen"] as? Int, 40 * 32)
        XCTAssertEqual(j["zeros_lost"] as? Int, 0)
        let zeros = try XCTUnwrap(j["zeros_before"] as? Int)
        XCTAssertGreaterThan(zeros, 0)
        XCTAssertEqual(j["zeros_after"] as? Int, zeros)
        XCTAssertGreaterThan(try XCTUnwrap(j["merged_weights_changed"] as? Int), 0)
        // 2 layers × (q,k,v,out: 4·(4·32 + 32·4)) + fc1 (4·32 + 48·4) + fc2 (4·48 + 32·4)) with rank 8: adapters only.
        XCTAssertEqual(j["trainable_parameters"] as? Int, 2 * (4 * (8 * 32 + 32 * 8) + (8 * 32 + 48 * 8) + (8 * 48 + 32 * 8)))
        let history = try XCTUnwrap(j["history"] as? [String: Any])
        let validations = try XCTUnwrap(history["validations"] as? [[String: Any]])
        XCTAssertEqual(validations.map { $0["step"] as? Int }, [0, 10, 20, 30, 40])
        let first = try XCTUnwrap(validations.first?["loss"] as? Double), best = try XCTUnwrap(history["best_validation_loss"] as? Double)
        XCTAssertLessThan(best, first, "training on this text lowers its held-out loss")

        for f in ["config.json", "model.safetensors", "tokenizer.json", "recovery.json", "adapter/adapter_config.json",
                  "adapter/adapter_model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "missing \(f)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
        // The merged model loads and is still 2:4 (the info command counts its zeros).
        let info = try run(["info", "--model", out.path, "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
    }

    /// Done-means 5: SIGKILL after a checkpoint, resume, and compare bytes with an uninterrupted run.
    func testResumeAfterSIGKILLIsBitIdentical() throws {
        let steps = ["--steps", "1500", "--checkpoint-every", "50", "--val-windows", "4", "--eval-every", "100",
                     "--dropout", "0.1", "--method", "lora"]
        let whole = tmp.url.appendingPathComponent("whole")
        let w = try run(recoverArgs(whole, steps))
        XCTAssertEqual(w.status, 0, w.stderr)

        let killed = tmp.url.appendingPathComponent("killed")
        let checkpoint = killed.appendingPathComponent("checkpoint.safetensors")
        let (p, _, _) = try startCLI(recoverArgs(killed, steps), home: tmp.url)
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning, !FileManager.default.fileExists(atPath: checkpoint.path), Date() < deadline { usleep(2_000) }
        guard p.isRunning else { throw XCTSkip("the run finished before it could be killed (machine too fast for this test)") }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("recovery.json").path))

        let r = try run(recoverArgs(killed, steps + ["--resume", checkpoint.path, "--json"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let resumedAt = try XCTUnwrap(j["resumed_at_step"] as? Int)
        XCTAssertGreaterThan(resumedAt, 0); XCTAssertLessThan(resumedAt, 1500)
        for f in ["model.safetensors", "adapter/adapter_model.safetensors"] {
            let a = try Data(contentsOf: whole.appendingPathComponent(f)), b = try Data(contentsOf: killed.appendingPathComponent(f))
            XCTAssertTrue(a == b, "\(f) differs after resuming at step \(resumedAt)")
        }
        let recA = try JSONSerialization.jsonObject(with: Data(contentsOf: whole.appendingPathComponent("recovery.json"))) as! [String: Any]
        XCTAssertEqual((j["history"] as? NSDictionary), (recA["history"] as? NSDictionary), "loss curves differ")
    }

    func assertFailsWritingNothing(_ args: [String], _ output: URL, mentions: [String], _ what: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertNotEqual(r.status, 0, "\(what): exit 0", file: file, line: line)
        let errorLine = r.stderr.split(separator: "\n").first { $0.hasPrefix("Error: ") }.map(String.init) ?? ""
        XCTAssertFalse(errorLine.isEmpty, "\(what): no Error line in \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(errorLine.contains(m), "\(what): '\(errorLine)' does not mention \(m)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(what): wrote \(output.path)", file: file, line: line)
    }

    func testBadInputFailsClearlyAndWritesNothing() throws {
        let out = tmp.url.appendingPathComponent("never")
        let alpaca = tmp.write(Data(#"[{"instruction": "Say hi.", "input": "", "output": "hi"}, {"instruction": 3, "output": "x"}]"#.utf8), "bad.json")
        try assertFailsWritingNothing(recoverArgs(out, ["--steps", "2"]).map { $0 == text.path ? alpaca.path : $0 }, out,
                                      mentions: ["bad.json", "1"], "malformed Alpaca element")
        try assertFailsWritingNothing(recoverArgs(out, ["--steps", "2", "--targets", "q,wq"]), out, mentions: ["wq"], "unknown target")
        let teacher = try tmp.modelDir("teacher", from: "llama-gqa-untied", tokenizer: true)
        try assertFailsWritingNothing(recoverArgs(out, ["--steps", "2", "--teacher", teacher.path]), out,
                                      mentions: ["vocabulary", "48", "512"], "teacher with another vocabulary")
        try assertFailsWritingNothing(recoverArgs(out, ["--steps", "2", "--rank", "0"]), out, mentions: ["rank"], "rank 0")
        try assertFailsWritingNothing(recoverArgs(out, ["--steps", "2", "--resume", text.path]), out,
                                      mentions: ["text.txt"], "a resume file that is no checkpoint")
        try assertFailsWritingNothing(recoverArgs(out, ["--steps", "2", "--kd-weight", "1.5", "--teacher", Self.pruned.path]), out,
                                      mentions: ["weight"], "distillation weight out of range")
    }
}
