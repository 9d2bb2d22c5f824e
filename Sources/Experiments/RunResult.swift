import Evaluation
import Pruning

/// What a run produced besides its metrics, typed per command. In the JSON these fields sit
/// at the top level of the record, beside the envelope (see `RunRecord`).
public enum RunResult: Sendable {
    case prune(PruneResult)
    case pruneStructured(StructuredPruneResult)
    case evalPerplexity(PerplexityRunResult)
    case evalTasks(TaskRunResult)
    case benchModel(EfficiencyReport)
    case info(ModelDescription)
    case generate(GenerationResult)
    /// Indirect: a recovery result carries the source's pruning record.
    indirect case recover(RecoveryResult)
    case export(ExportResult)
    /// Indirect: a cell's result carries the prune and recover records it made.
    indirect case studyCell(StudyCellResult)

    public var command: RunCommand {
        switch self {
        case .prune: return .prune
        case .pruneStructured: return .pruneStructured
        case .evalPerplexity: return .evalPerplexity
        case .evalTasks: return .evalTasks
        case .benchModel: return .benchModel
        case .info: return .info
        case .generate: return .generate
        case .recover: return .recover
        case .export: return .export
        case .studyCell: return .studyCell
        }
    }

    func encode(to encoder: Encoder) throws {
        switch self {
        case .prune(let r): try r.encode(to: encoder)
        case .pruneStructured(let r): try r.encode(to: encoder)
        case .evalPerplexity(let r): try r.encode(to: encoder)
        case .evalTasks(let r): try r.encode(to: encoder)
        case .benchModel(let r): try r.encode(to: encoder)
        case .info(let r): try r.encode(to: encoder)
        case .generate(let r): try r.encode(to: encoder)
        case .recover(let r): try r.encode(to: encoder)
        case .export(let r): try r.encode(to: encoder)
        case .studyCell(let r): try r.encode(to: encoder)
        }
    }

    static func decode(_ command: RunCommand, from decoder: Decoder) throws -> RunResult {
        switch command {
        case .prune: return .prune(try PruneResult(from: decoder))
        case .pruneStructured: return .pruneStructured(try StructuredPruneResult(from: decoder))
        case .evalPerplexity: return .evalPerplexity(try PerplexityRunResult(from: decoder))
        case .evalTasks: return .evalTasks(try TaskRunResult(from: decoder))
        case .benchModel: return .benchModel(try EfficiencyReport(from: decoder))
        case .info: return .info(try ModelDescription(from: decoder))
        case .generate: return .generate(try GenerationResult(from: decoder))
        case .recover: return .recover(try RecoveryResult(from: decoder))
        case .export: return .export(try ExportResult(from: decoder))
        case .studyCell: return .studyCell(try StudyCellResult(from: decoder))
        }
    }
}
