import Foundation
import TestSupport
import XCTest

/// `secateur export` from the command line: a structurally pruned tiny model goes to GGUF
/// (deci, pruning record inside) and to a zero-padded HF directory, both of which `info`
/// reads back; settings the format cannot hold fail with one line and write nothing.
extension CLIErrorTests {
    func testExportWritesWhatInfoReadsBack() throws {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        let pruned = tmp.url.appendingPathComponent("pruned")
        // Only layer 1 is pruned, so the widths differ between layers.
        let p = runCLIChecked(["prune", "--model", src.path, "--structured", "--method", "l2", "--ratio", "0.2",
                               "--attn-layers", "1-1", "--mlp-layers", "1-1", "--output", pruned.path])
        XCTAssertEqual(p.status, 0, p.stderr)

        let gguf = tmp.url.appendingPathComponent("pruned.gguf")
        let e = runCLIChecked(["export", "--model", pruned.path, "--format", "gguf", "--output", gguf.path, "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any], e.stdout)
        XCTAssertEqual(record["command"] as? String, "export")
        XCTAssertEqual(record["architecture"] as? String, "deci")
        let prunedInfo = try info(pruned.path), ggufInfo = try info(gguf.path)
        for key in ["heads", "kv_heads", "intermediate_sizes", "params", "vocab_size", "bos_token_id", "eos_token_id"] {
            XCTAssertEqual(ggufInfo[key] as? NSObject, prunedInfo[key] as? NSObject, key)
        }
        XCTAssertTrue(try Data(contentsOf: gguf).range(of: Data("secateur.pruning".utf8)) != nil, "the pruning record travels in the GGUF")

        let hf = tmp.url.appendingPathComponent("padded")
        let h = runCLIChecked(["export", "--model", pruned.path, "--format", "hf", "--pad-uniform", "--output", hf.path])
        XCTAssertEqual(h.status, 0, h.stderr)
        XCTAssertTrue(h.stdout.contains("no speed-up"), h.stdout)
        let hfInfo = try info(hf.path)
        XCTAssertEqual(Set(hfInfo["heads"] as? [Int] ?? []).count, 1)
        XCTAssertGreaterThan(hfInfo["params"] as? Int ?? 0, prunedInfo["params"] as? Int ?? .max)
        XCTAssertTrue(FileManager.default.fileExists(atPath: hf.appendingPathComponent("pruning.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: hf.appendingPathComponent("tokenizer.json").path))
    }

    /// `export --stream --format hf` writes block by block exactly the tensors an in-memory export
    /// writes (one shard per block), and refuses GGUF and padding with one line.
    func testStreamedHFExportEqualsTheInMemoryOne() throws {
        let src = try tmp.modelDir("tiny-stream", from: "llama-gqa-untied", tokenizer: true)
        let whole = tmp.url.appendingPathComponent("whole"), streamed = tmp.url.appendingPathComponent("streamed")
        for (out, extra) in [(whole, [String]()), (streamed, ["--stream"])] {
            let r = runCLIChecked(["export", "--model", src.path, "--format", "hf", "--dtype", "bf16", "--output", out.path] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let a = try checkpointTensors(whole.path), b = try checkpointTensors(streamed.path)
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (k, v) in a { XCTAssertEqual(b[k], v, k) }
        let files = try FileManager.default.contentsOfDirectory(atPath: streamed.path)
        for f in ["model-00001-of-00003.safetensors", "model.safetensors.index.json", "config.json", "generation_config.json",
                  "tokenizer.json"] {
            XCTAssertTrue(files.contains(f), "\(f) in \(files)")
        }
        let bad = tmp.url.appendingPathComponent("bad")
        assertCleanFailure(try runCLI(["export", "--model", src.path, "--format", "gguf", "--stream", "--output", bad.path]),
                           "streamed gguf", mentions: ["--stream", "hf"])
        assertCleanFailure(try runCLI(["export", "--model", src.path, "--format", "hf", "--pad-uniform", "--stream",
                                       "--output", bad.path]), "streamed padding", mentions: ["--pad-uniform"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: bad.path))
    }

    func testExportRefusesWhatTheFormatCannotHold() throws {
        let src = try tmp.modelDir("tiny", from: "llama-gqa-untied", tokenizer: true)
        let pruned = tmp.url.appendingPathComponent("pruned")
        XCTAssertEqual(runCLIChecked(["prune", "--model", src.path, "--structured", "--method", "l2", "--ratio", "0.2",
                                      "--attn-layers", "1-1", "--mlp-layers", "1-1", "--output", pruned.path]).status, 0)
        let out = tmp.url.appendingPathComponent("out")
        assertCleanFailure(runCLIChecked(["export", "--model", pruned.path, "--format", "hf", "--output", out.path]),
                           "non-uniform model to HF without padding", mentions: ["--pad-uniform", "different widths"])
        assertCleanFailure(runCLIChecked(["export", "--model", src.path, "--format", "hf", "--dtype", "q8_0", "--output", out.path]),
                           "quantized HF export", mentions: ["q8_0", "hf"])
        assertCleanFailure(runCLIChecked(["export", "--model", src.path, "--format", "gguf", "--pad-uniform", "--output", out.path]),
                           "padding a GGUF export", mentions: ["--pad-uniform"])
        let opt = Fixture.root.appendingPathComponent("opt/opt-pre")
        assertCleanFailure(runCLIChecked(["export", "--model", opt.path, "--format", "gguf", "--output", out.path]),
                           "OPT to GGUF", mentions: ["opt", "llama.cpp"])
        assertCleanFailure(runCLIChecked(["export", "--model", src.path, "--format", "onnx", "--output", out.path]),
                           "unknown format", mentions: ["onnx"], usageAllowed: true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a refused export writes nothing")
        // A file in the way of an HF directory, and a non-model directory, are not overwritten.
        let file = tmp.write(Data("keep".utf8), "not-a-dir")
        assertCleanFailure(runCLIChecked(["export", "--model", src.path, "--format", "hf", "--output", file.path]),
                           "HF export onto a file", mentions: ["file of that name exists"])
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "keep")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")
    }

    /// OPT exports to a Hugging Face directory that loads back with the same tokenizer files.
    func testOPTExportsToHF() throws {
        let opt = Fixture.root.appendingPathComponent("opt/opt-pre")
        let out = tmp.url.appendingPathComponent("opt-hf")
        let r = runCLIChecked(["export", "--model", opt.path, "--format", "hf", "--dtype", "f16", "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        for f in ["config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), f)
        }
        let a = try info(opt.path), b = try info(out.path)
        XCTAssertEqual(b["architecture"] as? String, "opt")
        XCTAssertEqual(b["params"] as? Int, a["params"] as? Int)
    }

    func info(_ path: String) throws -> [String: Any] {
        let r = runCLIChecked(["info", "--model", path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        return j
    }

    func runCLIChecked(_ args: [String]) -> RunResult {
        do { return try runCLI(args) } catch {
            XCTFail("could not run secateur \(args): \(error)")
            return RunResult(status: -1, reason: .exit, stdout: "", stderr: "", args: args)
        }
    }
}
