import Foundation
import XCTest

/// End-to-end tests of the built `secateur` binary on bad input: every case must end with a
/// non-zero exit status (never a signal), and a clear one-line "Error: ..." on stderr that
/// names the thing that is wrong. Broken inputs are made at test time in a temp directory
/// from copies of the tiny fixtures (and of the SmolLM2 GGUF where a real tokenizer is needed).
final class CLIErrorTests: XCTestCase {
    // MARK: - Cases

    /// 1. A GGUF cut short in the header, the metadata, the tensor directory or the tensor data.
    func testTruncatedGGUF() throws {
        let src = try Data(contentsOf: Fixture.tiny("llama-gqa-tied/model.gguf"))
        let layout = try GGUFLayout(src)
        let cuts: [(String, Int)] = [
            ("empty", 0), ("inside magic", 2), ("inside header", 10),
            ("inside metadata", layout.kvs[3].keyOffset + 5),
            ("inside tensor directory", layout.tensors[2].typeOffset),
            ("inside tensor data", layout.dataOffset + 100),
            ("last byte missing", src.count - 1),
        ]
        for (what, n) in cuts {
            let f = tmp.write(src.prefix(n), "cut-\(n).gguf")
            let r = try runCLI(["info", "--model", f.path])
            assertCleanFailure(r, what, mentions: [f.lastPathComponent], anyOf: ["truncated", "corrupt", "not a GGUF"])
        }
    }

    /// 1b. The real model cut in its tensor data (checks the bounds test on a large file).
    func testTruncatedRealGGUF() throws {
        let real = try Fixture.realModel()
        let size = try FileManager.default.attributesOfItem(atPath: real.path)[.size] as! Int
        let h = try FileHandle(forReadingFrom: real)
        defer { try? h.close() }
        for n in [4096, size / 2] {
            try h.seek(toOffset: 0)
            let f = tmp.write(try h.read(upToCount: n) ?? Data(), "smol-\(n).gguf")
            let r = try runCLI(["info", "--model", f.path])
            assertCleanFailure(r, "SmolLM2 cut at \(n)", mentions: [f.lastPathComponent], anyOf: ["truncated", "corrupt"])
        }
    }

    /// 2. Wrong magic, unsupported / big-endian version, and a text file named .gguf.
    func testCorruptGGUFHeader() throws {
        let src = try Data(contentsOf: Fixture.tiny("llama-gqa-tied/model.gguf"))
        var magic = src; magic.replaceSubrange(0..<4, with: Array("GGML".utf8))
        let f1 = tmp.write(magic, "magic.gguf")
        assertCleanFailure(try runCLI(["info", "--model", f1.path]), "bad magic", mentions: ["magic.gguf", "not a GGUF file"])

        for (version, mention) in [(UInt32(1), "v1"), (7, "version 7"), (UInt32(3).byteSwapped, "big-endian")] {
            var d = src
            withUnsafeBytes(of: version.littleEndian) { d.replaceSubrange(4..<8, with: $0) }
            let f = tmp.write(d, "version-\(version).gguf")
            assertCleanFailure(try runCLI(["info", "--model", f.path]), "version \(version)", mentions: [f.lastPathComponent, mention])
        }

        let text = tmp.write(Data("hello, this is not a model\n".utf8), "notes.gguf")
        assertCleanFailure(try runCLI(["info", "--model", text.path]), "text file", mentions: ["notes.gguf", "not a GGUF file"])
    }

    /// 3. A model directory whose model.safetensors is truncated or has a corrupt header.
    func testTruncatedAndCorruptSafetensors() throws {
        let st = try Data(contentsOf: Fixture.tiny("llama-gqa-tied/model.safetensors"))
        let headerLen = Int(st.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        var garbageJSON = st; garbageJSON.replaceSubrange(8..<12, with: Array("#!~x".utf8))
        var hugeHeader = st; withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { hugeHeader.replaceSubrange(0..<8, with: $0) }
        let cases: [(String, Data, [String])] = [
            ("4 bytes", st.prefix(4), ["truncated", "not a safetensors file"]),
            ("inside header", st.prefix(8 + headerLen / 2), ["truncated", "past the end"]),
            ("inside data", st.prefix(st.count - 100), ["truncated", "outside"]),
            ("header not JSON", garbageJSON, ["not valid JSON"]),
            ("header length huge", hugeHeader, ["past the end"]),
        ]
        for (what, bytes, anyOf) in cases {
            let dir = try tmp.modelDir("st-\(what.replacingOccurrences(of: " ", with: "-"))", from: "llama-gqa-tied", tokenizer: true)
            try bytes.write(to: dir.appendingPathComponent("model.safetensors"))
            let r = try runCLI(["info", "--model", dir.path])
            assertCleanFailure(r, "safetensors \(what)", mentions: ["model.safetensors"], anyOf: anyOf)
        }
    }

    /// 4. general.architecture of an unknown family, and an HF config.json with an unknown class.
    func testUnknownArchitecture() throws {
        var gguf = try Data(contentsOf: Fixture.tiny("llama-gqa-tied/model.gguf"))
        let layout = try GGUFLayout(gguf)
        let arch = try XCTUnwrap(layout.kvs.first { $0.key == "general.architecture" })
        // value: u64 length (5) + "llama"; overwrite in place with a name of the same length.
        XCTAssertEqual(gguf.subdata(in: (arch.valueOffset + 8)..<(arch.valueOffset + 13)), Data("llama".utf8))
        gguf.replaceSubrange((arch.valueOffset + 8)..<(arch.valueOffset + 13), with: Array("gpt99".utf8))
        let f = tmp.write(gguf, "gpt99.gguf")
        assertCleanFailure(try runCLI(["info", "--model", f.path]), "GGUF architecture",
                           mentions: ["gpt99.gguf", "'gpt99'", "llama", "mistral", "qwen2"])

        let dir = try tmp.modelDir("gpt9", from: "llama-gqa-tied", tokenizer: true)
        try editConfig(dir) { $0["architectures"] = ["GPT9ForCausalLM"] }
        assertCleanFailure(try runCLI(["info", "--model", dir.path]), "HF architecture",
                           mentions: ["config.json", "GPT9ForCausalLM", "LlamaForCausalLM", "Qwen2ForCausalLM"])

        let dir2 = try tmp.modelDir("gpt9-model-type", from: "llama-gqa-tied", tokenizer: true)
        try editConfig(dir2) { $0["architectures"] = nil; $0["model_type"] = "gpt9" }
        assertCleanFailure(try runCLI(["info", "--model", dir2.path]), "HF model_type",
                           mentions: ["config.json", "'gpt9'", "LlamaForCausalLM"])
    }

    /// Issue 18: a config or GGUF header declaring sizes no checkpoint has (2³¹ layers once made
    /// `info` hang building per-layer tables) is refused at once, naming the key.
    func testAbsurdSizesAreRefusedAtOnce() throws {
        for (key, value) in [("num_hidden_layers", 1 << 31), ("hidden_size", 1 << 40), ("vocab_size", 1 << 33)] {
            let dir = try tmp.modelDir("absurd-\(key)", from: "llama-gqa-tied", tokenizer: true)
            try editConfig(dir) { $0[key] = value }
            assertCleanFailure(try runCLI(["info", "--model", dir.path], timeout: 30), "config \(key) \(value)",
                               mentions: ["config.json", key, "corrupt"])
        }
        var gguf = try Data(contentsOf: Fixture.tiny("llama-gqa-tied/model.gguf"))
        let layout = try GGUFLayout(gguf)
        let blocks = try XCTUnwrap(layout.kvs.first { $0.key == "llama.block_count" })
        withUnsafeBytes(of: UInt32(1 << 31).littleEndian) { gguf.replaceSubrange(blocks.valueOffset..<(blocks.valueOffset + 4), with: $0) }
        let f = tmp.write(gguf, "absurd-blocks.gguf")
        assertCleanFailure(try runCLI(["info", "--model", f.path], timeout: 30), "GGUF block_count 2^31",
                           mentions: ["absurd-blocks.gguf", "block_count", "corrupt"])
    }

    /// 5. A tensor type id ggml does not define, and defined types that cannot be used.
    func testUnknownAndUnsupportedTensorType() throws {
        let src = try Data(contentsOf: Fixture.tiny("llama-gqa-tied/model.gguf"))
        let layout = try GGUFLayout(src)
        let t = layout.tensors[1]   // an F32 tensor of the tiny model
        for (id, mentions) in [(UInt32(99), ["unknown ggml type id 99"]),
                               (10, ["Q2_K"]),            // row length 32 is not a multiple of 256
                               (31, ["unknown ggml type id 31"])] {
            var d = src
            withUnsafeBytes(of: id.littleEndian) { d.replaceSubrange(t.typeOffset..<(t.typeOffset + 4), with: $0) }
            let f = tmp.write(d, "type-\(id).gguf")
            assertCleanFailure(try runCLI(["info", "--model", f.path]), "type id \(id)",
                               mentions: [f.lastPathComponent, t.name] + mentions)
        }
    }

    /// 5b. A known type this reader cannot decode, with the right byte size so that only the
    /// decoder can object (F32 → I32 on the real model, which has a tokenizer, so loading
    /// gets as far as the weights). Also a NaN written into a weight of the real model.
    func testUndecodableTypeAndNaNInRealGGUF() throws {
        let real = try Fixture.realModel()
        let copy = tmp.url.appendingPathComponent("smol-patched.gguf")
        try FileManager.default.copyItem(at: real, to: copy)
        let h = try FileHandle(forReadingFrom: copy)
        let head = try h.read(upToCount: 8 << 20) ?? Data()
        try h.close()
        let layout = try GGUFLayout(head)
        let norm = try XCTUnwrap(layout.tensors.first { $0.name == "blk.0.attn_norm.weight" })
        XCTAssertEqual(norm.type, 0, "expected an F32 norm weight")

        try patch(copy, at: norm.typeOffset, UInt32(26))    // I32
        assertCleanFailure(try runCLI(["info", "--model", copy.path]), "I32 tensor",
                           mentions: ["smol-patched.gguf", "blk.0.attn_norm.weight", "I32", "cannot be decoded"])

        try patch(copy, at: norm.typeOffset, UInt32(0))     // back to F32
        try patch(copy, at: layout.dataOffset + Int(norm.relativeOffset) + 4 * 7, Float.nan.bitPattern)
        assertCleanFailure(try runCLI(["info", "--model", copy.path]), "NaN in GGUF",
                           mentions: ["smol-patched.gguf", "model.layers.0.input_layernorm.weight", "NaN"])
    }

    /// 6. No tokenizer: an HF directory without tokenizer.json, a GGUF without tokenizer.ggml.*.
    func testMissingTokenizer() throws {
        let dir = try tmp.modelDir("no-tokenizer", from: "llama-gqa-tied", tokenizer: false)
        assertCleanFailure(try runCLI(["info", "--model", dir.path]), "HF without tokenizer.json",
                           mentions: [dir.appendingPathComponent("tokenizer.json").path])

        let gguf = Fixture.tiny("llama-gqa-tied/model.gguf")
        assertCleanFailure(try runCLI(["info", "--model", gguf.path]), "GGUF without tokenizer",
                           mentions: ["model.gguf", "tokenizer"])

        let bad = try tmp.modelDir("bad-tokenizer", from: "llama-gqa-tied", tokenizer: false)
        try Data("{\"model\": ".utf8).write(to: bad.appendingPathComponent("tokenizer.json"))
        assertCleanFailure(try runCLI(["info", "--model", bad.path]), "malformed tokenizer.json",
                           mentions: ["tokenizer.json", "Unexpected end of file"])
        XCTAssertFalse(try runCLI(["info", "--model", bad.path]).stderr.contains("NSCocoaErrorDomain"))
    }

    /// 7. Dataset files missing from the data directory.
    func testMissingDatasetFile() throws {
        let empty = tmp.url.appendingPathComponent("empty-data")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let model = Fixture.tiny("llama-gqa-tied/model.gguf").path
        for (dataset, proto, file) in [("wikitext2", "wanda", "wikitext2/wiki.test.raw"),
                                       ("ptb", "wanda", "ptb/ptb.test.txt"),
                                       ("ptb", "llm-pruner", "ptb/ptb.valid.txt"),
                                       ("c4", "wanda", "c4/c4-validation.00000-of-00008.json")] {
            let r = try runCLI(["eval", "ppl", "--model", model, "--dataset", dataset, "--protocol", proto,
                                "--data-dir", empty.path])
            assertCleanFailure(r, "\(dataset) missing", mentions: [file, empty.path])
        }
        // The dataset path exists but is a directory.
        let odd = tmp.url.appendingPathComponent("odd-data/wikitext2/wiki.test.raw")
        try FileManager.default.createDirectory(at: odd, withIntermediateDirectories: true)
        let rd = try runCLI(["eval", "ppl", "--model", model, "--data-dir", odd.deletingLastPathComponent().deletingLastPathComponent().path])
        assertCleanFailure(rd, "dataset file is a directory", mentions: [odd.path, "directory"])
        // Also through $SECATEUR_DATA.
        let r = try runCLI(["eval", "ppl", "--model", model], environment: ["SECATEUR_DATA": empty.path])
        assertCleanFailure(r, "via SECATEUR_DATA", mentions: ["wikitext2/wiki.test.raw", empty.path])
    }

    /// 8a. Argument validation: unknown dataset / protocol, seqlen < 2, windows < 1, threads < 1.
    func testInvalidEvalArguments() throws {
        let model = Fixture.tiny("llama-gqa-tied/model.gguf").path
        let cases: [([String], [String])] = [
            (["--dataset", "imagenet"], ["imagenet", "wikitext2"]),
            (["--protocol", "lm-eval"], ["lm-eval", "wanda"]),
            (["--seqlen", "1"], ["--seqlen"]),
            (["--seqlen", "-5"], ["--seqlen"]),
            (["--windows", "0"], ["--windows"]),
            (["--windows", "many"], ["windows", "many"]),
            (["--threads", "0"], ["--threads"]),
        ]
        for (args, mentions) in cases {
            let r = try runCLI(["eval", "ppl", "--model", model] + args)
            assertCleanFailure(r, args.joined(separator: " "), mentions: mentions, usageAllowed: true)
        }
        assertCleanFailure(try runCLI(["eval", "ppl", "--bogus"]), "unknown option", mentions: ["--bogus"], usageAllowed: true)
        assertCleanFailure(try runCLI(["frobnicate"]), "unknown subcommand", mentions: ["frobnicate"], usageAllowed: true)
        assertCleanFailure(try runCLI(["generate", "--model", model, "--prompt", ""]), "empty prompt",
                           mentions: ["--prompt"], usageAllowed: true)
    }

    /// The evolutionary mask search's impossible settings are refused before any work, naming the setting.
    func testEvolutionarySearchRefusals() throws {
        let model = Fixture.tiny("llama-gqa-untied").path
        let cases: [([String], [String])] = [
            (["--generations=-1"], ["generations", "-1"]),
            (["--es-init", "dsnot"], ["dsnot", "wanda"]),
            (["--es-rate", "0"], ["flip rate"]),
            (["--es-rate-decay", "2"], ["decay", "2"]),
        ]
        for (args, mentions) in cases {
            let r = try runCLI(["prune", "--model", model, "--method", "es"] + args)
            assertCleanFailure(r, args.joined(separator: " "), mentions: mentions)
        }
    }

    /// 8b. More windows than the dataset has, and a window longer than the whole text.
    func testTooManyWindows() throws {
        let real = try Fixture.realModel()
        let data = try Fixture.dataDirectory()
        let r = try runCLI(["eval", "ppl", "--model", real.path, "--windows", "100000", "--data-dir", data.path])
        assertCleanFailure(r, "--windows 100000", mentions: ["--windows 100000", "windows of 2048", "wikitext2"])
        XCTAssertTrue(r.stdout.isEmpty, "no result on stdout: \(r.stdout)")
        XCTAssertNotNil(r.errorLine?.range(of: #"the \d+ windows"#, options: .regularExpression), "available count: \(r.stderr)")

        let r2 = try runCLI(["eval", "ppl", "--model", real.path, "--seqlen", "100000000", "--data-dir", data.path])
        assertCleanFailure(r2, "seqlen longer than the text", mentions: ["wikitext2", "100000000"])
    }

    /// 8c. generate: a request longer than the model's context is refused before allocating.
    func testGenerateBeyondContext() throws {
        let dir = try tmp.modelDir("ctx", from: "llama-gqa-tied", tokenizer: true)
        let r = try runCLI(["generate", "--model", dir.path, "--prompt", "hi", "--max-tokens", "1000000000"])
        assertCleanFailure(r, "max-tokens beyond context", mentions: ["--max-tokens 1000000000", "context length 128"])
    }

    /// 9. Unknown alias, nonexistent path, a directory that is no model, and an alias not fetched.
    func testModelResolution() throws {
        let home = tmp.url.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let env = ["SECATEUR_HOME": home.path]
        assertCleanFailure(try runCLI(["info", "--model", "llama-9000"], environment: env), "unknown alias",
                           mentions: ["llama-9000", "smollm2-135m"])
        let missing = tmp.url.appendingPathComponent("nowhere/model.gguf").path
        assertCleanFailure(try runCLI(["info", "--model", missing], environment: env), "nonexistent path",
                           mentions: [missing])
        assertCleanFailure(try runCLI(["info", "--model", "nothere.gguf"], environment: env), "nonexistent .gguf",
                           mentions: ["nothere.gguf"])
        assertCleanFailure(try runCLI(["info", "--model", home.path], environment: env), "empty directory",
                           mentions: [home.path, "config.json"])
        assertCleanFailure(try runCLI(["info", "--model", "smollm2-135m"], environment: env), "alias not fetched",
                           mentions: ["smollm2-135m", "secateur fetch smollm2-135m", home.path])
        assertCleanFailure(try runCLI(["info"], environment: env), "default alias not fetched",
                           mentions: ["secateur fetch smollm2-135m"])
        assertCleanFailure(try runCLI(["fetch", "llama-9000"], environment: env), "fetch unknown alias",
                           mentions: ["llama-9000", "smollm2-135m"])
    }

    /// 10. NaN / Inf in a weight of a safetensors model: refused at load time, naming the tensor.
    func testNonFiniteWeights() throws {
        for (label, value) in [("nan", Float.nan), ("inf", -Float.infinity)] {
            let dir = try tmp.modelDir("nonfinite-\(label)", from: "llama-gqa-tied", tokenizer: true)
            let file = dir.appendingPathComponent("model.safetensors")
            let name = "model.layers.1.mlp.up_proj.weight"
            let offset = try safetensorsDataOffset(file, tensor: name)
            try patch(file, at: offset + 4 * 13, value.bitPattern)
            assertCleanFailure(try runCLI(["info", "--model", dir.path]), "\(label) weight", mentions: [dir.path, name, "NaN or infinite"])
            let data = try Fixture.dataDirectory()
            assertCleanFailure(try runCLI(["eval", "ppl", "--model", dir.path, "--data-dir", data.path, "--seqlen", "16",
                                           "--windows", "1"]),
                               "\(label) weight, eval", mentions: [name])
        }
    }

    /// The binary still succeeds on good input (guards against the harness itself being wrong).
    func testSanityInfoSucceeds() throws {
        let dir = try tmp.modelDir("good", from: "llama-gqa-tied", tokenizer: true)
        let r = try runCLI(["info", "--model", dir.path, "--json"])
        XCTAssertEqual(r.reason, .exit)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"architecture\":\"llama\""), r.stdout)
    }

    func testHelpIsPrintedNotReportedAsAnError() throws {
        for args in [["--help"], ["prune", "--help"], ["eval", "ppl", "--help"], ["help", "prune"]] {
            let r = try runCLI(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertNil(r.errorLine, "\(args)")
            XCTAssertTrue(r.stdout.contains("USAGE: secateur"), "\(args): \(r.stdout)")
        }
        XCTAssertTrue(try runCLI(["prune", "--help"]).stdout.contains("--order"))
    }

    /// 14. `bench model`: a bad --sparse-format, nm on a model that is not N:M (clear errors),
    /// and a short run whose --json carries the documented keys.
    func testBenchModel() throws {
        let dir = try tmp.modelDir("bench", from: "llama-gqa-tied", tokenizer: true)
        let quick = ["--prompt-length", "8", "--decode-tokens", "2", "--repetitions", "1"]
        assertCleanFailure(try runCLI(["bench", "--model", dir.path, "--sparse-format", "coo"]), "bad format",
                           mentions: ["--sparse-format", "coo"], usageAllowed: true)
        assertCleanFailure(try runCLI(["bench", "model", "--model", dir.path, "--sparse-format", "nm"] + quick),
                           "nm on a dense model", mentions: ["not N:M sparse"])
        let r = try runCLI(["bench", "--model", dir.path, "--sparse-format", "csr", "--json"] + quick)
        XCTAssertEqual(r.status, 0, r.stderr)
        for key in ["params_total", "params_nonzero", "macs_per_token", "weights_bytes", "prefill_tokens_per_second",
                    "decode_tokens_per_second", "energy_joules_per_token", "energy_source"] {
            XCTAssertTrue(r.stdout.contains("\"\(key)\":"), "\(key) in \(r.stdout)")
        }
    }

    func testMakeModelAndItsRefusals() throws {
        let out = try tmp.modelDir("made", from: "llama-gqa-tied", tokenizer: false).deletingLastPathComponent()
            .appendingPathComponent("random-smol").path
        assertCleanFailure(try runCLI(["make-model", "--shape", "smollm2-135m", "--output", out]), "no --random",
                           mentions: ["--random"], usageAllowed: true)
        assertCleanFailure(try runCLI(["make-model", "--shape", "llama9-1t", "--random", "--output", out]), "unknown shape",
                           mentions: ["llama9-1t"], usageAllowed: true)
        assertCleanFailure(try runCLI(["make-model", "--shape", "smollm2-135m", "--random", "--dtype", "q8_0", "--output", out]),
                           "block dtype", mentions: ["q8_0"], usageAllowed: true)
        let r = try runCLI(["make-model", "--shape", "smollm2-135m", "--random", "--seed", "3", "--output", out, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"parameters\":134515008"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
        try? FileManager.default.removeItem(atPath: out)
    }

    /// A run whose memory plan exceeds `--memory-budget` is refused before it loads or writes
    /// anything, with the estimate; an unreadable size is a usage error.
    func testMemoryBudgetRefusesBeforeAnyWork() throws {
        let dir = try tmp.modelDir("budget-src", from: "llama-gqa-tied", tokenizer: true)
        let out = dir.deletingLastPathComponent().appendingPathComponent("budget-out").path
        assertCleanFailure(try runCLI(["prune", "--model", dir.path, "--method", "magnitude", "--output", out, "--memory-budget", "1M"]),
                           "prune over budget", mentions: ["needs about", "budget is 1.0 MiB", "stream the blocks"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        assertCleanFailure(try runCLI(["prune", "--model", dir.path, "--structured", "--method", "l1", "--ratio", "0.2",
                                       "--output", out, "--memory-budget", "1M"]), "structured over budget", mentions: ["needs about"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let data = try Fixture.dataDirectory()
        assertCleanFailure(try runCLI(["eval", "ppl", "--model", dir.path, "--memory-budget", "1M", "--data-dir", data.path]),
                           "ppl over budget",
                           mentions: ["needs about"])
        assertCleanFailure(try runCLI(["prune", "--model", dir.path, "--memory-budget", "lots"]), "unreadable size",
                           mentions: ["lots"], usageAllowed: true)
        let r = try runCLI(["prune", "--model", dir.path, "--method", "magnitude", "--memory-budget", "4G", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"memory_plan\":{\"budget_mb\":4096") && r.stdout.contains("\"estimate_mb\""), r.stdout)
        XCTAssertTrue(r.stderr.contains("memory plan: about"), r.stderr)
    }

    func testStreamedPruneWritesBlockShardsAndRefusesWhatItCannotDo() throws {
        let dir = try tmp.modelDir("stream-src", from: "llama-gqa-tied", tokenizer: true)
        let out = dir.deletingLastPathComponent().appendingPathComponent("stream-out").path
        assertCleanFailure(try runCLI(["prune", "--stream", "--model", dir.path, "--method", "magnitude"]), "no output",
                           mentions: ["--stream", "--output"])
        assertCleanFailure(try runCLI(["eval", "ppl", "--stream", "--weights", "q8_0", "--model", dir.path]), "stream + weights",
                           mentions: ["--weights", "--stream"])
        assertCleanFailure(try runCLI(["prune", "--stream", "--model", dir.path, "--method", "magnitude", "--group", "global",
                                       "--output", out]), "global", mentions: ["every layer in memory"])
        // What a killed earlier run left beside the target (its process is gone): swept by this one.
        var dead: pid_t = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let stale = dir.deletingLastPathComponent().appendingPathComponent(".stream-out.tmp-\(dead)")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        try Data(count: 1 << 20).write(to: stale.appendingPathComponent("model-00001-of-00003.safetensors"))
        let r = try runCLI(["prune", "--stream", "--model", dir.path, "--method", "magnitude", "--sparsity", "0.5", "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "stale temporary swept")
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertTrue(files.contains("model-00001-of-00003.safetensors") && files.contains("model.safetensors.index.json")
                      && files.contains("tokenizer.json") && files.contains("pruning.json"), "\(files)")
        try? FileManager.default.removeItem(atPath: out)
    }

    func testWeightsOptionAndBenchMemory() throws {
        let dir = try tmp.modelDir("weights", from: "llama-gqa-tied", tokenizer: true)
        let quick = ["--prompt-length", "8", "--decode-tokens", "2", "--repetitions", "1"]
        assertCleanFailure(try runCLI(["bench", "model", "--model", dir.path, "--weights", "q9_9"] + quick), "bad encoding",
                           mentions: ["--weights", "q9_9"], usageAllowed: true)
        let r = try runCLI(["bench", "model", "--model", dir.path, "--weights", "q8_0", "--json"] + quick)
        XCTAssertEqual(r.status, 0, r.stderr)
        for key in ["\"weights\":\"q8_0\"", "\"weight_storage\":", "\"decode_bytes_per_token\":", "\"memory_read_gb_per_s\":",
                    "\"decode_fraction_of_bound\":"] {
            XCTAssertTrue(r.stdout.contains(key), "\(key) in \(r.stdout)")
        }
        // native on a float32 safetensors model: every matrix stays float32.
        let n = try runCLI(["bench", "model", "--model", dir.path, "--weights", "native", "--json"] + quick)
        XCTAssertEqual(n.status, 0, n.stderr)
        XCTAssertTrue(n.stdout.contains("\"weight_storage\":{\"f32\":15}"), n.stdout)
        let m = try runCLI(["bench", "memory", "--mib", "8", "--repetitions", "1", "--json"])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains("\"read_gb_per_s\":"), m.stdout)
        assertCleanFailure(try runCLI(["bench", "memory", "--mib", "0"]), "zero arrays", mentions: ["--mib"], usageAllowed: true)
    }

    // MARK: - Harness

    var tmp: TempDir!

    override func setUpWithError() throws {
        tmp = try TempDir()
        XCTAssertNotNil(CLIBinary.url, "secateur binary not found next to the test bundle (\(CLIBinary.searched.joined(separator: ", ")))")
    }

    override func tearDown() { tmp = nil }

    struct RunResult {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
        var args: [String]

        /// The "Error: ..." line, if any.
        var errorLine: String? { stderr.split(separator: "\n").first { $0.hasPrefix("Error: ") }.map(String.init) }
    }

    /// Runs the binary with `args`; stdout/stderr go to files (no pipe deadlocks), and a run
    /// longer than `timeout` is killed and reported.
    func runCLI(_ args: [String], environment: [String: String] = [:], timeout: TimeInterval = 300) throws -> RunResult {
        let bin = try XCTUnwrap(CLIBinary.url, "secateur binary not built")
        var env = ProcessInfo.processInfo.environment
        env["SECATEUR_HOME"] = tmp.url.appendingPathComponent("default-home").path   // never the user's cache by accident
        env["SECATEUR_DATA"] = nil
        env["SECATEUR_THREADS"] = nil
        for (k, v) in environment { env[k] = v }
        return try runProcess(bin, args, environment: env, timeout: timeout)
    }

    /// Runs any program to completion (killed after `timeout`, which fails the test).
    func runProcess(_ executable: URL, _ args: [String], environment: [String: String], timeout: TimeInterval) throws -> RunResult {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.environment = environment
        let id = UUID().uuidString
        let outURL = tmp.url.appendingPathComponent("stdout-\(id)"), errURL = tmp.url.appendingPathComponent("stderr-\(id)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            p.terminate()
            p.waitUntilExit()
            XCTFail("\(executable.lastPathComponent) \(args.joined(separator: " ")) did not finish in \(Int(timeout)) s")
        }
        p.waitUntilExit()
        try out.close(); try err.close()
        return RunResult(status: p.terminationStatus, reason: p.terminationReason,
                         stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                         stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self), args: args)
    }

    /// A failed run done right: exited (no signal) with a non-zero status, stderr is exactly
    /// one "Error: ..." line (ArgumentParser's usage hint may follow for argument errors only),
    /// the line mentions every string of `mentions` and at least one of `anyOf`.
    func assertCleanFailure(_ r: RunResult, _ what: String, mentions: [String], anyOf: [String] = [],
                            usageAllowed: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        let ctx = "\(what) [secateur \(r.args.joined(separator: " "))]"
        XCTAssertEqual(r.reason, .exit, "\(ctx): killed by signal \(r.status); stderr: \(r.stderr)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "\(ctx): exit status 0; stdout: \(r.stdout)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let nonEmpty = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let first = nonEmpty.first else {
            return XCTFail("\(ctx): nothing on stderr", file: file, line: line)
        }
        XCTAssertTrue(first.hasPrefix("Error: "), "\(ctx): stderr should start with 'Error: ': \(r.stderr)", file: file, line: line)
        if usageAllowed {
            // "Error: ...", then optionally "Usage: ..." and "  See '... --help' for more information."
            if nonEmpty.count > 1 {
                XCTAssertTrue(nonEmpty[1].hasPrefix("Usage: ") || nonEmpty[1].hasPrefix("Help: "),
                              "\(ctx): error message spans more than one line: \(r.stderr)", file: file, line: line)
            }
        } else {
            XCTAssertEqual(nonEmpty.count, 1, "\(ctx): stderr should be exactly one line: \(r.stderr)", file: file, line: line)
            XCTAssertTrue(r.stderr.hasSuffix("\n") && lines.count == 2, "\(ctx): one newline-terminated line expected: \(r.stderr.debugDescription)", file: file, line: line)
        }
        for m in mentions {
            XCTAssertTrue(first.contains(m), "\(ctx): error should mention '\(m)': \(first)", file: file, line: line)
        }
        if !anyOf.isEmpty {
            XCTAssertTrue(anyOf.contains { first.contains($0) }, "\(ctx): error should mention one of \(anyOf): \(first)", file: file, line: line)
        }
        XCTAssertFalse(first.contains("Fatal error") || first.contains("Swift/"), "\(ctx): \(first)", file: file, line: line)
        XCTAssertTrue(r.stdout.isEmpty, "\(ctx): nothing should be printed on stdout: \(r.stdout)", file: file, line: line)
        print("  [\(what)] \(first)")
    }

    // MARK: - Byte patching

    func patch<T: FixedWidthInteger>(_ url: URL, at offset: Int, _ value: T) throws {
        let h = try FileHandle(forUpdating: url)
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(offset))
        withUnsafeBytes(of: value.littleEndian) { h.write(Data($0)) }
    }

    func editConfig(_ dir: URL, _ body: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        body(&obj)
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
    }

    /// Absolute offset of a tensor's data in a safetensors file.
    func safetensorsDataOffset(_ url: URL, tensor: String) throws -> Int {
        let d = try Data(contentsOf: url)
        let n = Int(d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + n))) as? [String: Any])
        let entry = try XCTUnwrap(header[tensor] as? [String: Any], "no tensor \(tensor)")
        XCTAssertEqual(entry["dtype"] as? String, "F32")
        let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
        return 8 + n + offsets[0]
    }
}

// MARK: - Fixtures and helpers

enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func tiny(_ rel: String) -> URL { root.appendingPathComponent("tiny").appendingPathComponent(rel) }

    static var requireAll: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The cached SmolLM2 GGUF; skips (fails under CI=true) when it is not there.
    static func realModel() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        var candidates: [URL] = []
        if let h = env["SECATEUR_HOME"], !h.isEmpty { candidates.append(URL(fileURLWithPath: h)) }
        candidates.append(FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/secateur"))
        for home in candidates {
            let f = home.appendingPathComponent("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
            if FileManager.default.fileExists(atPath: f.path) { return f }
        }
        if requireAll { XCTFail("SmolLM2 GGUF not found (run `secateur fetch`)"); throw CLITestError.missing("SmolLM2 GGUF") }
        throw XCTSkip("SmolLM2 GGUF not in the model cache; run `secateur fetch smollm2-135m`")
    }

    /// $SECATEUR_DATA (default /work/shared/data) with wikitext2; skips (fails under CI=true) without it.
    static func dataDirectory() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        let candidates = [env["SECATEUR_DATA"], "/work/shared/data"].compactMap { $0 }.filter { !$0.isEmpty }
        for c in candidates where FileManager.default.fileExists(atPath: c + "/wikitext2/wiki.test.raw") {
            return URL(fileURLWithPath: c)
        }
        if requireAll { XCTFail("no data directory with wikitext2/wiki.test.raw"); throw CLITestError.missing("data") }
        throw XCTSkip("no data directory with wikitext2/wiki.test.raw (set SECATEUR_DATA)")
    }
}

enum CLITestError: Error { case missing(String), badGGUF(String) }

/// The `secateur` executable built alongside this test bundle.
enum CLIBinary {
    static var searched: [String] = []

    static let url: URL? = {
        let fm = FileManager.default
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SECATEUR_BIN"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        // The products directory holds both the .xctest bundle and the executable. On Linux the
        // bundle is a file in it; on macOS a directory (…/X.xctest/Contents/MacOS/X).
        var u = Bundle(for: CLIErrorTests.self).bundleURL
        for _ in 0..<4 { u = u.deletingLastPathComponent(); dirs.append(u) }
        dirs.append(Bundle.main.bundleURL)
        // Fallback: the package's .build folder (release preferred), found from this source file.
        let pkg = Fixture.root.deletingLastPathComponent().deletingLastPathComponent()
        dirs += [".build/release", ".build/debug"].map { pkg.appendingPathComponent($0) }
        for d in dirs {
            let f = d.appendingPathComponent("secateur")
            searched.append(f.path)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: f.path, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: f.path) { return f }
        }
        return nil
    }()
}

/// Starts the binary with `args` and SECATEUR_HOME under `home`; stdout and stderr go to files
/// in `home` (no pipe deadlocks). Returns the running process and the two files.
func startCLI(_ args: [String], home: URL) throws -> (Process, stdout: URL, stderr: URL) {
    let p = Process()
    p.executableURL = CLIBinary.url
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["SECATEUR_HOME"] = home.appendingPathComponent("home").path
    p.environment = env
    let out = home.appendingPathComponent("out-\(UUID().uuidString)"), err = home.appendingPathComponent("err-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return (p, out, err)
}

/// A temporary directory, removed when released.
final class TempDir {
    let url: URL
    init() throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("secateur-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write<D: DataProtocol>(_ bytes: D, _ name: String) -> URL {
        let f = url.appendingPathComponent(name)
        FileManager.default.createFile(atPath: f.path, contents: Data(bytes))
        return f
    }

    /// A copy of tiny fixture model `name` (config.json + model.safetensors), optionally with
    /// a (byte-level BPE) tokenizer.json so that loading gets past the tokenizer.
    func modelDir(_ dirName: String, from name: String, tokenizer: Bool) throws -> URL {
        let dir = url.appendingPathComponent(dirName)
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] {
            try fm.copyItem(at: Fixture.tiny("\(name)/\(f)"), to: dir.appendingPathComponent(f))
        }
        if tokenizer {
            try fm.copyItem(at: Fixture.root.appendingPathComponent("tokenizer/bytelevel_smol_tokenizer.json"),
                            to: dir.appendingPathComponent("tokenizer.json"))
        }
        return dir
    }
}

/// Just enough of the GGUF layout to patch a file: where each metadata value and each tensor
/// info's type field are, and where the data section starts. Throws on anything unexpected.
struct GGUFLayout {
    struct KV { var key: String; var keyOffset: Int; var type: UInt32; var valueOffset: Int }
    struct TensorInfo { var name: String; var dims: [Int]; var type: UInt32; var typeOffset: Int; var relativeOffset: UInt64 }
    var kvs: [KV] = []
    var tensors: [TensorInfo] = []
    var dataOffset = 0

    init(_ data: Data) throws {
        let b = [UInt8](data)
        var pos = 0
        func need(_ n: Int) throws { guard pos + n <= b.count else { throw CLITestError.badGGUF("short at \(pos)") } }
        func u32() throws -> UInt32 {
            try need(4); defer { pos += 4 }
            return (0..<4).reduce(0) { $0 | UInt32(b[pos + $1]) << (8 * $1) }
        }
        func u64() throws -> UInt64 {
            try need(8); defer { pos += 8 }
            return (0..<8).reduce(0) { $0 | UInt64(b[pos + $1]) << (8 * $1) }
        }
        func string() throws -> String {
            let n = Int(try u64()); try need(n); defer { pos += n }
            return String(decoding: b[pos..<(pos + n)], as: UTF8.self)
        }
        func skip(_ type: UInt32) throws {
            switch type {
            case 0, 1, 7: try need(1); pos += 1
            case 2, 3: try need(2); pos += 2
            case 4, 5, 6: try need(4); pos += 4
            case 10, 11, 12: try need(8); pos += 8
            case 8: _ = try string()
            case 9:
                let elem = try u32(), n = try u64()
                for _ in 0..<n { try skip(elem) }
            default: throw CLITestError.badGGUF("value type \(type)")
            }
        }
        guard try u32() == 0x4655_4747 else { throw CLITestError.badGGUF("magic") }
        _ = try u32()
        let nTensors = try u64(), nKV = try u64()
        var alignment = 32
        for _ in 0..<nKV {
            let keyOffset = pos
            let key = try string()
            let type = try u32()
            let valueOffset = pos
            if key == "general.alignment", type == 4 { alignment = Int(try u32()) } else { try skip(type) }
            kvs.append(KV(key: key, keyOffset: keyOffset, type: type, valueOffset: valueOffset))
        }
        for _ in 0..<nTensors {
            let name = try string()
            let nDims = try u32()
            var dims: [Int] = []
            for _ in 0..<nDims { dims.append(Int(try u64())) }
            let typeOffset = pos
            let type = try u32()
            let rel = try u64()
            tensors.append(TensorInfo(name: name, dims: dims, type: type, typeOffset: typeOffset, relativeOffset: rel))
        }
        dataOffset = (pos + alignment - 1) / alignment * alignment
    }
}
