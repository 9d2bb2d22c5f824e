import Experiments
import Foundation
import XCTest

/// Every command with `--json` prints a run record that decodes as the documented `RunRecord`
/// (schema version, command, model identity, settings, metrics, its own result fields), and
/// pruning.json beside a pruned model is the same record. Runs on tiny models: the
/// llama-gqa-tied-v700 fixture with the 700-token byte-level tokenizer for commands that read
/// text, and llama-gqa-untied for the pruning commands.
final class RunRecordCLITests: XCTestCase {
    var tmp: TempDir!
    var data: URL!

    override func setUpWithError() throws {
        tmp = try TempDir()
        guard CLIBinary.url != nil else { throw XCTSkip("secateur binary not built") }
        data = try Fixture.dataDirectory()
    }

    override func tearDown() { tmp = nil }

    /// A model that reads real text: the tiny model with a 700-row vocabulary and its tokenizer.
    func textModel() throws -> URL {
        let dir = tmp.url.appendingPathComponent("text-model")
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] {
            try fm.copyItem(at: Fixture.tiny("llama-gqa-tied-v700/\(f)"), to: dir.appendingPathComponent(f))
        }
        try fm.copyItem(at: Fixture.root.appendingPathComponent("tokenizer/bytelevel_smol_tokenizer.json"),
                        to: dir.appendingPathComponent("tokenizer.json"))
        return dir
    }

    /// Runs the binary, requires success, decodes stdout as a record of `command`.
    func record(_ args: [String], _ command: RunCommand, file: StaticString = #filePath, line: UInt = #line) throws -> RunRecord {
        let p = Process()
        p.executableURL = CLIBinary.url
        p.arguments = args + ["--json"]
        var env = ProcessInfo.processInfo.environment
        env["SECATEUR_HOME"] = tmp.url.appendingPathComponent("home").path
        env["SECATEUR_DATA"] = data.path
        env["SECATEUR_GIT_COMMIT"] = "0123456789abcdef0123456789abcdef01234567"
        p.environment = env
        let out = tmp.url.appendingPathComponent("out-\(UUID().uuidString)"), err = tmp.url.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        let stdout = try Data(contentsOf: out), stderr = try String(contentsOf: err, encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 0, "\(args): \(stderr)", file: file, line: line)
        // One JSON object, on one line.
        XCTAssertEqual(String(decoding: stdout, as: UTF8.self).split(separator: "\n").count, 1, file: file, line: line)
        let r = try RunRecord.decode(stdout)
        XCTAssertEqual(r.schemaVersion, RunRecord.schemaVersion, file: file, line: line)
        XCTAssertEqual(r.command, command, file: file, line: line)
        XCTAssertEqual(r.environment.gitCommit, "0123456789abcdef0123456789abcdef01234567", file: file, line: line)
        XCTAssertGreaterThan(r.environment.logicalCores, 0, file: file, line: line)
        XCTAssertEqual(r.model.sourceSHA256?.count, 64, file: file, line: line)
        XCTAssertGreaterThan(r.model.paramsTotal, 0, file: file, line: line)
        XCTAssertNotNil(r.secondsByPhase["load"], "\(r.secondsByPhase)", file: file, line: line)
        return r
    }

    func testEvalInfoAndGenerateRecords() throws {
        let model = try textModel().path

        let ppl = try record(["eval", "ppl", "--model", model, "--seqlen", "16", "--windows", "2", "--threads", "1"], .evalPerplexity)
        guard case .evalPerplexity(let settings) = ppl.settings, case .evalPerplexity(let result) = ppl.result else {
            return XCTFail("eval ppl record: \(ppl.settings)")
        }
        XCTAssertEqual(settings.seqlen, 16); XCTAssertEqual(settings.windows, 2); XCTAssertEqual(settings.dataset, .wikitext2)
        XCTAssertEqual(settings.protocol, .wanda); XCTAssertEqual(settings.threads, 1); XCTAssertEqual(ppl.environment.threads, 1)
        XCTAssertEqual(settings.dataDirectory, data.path)
        XCTAssertEqual(ppl.metrics.perplexity.count, 1)
        let m = try XCTUnwrap(ppl.metrics.perplexity.first)
        XCTAssertEqual(m.dataset, "wikitext2"); XCTAssertEqual(m.protocol, "wanda"); XCTAssertEqual(m.seqlen, 16)
        XCTAssertEqual(m.windows, 2); XCTAssertEqual(m.stage, .dense)
        XCTAssertEqual(m.value, result.ppl); XCTAssertEqual(result.nllPerWindow.count, 2)
        XCTAssertTrue(m.value.isFinite && m.value > 1)
        XCTAssertEqual(ppl.model.paramsTotal, 36384)   // 700·32 + 2·(64 + 1024 + 512 + 512 + 1024 + 3·1280) + 32

        let tasks = try record(["eval", "tasks", "--model", model, "--tasks", "boolq,piqa", "--limit", "2"], .evalTasks)
        XCTAssertEqual(tasks.metrics.tasks.map(\.task), ["boolq", "piqa"])
        for t in tasks.metrics.tasks {
            XCTAssertEqual(t.n, 2); XCTAssertTrue((0...1).contains(t.acc) && (0...1).contains(t.accNorm ?? -1)); XCTAssertEqual(t.reported, "acc")
            XCTAssertTrue(t.accStderr.isFinite && (t.accNormStderr ?? .nan).isFinite); XCTAssertNil(t.perplexity)
        }
        guard case .evalTasks(let tr) = tasks.result, case .evalTasks(let ts) = tasks.settings else { return XCTFail("eval tasks record") }
        XCTAssertEqual(Set(tr.tasks.keys), ["boolq", "piqa"]); XCTAssertEqual(ts.limit, 2); XCTAssertNotNil(tr.average)

        // LAMBADA and TruthfulQA: selectable by name, their own metrics, never in the average.
        let extra = try record(["eval", "tasks", "--model", model, "--tasks", "lambada_openai,truthfulqa_mc1,truthfulqa_mc2", "--limit", "2"],
                               .evalTasks)
        XCTAssertEqual(extra.metrics.tasks.map(\.task), ["lambada_openai", "truthfulqa_mc1", "truthfulqa_mc2"])
        for t in extra.metrics.tasks {
            XCTAssertEqual(t.n, 2); XCTAssertTrue((0...1).contains(t.acc)); XCTAssertNil(t.accNorm); XCTAssertEqual(t.reported, "acc")
            XCTAssertEqual(t.perplexity != nil, t.task == "lambada_openai")
        }
        XCTAssertTrue((extra.metrics.tasks[0].perplexity ?? 0) > 1)
        guard case .evalTasks(let xr) = extra.result else { return XCTFail("eval tasks record") }
        XCTAssertNil(xr.average)

        let info = try record(["info", "--model", model], .info)
        guard case .info(let d) = info.result else { return XCTFail("info record") }
        XCTAssertEqual(d.architecture, "llama"); XCTAssertEqual(d.vocabSize, 700); XCTAssertEqual(d.params, 36384)
        XCTAssertEqual(info.model.architecture, "llama"); XCTAssertEqual(info.model.format, "safetensors")

        let gen = try record(["generate", "--model", model, "--prompt", "The cat", "--max-tokens", "3"], .generate)
        guard case .generate(let g) = gen.result, case .generate(let gs) = gen.settings else { return XCTFail("generate record") }
        XCTAssertEqual(gs.prompt, "The cat"); XCTAssertEqual(gs.maxTokens, 3)
        XCTAssertTrue((1...3).contains(g.tokens), "\(g)")
    }

    func testPruneRecordsAndPruningJSON() throws {
        let model = try textModel()
        // Unstructured Wanda with calibration from BookCorpus and perplexity before/after.
        let out = tmp.url.appendingPathComponent("wanda")
        let prune = try record(["prune", "--model", model.path, "--method", "wanda", "--sparsity", "0.5", "--calib", "bookcorpus",
                                "--nsamples", "2", "--seqlen", "16", "--eval", "wikitext2", "--eval-seqlen", "16", "--windows", "1",
                                "--output", out.path], .prune)
        guard case .prune(let ps) = prune.settings, case .prune(let pr) = prune.result else { return XCTFail("prune record") }
        XCTAssertEqual(ps.method, .wanda); XCTAssertEqual(ps.group, .row); XCTAssertEqual(ps.layers, 0...1)
        XCTAssertEqual(ps.calibration, .dataset(.bookcorpus)); XCTAssertEqual(ps.evaluation?.seqlen, 16)
        XCTAssertEqual(pr.calibrationWindows, 2); XCTAssertEqual(pr.calibrationSeqlen, 16)
        XCTAssertEqual(pr.sparsityAchieved, 0.5, accuracy: 0.01)
        XCTAssertEqual(pr.layers["1"]?["down"]?.sparsity ?? 0, 0.5, accuracy: 0.01)
        XCTAssertEqual(prune.metrics.perplexity.map(\.stage), [.dense, .pruned])
        XCTAssertEqual(prune.metrics.perplexity.map(\.seqlen), [16, 16])
        XCTAssertEqual(pr.output, out.path)
        for phase in ["calibration", "eval_dense", "eval_pruned", "save"] { XCTAssertNotNil(prune.secondsByPhase[phase], phase) }
        let saved = try RunRecord.decode(Data(contentsOf: out.appendingPathComponent("pruning.json")))
        XCTAssertEqual(saved.command, .prune)
        XCTAssertEqual(saved.model, prune.model)
        XCTAssertEqual(saved.settings, prune.settings)
        XCTAssertEqual(saved.metrics, prune.metrics)

        // Structured: the record's top level still carries the report's fields.
        let sout = tmp.url.appendingPathComponent("structured")
        let st = try record(["prune", "--model", model.path, "--structured", "--method", "l2", "--ratio", "0.2",
                             "--attn-layers", "0-1", "--output", sout.path], .pruneStructured)
        guard case .pruneStructured(let ss) = st.settings, case .pruneStructured(let sr) = st.result else { return XCTFail("structured record") }
        XCTAssertEqual(ss.criterion, .l2); XCTAssertEqual(ss.mlpLayers, 0...1)
        XCTAssertEqual(sr.report.paramsBefore, st.model.paramsTotal)
        XCTAssertEqual(sr.report.ratioActual, 0.2, accuracy: 0.005)
        let savedS = try RunRecord.decode(Data(contentsOf: sout.appendingPathComponent("pruning.json")))
        XCTAssertEqual(savedS.command, .pruneStructured)
        guard case .pruneStructured(let ssr) = savedS.result else { return XCTFail("pruning.json result") }
        XCTAssertEqual(ssr.report.paramsAfter, sr.report.paramsAfter)

        // bench model on the pruned directory.
        let bench = try record(["bench", "model", "--model", out.path, "--prompt-length", "8", "--decode-tokens", "2",
                                "--repetitions", "1", "--sparse-format", "csr"], .benchModel)
        guard case .benchModel(let b) = bench.result, case .benchModel(let bs) = bench.settings else { return XCTFail("bench record") }
        XCTAssertEqual(bs.sparseFormat, .csr); XCTAssertEqual(b.promptLength, 8)
        XCTAssertEqual(b.paramsNonzero, bench.model.paramsNonzero)
        XCTAssertLessThan(bench.model.paramsNonzero, bench.model.paramsTotal)
        XCTAssertGreaterThan(b.decodeTokensPerSecond, 0)
    }

    /// `prune --method es` (layer-wise, then whole-model): the flags reach the record's settings, the result carries the searches' summaries,
    /// 2:4 holds in the saved model, and the same seed gives the same record.
    func testEvolutionarySearchPruneRecord() throws {
        let model = try textModel()
        func run(_ name: String, seed: String) throws -> (RunRecord, PruneSettings, PruneResult) {
            let r = try record(["prune", "--model", model.path, "--method", "es", "--es-init", "ria", "--pattern", "2:4", "--permute",
                                "--generations", "12", "--es-model-generations", "6", "--es-seed", seed, "--es-rate", "0.05", "--calib", "bookcorpus",
                                "--nsamples", "2", "--seqlen", "16", "--output", tmp.url.appendingPathComponent(name).path], .prune)
            guard case .prune(let s) = r.settings, case .prune(let p) = r.result else { throw XCTSkip("not a prune record") }
            return (r, s, p)
        }
        let (_, s, p) = try run("es-a", seed: "3")
        XCTAssertEqual(s.method, .es); XCTAssertEqual(s.esInitial, .ria); XCTAssertEqual(s.generations, 12)
        XCTAssertEqual(s.esSeed, 3); XCTAssertEqual(s.esRate, 0.05); XCTAssertTrue(s.permute)
        let es = try XCTUnwrap(p.evolutionarySearch)
        XCTAssertEqual(es.generations, 12)
        XCTAssertGreaterThan(es.matrices, 0)
        XCTAssertLessThanOrEqual(es.finalError, es.initialError * (1 + 1e-6))
        XCTAssertEqual(p.sparsityAchieved, 0.5, accuracy: 0.001)
        XCTAssertEqual(s.esModelGenerations, 6)
        let whole = try XCTUnwrap(p.wholeModelSearch)
        XCTAssertEqual(whole.generations, 6)
        XCTAssertLessThanOrEqual(whole.finalLoss, whole.initialLoss)
        XCTAssertNil(whole.initialHeldOutLoss, "2 windows hold none out at the default share")
        let (_, _, again) = try run("es-b", seed: "3")
        XCTAssertEqual(again.evolutionarySearch, p.evolutionarySearch)
        XCTAssertEqual(again.wholeModelSearch, p.wholeModelSearch)
        XCTAssertEqual(again.prunableZeros, p.prunableZeros)
        let a = try Data(contentsOf: tmp.url.appendingPathComponent("es-a/model.safetensors"))
        let b = try Data(contentsOf: tmp.url.appendingPathComponent("es-b/model.safetensors"))
        XCTAssertEqual(a, b, "same seed, same pruned weights")
    }

    /// An OPT directory (the tiny post-LN model with project_in/out, its GPT-2 tokenizer) through
    /// every command: the engine core has no per-family paths above LLM/.
    func testOPTDirectoryThroughEveryCommand() throws {
        let model = Fixture.root.appendingPathComponent("opt/opt-post-proj").path
        let info = try record(["info", "--model", model], .info)
        guard case .info(let d) = info.result else { return XCTFail("info record") }
        XCTAssertEqual(d.architecture, "opt"); XCTAssertEqual(info.model.architecture, "opt"); XCTAssertEqual(d.vocabSize, 512)

        let ppl = try record(["eval", "ppl", "--model", model, "--seqlen", "32", "--windows", "2"], .evalPerplexity)
        XCTAssertTrue(ppl.metrics.perplexity.allSatisfy { $0.value.isFinite && $0.value > 1 })

        // The tasks' contexts are longer than the 64 learned positions: cut on the left to them.
        let tasks = try record(["eval", "tasks", "--model", model, "--tasks", "boolq,hellaswag", "--limit", "3"], .evalTasks)
        XCTAssertEqual(tasks.metrics.tasks.map(\.n), [3, 3])
        guard case .evalTasks(let ts) = tasks.settings else { return XCTFail("eval tasks record") }
        XCTAssertEqual(ts.maxLength, 64)

        // Unstructured 2:4 over every projection OPT has (no gate), then bench the result in packed 2:4.
        let out = tmp.url.appendingPathComponent("opt-wanda")
        let prune = try record(["prune", "--model", model, "--method", "wanda", "--sparsity", "0.5", "--pattern", "2:4",
                                "--calib", "bookcorpus", "--nsamples", "2", "--seqlen", "32", "--output", out.path], .prune)
        guard case .prune(let ps) = prune.settings, case .prune(let pr) = prune.result else { return XCTFail("prune record") }
        XCTAssertEqual(ps.matrices, [.q, .k, .v, .o, .up, .down])
        XCTAssertEqual(pr.sparsityAchieved, 0.5, accuracy: 1e-9)
        let bench = try record(["bench", "model", "--model", out.path, "--prompt-length", "8", "--decode-tokens", "2",
                                "--repetitions", "1", "--sparse-format", "nm"], .benchModel)
        XCTAssertEqual(bench.model.architecture, "opt")
        XCTAssertLessThan(bench.model.paramsNonzero, bench.model.paramsTotal)

        // Structured Taylor (OPT's own backward), then tasks and generation on the smaller model.
        let sout = tmp.url.appendingPathComponent("opt-taylor")
        let st = try record(["prune", "--model", model, "--structured", "--method", "taylor", "--ratio", "0.2",
                             "--attn-layers", "0-1", "--mlp-layers", "0-1", "--calib", "c4", "--nsamples", "2", "--seqlen", "32",
                             "--output", sout.path], .pruneStructured)
        guard case .pruneStructured(let sr) = st.result else { return XCTFail("structured record") }
        XCTAssertEqual(sr.report.ratioActual, 0.2, accuracy: 0.005)
        let after = try record(["eval", "tasks", "--model", sout.path, "--tasks", "piqa", "--limit", "2"], .evalTasks)
        XCTAssertEqual(after.model.paramsTotal, sr.report.paramsAfter)
        let gen = try record(["generate", "--model", sout.path, "--prompt", "Hello", "--max-tokens", "3"], .generate)
        guard case .generate(let g) = gen.result else { return XCTFail("generate record") }
        XCTAssertTrue((1...3).contains(g.tokens), "\(g)")
    }
}
