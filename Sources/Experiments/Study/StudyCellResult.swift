import Evaluation
import Foundation

/// What one study cell produced besides its metrics: the shares requested and reached, the
/// model that came out, and the records of the prune and recover runs it made, in full.
///
/// Ratios: `requested` is the setting (sparsity of the pruned matrices, or the structured ratio
/// in its meaning); `actual` is the same quantity measured (zeros over the pruned matrices, or
/// the share of the model's parameters removed); `params_removed` is always the share of the
/// dense model's parameters that are gone or zero, so cells of every kind sit on one axis.
public struct StudyCellResult: Codable, Sendable {
    public var cellKey: String
    public var study: String
    public var label: String
    public var method: String
    public var structure: String
    public var ratioMeaning: String
    public var requested: Double
    public var actual: Double
    public var recovery: String?
    /// The dense model's parameters, and the pruned (recovered) model's.
    public var paramsDense: Int
    public var paramsTotal: Int
    public var paramsNonzero: Int
    public var paramsRemoved: Double
    /// Mean of the tasks' reported metrics; nil when no task was scored.
    public var tasksAverage: Double?
    /// `bench model` on the final model; nil when efficiency was not measured.
    public var efficiency: EfficiencyReport?
    public var prune: RunRecord?
    public var recover: RunRecord?
    /// Seconds per phase of the cell (load, prune, recover, perplexity, tasks, efficiency).
    public var cellSecondsByPhase: [String: Double]

    enum CodingKeys: String, CodingKey {
        case cellKey = "cell_key", study, label, method, structure, ratioMeaning = "ratio_meaning", requested, actual, recovery
        case paramsDense = "params_dense", paramsTotal = "params_total_after", paramsNonzero = "params_nonzero_after"
        case paramsRemoved = "params_removed", tasksAverage = "tasks_average", efficiency, prune, recover
        case cellSecondsByPhase = "cell_seconds_by_phase"
    }
}
