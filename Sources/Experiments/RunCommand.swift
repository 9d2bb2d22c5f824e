/// Which command produced a run record; it decides the shape of `settings` and of the
/// command-specific fields.
public enum RunCommand: String, Codable, CaseIterable, Sendable {
    case prune
    case pruneStructured = "prune_structured"
    case evalPerplexity = "eval_ppl"
    case evalTasks = "eval_tasks"
    case benchModel = "bench_model"
    case info
    case generate
    case recover
    case export
    /// One cell of a study: prune, recover, evaluate, in one record.
    case studyCell = "study_cell"
}
