import Evaluation
import Foundation
import LLM

/// Runs one study cell in-process through the library's own pipelines: load the model, prune it
/// (`PruneRun` / `StructuredPruneRun`), recover it (`RecoverRun`), then measure perplexity,
/// zero-shot tasks and efficiency on the result, and return one record of command `study_cell`.
/// Nothing is written to disk: the record is the cell's only product.
public struct StudyCellRun {
    public var cell: StudyCell
    public var key: String
    public var dataDirectory: String?
    public var threads: Int?

    public init(cell: StudyCell, key: String, dataDirectory: String? = nil, threads: Int? = nil) {
        self.cell = cell; self.key = key; self.dataDirectory = dataDirectory; self.threads = threads
    }

    /// `phase` is told each phase as it starts ("load", "prune", "recover", "ppl wikitext2", "tasks", "efficiency").
    public func run(phase: (String) -> Void = { _ in }, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: threads)
        return try withEngineThreads(context.threads) {
            try run(context: &context, phase: phase, progress: progress)
        }
    }

    private func run(context: inout RunContext, phase: (String) -> Void, progress: RunProgressHandler) throws -> RunRecord {
        let data = DataDirectory(explicit: dataDirectory)
        phase("load")
        let (loaded, identity) = try context.load(cell.model)
        var current = loaded
        var pruneRecord: RunRecord?
        var actual = 0.0

        switch cell.pruning {
        case .dense:
            break
        case .unstructured(var s):
            phase("prune")
            s.evaluation = nil; s.output = nil; s.dataDirectory = data.url.path; s.threads = context.threads
            let r = try context.clock.measure("prune") { try PruneRun(settings: s).run(model: loaded, progress: progress) }
            if case .prune(let p) = r.result { actual = p.sparsityAchieved }
            pruneRecord = r
        case .structured(var s):
            phase("prune")
            s.evaluation = nil; s.output = nil; s.dataDirectory = data.url.path; s.threads = context.threads
            let (r, pruned) = try context.clock.measure("prune") { try StructuredPruneRun(settings: s).prune(model: loaded, progress: progress) }
            if case .pruneStructured(let p) = r.result { actual = p.report.ratioActual }
            pruneRecord = r
            current = pruned
        }

        var recoverRecord: RunRecord?
        if var r = cell.recovery {
            phase("recover")
            r.evaluation = nil; r.output = nil; r.checkpointEvery = nil; r.resume = nil
            r.dataDirectory = data.url.path; r.threads = context.threads
            let settings = r
            let model = current
            recoverRecord = try context.clock.measure("recover") { try RecoverRun(settings: settings).run(model: model, progress: progress) }
        }

        let stage: MetricStage = cell.recovery != nil ? .recovered : (cell.pruning == .dense ? .dense : .pruned)
        var metrics = RunMetrics()
        for e in cell.evaluation.perplexity {
            phase("ppl \(e.dataset.rawValue)")
            let evaluation = try context.clock.measure("ppl.\(e.dataset.rawValue)") {
                try e.prepare(current, data: data)
            }
            let (metric, _) = try context.clock.measure("ppl.\(e.dataset.rawValue)") {
                try evaluation.measure(current.model, stage: stage, label: "\(e.dataset.rawValue) windows", progress: progress)
            }
            metrics.perplexity.append(metric)
        }

        var tasksAverage: Double?
        if !cell.evaluation.tasks.isEmpty {
            phase("tasks")
            var t = TaskSettings()
            t.tasks = cell.evaluation.tasks.map(EvalTask.zeroShot); t.limit = cell.evaluation.limit; t.batchSize = cell.evaluation.batchSize
            t.dataDirectory = data.url.path; t.threads = context.threads
            let settings = t
            let model = current
            let r = try context.clock.measure("tasks") { try TaskRun(settings: settings).run(model: model, progress: progress) }
            metrics.tasks = r.metrics.tasks.map { var m = $0; m.stage = stage; return m }
            if case .evalTasks(let tr) = r.result { tasksAverage = tr.average }
        }

        let paramsTotal = current.model.parameterCount
        let paramsNonzero = paramsTotal - current.model.zeroParameterCount
        var efficiency: EfficiencyReport?
        if var e = cell.evaluation.efficiency {
            phase("efficiency")
            e.threads = context.threads
            let settings = e
            let model = current
            let r = try context.clock.measure("efficiency") { try EfficiencyRun(settings: settings).run(model: model, progress: progress) }
            if case .benchModel(let report) = r.result { efficiency = report }
        }

        let result = StudyCellResult(
            cellKey: key, study: cell.study, label: cell.label, method: cell.pruning.method, structure: cell.pruning.structure,
            ratioMeaning: cell.pruning.ratioMeaning, requested: cell.pruning.requested, actual: actual, recovery: cell.recoveryLabel,
            paramsDense: identity.paramsTotal, paramsTotal: paramsTotal, paramsNonzero: paramsNonzero,
            paramsRemoved: 1 - Double(paramsNonzero) / Double(max(1, identity.paramsTotal)), tasksAverage: tasksAverage,
            efficiency: efficiency, prune: pruneRecord, recover: recoverRecord, cellSecondsByPhase: context.clock.seconds)
        return context.record(model: identity, settings: .studyCell(cell), metrics: metrics, result: .studyCell(result))
    }
}
