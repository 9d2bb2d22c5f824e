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
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec)
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
        return try withEngineThreads(context.threads) {
            let identity = try context.identify(loaded)
            return try run(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    private func run(_ loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                     progress: RunProgressHandler) throws -> (record: RunRecord, pruned: LoadedModel) {
        let config = settings.configuration
        try config.validate(layerCount: loaded.model.layerCount)
        let data = DataDirectory(explicit: settings.dataDirectory)
        var metrics = RunMetrics()

        let evaluation = try settings.evaluation.map { e in try context.clock.measure("eval_prepare") { try e.prepare(loaded, data: data) } }
        if let evaluation {
            let dense = try context.clock.measure("eval_dense") {
                try evaluation.measure(loaded.model, stage: .dense, label: "dense ppl windows", progress: progress)
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

        let result = try StructuredPruner.prune(loaded.model, configuration: config, calibration: calibration,
                                                calibrationSource: source)
        var report = result.report
        progress(.note(String(format: "removed %.2f %% of %d parameters (requested %.2f %%), %.1f s",
                              report.ratioActual * 100, report.paramsBefore, report.ratioRequested * 100, report.seconds)))
        context.clock.merge(report.secondsByPhase, prefix: "prune.")

        if let evaluation {
            let pruned = try context.clock.measure("eval_pruned") {
                try evaluation.measure(result.model, stage: .pruned, label: "pruned ppl windows", progress: progress)
            }
            metrics.perplexity.append(pruned.metric)
        }

        var resolved = settings
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

        if let out = settings.output {
            try context.clock.measure("save") { try ModelWriter.save(result.model, source: loaded.location, to: out) }
        }
        var record = context.record(model: identity, settings: .pruneStructured(resolved), metrics: metrics,
                                    result: .pruneStructured(StructuredPruneResult(report: report, output: settings.output)))
        // The report's phases are the run's (see RunRecord): one `seconds_by_phase` in the JSON.
        report.secondsByPhase = record.secondsByPhase
        record.result = .pruneStructured(StructuredPruneResult(report: report, output: settings.output))
        if let out = settings.output {
            try record.write(to: URL(fileURLWithPath: out).appendingPathComponent("pruning.json").path)
            progress(.note("wrote \(out)"))
        }
        return (record, loaded.replacing(model: result.model))
    }
}
