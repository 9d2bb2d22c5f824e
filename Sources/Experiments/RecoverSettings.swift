import Compute
import Evaluation
import LLM

/// How a pruned model is recovered: adapters on frozen weights, or its own weights.
public enum RecoveryMethod: String, Codable, CaseIterable, Sendable {
    /// LoRA adapters (Hu et al. 2021) on the target projections; merged at the end as
    /// W + mask ⊙ (B·A·α/r), so every pruned weight stays zero.
    case lora
    /// The model's own weights (all, or the target projections'), pruned entries frozen at zero.
    case full
}

/// Every setting of `secateur recover`. Defaults follow LLM-Pruner's post_training.py where it
/// has one (LoRA r 8, α 16, dropout 0.05, q,k,v,o,gate,down,up, lr 1e-4, cutoff 256, linear schedule).
public struct RecoverSettings: Codable, Sendable, Equatable {
    public var method: RecoveryMethod = .lora
    public var rank = 8
    public var alpha: Float = 16
    public var dropout: Float = 0.05
    /// Projections trained (LoRA: adapted). Role names (q, k, v, o, gate, up, down) or the
    /// family's module names (q_proj, fc1, …); nil: every projection (LoRA, full).
    public var targets: [String]?
    public var learningRate: Float = 1e-4
    public var weightDecay: Float = 0
    public var schedule: LearningRateSchedule = .linear
    public var warmupSteps = 0
    public var maxGradientNorm: Float? = 1
    public var batchSize = 1
    public var gradientAccumulation = 1
    /// Optimizer steps; nil: `epochs` passes over the training examples.
    public var steps: Int?
    public var epochs = 1
    /// Training text, its windows and held-out split.
    public var data = RecoveryDataSettings(source: .c4)
    /// The dense model to distil from; nil: plain next-token cross-entropy.
    public var teacher: String?
    public var kdTemperature: Float = 2
    public var kdWeight: Float = 0.5
    public var evaluateEvery: Int?
    public var patience: Int?
    public var checkpointEvery: Int?
    /// A checkpoint file of an interrupted run with these settings; nil: start fresh.
    public var resume: String?
    /// Perplexity before and after recovery; nil: none.
    public var evaluation: PruneEvaluationSettings?
    /// Directory for the merged model (and the adapter); nil: not saved.
    public var output: String?
    public var seed: UInt64 = 0
    public var dataDirectory: String?
    public var threads: Int?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case method, rank, alpha, dropout, targets, learningRate = "lr", weightDecay = "weight_decay", schedule
        case warmupSteps = "warmup_steps", maxGradientNorm = "max_grad_norm", batchSize = "batch_size"
        case gradientAccumulation = "gradient_accumulation", steps, epochs, data, teacher
        case kdTemperature = "kd_temperature", kdWeight = "kd_weight", evaluateEvery = "eval_every", patience
        case checkpointEvery = "checkpoint_every", resume, evaluation = "eval", output, seed
        case dataDirectory = "data_dir", threads
    }

    /// The checks that need no model or data, so a bad value fails before anything loads.
    public func validate() throws {
        if method == .lora {
            guard rank >= 1 else { throw LoRAError.invalidRank(rank) }
            guard dropout >= 0, dropout < 1 else { throw LoRAError.invalidDropout(dropout) }
            guard alpha.isFinite, alpha > 0 else { throw TrainingError.invalidSetting("LoRA alpha must be positive (got \(alpha))") }
        }
        if let t = targets, t.isEmpty { throw LoRAError.noTargets }
        guard epochs >= 1 else { throw TrainingError.invalidSetting("epochs must be ≥ 1 (got \(epochs))") }
        if teacher != nil {
            guard kdTemperature.isFinite, kdTemperature > 0 else {
                throw TrainingError.invalidSetting("the distillation temperature must be positive (got \(kdTemperature))")
            }
            guard kdWeight >= 0, kdWeight <= 1 else {
                throw TrainingError.invalidSetting("the distillation weight must be in [0, 1] (got \(kdWeight))")
            }
        }
        try data.validate()
        try training(steps: steps ?? 1).validate()
    }

    /// The trainer's settings for a run of `steps` optimizer steps.
    public func training(steps: Int) -> TrainingSettings {
        var t = TrainingSettings(optimizer: AdamWSettings(learningRate: learningRate, weightDecay: weightDecay), steps: steps)
        t.schedule = schedule; t.warmupSteps = warmupSteps; t.maxGradientNorm = maxGradientNorm
        t.batchSize = batchSize; t.gradientAccumulation = gradientAccumulation; t.seed = seed
        t.evaluateEvery = evaluateEvery; t.patience = patience; t.checkpointEvery = checkpointEvery
        return t
    }
}
