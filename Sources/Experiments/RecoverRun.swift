import Compute
import Evaluation
import Foundation
import LLM
import ModelIO

/// Why a recovery run cannot start or did not finish.
public enum RecoverError: SettingError, Equatable {
    case checkpointWithoutOutput
    case outputIsSource(String)
    case interrupted(step: Int, checkpoint: String?)

    public func description(namingSetting name: (String) -> String) -> String {
        switch self {
        case .checkpointWithoutOutput:
            return "\(name("checkpoint_every")) needs an output directory to write checkpoints to (\(name("output")))"
        case .outputIsSource(let p):
            return "the output directory \(p) is the source model's; write the recovered model elsewhere"
        case let .interrupted(step, checkpoint):
            if let checkpoint { return "interrupted after step \(step); continue with \(name("resume")) \(checkpoint)" }
            return "interrupted after step \(step); no checkpoint was written"
        }
    }
}

/// `secateur recover`: fine-tunes a pruned model so that it keeps every pruned weight at zero
/// (LoRA with a masked merge, or masked full fine-tuning), optionally distilling from the dense
/// model, with held-out validation, checkpoints, and perplexity before and after.
///
/// Output directory: the merged model (config.json, model.safetensors, tokenizer files), for
/// LoRA `adapter/` in PEFT's format, the source's pruning.json carried over, recovery.json
/// (this run's record, the source's pruning record inside), and `checkpoint.safetensors` while
/// a run with checkpoints is under way.
public struct RecoverRun {
    public static let checkpointFile = "checkpoint.safetensors"
    public static let adapterDirectory = "adapter"
    public static let recordFile = "recovery.json"

    public var settings: RecoverSettings

    public init(settings: RecoverSettings) { self.settings = settings }

    public func run(modelSpec: String, progress: RunProgressHandler = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> RunRecord {
        try settings.validate()
        if settings.checkpointEvery != nil, settings.output == nil { throw RecoverError.checkpointWithoutOutput }
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec)
            return try run(loaded, identity: identity, context: &context, progress: progress, shouldStop: shouldStop)
        }
    }

    /// Recovers an already loaded model in place (a study cell's freshly pruned model). Its
    /// pruning record, if any, is the caller's to keep.
    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> RunRecord {
        try settings.validate()
        if settings.checkpointEvery != nil, settings.output == nil { throw RecoverError.checkpointWithoutOutput }
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let identity = try context.identify(loaded)
            return try run(loaded, identity: identity, context: &context, progress: progress, shouldStop: shouldStop)
        }
    }

    private func run(_ loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                     progress: RunProgressHandler, shouldStop: () -> Bool) throws -> RunRecord {
        let model = loaded.model
        if let out = settings.output, case .huggingFaceDirectory(let src) = loaded.location,
           src.standardizedFileURL.path == URL(fileURLWithPath: out).standardizedFileURL.path {
            throw RecoverError.outputIsSource(out)
        }
        // Everything that can be refused is checked before anything is trained or written.
        let targets = try settings.targets.map { names in try names.map { try model.projection(named: $0) } } ?? model.projections
        let teacher = try settings.teacher.map { spec in try context.clock.measure("load_teacher") { try ModelLoader.load(spec) } }
        if let t = teacher, t.model.vocabSize != model.vocabSize {
            throw TrainingError.teacherVocabulary(student: model.vocabSize, teacher: t.model.vocabSize)
        }
        let data = DataDirectory(explicit: settings.dataDirectory)
        let dataset = try context.clock.measure("data") {
            try RecoveryDataset(settings: settings.data, tokenizer: loaded.tokenizer, data: data)
        }
        progress(.note("data: \(dataset)"))
        let steps = settings.steps ?? TrainingSettings.steps(epochs: settings.epochs, examples: dataset.train.count,
                                                             sequencesPerStep: settings.batchSize * settings.gradientAccumulation)
        guard steps >= 1 else {
            throw TrainingError.tooFewExamples(have: dataset.train.count, perStep: settings.batchSize * settings.gradientAccumulation)
        }
        let evaluation = try settings.evaluation.map { e in try context.clock.measure("eval_prepare") { try e.prepare(loaded, data: data) } }
        let sourcePruning = Self.sourcePruningRecord(loaded.location)

        var metrics = RunMetrics()
        if let evaluation {
            let before = try context.clock.measure("eval_before") {
                try evaluation.measure(model, stage: .beforeRecovery, label: "ppl before recovery", progress: progress)
            }
            metrics.perplexity.append(before.metric)
        }

        let zerosBefore = ZeroPositions(model)
        let lora = LoRAConfiguration(rank: settings.rank, alpha: settings.alpha, dropout: settings.dropout, targets: targets)
        let trainable: TrainableParameters
        switch settings.method {
        case .lora:
            try model.attachAdapters(lora, seed: settings.seed)
            trainable = .adapters(of: model)
        case .full:
            trainable = .full(of: model, targets: settings.targets == nil ? nil : targets)
        }
        let distillation = teacher.map { Distillation(teacher: $0.model, temperature: settings.kdTemperature, weight: settings.kdWeight) }
        let trainer = try Trainer(model: model, trainable: trainable, settings: settings.training(steps: steps),
                                  train: dataset.train, validation: dataset.validation, distillation: distillation)
        if let r = settings.resume {
            try trainer.resume(from: r)
            progress(.note("resumed from \(r) at step \(trainer.step)"))
        }
        var checkpoint: String?
        if let out = settings.output {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            if settings.checkpointEvery != nil { checkpoint = URL(fileURLWithPath: out).appendingPathComponent(Self.checkpointFile).path }
        }
        progress(.note("recover: \(settings.method.rawValue), \(trainable.count) trainable parameters, \(steps) steps"))

        let resumedAt = trainer.step
        let trainStart = Date()
        try context.clock.measure("train") {
            // About a hundred lines per run, plus every validation.
            let every = max(1, steps / 100)
            try trainer.run(checkpoint: checkpoint, progress: { p in
                guard p.step % every == 0 || p.step == p.totalSteps || p.validationLoss != nil else { return }
                var line = String(format: "step %d/%d  loss %.4f  lr %.2e", p.step, p.totalSteps, p.loss, p.learningRate)
                if let v = p.validationLoss { line += String(format: "  val %.4f", v) }
                line += String(format: "  %.0f tok/s  ETA %.0f s", p.tokensPerSecond, p.secondsLeft)
                progress(.note(line))
            }, shouldStop: shouldStop)
        }
        let trainSeconds = Date().timeIntervalSince(trainStart)
        if trainer.step < steps, !trainer.history.stoppedEarly {
            throw RecoverError.interrupted(step: trainer.step, checkpoint: checkpoint)
        }

        var adapterPath: String?
        var merged: Int?
        if settings.method == .lora {
            if let out = settings.output {
                let dir = URL(fileURLWithPath: out).appendingPathComponent(Self.adapterDirectory).path
                try PEFTAdapter.save(model, configuration: lora, baseModel: identity.name, to: dir)
                adapterPath = dir
            }
            merged = model.mergeAdapters()
        }
        let zerosAfter = ZeroPositions(model)

        if let evaluation {
            let after = try context.clock.measure("eval_after") {
                try evaluation.measure(model, stage: .recovered, label: "ppl after recovery", progress: progress)
            }
            metrics.perplexity.append(after.metric)
        }

        var result = RecoveryResult(trainableParameters: trainable.count, targets: targets.map(\.rawValue),
                                    data: dataset.metadata, history: trainer.history, steps: trainer.step,
                                    trainSeconds: trainSeconds, zerosBefore: zerosBefore.count, zerosAfter: zerosAfter.count,
                                    zerosLost: zerosBefore.lost(in: zerosAfter))
        if resumedAt > 0 { result.resumedFrom = settings.resume; result.resumedAtStep = resumedAt }
        result.mergedWeightsChanged = merged
        result.output = settings.output
        result.adapter = adapterPath
        result.sourcePruning = sourcePruning

        var resolved = settings
        resolved.targets = targets.map(\.rawValue)
        resolved.steps = steps
        resolved.evaluation = settings.evaluation?.resolved
        resolved.dataDirectory = data.url.path
        resolved.threads = context.threads

        if let out = settings.output {
            try context.clock.measure("save") { try ModelWriter.save(model, source: loaded.location, to: out) }
        }
        let record = context.record(model: identity, settings: .recover(resolved), metrics: metrics, result: .recover(result))
        if let out = settings.output {
            let dir = URL(fileURLWithPath: out)
            if let sourcePruning { try sourcePruning.write(to: dir.appendingPathComponent("pruning.json").path) }
            try record.write(to: dir.appendingPathComponent(Self.recordFile).path)
            if let checkpoint { try? FileManager.default.removeItem(atPath: checkpoint) }
            progress(.note("wrote \(out)"))
        }
        return record
    }

    /// The pruning.json beside a model directory Secateur wrote, if there is one.
    static func sourcePruningRecord(_ location: ModelLocation) -> RunRecord? {
        guard case .huggingFaceDirectory(let dir) = location,
              let data = FileManager.default.contents(atPath: dir.appendingPathComponent("pruning.json").path) else { return nil }
        return try? RunRecord.decode(data)
    }
}

/// Where the projection weights of a model are exactly zero (what pruning left), one bit per
/// weight, to check after training that none of them moved.
struct ZeroPositions {
    private var bits: [String: [UInt64]] = [:]
    private(set) var count = 0

    init(_ model: LanguageModel) {
        for t in model.parameters {
            guard case .projection = t.role else { continue }
            var b = [UInt64](repeating: 0, count: (t.count + 63) / 64)
            model.withParameter(t.name) { v in
                for j in v.indices where v[j] == 0 { b[j >> 6] |= 1 << UInt64(j & 63) }
            }
            count += b.reduce(0) { $0 + $1.nonzeroBitCount }
            bits[t.name] = b
        }
    }

    /// Entries zero here and not zero in `after` (a tensor gone from `after` loses all its zeros).
    func lost(in after: ZeroPositions) -> Int {
        bits.reduce(0) { n, e in
            guard let other = after.bits[e.key], other.count == e.value.count else {
                return n + e.value.reduce(0) { $0 + $1.nonzeroBitCount }
            }
            return n + zip(e.value, other).reduce(0) { $0 + ($1.0 & ~$1.1).nonzeroBitCount }
        }
    }
}
