import Foundation
import XCTest
import TestSupport
import Evaluation
import Experiments
import LLM
import ModelIO
import Pruning

/// `export` on the real SmolLM2-135M, structurally pruned so its layers differ (l2, 10 % of
/// the model from layers 4-27), saved as `prune --output` saves it, then exported:
/// GGUF (deci) → Secateur gives identical logits at F32 and close ones at Q8_0, with the
/// tokenizer carried over; HF (zero-padded) → Secateur and, where Python has torch and
/// transformers, transformers: logits within 1e-4 and WikiText-2 token ids identical.
final class ExportSmolLM2Tests: XCTestCase {
    nonisolated(unsafe) static var prunedDir: URL?
    static let work = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-export-smol-\(getpid())")
    /// The work folder holds 2.5 GB of models: removed when the class's tests are done.
    override class func tearDown() {
        try? FileManager.default.removeItem(at: work)
        prunedDir = nil
        super.tearDown()
    }

    static let tokens: [Int32] = [504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30, 216, 33, 34, 35, 1, 9, 200, 4000, 31000, 12]

    /// The cached SmolLM2 GGUF, found as `--model smollm2-135m` finds it.
    func smolLM2Path() throws -> String { try smolLM2GGUFPath() }

    /// The pruned model directory (made once): non-uniform widths, tokenizer.gguf beside it.
    func pruned() throws -> URL {
        if let d = Self.prunedDir { return d }
        let loaded = try ModelLoader.load(try smolLM2Path())
        let c = StructuredPruneConfiguration(criterion: .l2, ratio: 0.1, attentionLayers: 4...27, mlpLayers: 4...27)
        let p = try StructuredPruner.prune(loaded.model, configuration: c)
        let dir = Self.work.appendingPathComponent("pruned")
        try ModelWriter.save(p.model, source: loaded.location, to: dir.path)
        Self.prunedDir = dir
        return dir
    }

    func export(_ format: ExportFormat, _ dtype: ExportDType, pad: Bool = false, to name: String) throws -> ExportResult {
        let out = Self.work.appendingPathComponent(name).path
        let record = try ExportRun(settings: ExportSettings(format: format, dtype: dtype, padUniform: pad, output: out))
            .run(modelSpec: try pruned().path)
        guard case .export(let r) = record.result else { throw XCTSkip("no export result") }
        return r
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    func testGGUFExportOfNonUniformSmolLM2() throws {
        let source = try ModelLoader.load(try pruned().path)
        XCTAssertGreaterThan(Set(source.model.blockShapes.map(\.intermediateSize)).count, 1, "the pruned model must be non-uniform")
        let reference = try source.model.logits(Self.tokens)

        let f32 = try export(.gguf, .f32, to: "pruned-f32.gguf")
        XCTAssertEqual(f32.architecture, "deci")
        let back = try ModelLoader.load(f32.output)
        XCTAssertEqual(back.model.blockShapes, source.model.blockShapes)
        XCTAssertEqual(try back.model.logits(Self.tokens), reference, "F32 GGUF logits must be identical")
        let text = "Pruned models should still say: The quick brown fox, 1234 times!"
        XCTAssertEqual(back.tokenizer.encode(text), source.tokenizer.encode(text))
        XCTAssertEqual(back.tokenizer.eosTokenID, source.tokenizer.eosTokenID)
        let file = try GGUFFile(path: f32.output)
        XCTAssertNotNil(file.metadata["tokenizer.chat_template"]?.string, "the chat template is carried over")

        let q8 = try export(.gguf, .q8_0, to: "pruned-q8.gguf")
        XCTAssertGreaterThan(q8.tensorsByType["q8_0"] ?? 0, 150)
        XCTAssertLessThan(q8.bytes, f32.bytes / 3)
        let qBack = try ModelLoader.load(q8.output)
        // Below F32, MLP widths come back padded with zero channels to multiples of 32.
        XCTAssertEqual(qBack.model.blockShapes.map(\.intermediateSize), source.model.blockShapes.map { ($0.intermediateSize + 31) / 32 * 32 })
        let q = try qBack.model.logits(Self.tokens)
        let meanDiff = zip(q, reference).map { abs($0 - $1) }.reduce(0, +) / Float(q.count)
        let v = source.model.vocabSize
        func argmax(_ l: [Float], _ t: Int) -> Int { (0..<v).max { l[t * v + $0] < l[t * v + $1] }! }
        let agree = (0..<Self.tokens.count).filter { argmax(q, $0) == argmax(reference, $0) }.count
        print("Q8_0 vs F32 logits: max |Δ| \(maxDiff(q, reference)), mean |Δ| \(meanDiff), top-1 agreement \(agree)/\(Self.tokens.count)")
        // (l2 without calibration leaves a model of perplexity ~9000 whose logits amplify any
        // rounding; the llama.cpp bench compares Q8_0 perplexity on a calibrated model.)
        XCTAssertGreaterThanOrEqual(agree, Self.tokens.count - 2)
    }

    func testHFExportOfNonUniformSmolLM2() throws {
        let source = try ModelLoader.load(try pruned().path)
        let reference = try source.model.logits(Self.tokens)
        // Without padding: refused, nothing written.
        XCTAssertThrowsError(try export(.hf, .f32, to: "refused")) { e in
            XCTAssertTrue("\(e)".contains("pad_uniform"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.work.appendingPathComponent("refused").path))

        let r = try export(.hf, .f32, pad: true, to: "padded-hf")
        XCTAssertTrue(r.padded)
        XCTAssertTrue(r.notes.contains { $0.contains("no speed-up") })
        XCTAssertTrue(r.files.contains("tokenizer.json"))
        let back = try ModelLoader.load(r.output)
        XCTAssertEqual(back.tokenizerSource, "tokenizer.json")
        XCTAssertEqual(Set(back.model.blockShapes.map(\.heads)), [9])
        // Padding changes only the summation order of zeros into the sums.
        let padded = try back.model.logits(Self.tokens)
        XCTAssertLessThanOrEqual(maxDiff(padded, reference), 1e-5 * reference.map(abs).max()!)

        // WikiText-2 test text: our tokenizer read from the written tokenizer.json gives the ids of the GGUF one.
        let text = try PerplexityCorpus.text(dataset: "wikitext2", protocol: .wanda, data: DataDirectory())
        let ids = source.tokenizer.encode(text, addSpecialTokens: false)
        XCTAssertEqual(back.tokenizer.encode(text, addSpecialTokens: false), ids)

        try checkWithTransformers(directory: r.output, reference: padded, text: text, ids: ids)
    }

    /// A uniform pruned model (whole layers dropped) exports without padding.
    func testHFExportOfLayerDroppedSmolLM2() throws {
        let loaded = try ModelLoader.load(try smolLM2Path())
        // Block Influence on two windows of WikiText-2 text picks the layers.
        let text = try PerplexityCorpus.text(dataset: "wikitext2", protocol: .wanda, data: DataDirectory())
        let ids = loaded.tokenizer.encode(String(text.prefix(20_000)), addSpecialTokens: false)
        let windows = [Array(ids[0..<128]), Array(ids[128..<256])]
        let p = try StructuredPruner.prune(loaded.model, configuration: StructuredPruneConfiguration(criterion: .l2, mode: .layer, ratio: 0.1053),
                                           calibration: windows)
        XCTAssertLessThan(p.model.layerCount, 30)
        let dir = Self.work.appendingPathComponent("layers")
        try ModelWriter.save(p.model, source: loaded.location, to: dir.path)
        let out = Self.work.appendingPathComponent("layers-hf").path
        let record = try ExportRun(settings: ExportSettings(format: .hf, output: out)).run(modelSpec: dir.path)
        guard case .export(let r) = record.result else { return XCTFail("no export result") }
        XCTAssertFalse(r.padded)
        let back = try ModelLoader.load(out)
        let reference = try p.model.logits(Self.tokens)
        XCTAssertEqual(try back.model.logits(Self.tokens), reference)
        try checkWithTransformers(directory: out, reference: reference, text: text,
                                  ids: loaded.tokenizer.encode(text, addSpecialTokens: false))
    }

    /// transformers on the exported directory, through scripts/check_hf_export.py.
    func checkWithTransformers(directory: String, reference: [Float], text: String, ids: [Int32]) throws {
        let env = ProcessInfo.processInfo.environment
        let python = env["SECATEUR_PYTHON"] ?? "python3"
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = [python, "-c", "import torch, transformers"]
        probe.standardOutput = FileHandle.nullDevice; probe.standardError = FileHandle.nullDevice
        try probe.run(); probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw XCTSkip("\(python) lacks torch/transformers: the transformers check of the HF export was skipped (set SECATEUR_PYTHON)")
        }
        let dir = Self.work
        func write<T>(_ values: [T], _ name: String) throws -> String {
            let url = dir.appendingPathComponent(name)
            try values.withUnsafeBytes { Data($0) }.write(to: url)
            return url.path
        }
        let tokensFile = try write(Self.tokens, "tokens.i32"), logitsFile = try write(reference, "logits.f32")
        let textFile = dir.appendingPathComponent("text.txt")
        try text.write(to: textFile, atomically: false, encoding: .utf8)
        let idsFile = dir.appendingPathComponent("hf_ids.i32")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/check_hf_export.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script.path, "--model", directory, "--tokens", tokensFile, "--logits", logitsFile,
                       "--text", textFile.path, "--ids-out", idsFile.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: stderr, as: UTF8.self))
        let lastLine = String(decoding: stdout, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any], lastLine)
        // Two float32 engines summing in different orders over 30 layers differ by ~1e-4 at
        // SmolLM2's logit scale (|logit| up to ~30): the bound is relative to the largest logit.
        let diff = try XCTUnwrap(j["max_abs_logit_diff"] as? Double)
        let scale = Double(reference.map(abs).max()!)
        print("transformers vs Secateur on the HF export: max |Δ logit| \(diff) (largest |logit| \(scale))")
        XCTAssertLessThanOrEqual(diff, 1e-5 * scale, "transformers vs Secateur logits")
        let hfIDs = try Data(contentsOf: idsFile).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        XCTAssertEqual(hfIDs.count, ids.count)
        XCTAssertTrue(hfIDs == ids, "transformers' ids for the WikiText-2 text differ from Secateur's (first at \(zip(hfIDs, ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1))")
    }
}
