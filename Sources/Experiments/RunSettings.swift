/// The resolved settings of a run, typed per command.
public enum RunSettings: Sendable, Equatable {
    case prune(PruneSettings)
    case pruneStructured(StructuredPruneSettings)
    case evalPerplexity(PerplexitySettings)
    case evalTasks(TaskSettings)
    case benchModel(EfficiencyRunSettings)
    case info(InfoSettings)
    case generate(GenerateSettings)
    case recover(RecoverSettings)
    case export(ExportSettings)
    case studyCell(StudyCell)

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

    func encode<K: CodingKey>(to c: inout KeyedEncodingContainer<K>, forKey key: K) throws {
        switch self {
        case .prune(let s): try c.encode(s, forKey: key)
        case .pruneStructured(let s): try c.encode(s, forKey: key)
        case .evalPerplexity(let s): try c.encode(s, forKey: key)
        case .evalTasks(let s): try c.encode(s, forKey: key)
        case .benchModel(let s): try c.encode(s, forKey: key)
        case .info(let s): try c.encode(s, forKey: key)
        case .generate(let s): try c.encode(s, forKey: key)
        case .recover(let s): try c.encode(s, forKey: key)
        case .export(let s): try c.encode(s, forKey: key)
        case .studyCell(let s): try c.encode(s, forKey: key)
        }
    }

    static func decode<K: CodingKey>(_ command: RunCommand, from c: KeyedDecodingContainer<K>, forKey key: K) throws -> RunSettings {
        switch command {
        case .prune: return .prune(try c.decode(PruneSettings.self, forKey: key))
        case .pruneStructured: return .pruneStructured(try c.decode(StructuredPruneSettings.self, forKey: key))
        case .evalPerplexity: return .evalPerplexity(try c.decode(PerplexitySettings.self, forKey: key))
        case .evalTasks: return .evalTasks(try c.decode(TaskSettings.self, forKey: key))
        case .benchModel: return .benchModel(try c.decode(EfficiencyRunSettings.self, forKey: key))
        case .info: return .info(try c.decode(InfoSettings.self, forKey: key))
        case .generate: return .generate(try c.decode(GenerateSettings.self, forKey: key))
        case .recover: return .recover(try c.decode(RecoverSettings.self, forKey: key))
        case .export: return .export(try c.decode(ExportSettings.self, forKey: key))
        case .studyCell: return .studyCell(try c.decode(StudyCell.self, forKey: key))
        }
    }
}
