import XCTest
import Compute
import LLM
import ModelIO

/// Recovery fine-tuning against PyTorch + PEFT on the tiny Llama and OPT models (fixtures:
/// scripts/make_recovery_fixtures.py, computed in float64 there): a PEFT adapter loads and
/// gives PEFT's logits; LoRA, labelled and distillation gradients; five AdamW steps of LoRA
/// and of masked full fine-tuning (warm-up, linear decay, clipping) land on torch's parameters;
/// the masked merge and the masked updates keep every pruned weight at zero and every 2:4 group
/// with two zeros.
final class RecoveryReferenceTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/recovery")
    static let names = ["llama", "opt"]

    static func dense(_ name: String) throws -> LanguageModel {
        let root = fixtures.deletingLastPathComponent()
        return name == "llama"
            ? try LlamaModel(checkpoint: try HFCheckpoint(directory: root.appendingPathComponent("tiny/llama-gqa-untied").path))
            : try OPTModel(directory: root.appendingPathComponent("opt/opt-pre").path)
    }

    static func pruned(_ name: String) throws -> LanguageModel {
        let dir = fixtures.appendingPathComponent("\(name)-pruned").path
        return name == "llama" ? try LlamaModel(checkpoint: try HFCheckpoint(directory: dir)) : try OPTModel(directory: dir)
    }

    /// The pruned model with the PEFT adapter of the fixture on it.
    static func withAdapter(_ name: String) throws -> (LanguageModel, LoRAConfiguration) {
        let m = try pruned(name)
        let c = try PEFTAdapter.load(fixtures.appendingPathComponent("\(name)-lora").path, onto: m)
        return (m, c)
    }

    static func reference(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: fixtures.appendingPathComponent("\(name).safetensors").path)
    }

    /// Tensors under `prefix`, keyed by the rest of their name; PEFT keys lose their prefix
    /// so that they read as our adapter names.
    static func tensors(_ f: SafetensorsFile, _ prefix: String) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for n in f.tensorNames where n.hasPrefix(prefix) {
            var key = String(n.dropFirst(prefix.count))
            if key.hasPrefix(LoRANames.peftPrefix) { key = String(key.dropFirst(LoRANames.peftPrefix.count)) }
            out[key] = try f.loadFloat32(n)
        }
        return out
    }

    static func ids(_ f: SafetensorsFile, _ name: String) throws -> [Int32] { try f.loadInts(name).map { Int32($0) } }

    /// OPT's k_proj bias has a true gradient of 0 (softmax ignores a per-query constant): the
    /// reference holds float noise there, which AdamW amplifies; it is checked absolutely.
    static func isNoise(_ name: String) -> Bool { name.hasSuffix("k_proj.bias") }

    /// max|ours − ref| ≤ 1e-4 · max|ref| per tensor.
    func assertClose(_ ours: [String: [Float]], _ ref: [String: [Float]], _ label: String, noiseTolerance: Float = 1e-6,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(ours.keys), Set(ref.keys), "\(label): tensor sets differ", file: file, line: line)
        var worstRatio: Float = 0
        for (name, r) in ref.sorted(by: { $0.key < $1.key }) {
            guard let o = ours[name], o.count == r.count else { XCTFail("\(label): \(name) missing or misshapen", file: file, line: line); continue }
            let worst = zip(o, r).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            if Self.isNoise(name) {
                XCTAssertLessThanOrEqual(worst, noiseTolerance, "\(label): \(name)", file: file, line: line)
                continue
            }
            let scale = r.map(abs).max()!
            XCTAssertGreaterThan(scale, 0, "\(label): \(name) reference is all zero", file: file, line: line)
            worstRatio = max(worstRatio, worst / scale)
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(label): \(name) max|Δ| \(worst), max|ref| \(scale)", file: file, line: line)
        }
        print("\(label): \(ref.count) tensors, worst max|Δ|/max|ref| = \(worstRatio)")
    }

    func testPEFTAdapterLogits() throws {
        for name in Self.names {
            let f = try Self.reference(name)
            let (m, c) = try Self.withAdapter(name)
            XCTAssertEqual(c.rank, 4); XCTAssertEqual(c.alpha, 8); XCTAssertEqual(c.targets, m.projections)
            let ours = try m.logits(try Self.ids(f, "input_ids"))
            let ref = try f.loadFloat32("lora.logits")
            let scale = ref.map(abs).max()!
            let worst = zip(ours, ref).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name): adapter logits max|Δ| \(worst)")
            // The adapter changes the output: the comparison is not of the base model.
            let base = try Self.pruned(name).logits(try Self.ids(f, "input_ids"))
            XCTAssertGreaterThan(zip(base, ref).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }, 100 * worst + 1e-3)
        }
    }

    func testAdapterWrittenByUsReadsBackAsPEFTKeys() throws {
        for name in Self.names {
            let (m, c) = try Self.withAdapter(name)
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("peft-\(name)-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: out) }
            try PEFTAdapter.save(m, configuration: c, baseModel: "tiny", to: out.path)
            let ours = try SafetensorsFile(path: out.appendingPathComponent(PEFTAdapter.weightsFile).path)
            let theirs = try SafetensorsFile(path: Self.fixtures.appendingPathComponent("\(name)-lora/\(PEFTAdapter.weightsFile)").path)
            XCTAssertEqual(ours.tensorNames.sorted(), theirs.tensorNames.sorted())
            for n in theirs.tensorNames { XCTAssertEqual(try ours.loadFloat32(n), try theirs.loadFloat32(n), n) }
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(PEFTAdapter.configFile))) as! [String: Any]
            XCTAssertEqual(config["peft_type"] as? String, "LORA")
            XCTAssertEqual(config["r"] as? Int, 4)
        }
    }

    func testLoRAGradients() throws {
        for name in Self.names {
            let f = try Self.reference(name)
            let (m, _) = try Self.withAdapter(name)
            let tokens = try Self.ids(f, "input_ids")
            let trainable = TrainableParameters.adapters(of: m)
            XCTAssertTrue(trainable.tensors.allSatisfy { if case .adapter = $0.role { return true } else { return false } },
                          "LoRA trains adapters only")
            var g = trainable.makeGradients(for: m)
            XCTAssertEqual(g.values.count, trainable.count, "no gradient buffer for frozen weights")
            let sums = try m.accumulateGradients(tokens: tokens, objective: .window(tokens), into: &g)
            XCTAssertEqual(Float(sums.meanLoss(distillation: nil)), try f.loadFloat32("lora.loss")[0], accuracy: 1e-5)
            assertClose(g.named, try Self.tensors(f, "lora.grad."), "\(name) LoRA gradients")

            // Labels with the prompt masked (−100), as an instruction example without train_on_inputs.
            let labels = try Self.ids(f, "label.labels")
            let example = TrainingExample(tokens: tokens, labels: labels)
            var gl = trainable.makeGradients(for: m)
            let ls = try m.accumulateGradients(tokens: tokens, objective: SequenceObjective(labels: labels, weight: 1 / Float(example.targetCount)), into: &gl)
            XCTAssertEqual(ls.targets, example.targetCount)
            XCTAssertEqual(Float(ls.meanLoss(distillation: nil)), try f.loadFloat32("label.loss")[0], accuracy: 1e-5)
            assertClose(gl.named, try Self.tensors(f, "label.grad."), "\(name) labelled gradients")
        }
    }

    func testDistillationGradients() throws {
        for name in Self.names {
            let f = try Self.reference(name)
            let student = try Self.pruned(name), teacher = try Self.dense(name)
            let tokens = try Self.ids(f, "input_ids")
            let d = Distillation(teacher: teacher, temperature: 2, weight: 0.5)
            var g = ModelGradients(like: student)
            let sums = try student.accumulateGradients(
                tokens: tokens, objective: SequenceObjective(labels: tokens, weight: 1 / Float(tokens.count - 1), distillation: d), into: &g)
            XCTAssertEqual(Float(sums.crossEntropy / Double(sums.targets)), try f.loadFloat32("kd.ce")[0], accuracy: 1e-5)
            XCTAssertEqual(Float(sums.kl / Double(sums.targets)), try f.loadFloat32("kd.kl")[0], accuracy: 1e-6)
            XCTAssertEqual(Float(sums.meanLoss(distillation: d)), try f.loadFloat32("kd.loss")[0], accuracy: 1e-5)
            assertClose(g.named, try Self.tensors(f, "kd.grad."), "\(name) distillation gradients")
        }
    }

    /// The settings of the fixture's five steps: batch 1, warm-up 2 of 5 then linear decay,
    /// clipping at 1, windows in order.
    static func fiveSteps(lr: Float) -> TrainingSettings {
        var s = TrainingSettings(optimizer: AdamWSettings(learningRate: lr, weightDecay: 0.01), steps: 5)
        s.schedule = .linear; s.warmupSteps = 2; s.maxGradientNorm = 1; s.shuffle = false
        return s
    }

    static func windows(_ f: SafetensorsFile) throws -> [TrainingExample] {
        let all = try ids(f, "steps.input_ids"), t = all.count / 5
        return (0..<5).map { TrainingExample(window: Array(all[($0 * t)..<(($0 + 1) * t)])) }
    }

    func assertHistory(_ h: TrainingHistory, _ f: SafetensorsFile, _ prefix: String, _ label: String) throws {
        let loss = try f.loadFloat32(prefix + "loss"), lr = try f.loadFloat32(prefix + "lr"), norm = try f.loadFloat32(prefix + "norm")
        XCTAssertEqual(h.steps.count, 5)
        for (k, s) in h.steps.enumerated() {
            XCTAssertEqual(Float(s.loss), loss[k], accuracy: 1e-5 * max(1, loss[k]), "\(label) loss of step \(k + 1)")
            XCTAssertEqual(s.learningRate, lr[k], accuracy: 1e-9 + 1e-6 * lr[k], "\(label) lr of step \(k + 1)")
            XCTAssertEqual(s.gradientNorm, norm[k], accuracy: 1e-4 * norm[k], "\(label) norm of step \(k + 1)")
        }
    }

    /// 2:4 along each row of every pruned projection: at least two zeros in every group of four.
    func assertTwoFour(_ m: LanguageModel, _ label: String) {
        for t in m.parameters {
            guard case .projection = t.role else { continue }
            m.withParameter(t.name) { v in
                let groups = stride(from: 0, to: v.count, by: 4).filter { g in v[g..<min(g + 4, v.count)].filter { $0 == 0 }.count < 2 }
                XCTAssertTrue(groups.isEmpty, "\(label): \(t.name) has \(groups.count) groups of 4 with fewer than 2 zeros")
            }
        }
    }

    func testFiveLoRAStepsAndMaskedMerge() throws {
        for name in Self.names {
            let f = try Self.reference(name)
            let (m, _) = try Self.withAdapter(name)
            let before = Dictionary(uniqueKeysWithValues: m.parameters.map { ($0.name, m.withParameter($0.name) { $0 }) })
            let trainer = try Trainer(model: m, trainable: .adapters(of: m), settings: Self.fiveSteps(lr: 1e-2), train: try Self.windows(f))
            let h = try trainer.run()
            try assertHistory(h, f, "lora.steps.", "\(name) LoRA")
            var adapters: [String: [Float]] = [:]
            for t in m.adapterParameters { adapters[t.name] = m.withAdapterParameter(t.name) { $0 } }
            assertClose(adapters, try Self.tensors(f, "lora.final."), "\(name) LoRA after 5 AdamW steps")
            // The base weights did not move.
            for t in m.parameters { XCTAssertEqual(m.withParameter(t.name) { $0 }, before[t.name], "\(name): \(t.name) moved") }

            let changed = m.mergeAdapters()
            XCTAssertGreaterThan(changed, 0)
            let mergedRef = try Self.tensors(f, "lora.merged.")
            var merged: [String: [Float]] = [:]
            for n in mergedRef.keys { merged[n] = m.withParameter(n) { $0 } }
            assertClose(merged, mergedRef, "\(name) masked merge")
            for (n, w) in merged {
                let zerosLost = zip(before[n]!, w).filter { $0.0 == 0 && $0.1 != 0 }.count
                XCTAssertEqual(zerosLost, 0, "\(name): the merge densified \(n)")
            }
            assertTwoFour(m, "\(name) after the LoRA merge")
        }
    }

    func testFiveMaskedFullFineTuningSteps() throws {
        for name in Self.names {
            let f = try Self.reference(name)
            let m = try Self.pruned(name)
            let trainable = TrainableParameters.full(of: m, targets: nil)
            XCTAssertNotNil(trainable.frozenZeros)
            let trainer = try Trainer(model: m, trainable: trainable, settings: Self.fiveSteps(lr: 1e-3), train: try Self.windows(f))
            let h = try trainer.run()
            try assertHistory(h, f, "full.steps.", "\(name) full")
            let ours = Dictionary(uniqueKeysWithValues: m.parameters.map { ($0.name, m.withParameter($0.name) { $0 }) })
            assertClose(ours, try Self.tensors(f, "full.final."), "\(name) full fine-tuning after 5 AdamW steps", noiseTolerance: 1e-3)
            assertTwoFour(m, "\(name) after full fine-tuning")
        }
    }
}
