import Foundation
import XCTest

/// `secateur prune --structured` end to end on a tiny model: the JSON summary, pruning.json,
/// the saved directory reloading with the smaller per-layer sizes, and clean errors.
final class StructuredPruneCLITests: XCTestCase {
    var tmp: TempDir!

    override func setUpWithError() throws {
        tmp = try TempDir()
        guard CLIBinary.url != nil else { throw XCTSkip("secateur binary not built") }
    }

    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let (p, out, err) = try startCLI(args, home: tmp.url)
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }

    func testStructuredPruneWritesASmallerModelThatReloads() throws {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        let out = tmp.url.appendingPathComponent("pruned")
        let r = try run(["prune", "--model", src.path, "--structured", "--method", "l2", "--ratio", "0.3",
                         "--attn-layers", "0-1", "--mlp-layers", "0-1", "--output", out.path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        for key in ["method", "ratio_requested", "ratio_actual", "params_before", "params_after", "seconds"] {
            XCTAssertNotNil(j[key], "missing \(key)")
        }
        XCTAssertEqual(j["method"] as? String, "l2")
        let before = try XCTUnwrap(j["params_before"] as? Int), after = try XCTUnwrap(j["params_after"] as? Int)
        XCTAssertEqual(before, 17056)   // 2·48·32 + 32 + 2·(64 + 1024 + 512 + 512 + 1024 + 3·1280)
        XCTAssertEqual(try XCTUnwrap(j["ratio_actual"] as? Double), 0.3, accuracy: 0.005)
        XCTAssertEqual(1 - Double(after) / Double(before), try XCTUnwrap(j["ratio_actual"] as? Double), accuracy: 1e-12)

        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("pruning.json"))) as? [String: Any])
        XCTAssertEqual(report["params_after"] as? Int, after)
        XCTAssertNotNil(report["kv_heads"] as? [Int]); XCTAssertNotNil(report["seconds_by_phase"])

        let info = try run(["info", "--model", out.path, "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let ij = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(ij["params"] as? Int, after)
    }

    func testTaylorRunsOnTheBackwardPass() throws {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        // 2 windows × 16 tokens inside the tiny vocabulary (48), as little-endian int32.
        var ids = [Int32](); for w in 0..<2 { for t in 0..<16 { ids.append(Int32((w * 11 + t * 7) % 48).littleEndian) } }
        let file = tmp.write(ids.withUnsafeBytes { Data($0) }, "calib.i32")
        for order in ["first", "second", "mix", "vectorize"] {
            let r = try run(["prune", "--model", src.path, "--structured", "--method", "taylor", "--taylor", order, "--ratio", "0.3",
                             "--attn-layers", "0-1", "--calib-tokens", file.path, "--calib-windows", "2", "--calib-seqlen", "16", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
            XCTAssertEqual(j["method"] as? String, "taylor")
            XCTAssertEqual(try XCTUnwrap(j["ratio_actual"] as? Double), 0.3, accuracy: 0.005)
        }
    }

    /// Prunes the tiny model at 30 % with `method` from 2 × 16 calibration tokens, saves it, and
    /// checks the record's exact ratio and that the saved model reloads at the pruned size.
    /// Returns the record and the source model's directory.
    func pruneAndReload(_ method: String, _ extra: [String]) throws -> (record: [String: Any], source: URL, calibration: URL) {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        var ids = [Int32](); for w in 0..<2 { for t in 0..<16 { ids.append(Int32((w * 11 + t * 7) % 48).littleEndian) } }
        let file = tmp.write(ids.withUnsafeBytes { Data($0) }, "calib.i32")
        let out = tmp.url.appendingPathComponent(method)
        let r = try run(["prune", "--model", src.path, "--structured", "--method", method, "--ratio", "0.3", "--attn-layers", "0-1",
                         "--calib-tokens", file.path, "--calib-windows", "2", "--calib-seqlen", "16", "--output", out.path, "--json"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(j["method"] as? String, method)
        XCTAssertEqual(try XCTUnwrap(j["ratio_actual"] as? Double), 0.3, accuracy: 0.005)
        let info = try run(["info", "--model", out.path, "--json"])
        let ij = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any], info.stderr)
        XCTAssertEqual(ij["params"] as? Int, j["params_after"] as? Int)
        return (j, src, file)
    }

    /// Bonsai from the command line: forward passes only, the same exact ratio, its rounds in the
    /// record, a saved model that reloads at the pruned size; refused where it cannot run.
    func testBonsaiPrunesFromForwardPassesAndSavesTheSmallerModel() throws {
        let (j, src, _) = try pruneAndReload("bonsai", ["--bonsai-masks", "10", "--bonsai-round", "0.1"])
        let bonsai = try XCTUnwrap(j["bonsai"] as? [String: Any], "\(j)")
        XCTAssertEqual(bonsai["rounds"] as? Int, 3)
        XCTAssertEqual((bonsai["calibration_ppl_after_round"] as? [Double])?.count, 3)
        for (args, mention) in [(["--mode", "channel"], "block mode"), (["--stream", "--output", tmp.url.appendingPathComponent("s").path], "does not stream")] {
            let e = try run(["prune", "--model", src.path, "--structured", "--method", "bonsai", "--ratio", "0.3"] + args)
            XCTAssertNotEqual(e.status, 0, "\(args)")
            XCTAssertTrue(e.stderr.hasPrefix("Error: ") && e.stderr.contains(mention), "\(args): \(e.stderr)")
        }
    }

    /// L0 gates from the command line: the exact ratio, the gate run in the record, a saved model
    /// at the pruned size; a bad setting is one clear line.
    func testL0GatesPruneAndSaveTheSmallerModel() throws {
        let (j, src, file) = try pruneAndReload("l0", ["--l0-steps", "20", "--l0-lr", "0.05"])
        let l0 = try XCTUnwrap(j["l0"] as? [String: Any], "\(j)")
        XCTAssertEqual(l0["steps"] as? Int, 20)
        let e = try run(["prune", "--model", src.path, "--structured", "--method", "l0", "--ratio", "0.3", "--l0-steps", "0",
                         "--calib-tokens", file.path, "--calib-windows", "2", "--calib-seqlen", "16"])
        XCTAssertNotEqual(e.status, 0)
        XCTAssertTrue(e.stderr.hasPrefix("Error: ") && e.stderr.contains("at least one step"), e.stderr)
        // With LoRA adapters trained beside the gates: the record names them.
        let lora = try run(["prune", "--model", src.path, "--structured", "--method", "l0", "--ratio", "0.3", "--l0-steps", "6",
                            "--l0-lora-rank", "2", "--l0-lora-lr", "0.01", "--calib-tokens", file.path, "--calib-windows", "2",
                            "--calib-seqlen", "16", "--json"])
        XCTAssertEqual(lora.status, 0, lora.stderr)
        let lj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lora.stdout.utf8)) as? [String: Any], lora.stdout)
        XCTAssertEqual((lj["l0"] as? [String: Any])?["lora_rank"] as? Int, 2, "\(lj)")
        XCTAssertEqual(try XCTUnwrap(lj["ratio_actual"] as? Double), 0.3, accuracy: 0.005)
    }

    /// `--l0-target`: the saved model has the target shape (one layer fewer, a narrower residual
    /// stream), the record names the shape and the ratio it amounts to; mixing it with `--ratio`,
    /// another method or a shape the model cannot reach is one clear line.
    func testL0TargetShapeSavesAModelOfThatShape() throws {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        var ids = [Int32](); for w in 0..<2 { for t in 0..<16 { ids.append(Int32((w * 11 + t * 7) % 48).littleEndian) } }
        let file = tmp.write(ids.withUnsafeBytes { Data($0) }, "calib.i32")
        let out = tmp.url.appendingPathComponent("shaped")
        let common = ["prune", "--model", src.path, "--structured", "--method", "l0", "--l0-steps", "8",
                      "--calib-tokens", file.path, "--calib-windows", "2", "--calib-seqlen", "16"]
        let r = try run(common + ["--l0-target", "layers=1,hidden=24,intermediate=30", "--output", out.path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual((j["l0"] as? [String: Any])?["target_shape"] as? String, "layers=1,hidden=24,intermediate=30")
        XCTAssertEqual(j["hidden_size_after"] as? Int, 24)
        XCTAssertEqual(j["intermediate_sizes"] as? [Int], [30])
        XCTAssertEqual((j["dropped_layers"] as? [Int])?.count, 1)
        XCTAssertEqual(try XCTUnwrap(j["ratio_requested"] as? Double), try XCTUnwrap(j["ratio_actual"] as? Double))
        let info = try run(["info", "--model", out.path, "--json"])
        let ij = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any], info.stderr)
        XCTAssertEqual(ij["params"] as? Int, j["params_after"] as? Int)
        for (args, mention) in [(["--l0-target", "layers=1", "--ratio", "0.3"], "leave out --ratio"),
                                (["--l0-target", "hidden=64"], "exceeds the model's 32"),
                                (["--l0-target", "depth=1"], "unknown key 'depth'")] {
            let e = try run(common + args)
            XCTAssertNotEqual(e.status, 0, "\(args)")
            XCTAssertTrue(e.stderr.hasPrefix("Error: ") && e.stderr.contains(mention), "\(args): \(e.stderr)")
        }
        let taylor = try run(["prune", "--model", src.path, "--structured", "--method", "taylor", "--l0-target", "layers=1"])
        XCTAssertTrue(taylor.stderr.contains("--method l0"), taylor.stderr)
    }

    func testStructuredErrorsAreOneClearLine() throws {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        let cases: [([String], String)] = [
            (["--method", "taylor", "--ratio", "0.3", "--calib-tokens", "/nonexistent.i32"], "/nonexistent.i32"),
            (["--method", "l1", "--ratio", "0.9", "--attn-layers", "0-1", "--mlp-layers", "0-1"], "at most 61.91 %"),
            (["--method", "l1", "--ratio", "0.3", "--attn-layers", "0-5"], "outside the model's layers"),
        ]
        for (args, mention) in cases {
            let r = try run(["prune", "--model", src.path, "--structured"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.hasPrefix("Error: ") && r.stderr.contains(mention), "\(args): \(r.stderr)")
            XCTAssertTrue(r.stdout.isEmpty)
        }
    }
}
