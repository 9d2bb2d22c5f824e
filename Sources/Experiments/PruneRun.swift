import Evaluation
import Foundation
import LLM
import ModelIO
import Pruning

/// `secateur prune` (unstructured / N:M): optional dense perplexity, calibration, layer-wise
/// pruning, optional pruned perplexity, optional save with pruning.json, one run record.
public struct PruneRun {
    public var settings: PruneSettings

    public init(settings: PruneSettings) { self.settings = settings }

    /// Loads `modelSpec` (a path or an alias) and runs.
    public func run(modelSpec: String, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        _ = settings.configuration   // settings errors that need no model come before loading it
        if settings.stream == true && settings.output == nil { throw StreamSettingError.needsOutput }
        if settings.stream == true { try LayerwisePruner.checkStreamable(settings.configuration) }
        // The searches' own settings need no model either.
        if settings.method == .es { try settings.configuration.es.validate() }
        if settings.allocation == .evopress { try settings.configuration.allocationSearch.validate(sparsity: settings.sparsity) }
        var context = RunContext(threads: settings.threads)
        // The memory plan from the checkpoint's config: an impossible run is refused before any work.
        try context.plan(MemoryPlan.prune(try ModelLoader.shape(modelSpec), settings: settings), budget: settings.memoryBudget,
                         advice: advice)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec, streamBlocks: settings.stream == true)
            return try run(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    /// Prunes an already loaded model in place.
    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        try context.plan(MemoryPlan.prune(ModelShape(model: loaded.model), settings: settings), budget: settings.memoryBudget,
                         advice: advice)
        return try withEngineThreads(context.threads) {
            let identity = try context.identify(loaded)
            return try run(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    /// What to change when the plan does not fit.
    private var advice: String {
        settings.stream == true ? "use fewer or shorter calibration windows"
            : "stream the blocks from the checkpoint (one block in memory at a time), or use fewer or shorter calibration windows"
    }

    private func run(_ loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                     progress: RunProgressHandler) throws -> RunRecord {
        let model = loaded.model
        var config = settings.configuration
        if settings.matrices == nil { config.matrices = model.projections }
        try config.validate(layerCount: model.layerCount)
        context.notePlan(progress)
        let data = DataDirectory(explicit: settings.dataDirectory)
        var metrics = RunMetrics()
        // The output is built out of sight and appears whole, run record included, at the end.
        let staged = try settings.output.map { try StagedDirectory(target: $0) }

        // Evaluation windows first, so a missing dataset fails before minutes of pruning.
        let evaluation = try settings.evaluation.map { e in try context.clock.measure("eval_prepare") { try e.prepare(loaded, data: data) } }
        if let evaluation {
            let dense = try context.clock.measure("eval_dense") {
                try evaluation.measure(model, stage: .dense, label: "dense ppl windows", residency: loaded.residency, progress: progress)
            }
            metrics.perplexity.append(dense.metric)
        }

        var calibration: [[Int32]] = []
        if settings.needsCalibration {
            calibration = try context.clock.measure("calibration") {
                try settings.calibration.windows(nsamples: settings.nsamples, seqlen: settings.seqlen, seed: settings.seed,
                                                 tokenizer: loaded.tokenizer, vocabSize: model.vocabSize, data: data)
            }
            progress(.note(String(format: "calibration: %d windows × %d tokens (%.1f s)", calibration.count, settings.seqlen,
                                  context.clock.seconds["calibration"] ?? 0)))
        }

        let pruner = try LayerwisePruner(model: model, configuration: config)
        pruner.residency = loaded.residency
        let pruneStart = Date()
        func prune() throws -> PruneReport {
            try withoutActuallyEscaping(progress) { report in
                pruner.progress = { done, total in
                    report(.note(String(format: "pruned layer %d/%d (%.0f s)", done, total, Date().timeIntervalSince(pruneStart))))
                }
                pruner.searchProgress = { done, total, loss in
                    report(.note(String(format: "whole-model search: generation %d/%d, calibration loss %.4f (%.0f s)", done, total, loss,
                                        Date().timeIntervalSince(pruneStart))))
                }
                pruner.allocationProgress = { done, total, loss in
                    report(.note(String(format: "allocation search: generation %d/%d, held-out loss %.4f (%.0f s)", done, total, loss,
                                        Date().timeIntervalSince(pruneStart))))
                }
                defer { pruner.progress = nil; pruner.searchProgress = nil; pruner.allocationProgress = nil }   // the closures must not outlive this call
                return try pruner.run(calibration: calibration)
            }
        }
        let report: PruneReport
        if loaded.residency != nil, let staged {
            // Streaming: each block is written as soon as it is final, then released.
            let dtype = try Self.storedDType(loaded)
            (report, _) = try HFExport.writeStreamed(model, dtype: dtype, tokenizer: try ExportRun.tokenizer(of: loaded),
                                                     into: staged) { writeBlock in
                pruner.layerFinished = writeBlock
                defer { pruner.layerFinished = nil }
                return try prune()
            }
            progress(.note("wrote the pruned blocks (\(dtype.rawValue), one shard per block)"))
        } else {
            report = try prune()
        }
        context.clock.merge(report.secondsByPhase, prefix: "prune.")

        if let evaluation {
            let pruned = try context.clock.measure("eval_pruned") {
                if loaded.residency != nil, let staged {
                    // The pruned blocks are in the (staged) output now.
                    let written = try LlamaLayerStream(checkpoint: try HFCheckpoint(directory: staged.path))
                    return try evaluation.measure(written.model, stage: .pruned, label: "pruned ppl windows", residency: written,
                                                  progress: progress)
                }
                return try evaluation.measure(model, stage: .pruned, label: "pruned ppl windows", progress: progress)
            }
            metrics.perplexity.append(pruned.metric)
        }

        var resolved = settings
        resolved.memoryBudget = context.memoryPlan?.budgetBytes
        resolved.group = config.group
        resolved.matrices = config.matrices
        resolved.sparsity = config.sparsity
        resolved.layers = config.layers ?? 0...(model.layerCount - 1)
        resolved.evaluation = settings.evaluation?.resolved
        resolved.dataDirectory = data.url.path
        resolved.threads = context.threads

        if let staged, loaded.residency == nil {
            try context.clock.measure("save") { try ModelWriter.save(model, source: loaded.location, to: staged.path) }
        }
        let record = context.record(model: identity, settings: .prune(resolved), metrics: metrics,
                                    result: .prune(PruneResult(report, output: settings.output)))
        if let staged {
            try record.write(to: URL(fileURLWithPath: staged.path).appendingPathComponent("pruning.json").path)
            try staged.commit()
            progress(.note("wrote \(staged.target)"))
        }
        return record
    }

    /// The float type the source checkpoint stores (a streamed run writes the same): BF16 or
    /// F16 safetensors keep theirs, anything else is written as F32.
    static func storedDType(_ loaded: LoadedModel) throws -> ExportDType {
        guard case .huggingFaceDirectory(let dir) = loaded.location else { return .f32 }
        let name = loaded.model.parameters.first?.name ?? ""
        switch try HFCheckpoint(directory: dir.path).dtype(of: name) {
        case .bf16?: return .bf16
        case .f16?: return .f16
        default: return .f32
        }
    }
}
