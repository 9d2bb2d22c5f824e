import Evaluation
import Foundation
import LLM
import ModelIO
import Pruning

/// `secateur prune --structured`: LLM-Pruner-style structured pruning that lands on the
/// requested size, with optional perplexity before and after, save and pruning.json.
public struct StructuredPruneRun {
    public var settings: StructuredPruneSettings

    public init(settings: StructuredPruneSettings) { self.settings = settings }

    public func run(modelSpec: String, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        if settings.stream == true && settings.output == nil { throw StreamSettingError.needsOutput }
        if settings.stream == true { try StructuredPruner.checkStreamable(settings.configuration) }
        var context = RunContext(threads: settings.threads)
        try context.plan(MemoryPlan.structuredPrune(try ModelLoader.shape(modelSpec), settings: settings),
                         budget: settings.memoryBudget, advice: advice)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec, streamBlocks: settings.stream == true)
            return try run(loaded, identity: identity, context: &context, progress: progress).record
        }
    }

    /// Prunes an already loaded model (the result is a new, smaller model; `loaded` is left as it was
    /// unless the pruner shares its storage).
    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        try prune(model: loaded, progress: progress).record
    }

    /// Prunes an already loaded model and hands back the smaller model with the record, for a
    /// pipeline that goes on with it in memory (a study cell recovers and evaluates it).
    public func prune(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> (record: RunRecord, pruned: LoadedModel) {
        var context = RunContext(threads: settings.threads)
        try context.plan(MemoryPlan.structuredPrune(ModelShape(model: loaded.model), settings: settings),
                         budget: settings.memoryBudget, advice: advice)
        return try withEngineThreads(context.threads) {
            let identity = try context.identify(loaded)
            return try run(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    /// What to change when the plan does not fit.
    private var advice: String {
        "use fewer or shorter calibration windows, or first-order Taylor scores (one gradient copy fewer)"
    }

    private func run(_ loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                     progress: RunProgressHandler) throws -> (record: RunRecord, pruned: LoadedModel) {
        let config = settings.configuration
        try config.validate(layerCount: loaded.model.layerCount)
        let data = DataDirectory(explicit: settings.dataDirectory)
        var metrics = RunMetrics()
        // The output is built out of sight and appears whole, run record included, at the end.
        let staged = try settings.output.map { try StagedDirectory(target: $0) }

        let evaluation = try settings.evaluation.map { e in try context.clock.measure("eval_prepare") { try e.prepare(loaded, data: data) } }
        if let evaluation {
            let dense = try context.clock.measure("eval_dense") {
                try evaluation.measure(loaded.model, stage: .dense, label: "dense ppl windows", residency: loaded.residency,
                                       progress: progress)
            }
            metrics.perplexity.append(dense.metric)
        }

        var calibration: [[Int32]] = []
        var source: String?
        if settings.needsCalibration {
            calibration = try context.clock.measure("calibration") {
                try settings.calibration.windows(nsamples: settings.calibrationWindows, seqlen: settings.calibrationSeqlen,
                                                 seed: settings.seed, tokenizer: loaded.tokenizer,
                                                 vocabSize: loaded.model.vocabSize, data: data)
            }
            switch settings.calibration {
            case .tokenFile(let path): source = path
            case .dataset(let d): source = "\(d.rawValue), seed \(settings.seed)"
            }
        }

        try StructuredPruner.checkBudget(loaded.model, configuration: config)   // refusals before the plan is reported
        context.notePlan(progress)
        // Streamed: scored block by block, then each pruned block cut from its source block and
        // written as it is cut; evaluation reads the written model back block by block.
        var streamedOutput: (model: LanguageModel, residency: LayerResidency)?
        let prunedModel: LanguageModel
        var report: StructuredPruneReport
        if let residency = loaded.residency, let staged {
            let started = Date()
            let result = try withoutActuallyEscaping(progress) { report in
                try StructuredPruner.pruneStreamed(loaded.model, residency: residency, configuration: config,
                                                   calibration: calibration, calibrationSource: source) { done, total in
                    report(.note(String(format: "scored block %d/%d (%.0f s)", done, total, Date().timeIntervalSince(started))))
                }
            }
            report = result.report
            let dtype = try PruneRun.storedDType(loaded)
            _ = try context.clock.measure("save") {
                try HFExport.writeStreamed(result.model, dtype: dtype, tokenizer: try ExportRun.tokenizer(of: loaded),
                                           perLayerWidths: true, into: staged) { writeBlock in
                    for i in 0..<result.model.layerCount {
                        try result.residency.load(i)
                        try writeBlock(i)
                        result.residency.release(i)
                    }
                }
            }
            progress(.note("wrote the pruned blocks (\(dtype.rawValue), one shard per block)"))
            // Its files stay open, so the model reads on after the stage is renamed into place.
            let written = try LlamaLayerStream(checkpoint: try HFCheckpoint(directory: staged.path))
            streamedOutput = (written.model, written)
            prunedModel = written.model
        } else {
            let started = Date()
            let result = try withoutActuallyEscaping(progress) { report in
                try StructuredPruner.prune(loaded.model, configuration: config, calibration: calibration,
                                           calibrationSource: source) { done, total in
                    report(.note(String(format: "round %d/%d (%.0f s)", done, total, Date().timeIntervalSince(started))))
                }
            }
            report = result.report
            prunedModel = result.model
        }
        progress(.note(String(format: "removed %.2f %% of %ld parameters (requested %.2f %%), %.1f s",
                              report.ratioActual * 100, report.paramsBefore, report.ratioRequested * 100, report.seconds)))
        context.clock.merge(report.secondsByPhase, prefix: "prune.")

        if let evaluation {
            let pruned = try context.clock.measure("eval_pruned") {
                try evaluation.measure(prunedModel, stage: .pruned, label: "pruned ppl windows", residency: streamedOutput?.residency,
                                       progress: progress)
            }
            metrics.perplexity.append(pruned.metric)
        }

        var resolved = settings
        resolved.memoryBudget = context.memoryPlan?.budgetBytes
        let n = loaded.model.layerCount
        switch settings.mode {
        case .block: resolved.attentionLayers = settings.attentionLayers ?? StructuredPruneConfiguration.defaultBlockLayers(layerCount: n)
        case .layer: resolved.attentionLayers = settings.attentionLayers ?? 0...(n - 1)
        case .channel: break   // the whole model's hidden channels: no layer range applies
        }
        resolved.mlpLayers = settings.mlpLayers ?? resolved.attentionLayers
        resolved.evaluation = settings.evaluation?.resolved
        resolved.dataDirectory = data.url.path
        resolved.threads = context.threads

        if let staged, streamedOutput == nil {
            try context.clock.measure("save") { try ModelWriter.save(prunedModel, source: loaded.location, to: staged.path) }
        }
        var record = context.record(model: identity, settings: .pruneStructured(resolved), metrics: metrics,
                                    result: .pruneStructured(StructuredPruneResult(report: report, output: settings.output)))
        // The report's phases are the run's (see RunRecord): one `seconds_by_phase` in the JSON.
        report.secondsByPhase = record.secondsByPhase
        record.result = .pruneStructured(StructuredPruneResult(report: report, output: settings.output))
        if let staged {
            try record.write(to: URL(fileURLWithPath: staged.path).appendingPathComponent("pruning.json").path)
            try staged.commit()
            progress(.note("wrote \(staged.target)"))
        }
        return (record, loaded.replacing(model: prunedModel))
    }
}
