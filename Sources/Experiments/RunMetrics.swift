/// When a metric was measured in a run that changes the model.
public enum MetricStage: String, Codable, CaseIterable, Sendable {
    /// The model as loaded.
    case dense
    /// After pruning.
    case pruned
    /// A recovery run's model as loaded (pruned, not yet fine-tuned).
    case beforeRecovery = "before_recovery"
    /// After recovery fine-tuning (adapters merged).
    case recovered
}

/// One perplexity figure with everything needed to compare it with another (DESIGN.md §7:
/// figures from different protocols, window lengths or window counts are not comparable).
public struct PerplexityMetric: Codable, Sendable, Equatable {
    public var dataset: String
    public var `protocol`: String
    public var seqlen: Int
    public var windows: Int
    public var value: Double
    public var stage: MetricStage

    public init(dataset: String, protocol proto: String, seqlen: Int, windows: Int, value: Double, stage: MetricStage) {
        self.dataset = dataset; self.protocol = proto; self.seqlen = seqlen; self.windows = windows
        self.value = value; self.stage = stage
    }

    enum CodingKeys: String, CodingKey { case dataset, `protocol`, seqlen, windows, value, stage }
}

/// One task's scores, as lm-evaluation-harness reports them.
public struct TaskMetricRecord: Codable, Sendable, Equatable {
    public var task: String
    public var acc: Double
    public var accStderr: Double
    /// Only for the zero-shot multiple-choice tasks (lm-eval reports no acc_norm for the others).
    public var accNorm: Double?
    public var accNormStderr: Double?
    /// Only for lambada_openai (lm-eval's perplexity aggregation).
    public var perplexity: Double?
    /// Documents scored.
    public var n: Int
    /// Which of acc / acc_norm this task contributes to an average.
    public var reported: String
    public var stage: MetricStage

    public init(task: String, acc: Double, accStderr: Double, accNorm: Double?, accNormStderr: Double?, perplexity: Double? = nil,
                n: Int, reported: String, stage: MetricStage) {
        self.task = task; self.acc = acc; self.accStderr = accStderr; self.accNorm = accNorm
        self.accNormStderr = accNormStderr; self.perplexity = perplexity; self.n = n; self.reported = reported; self.stage = stage
    }

    /// The figure named by `reported` (acc_norm or acc).
    public var reportedValue: Double { reported == "acc_norm" ? accNorm ?? .nan : acc }

    enum CodingKeys: String, CodingKey {
        case task, acc, accStderr = "acc_stderr", accNorm = "acc_norm", accNormStderr = "acc_norm_stderr", perplexity, n, reported, stage
    }
}

/// The quality figures of a run (empty lists when it measured none).
public struct RunMetrics: Codable, Sendable, Equatable {
    public var perplexity: [PerplexityMetric]
    public var tasks: [TaskMetricRecord]

    public init(perplexity: [PerplexityMetric] = [], tasks: [TaskMetricRecord] = []) {
        self.perplexity = perplexity; self.tasks = tasks
    }

    /// The perplexity measured at `stage` (the first, if several datasets were measured).
    public func perplexity(at stage: MetricStage) -> Double? { perplexity.first { $0.stage == stage }?.value }

    enum CodingKeys: String, CodingKey { case perplexity, tasks }
}
